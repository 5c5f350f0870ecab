"""LSTM: long short-term memory over a time-major sequence (Caffe's form, no peepholes)."""

from ..spec import Field, number, optional
from .base import register
from ..workers import split
from .recurrent import Recurrent


class _GateBias:
    """The bias filler's values, with the forget gate's quarter set to `forget_bias`."""

    def __init__(self, base, forget_bias, hidden):
        self.base, self.forget_bias, self.hidden = base, forget_bias, hidden

    def fill(self, shape, rng, dtype):
        values = self.base.fill(shape, rng, dtype)
        values[self.hidden:2 * self.hidden] = self.forget_bias
        return values


def activate(xp, z, scale, h):
    """z (N, 4H) pre-activations -> [s(i), s(f), s(o), tanh(g)], in place.

    All four from one exp: s(a) = 1 / (1 + e^-a) and tanh(a) = 2 s(2a) - 1 (in NumPy,
    faster than tanh in float32). The exponent is kept within +-80: e^80 does not overflow,
    and e^-80 is not denormal (arithmetic on denormals is slow); s moves by less than 2e-35.
    """
    z *= scale
    xp.clip(z, -80, 80, out=z)
    xp.exp(z, out=z)
    z += 1
    xp.divide(1, z, out=z)
    g = z[:, 3 * h:]
    g *= 2
    g -= 1


