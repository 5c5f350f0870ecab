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
        shape = tuple(bottom_shapes[0])
        self.batch = shape[0] if shape else 1
        # Each buffer stacks the two halves of the sum, (y, 1 - y) against (log p, log(1 - p)):
        # each step of the sum is one operation over both, and the sum is one dot product.
        # The views of the halves are made once: making them costs more than the arithmetic.
        empty = self.backend.empty
        self._targets, self._probs, self._logs, self._ratios = (empty((2,) + shape) for _ in range(4))
        self._y, self._not_y = self._targets
        self._p, self._not_p = self._probs
        self._log_p, self._log_not_p = self._logs
        self._y_on_p, self._not_y_on_not_p = self._ratios
        self._flat_targets, self._flat_logs = self._targets.reshape(-1), self._logs.reshape(-1)
        # NumPy takes numbers faster as arrays of the operands' dtype than as Python numbers.
        self._one, self._floor, self._batch, self._minus_batch = (
            self.backend.asarray(v) for v in (1, LOG_FLOOR, self.batch, -self.batch))
        return [()]

    def forward(self, bottoms, tops):
        xp, p, y = self.xp, bottoms[0].data, bottoms[1].data
        self._y[...] = y
        xp.subtract(self._one, y, out=self._not_y)
        if not self._flat_targets.min() >= 0:  # y < 0, or 1 - y < 0: y > 1; or a nan
            bad = y[~((y >= 0) & (y <= 1))]
            raise self.error(f"targets must lie in [0, 1], got {float(bad[0]):g} "
                             f"in '{self.bottoms[1]}'", "bottoms")
        self._p[...] = p
        xp.subtract(self._one, p, out=self._not_p)
        # p and 1 - p are floored separately: in float32, 1 - 1e-12 rounds to 1
        xp.maximum(self._probs, self._floor, out=self._probs)
        xp.log(self._probs, out=self._logs)
        xp.divide(self._flat_targets.dot(self._flat_logs), self._minus_batch, out=tops[0].data)

    def backward(self, tops, propagate_down, bottoms):
        xp = self.xp
        scale = xp.divide(tops[0].diff, self._batch)
        if propagate_down[0]:
            # dL/dp = -(y / p - (1 - y) / (1 - p)) / N
            xp.divide(self._targets, self._probs, out=self._ratios)
            dp = xp.subtract(self._not_y_on_not_p, self._y_on_p, out=bottoms[0].diff)
            dp *= scale
        if propagate_down[1]:
            # dL/dy = -(log p - log(1 - p)) / N
            dy = xp.subtract(self._log_not_p, self._log_p, out=bottoms[1].diff)
            dy *= scale
