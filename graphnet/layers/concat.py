"""Concat: blobs joined along one axis."""

from ..spec import Field, integer
from .base import Layer, register


@register
class Concat(Layer):
    """Bottoms that agree on every axis but `axis` are joined along it.

        - {name: both, type: Concat, bottoms: [a, b], tops: [ab], axis: 1}
    """
    axis = Field(integer(), 1, "negative counts from the end")
    n_bottoms = (1, None)

    def setup(self, bottom_shapes):
        first = tuple(bottom_shapes[0])
        if not -len(first) <= self.axis < len(first):
            raise self.error(f"is out of range for '{self.bottoms[0]}' of shape {first}", "axis")
        self.at = self.axis % len(first)
        total = 0
        for name, shape in zip(self.bottoms, bottom_shapes):
            shape = tuple(shape)
            if len(shape) != len(first) or shape[:self.at] + shape[self.at + 1:] != \
                    first[:self.at] + first[self.at + 1:]:
                raise self.error(f"shapes differ off axis {self.at}: '{self.bottoms[0]}' is {first}, "
                                 f"'{name}' is {shape}", "bottoms")
            total += shape[self.at]
        self.bounds = []
        for shape in bottom_shapes:
            start = self.bounds[-1][1] if self.bounds else 0
            self.bounds.append((start, start + shape[self.at]))
        return [first[:self.at] + (total,) + first[self.at + 1:]]

    def _part(self, array, bound):
        return array[(slice(None),) * self.at + (slice(*bound),)]

    def forward(self, bottoms, tops):
        for bottom, bound in zip(bottoms, self.bounds):
            self._part(tops[0].data, bound)[...] = bottom.data

    def backward(self, tops, propagate_down, bottoms):
        for down, bottom, bound in zip(propagate_down, bottoms, self.bounds):
            if down:
                bottom.diff[...] = self._part(tops[0].diff, bound)
