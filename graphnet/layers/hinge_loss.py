"""HingeLoss: the margin loss of a binary classifier with labels -1 and 1."""

from ..spec import Field, choice
from .base import Loss, register
from .square_loss import check_same_shape


@register
class HingeLoss(Loss):
    """1/N sum max(0, 1 - y p) (norm l1) or its square (l2), N the batch size.

    The prediction holds scores, the label, of the same shape, -1 or 1 (binary, as in
    Mocha; for 0/1 labels, map them first).

        - {name: loss, type: HingeLoss, bottoms: [score, label], norm: l2}
    """
    norm = Field(choice("l1", "l2"), "l1", "l1: the hinge itself, l2: its square")

    def setup(self, bottom_shapes):
        check_same_shape(self, bottom_shapes)
        return [()]

    def forward(self, bottoms, tops):
        xp, p, y = self.xp, bottoms[0].data, bottoms[1].data
        if (xp.abs(y) != 1).any():
            raise self.error(f"labels must be -1 or 1, got {float(y[xp.abs(y) != 1][0]):g} "
                             f"in '{self.bottoms[1]}'", "bottoms")
        self._margin = xp.maximum(1 - y * p, 0)
        loss = self._margin if self.norm == "l1" else self._margin * self._margin
        tops[0].data[...] = loss.sum() / len(p)

    def backward(self, tops, propagate_down, bottoms):
        if propagate_down[0]:
            # l1: dL/dp = -y [1 - y p > 0] / N;  l2: dL/dp = -2 y max(0, 1 - y p) / N
            y, scale = bottoms[1].data, tops[0].diff / len(bottoms[1].data)
            slope = (self._margin > 0) if self.norm == "l1" else 2 * self._margin
            bottoms[0].diff[...] = -y * slope * scale
