"""BinaryAccuracy: the fraction of predictions on the same side of a threshold as the label."""

from ..spec import Field, number
from .base import Statistic, register
from .square_loss import check_same_shape


@register
class BinaryAccuracy(Statistic):
    """Right where (prediction > threshold) == (label > threshold), element by element.

    Threshold 0.5 suits probabilities and 0/1 labels; use 0 for scores and -1/1 labels.

        - {name: accuracy, type: BinaryAccuracy, bottoms: [score, label], threshold: 0}
    """
    threshold = Field(number(), 0.5, "the boundary between the two classes")

    def setup(self, bottom_shapes):
        check_same_shape(self, bottom_shapes)
        self._sides = self.backend.empty((2,) + tuple(bottom_shapes[0]), dtype=bool)
        return [()]

    def forward(self, bottoms, tops):
        xp, (p_above, y_above) = self.xp, self._sides
        xp.greater(bottoms[0].data, self.threshold, out=p_above)
        xp.greater(bottoms[1].data, self.threshold, out=y_above)
        right = xp.equal(p_above, y_above, out=p_above)
        xp.divide(xp.count_nonzero(right), right.size, out=tops[0].data)
