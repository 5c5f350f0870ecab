"""MultinomialLogisticLoss: -log p[y] for a prediction that already holds probabilities."""

from .base import register
from .softmax_loss import ClassLoss

LOG_FLOOR = 1e-20   # log(max(p, 1e-20)): a zero probability costs 46, not infinity


@register
class MultinomialLogisticLoss(ClassLoss):
    """-log p[y] summed over positions, weighted by class and normalized as SoftmaxLoss is.

    Prediction (N, C, ...) holds probabilities with the classes along `axis` (a Softmax
    output); the label holds class indices 0..C-1. Unlike Mocha's, it passes a gradient
    back, so Softmax followed by this layer trains like SoftmaxLoss (which is more stable).

        - {name: prob, type: Softmax, bottoms: [ip2], tops: [prob]}
        - {name: loss, type: MultinomialLogisticLoss, bottoms: [prob, label]}
    """

    def forward(self, bottoms, tops):
        xp = self.xp
        p, self._y, self._w = self.position_weights(bottoms[0].data, bottoms[1].data)
        self._p_y = xp.maximum(self.pick(p, self._y), LOG_FLOOR)
        tops[0].data[...] = -(self._w * xp.log(self._p_y)).sum()

    def backward(self, tops, propagate_down, bottoms):
        if propagate_down[0]:
            # dL/dp_y = -w[y] / (max(p_y, 1e-20) normalizer); 0 for the other classes
            classes = self.xp.arange(bottoms[0].data.shape[self.class_axis])[:, None]
            is_label = classes == self._y[:, None]
            dp = is_label * (-self._w / self._p_y * tops[0].diff)[:, None]
            bottoms[0].diff[...] = dp.reshape(bottoms[0].diff.shape)
