"""LSTM: long short-term memory over a time-major sequence (Caffe's form, no peepholes)."""

from ..spec import Field, number, optional
from .base import register
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
        self.kernels = self.backend.kernels
        if self.kernels is None:
            self.cells = zeros((steps, n, h))
        else:
            self.ones = self.xp.ones(n, dtype=self.backend.dtype)
            self.bias_in_recur = True     # one pass less over the window's gates
            # backward writes the gradient over the gates it has read: 13 MB less for two
            # layers of netdefs/shakespeare.yaml, and a backward step ~30 % faster
            self.gate_diff = self.gates
            self.row = zeros((4 * h,))
        return shapes

    def recur(self, keep, out):
        if self.kernels is not None:
            return self.recur_compiled(keep[:, :, 0], out)
        xp, h = self.xp, self.output_dim
        gates = self.gates.reshape(*self.gates.shape[:2], 4, h)
        recurrent_t = self.recurrent_t
        recurrent_t[...] = self.params["recurrent"].data.T
        hidden, cell = self.hidden, self.cell
        for t in range(len(out)):
            h_prev = xp.multiply(hidden, keep[t], out=self.previous[t])
            c_prev = xp.multiply(cell, keep[t], out=self.previous_cell[t])
            z = self.gates[t]
            z += xp.matmul(h_prev, recurrent_t, out=self.propagated)
            activate(xp, z, self.gate_scale, h)
            i, f, o, g = (gates[t, :, k] for k in range(4))
            cell = xp.multiply(f, c_prev, out=self.cells[t])
            cell += xp.multiply(i, g, out=self.dc)
            hidden = xp.multiply(o, xp.tanh(cell, out=self.cell_tanh[t]), out=out[t])
        self.hidden[...] = hidden
        self.cell[...] = cell

    def recur_back(self, top_diff, keep):
        if self.kernels is not None:
            return self.recur_back_compiled(top_diff, keep[:, :, 0])
        xp, h = self.xp, self.output_dim
        gates = self.gates.reshape(*self.gates.shape[:2], 4, h)
        i, f, o, g = (gates[:, :, k] for k in range(4))
        diff = self.gate_diff.reshape(gates.shape)
        # Everything that does not depend on the incoming gradient, for all steps at once:
        # diff holds d gate / d pre-activation times the factor the gate multiplies.
        sig = gates[:, :, :3]
        xp.subtract(1, sig, out=diff[:, :, :3])
        diff[:, :, :3] *= sig
        xp.multiply(g, g, out=diff[:, :, 3])
        xp.subtract(1, diff[:, :, 3], out=diff[:, :, 3])
        diff[:, :, 0] *= g
        diff[:, :, 1] *= self.previous_cell
        diff[:, :, 2] *= self.cell_tanh
        diff[:, :, 3] *= i
        tanh_c = self.cell_tanh
        xp.multiply(tanh_c, tanh_c, out=tanh_c)
        xp.subtract(1, tanh_c, out=tanh_c)
        tanh_c *= o                                  # d c_t / d h_t
        carry = xp.multiply(f, keep, out=self.previous_cell)  # d c_{t-1} / d c_t
        recurrent = self.params["recurrent"].data
        dh, dc = self.dh, self.dc
        dh[...] = 0
        dc[...] = 0
        for t in reversed(range(len(top_diff))):
            dh += top_diff[t]
            dc += xp.multiply(dh, tanh_c[t], out=self.propagated[:, :h])
            diff[t, :, :2] *= dc[:, None]
            diff[t, :, 2] *= dh
            diff[t, :, 3] *= dc
            if t:
                dc *= carry[t]
                xp.matmul(self.gate_diff[t], recurrent, out=dh)
                dh *= keep[t]

    def recur_compiled(self, keep, out):
        """recur's maths in three compiled passes per step around NumPy's exp and tanh
        (graphnet/kernels/recurrent.py): the same numbers, a third of the calls."""
        xp, k, bias = self.xp, self.kernels, self.params["bias"].data
        recurrent_t = self.recurrent_t
        recurrent_t[...] = self.params["recurrent"].data.T
        xp.multiply(self.hidden, keep[0, :, None], out=self.previous[0])
        xp.multiply(self.cell, keep[0, :, None], out=self.previous_cell[0])
        last = len(out) - 1
        for t in range(len(out)):
            z = self.gates[t]
            xp.matmul(self.previous[t], recurrent_t, out=self.propagated)
            k.lstm_pre_activation(z, bias, self.propagated, self.gate_scale)
            xp.exp(z, out=z)
            cell = self.dc     # c_t, only until it is stored as the next step's c'_t
            k.lstm_cell(z, self.previous_cell[t], cell)
            xp.tanh(cell, out=self.cell_tanh[t])
            if t < last:     # the next step's h'_t and c'_t, reset where it starts a sequence
                k.lstm_output(z, cell, self.cell_tanh[t], keep[t + 1], out[t],
                              self.previous[t + 1], self.previous_cell[t + 1])
            else:            # the state carried to the next batch, which resets it itself
                k.lstm_output(z, cell, self.cell_tanh[t], self.ones, out[t], self.hidden, self.cell)

    def recur_back_compiled(self, top_diff, keep):
        """recur_back's maths, one compiled pass per step beside the recurrent GEMM."""
        k, dh, dc = self.kernels, self.dh, self.dc
        recurrent = self.params["recurrent"].data
        dh[...] = 0
        dc[...] = 0
        keep_after = self.ones
        for t in reversed(range(len(top_diff))):
            k.lstm_step_back(self.gates[t], self.previous_cell[t], self.cell_tanh[t], top_diff[t],
                             keep_after, keep[t], dh, dc, self.gate_diff[t], self.row)
            if t:
                self.xp.matmul(self.gate_diff[t], recurrent, out=dh)
                keep_after = keep[t]
