"""Softmax: exp(x) normalized to sum to one along an axis."""

from ..spec import Field, integer
from .base import Layer, register


@register
class Softmax(Layer):
    """y = exp(x - max) / sum(exp(x - max)) along `axis` (the classes; 1 by default).

        - {name: prob, type: Softmax, bottoms: [ip2], tops: [prob]}
    """
    axis = Field(integer(), 1, "the axis that sums to one; negative counts from the end")
    backward_reads_tops = True

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if not -len(shape) <= self.axis < len(shape):
            raise self.error(f"is out of range for '{self.bottoms[0]}' of shape {shape}", "axis")
        return [shape]

    def forward(self, bottoms, tops):
        xp, y = self.xp, tops[0].data
        xp.subtract(bottoms[0].data, bottoms[0].data.max(axis=self.axis, keepdims=True), out=y)
        xp.exp(y, out=y)
        y /= y.sum(axis=self.axis, keepdims=True)

    def backward(self, tops, propagate_down, bottoms):
        if propagate_down[0]:
            y, dy = tops[0].data, tops[0].diff
            # dL/dx = y * (dy - sum(dy * y)) along the axis
            bottoms[0].diff[...] = y * (dy - (dy * y).sum(axis=self.axis, keepdims=True))
