"""What LSTM and RNN share: time-major sequences, `cont` resets and the carried state.

A recurrent layer reads x (T, N, features...) and cont (T, N) and writes h (T, N, H).
Its gates come from one inner product of x with `weight` and of the previous hidden
state with `recurrent`, plus `bias`. The x part needs nothing from earlier steps, so it is
one GEMM over all T*N rows before the loop; the loop does the rest step by step.

The hidden (and cell) state at the end of a batch is kept and starts the next batch,
so a long text cut into consecutive windows is read as one sequence (truncated
back-propagation through time: no gradient flows into the previous batch). Wherever
cont[t, n] is 0, sequence n starts afresh at step t: its previous state counts as zero,
as in Caffe. The carried state is in every snapshot.

The window's products run in parts on the backend's threads (one BLAS thread each):
x W^T and dL/dx in blocks of rows, the weight gradients in blocks of gates (output
units), so every sum keeps its order. The parts are fixed (a quarter each), not the
thread count's: OpenBLAS may round a row differently in a product of another height
(float64, a few rows), never in one of the same.
"""

import math

from ..fillers import filler
from ..spec import Field, integer
from ..workers import split
from .base import Layer


class Recurrent(Layer):
    """Base of LSTM and RNN. A subclass sets `n_gates` and `state_attrs` (the carried state),
    and writes the two loops over time: `recur` (forward from the input part of the gates,
    ending with the carried state updated) and `recur_back` (filling `gate_diff`)."""
    output_dim = Field(integer(min=1), doc="H, the size of the hidden state")
    weight_filler = Field(filler, "xavier", "input-to-gates weights (n_gates*H, features)")
    recurrent_filler = Field(filler, "orthogonal", "hidden-to-gates weights (n_gates*H, H)")
    bias_filler = Field(filler, 0.0)
    n_bottoms = 2
    grad_bottoms = (0,)
    n_gates = 1
    bias_in_recur = False   # True: `recur` adds the bias itself, step by step (LSTM's compiled loop)

    def setup(self, bottom_shapes):
        x, cont = (tuple(s) for s in bottom_shapes)
        if len(x) < 3:
            raise self.error(f"'{self.bottoms[0]}' is {x}, but a sequence is time-major "
                             f"(T, N, features...)", "bottoms")
        if cont != x[:2]:
            raise self.error(f"'{self.bottoms[1]}' is {cont}, but it marks the steps of "
                             f"'{self.bottoms[0]}' {x} and must be {x[:2]}", "bottoms")
        (steps, n), h = x[:2], self.output_dim
        g = self.n_gates * h
        self.add_param("weight", (g, math.prod(x[2:])), self.weight_filler)
        self.add_param("recurrent", (g, h), self.recurrent_filler)
        self.add_param("bias", (g,), self.bias_initial(), decay_mult=0.0)
        zeros = self.backend.zeros
        self.gates = zeros((steps, n, g))       # activated gates, kept for backward
        self.gate_diff = zeros((steps, n, g))   # d loss / d gate pre-activations
        self.previous = zeros((steps, n, h))    # h_{t-1} after the cont reset: what `recurrent` saw
        for name in self.state_attrs:
            setattr(self, name, zeros((n, h)))
        self.row_parts = split(steps * n, 4)
        self.gate_parts = split(g, 4)
        return [(steps, n, h)]

    def bias_initial(self):
        return self.bias_filler

    def forward(self, bottoms, tops):
        x, cont, out = bottoms[0].data, bottoms[1].data, tops[0].data
        steps, n = cont.shape
        x, gates = x.reshape(steps * n, -1), self.gates.reshape(steps * n, -1)
        weight_t, bias = self.params["weight"].data.T, self.params["bias"].data

        def project(part, slot):
            rows = self.row_parts[part]
            self.xp.matmul(x[rows], weight_t, out=gates[rows])
            if not self.bias_in_recur:
                gates[rows] += bias
        self.backend.parallel(len(self.row_parts), project)
        self.recur(cont[:, :, None], out)

    def backward(self, tops, propagate_down, bottoms):
        x, cont = bottoms[0].data, bottoms[1].data
        steps, n = cont.shape
        self.recur_back(tops[0].diff, cont[:, :, None])
        diff = self.gate_diff.reshape(steps * n, -1)
        x, previous = x.reshape(steps * n, -1), self.previous.reshape(steps * n, -1)
        weight, recurrent, bias = (self.params[k] for k in ("weight", "recurrent", "bias"))

        def weight_grads(part, slot):
            units = self.gate_parts[part]
            if weight.needs_grad:
                weight.diff[units] += diff[:, units].T @ x            # dL/dW = dZ^T x
            if recurrent.needs_grad:
                recurrent.diff[units] += diff[:, units].T @ previous  # dL/dU = dZ^T h'
        if weight.needs_grad or recurrent.needs_grad:
            self.backend.parallel(len(self.gate_parts), weight_grads)
        if bias.needs_grad:
            bias.diff += diff.sum(axis=0)
        if propagate_down[0]:
            dx = bottoms[0].diff.reshape(steps * n, -1)
            self.backend.parallel(len(self.row_parts), lambda part, slot: self.xp.matmul(
                diff[self.row_parts[part]], weight.data, out=dx[self.row_parts[part]]))
