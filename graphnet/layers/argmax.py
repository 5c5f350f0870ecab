"""ArgMax: the indices (or values) of the highest scores along an axis."""

from ..spec import Field, boolean, integer
from .base import Layer, register


@register
class ArgMax(Layer):
    """The indices of the top_k highest scores along `axis`, highest first, as numbers.

    Bottom (N, C, ...) -> top (N, top_k, ...) with the default axis 1. Ties go to the lower
    index. With out_max_val the top holds the scores themselves instead. No gradient.

        - {name: predicted, type: ArgMax, bottoms: [ip2], tops: [class], phase: test}
    """
    axis = Field(integer(), 1, "the axis searched; negative counts from the end")
    top_k = Field(integer(min=1), 1, "how many indices, highest score first")
    out_max_val = Field(boolean, False, "give the top_k scores instead of their indices")
    differentiable = False

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if not -len(shape) <= self.axis < len(shape):
            raise self.error(f"is out of range for '{self.bottoms[0]}' of shape {shape}", "axis")
        self.search_axis = self.axis % len(shape)
        if self.top_k > shape[self.search_axis]:
            raise self.error(f"must be at most the size of axis {self.search_axis} of "
                             f"'{self.bottoms[0]}' of shape {shape}, got {self.top_k}", "top_k")
        return [shape[:self.search_axis] + (self.top_k,) + shape[self.search_axis + 1:]]

    def forward(self, bottoms, tops):
        xp, x, axis = self.xp, bottoms[0].data, self.search_axis
        if self.top_k == 1:
            index = xp.expand_dims(xp.argmax(x, axis=axis), axis)
        else:
            # A stable sort of -x keeps tied scores in index order.
            index = xp.argsort(-x, axis=axis, kind="stable")
            index = index[(slice(None),) * axis + (slice(0, self.top_k),)]
        tops[0].data[...] = xp.take_along_axis(x, index, axis) if self.out_max_val else index
