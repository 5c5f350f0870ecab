"""HuberLoss, a layer of one's own: load it with `--plugin examples/plugins/huber.py`.

    graphnet solve examples/plugins/huber.yaml --plugin examples/plugins/huber.py
"""

from graphnet.layers import Loss, register
from graphnet.spec import Field, number


@register
class HuberLoss(Loss):
    """1/N sum of h(p - y) over the N samples, h(r) = r^2 / 2 where |r| <= delta and
    delta (|r| - delta / 2) beyond: squared near the target, linear far from it, so that
    outliers pull on the fit no harder than delta does.

        - {name: loss, type: HuberLoss, bottoms: [pred, target], delta: 1.0}
    """
    delta = Field(number(above=0), 1.0, "where the square turns into a line")

    def setup(self, bottom_shapes):
        if tuple(bottom_shapes[0]) != tuple(bottom_shapes[1]) or not bottom_shapes[0]:
            raise self.error(f"needs two bottoms of one shape (N, ...), got "
                             f"{tuple(bottom_shapes[0])} and {tuple(bottom_shapes[1])}", "bottoms")
        return [()]

    def forward(self, bottoms, tops):
        r = bottoms[0].data - bottoms[1].data
        # h'(r) = r clipped to [-delta, delta]; kept for backward
        self._slope = self.xp.clip(r, -self.delta, self.delta)
        h = self.xp.where(abs(r) <= self.delta, r * r / 2, self.delta * (abs(r) - self.delta / 2))
        tops[0].data[...] = h.sum() / len(r)

    def backward(self, tops, propagate_down, bottoms):
        # dL/dp = h'(p - y) / N, times the top's weight; the label takes no gradient
        if propagate_down[0]:
            bottoms[0].diff[...] = self._slope * (tops[0].diff / len(self._slope))
