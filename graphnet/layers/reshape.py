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
            bottoms[0].diff[...] = tops[0].diff.reshape(bottoms[0].shape)

    def _axis(self, field, shape):
        """The field's axis of `shape`, counting a negative one from the end."""
        axis = getattr(self, field)
        if not -len(shape) <= axis < len(shape):
            raise self.error(f"is out of range for '{self.bottoms[0]}' of shape {shape}, got {axis}",
                             field)
        return axis % len(shape)


@register
class Reshape(_View):
    """Caffe's Reshape: `shape` gives the top's shape, where 0 copies the bottom's axis
    at the same place and -1 (at most once) takes what is left.

        - {name: seq, type: Reshape, bottoms: [x], tops: [y], shape: [0, -1, 4]}
    """
    shape = Field(list_of(integer(min=-1), min_len=1), doc="0: copy the axis; -1: infer it")

    def validate(self):
        super().validate()
        if self.shape.count(-1) > 1:
            raise self.error(f"may hold -1 only once, got {self.shape}", "shape")

    def setup(self, bottom_shapes):
        bottom = tuple(bottom_shapes[0])
        count = math.prod(bottom)
        shape = []
        for axis, dim in enumerate(self.shape):
            if dim == 0 and axis >= len(bottom):
                raise self.error(f"0 at axis {axis} copies an axis that '{self.bottoms[0]}' "
                                 f"of shape {bottom} does not have", "shape")
            shape.append(bottom[axis] if dim == 0 else dim)
        known = math.prod(d for d in shape if d != -1)
        if -1 in shape and known and count % known == 0:
            shape[shape.index(-1)] = count // known
        if -1 in shape or math.prod(shape) != count:
            raise self.error(f"{self.shape} cannot hold the {count} values of "
                             f"'{self.bottoms[0]}' of shape {bottom}", "shape")
        return [tuple(shape)]


@register
class Flatten(_View):
    """Caffe's Flatten: axes `axis` to `end_axis` (both included) become one.

        - {name: flat, type: Flatten, bottoms: [pool2], tops: [flat]}
    """
    axis = Field(integer(), 1, "first axis merged; negative counts from the end")
    end_axis = Field(integer(), -1, "last axis merged; negative counts from the end")

    def setup(self, bottom_shapes):
        bottom = tuple(bottom_shapes[0])
        start, end = self._axis("axis", bottom), self._axis("end_axis", bottom)
        if end < start:
            raise self.error(f"{self.end_axis} comes before axis {self.axis} in shape {bottom}",
                             "end_axis")
        return [bottom[:start] + (math.prod(bottom[start:end + 1]),) + bottom[end + 1:]]