@register
class LSTM(Recurrent):
    """Gates input, forget, output and cell candidate, in that order along `weight`'s rows:

        [i, f, o, g] = [s, s, s, tanh](W x_t + U h'_{t-1} + b)    h'_{t-1} = cont_t h_{t-1}
        c_t = f c'_{t-1} + i g                                    c'_{t-1} = cont_t c_{t-1}
        h_t = o tanh(c_t)

    Bottoms x (T, N, features...) and cont (T, N); top h (T, N, H). Parameters `weight`
    (4H, features), `recurrent` (4H, H) and `bias` (4H); the forget gate's bias starts at
    `forget_bias` (1 by default, so the cell remembers from the start: Jozefowicz et al.
    2015). h and c carry over to the next batch; see graphnet/layers/recurrent.py.

        - {name: lstm1, type: LSTM, bottoms: [embedded, cont], tops: [h1], output_dim: 128}
    """
    forget_bias = Field(optional(number()), 1.0,
                        "starting bias of the forget gate (null: bias_filler's, as the other gates)")
    n_gates = 4
    state_attrs = ("hidden", "cell")
    rows_per_part = 32

    def bias_initial(self):
        if self.forget_bias is None:
            return self.bias_filler
        return _GateBias(self.bias_filler, self.forget_bias, self.output_dim)

    def setup(self, bottom_shapes):
        shapes = super().setup(bottom_shapes)
        zeros = self.backend.zeros
        steps, n, h = shapes[0]
        self.cell_tanh = zeros((steps, n, h))   # then, in backward, d c_t / d h_t
        self.previous_cell = zeros((steps, n, h))  # c'_{t-1}; then, in backward, d c_{t-1} / d c_t
        self.dh, self.dc = zeros((n, h)), zeros((n, h))
        self.propagated = zeros((n, 4 * h))
        self.gate_scale = self.xp.asarray([-1.0] * 3 * h + [-2.0] * h, dtype=self.backend.dtype)
        # U^T, copied each forward: OpenBLAS multiplies by a contiguous (H, 4H) ~20 % faster
        # than by the transposed view of `recurrent`, to the same bits
        self.recurrent_t = zeros((h, 4 * h))
        # Whole sequences of the batch, all their steps, are a part for one of the backend's
        # threads (one BLAS thread each, graphnet/workers.py). Both paths take the same
        # parts, so they make the same products. On a device, one part: each step of each
        # part is a round of kernel launches.
        self.parts = split(n, 1 if self.backend.launches else -(-n // self.rows_per_part))
        self.kernels = self.backend.kernels
        if self.kernels is None:
            self.cells = zeros((steps, n, h))
        else:
            self.ones = self.xp.ones(n, dtype=self.backend.dtype)
            self.bias_in_recur = True     # one pass less over the window's gates
            # backward writes the gradient over the gates it has read: 13 MB less for two
            # layers of netdefs/shakespeare.yaml, and a backward step ~30 % faster
            self.gate_diff = self.gates
            self.row = zeros((len(self.parts), 4 * h))
        return shapes

    def recur(self, keep, out):
        self.recurrent_t[...] = self.params["recurrent"].data.T
        run = self.recur_plain if self.kernels is None else self.recur_compiled
        self.backend.parallel(len(self.parts), lambda part, slot: run(self.parts[part], keep, out))

    def recur_back(self, top_diff, keep):
        run = self.recur_back_plain if self.kernels is None else self.recur_back_compiled
        self.backend.parallel(len(self.parts), lambda part, slot: run(part, top_diff, keep))

    def recur_plain(self, rows, keep, out):
        """The forward of the sequences `rows` over all steps, in NumPy (or CuPy) calls."""
        xp, h, recurrent_t = self.xp, self.output_dim, self.recurrent_t
        gates, previous, previous_cell, cells, cell_tanh = (a[:, rows] for a in (
            self.gates, self.previous, self.previous_cell, self.cells, self.cell_tanh))
        keep, out, propagated, dc = keep[:, rows], out[:, rows], self.propagated[rows], self.dc[rows]
        split = gates.reshape(*gates.shape[:2], 4, h)
        hidden, cell = self.hidden[rows], self.cell[rows]
        for t in range(len(out)):
            h_prev = xp.multiply(hidden, keep[t], out=previous[t])
            c_prev = xp.multiply(cell, keep[t], out=previous_cell[t])
            z = gates[t]
            z += xp.matmul(h_prev, recurrent_t, out=propagated)
            activate(xp, z, self.gate_scale, h)
            i, f, o, g = (split[t, :, k] for k in range(4))
            cell = xp.multiply(f, c_prev, out=cells[t])
            cell += xp.multiply(i, g, out=dc)
            hidden = xp.multiply(o, xp.tanh(cell, out=cell_tanh[t]), out=out[t])
        self.hidden[rows] = hidden
        self.cell[rows] = cell

    def recur_back_plain(self, part, top_diff, keep):
        xp, h, rows = self.xp, self.output_dim, self.parts[part]
        gates, previous_cell, tanh_c, diff = (a[:, rows] for a in (
            self.gates, self.previous_cell, self.cell_tanh, self.gate_diff))
        top_diff, keep, dh, dc = top_diff[:, rows], keep[:, rows], self.dh[rows], self.dc[rows]
        scratch = self.propagated[rows, :h]
        gates = gates.reshape(*gates.shape[:2], 4, h)
        i, f, o, g = (gates[:, :, k] for k in range(4))
        flat_diff, diff = diff, diff.reshape(gates.shape)
        # Everything that does not depend on the incoming gradient, for all steps at once:
        # diff holds d gate / d pre-activation times the factor the gate multiplies.
        sig = gates[:, :, :3]
        xp.subtract(1, sig, out=diff[:, :, :3])
        diff[:, :, :3] *= sig
        xp.multiply(g, g, out=diff[:, :, 3])
        xp.subtract(1, diff[:, :, 3], out=diff[:, :, 3])
        diff[:, :, 0] *= g
        diff[:, :, 1] *= previous_cell
        diff[:, :, 2] *= tanh_c
        diff[:, :, 3] *= i
        xp.multiply(tanh_c, tanh_c, out=tanh_c)
        xp.subtract(1, tanh_c, out=tanh_c)
        tanh_c *= o                                  # d c_t / d h_t
        carry = xp.multiply(f, keep, out=previous_cell)  # d c_{t-1} / d c_t
        recurrent = self.params["recurrent"].data
        dh[...] = 0
        dc[...] = 0
        for t in reversed(range(len(top_diff))):
            dh += top_diff[t]
            dc += xp.multiply(dh, tanh_c[t], out=scratch)
            diff[t, :, :2] *= dc[:, None]
            diff[t, :, 2] *= dh
            diff[t, :, 3] *= dc
            if t:
                dc *= carry[t]
                xp.matmul(flat_diff[t], recurrent, out=dh)
                dh *= keep[t]

    def recur_compiled(self, rows, keep, out):
        """recur_plain's maths in three compiled passes per step around NumPy's exp and
        tanh (graphnet/kernels/recurrent.py): the same numbers, a third of the calls."""
        xp, k, bias, recurrent_t = self.xp, self.kernels, self.params["bias"].data, self.recurrent_t
        gates, previous, previous_cell, cell_tanh = (a[:, rows] for a in (
            self.gates, self.previous, self.previous_cell, self.cell_tanh))
        keep, out, propagated = keep[:, rows, 0], out[:, rows], self.propagated[rows]
        cell = self.dc[rows]     # c_t, only until it is stored as the next step's c'_t
        xp.multiply(self.hidden[rows], keep[0, :, None], out=previous[0])
        xp.multiply(self.cell[rows], keep[0, :, None], out=previous_cell[0])
        last = len(out) - 1
        for t in range(len(out)):
            z = gates[t]
            xp.matmul(previous[t], recurrent_t, out=propagated)
            k.lstm_pre_activation(z, bias, propagated, self.gate_scale)
            xp.exp(z, out=z)
            k.lstm_cell(z, previous_cell[t], cell)
            xp.tanh(cell, out=cell_tanh[t])
            if t < last:     # the next step's h'_t and c'_t, reset where it starts a sequence
                k.lstm_output(z, cell, cell_tanh[t], keep[t + 1], out[t],
                              previous[t + 1], previous_cell[t + 1])
            else:            # the state carried to the next batch, which resets it itself
                k.lstm_output(z, cell, cell_tanh[t], self.ones[rows], out[t],
                              self.hidden[rows], self.cell[rows])

    def recur_back_compiled(self, part, top_diff, keep):
        """recur_back_plain's maths, one compiled pass per step beside the recurrent GEMM."""
        k, rows, recurrent = self.kernels, self.parts[part], self.params["recurrent"].data
        gates, previous_cell, cell_tanh = (a[:, rows] for a in (
            self.gates, self.previous_cell, self.cell_tanh))
        top_diff, keep, dh, dc = top_diff[:, rows], keep[:, rows, 0], self.dh[rows], self.dc[rows]
        dh[...] = 0
        dc[...] = 0
        keep_after = self.ones[rows]
        for t in reversed(range(len(top_diff))):
            k.lstm_step_back(gates[t], previous_cell[t], cell_tanh[t], top_diff[t], keep_after, keep[t],
                             dh, dc, gates[t], self.row[part])
            if t:
                self.xp.matmul(gates[t], recurrent, out=dh)
                keep_after = keep[t]
