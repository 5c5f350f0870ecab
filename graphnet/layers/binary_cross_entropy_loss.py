"""BinaryCrossEntropyLoss: the log loss of probabilities against targets in [0, 1]."""

from .base import Loss, register
from .square_loss import check_same_shape

LOG_FLOOR = 1e-12   # log(max(p, 1e-12)) and log(max(1 - p, 1e-12)): finite at p = 0 or 1


@register
class BinaryCrossEntropyLoss(Loss):
    """-1/N sum [y log p + (1 - y) log(1 - p)] over the N samples of the batch.

    The prediction holds probabilities (a sigmoid output), the target, of the same shape,
    values in [0, 1] (soft targets are fine). Both bottoms take a gradient.

        - {name: prob, type: Sigmoid, bottoms: [ip2], tops: [prob]}
        - {name: loss, type: BinaryCrossEntropyLoss, bottoms: [prob, label]}
    """
    grad_bottoms = None

    def setup(self, bottom_shapes):
        check_same_shape(self, bottom_shapes)
        return [()]

    def forward(self, bottoms, tops):
        xp, p, y = self.xp, bottoms[0].data, bottoms[1].data
        if ((y < 0) | (y > 1)).any():
            raise self.error(f"targets must lie in [0, 1], got {float(y[(y < 0) | (y > 1)][0]):g} "
                             f"in '{self.bottoms[1]}'", "bottoms")
        # p and 1 - p are floored separately: in float32, 1 - 1e-12 rounds to 1
        self._p = xp.maximum(p, LOG_FLOOR)
        self._q = xp.maximum(1 - p, LOG_FLOOR)
        self._log_p, self._log_q = xp.log(self._p), xp.log(self._q)
        tops[0].data[...] = -(y * self._log_p + (1 - y) * self._log_q).sum() / len(p)

    def backward(self, tops, propagate_down, bottoms):
        y = bottoms[1].data
        scale = tops[0].diff / len(y)
        if propagate_down[0]:
            # dL/dp = -(y / p - (1 - y) / (1 - p)) / N
            bottoms[0].diff[...] = ((1 - y) / self._q - y / self._p) * scale
        if propagate_down[1]:
            # dL/dy = -(log p - log(1 - p)) / N
            bottoms[1].diff[...] = (self._log_q - self._log_p) * scale
