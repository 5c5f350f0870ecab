"""Concat: blobs joined along one axis."""

from ..spec import Field, integer
from .base import Layer, register


@register
class Concat(Layer):
    """Bottoms that agree on every axis but `axis` are joined along it (in bottom order).

        - {name: both, type: Concat, bottoms: [a, b], tops: [ab], axis: 1}
    """
    axis = Field(integer(), 1, "negative counts from the end")
    n_bottoms = (1, None)

    def setup(self, bottom_shapes):
        first = tuple(bottom_shapes[0])
        if not -len(first) <= self.axis < len(first):
            raise self.error(f"is out of range for '{self.bottoms[0]}' of shape {first}, "
                             f"got {self.axis}", "axis")
        axis = self.at = self.axis % len(first)
        self.bounds, end = [], 0  # where each bottom lies along the axis of the top
        for name, shape in zip(self.bottoms, bottom_shapes):
            shape = tuple(shape)
            if len(shape) != len(first) or shape[:axis] + shape[axis + 1:] != \
                    first[:axis] + first[axis + 1:]:
                raise self.error(f"shapes differ off axis {axis}: '{self.bottoms[0]}' is {first}, "
                                 f"'{name}' is {shape}", "bottoms")
            self.bounds.append((end, end + shape[axis]))
            end += shape[axis]
        return [first[:axis] + (end,) + first[axis + 1:]]

    def _part(self, array, bound):
        return array[(slice(None),) * self.at + (slice(*bound),)]

    def forward(self, bottoms, tops):
        for bottom, bound in zip(bottoms, self.bounds):
            self._part(tops[0].data, bound)[...] = bottom.data

    def backward(self, tops, propagate_down, bottoms):
        # Each bottom's gradient is its own slice of the top's.
        for down, bottom, bound in zip(propagate_down, bottoms, self.bounds):
            if down:
                bottom.diff[...] = self._part(tops[0].diff, bound)
