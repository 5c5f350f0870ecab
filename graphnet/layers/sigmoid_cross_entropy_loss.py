"""SigmoidCrossEntropyLoss: the log loss of sigmoid(logits) against targets, computed on the logits."""

from ..spec import Field, choice, integer, optional
from .base import Loss, register
from .neurons import SigmoidNeuron
from .softmax_loss import NORMALIZATIONS
from .square_loss import check_same_shape


@register
class SigmoidCrossEntropyLoss(Loss):
    """-sum [t log p + (1 - t) log(1 - p)] / normalizer, p = sigmoid(x), Caffe's layer of the name.

    Computed as sum [max(x, 0) - x t + log(1 + exp(-|x|))], which stays exact for any
    logit: a Sigmoid followed by BinaryCrossEntropyLoss floors p at 1e-12 and so caps each
    term near 27.6. The gradient is (p - t) / normalizer. Targets in [0, 1], the shape of
    the logits. `normalization` as in Caffe, whose default for this layer is batch_size
    (valid: the positions whose target is not `ignore_label`).

        - {name: loss, type: SigmoidCrossEntropyLoss, bottoms: [logits, label]}
    """
    ignore_label = Field(optional(integer()), None, "positions with this target add nothing")
    normalization = Field(choice(*NORMALIZATIONS), "batch_size",
                          "divide the sum by: batch_size, valid (non-ignored positions), "
                          "full (all positions) or none")
    # Set by graphnet.parallel on each of K processes when targets may be ignored: count ->
    # the normalizer, from the valid positions of all K (those of one process at batch K*B).
    valid_normalizer = None

    def setup(self, bottom_shapes):
        check_same_shape(self, bottom_shapes)
        return [()]

    def forward(self, bottoms, tops):
        xp, x, t = self.xp, bottoms[0].data, bottoms[1].data
        self.valid = None if self.ignore_label is None else t != self.ignore_label
        bad = (t < 0) | (t > 1) | xp.isnan(t)
        if self.valid is not None:
            bad &= self.valid
        if bad.any():
            raise self.error(f"targets must lie in [0, 1], got {float(t[bad][0]):g} "
                             f"in '{self.bottoms[1]}'", "bottoms")
        terms = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        if self.valid is not None:
            terms *= self.valid
        self.normalizer = self._normalizer(x)
        tops[0].data[...] = terms.sum() / self.normalizer

    def _normalizer(self, x):
        if self.normalization == "batch_size":
            count = x.shape[0] if x.ndim else 1
        elif self.normalization == "full" or self.normalization == "valid" and self.valid is None:
            count = x.size
        elif self.normalization == "valid" and self.valid_normalizer is not None:
            return self.valid_normalizer(int(self.valid.sum()))
        elif self.normalization == "valid":
            count = int(self.valid.sum())
        else:
            count = 1
        return max(count, 1)

    def backward(self, tops, propagate_down, bottoms):
        if propagate_down[0]:
            xp, x, t = self.xp, bottoms[0].data, bottoms[1].data
            dx = bottoms[0].diff
            # dL/dx = (sigmoid(x) - t) / normalizer, the sigmoid the Sigmoid layer's (no overflow)
            SigmoidNeuron().forward(xp, x, out=dx)
            dx -= t
            if self.valid is not None:
                dx *= self.valid
            dx *= tops[0].diff / self.normalizer
