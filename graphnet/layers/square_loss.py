"""SquareLoss: half the squared distance between prediction and target, per sample."""

from .base import Loss, register


def check_same_shape(layer, bottom_shapes):
    """Setup for a layer whose two bottoms are compared element by element."""
    a, b = (tuple(s) for s in bottom_shapes[:2])
    if not a:  # a loss's own top, say: no axis of samples to average over
        raise layer.error(f"'{layer.bottoms[0]}' is a single number; {type(layer).__name__} "
                          f"needs a batch, samples along axis 0", "bottoms")
    if a != b:
        raise layer.error(f"shapes differ: '{layer.bottoms[0]}' is {a}, "
                          f"'{layer.bottoms[1]}' is {b}", "bottoms")


@register
class SquareLoss(Loss):
    """1/(2N) sum ||p - y||^2 over the N samples of the batch (Caffe's EuclideanLoss).

    Both bottoms take a gradient, so either may be learned.

        - {name: loss, type: SquareLoss, bottoms: [pred, target]}
    """
    grad_bottoms = None

    def setup(self, bottom_shapes):
        check_same_shape(self, bottom_shapes)
        return [()]

    def forward(self, bottoms, tops):
        self._delta = bottoms[0].data - bottoms[1].data
        tops[0].data[...] = (self._delta * self._delta).sum() / (2 * len(self._delta))

    def backward(self, tops, propagate_down, bottoms):
        # dL/dp = (p - y) / N = -dL/dy, times the loss weight
        grad = self._delta * (tops[0].diff / len(self._delta))
        if propagate_down[0]:
            bottoms[0].diff[...] = grad
        if propagate_down[1]:
            self.xp.negative(grad, out=bottoms[1].diff)
