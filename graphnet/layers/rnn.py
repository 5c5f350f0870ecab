"""RNN: the plain recurrent layer, h_t = tanh(W x_t + U h'_{t-1} + b)."""

from .base import register
from .recurrent import Recurrent


@register
class RNN(Recurrent):
    """h_t = tanh(W x_t + U h'_{t-1} + b), h'_{t-1} = cont_t h_{t-1} (Caffe's RNN without its
    separate output layer: add an InnerProduct with axis 2 for that).

    Bottoms x (T, N, features...) and cont (T, N); top h (T, N, H). Parameters `weight`
    (H, features), `recurrent` (H, H) and `bias` (H). h carries over to the next batch;
    see graphnet/layers/recurrent.py.

        - {name: rnn, type: RNN, bottoms: [x, cont], tops: [h], output_dim: 64}
    """
    state_attrs = ("hidden",)

    def setup(self, bottom_shapes):
        shapes = super().setup(bottom_shapes)
        self.dh = self.backend.zeros(shapes[0][1:])
        return shapes

    def recur(self, keep, out):
        xp = self.xp
        recurrent_t = self.params["recurrent"].data.T
        hidden = self.hidden
        for t in range(len(out)):
            h_prev = xp.multiply(hidden, keep[t], out=self.previous[t])
            z = self.gates[t]
            z += h_prev @ recurrent_t
            hidden = xp.tanh(z, out=z)
        out[...] = self.gates
        self.hidden[...] = hidden

    def recur_back(self, top_diff, keep):
        xp, diff = self.xp, self.gate_diff
        xp.multiply(self.gates, self.gates, out=diff)
        xp.subtract(1, diff, out=diff)               # tanh' = 1 - h^2, for all steps at once
        recurrent, dh = self.params["recurrent"].data, self.dh
        dh[...] = 0
        for t in reversed(range(len(top_diff))):
            dh += top_diff[t]
            diff[t] *= dh
            if t:
                xp.matmul(diff[t], recurrent, out=dh)
                dh *= keep[t]
