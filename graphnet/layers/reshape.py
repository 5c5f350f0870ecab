"""Reshape and Flatten: the same values under another shape, without a copy."""

import math

from ..spec import Field, integer, list_of
from .base import Layer, register


class _View(Layer):
    """A layer whose top is a view of its bottom; the gradient is reshaped back."""
    views = True

    def forward(self, bottoms, tops):
        tops[0].data = bottoms[0].data.reshape(tops[0].shape)

    def backward(self, tops, propagate_down, bottoms):
        if propagate_down[0]:
            bottoms[0].diff[...] = tops[0].diff.reshape(bottoms[0].diff.shape)


@register
class Reshape(_View):
    """Caffe's Reshape: `shape` gives the top's shape, where 0 copies the bottom's axis
    and -1 (at most once) takes what is left.

        - {name: seq, type: Reshape, bottoms: [x], tops: [y], shape: [0, -1, 4]}
    """
    shape = Field(list_of(integer(min=-1), min_len=1), doc="0: copy the axis; -1: infer it")

    def validate(self):
        super().validate()
        if self.shape.count(-1) > 1:
            raise self.error(f"may hold -1 once, got {self.shape}", "shape")

    def setup(self, bottom_shapes):
        bottom = tuple(bottom_shapes[0])
        shape = []
        for i, dim in enumerate(self.shape):
            if dim == 0:
                if i >= len(bottom):
                    raise self.error(f"0 at axis {i} copies an axis '{self.bottoms[0]}' of shape "
                                     f"{bottom} does not have", "shape")
                dim = bottom[i]
            shape.append(dim)
        known = math.prod(d for d in shape if d != -1)
        if -1 in shape and known and math.prod(bottom) % known == 0:
            shape[shape.index(-1)] = math.prod(bottom) // known
        if -1 in shape or math.prod(shape) != math.prod(bottom):
            raise self.error(f"{self.shape} cannot hold the {math.prod(bottom)} values of "
                             f"'{self.bottoms[0]}' of shape {bottom}", "shape")
        return [tuple(shape)]


@register
class Flatten(_View):
    """Caffe's Flatten: axes `axis` to `end_axis` (inclusive) become one.

        - {name: flat, type: Flatten, bottoms: [pool2], tops: [flat]}
    """
    axis = Field(integer(), 1)
    end_axis = Field(integer(), -1)

    def setup(self, bottom_shapes):
        bottom = tuple(bottom_shapes[0])
        start, end = (a + len(bottom) if a < 0 else a for a in (self.axis, self.end_axis))
        for field, axis in (("axis", start), ("end_axis", end)):
            if not 0 <= axis < len(bottom):
                raise self.error(f"is out of range for '{self.bottoms[0]}' of shape {bottom}", field)
        if end < start:
            raise self.error(f"comes before axis {self.axis} in shape {bottom}", "end_axis")
        return [bottom[:start] + (math.prod(bottom[start:end + 1]),) + bottom[end + 1:]]
