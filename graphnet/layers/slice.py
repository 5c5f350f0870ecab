"""Slice: one blob cut into several along an axis, the inverse of Concat."""

from ..spec import Field, integer, list_of
from .base import Layer, register


@register
class Slice(Layer):
    """The bottom cut along `axis` at the `slice_points` (K - 1 increasing indices for K
    tops); without points, into K equal parts. Caffe's Slice layer.

        - {name: halves, type: Slice, bottoms: [x], tops: [a, b], axis: 1, slice_points: [3]}
    """
    axis = Field(integer(), 1, "negative counts from the end")
    slice_points = Field(list_of(integer(min=1)), [], "where each top after the first begins")
    n_tops = (1, None)

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if not -len(shape) <= self.axis < len(shape):
            raise self.error(f"is out of range for '{self.bottoms[0]}' of shape {shape}, "
                             f"got {self.axis}", "axis")
        axis = self.at = self.axis % len(shape)
        size, k = shape[axis], len(self.tops)
        if self.slice_points:
            points = list(self.slice_points)
            if len(points) != k - 1:
                raise self.error(f"needs one point fewer than tops ({k - 1}), got {len(points)}",
                                 "slice_points")
            if any(b <= a for a, b in zip(points, points[1:])) or points[-1] >= size:
                raise self.error(f"must increase strictly and lie inside axis {axis} of "
                                 f"'{self.bottoms[0]}' {shape} (1 to {size - 1}), got {points}",
                                 "slice_points")
        elif size % k:
            raise self.error(f"axis {axis} of '{self.bottoms[0]}' {shape} does not split into "
                             f"{k} equal parts; give slice_points", "tops")
        else:
            points = [size // k * i for i in range(1, k)]
        edges = [0, *points, size]
        self.bounds = list(zip(edges[:-1], edges[1:]))
        return [shape[:axis] + (end - start,) + shape[axis + 1:] for start, end in self.bounds]

    def _part(self, array, bound):
        return array[(slice(None),) * self.at + (slice(*bound),)]

    def forward(self, bottoms, tops):
        for top, bound in zip(tops, self.bounds):
            top.data[...] = self._part(bottoms[0].data, bound)

    def backward(self, tops, propagate_down, bottoms):
        # Each top's gradient goes back to its own slice of the bottom's.
        if propagate_down[0]:
            for top, bound in zip(tops, self.bounds):
                self._part(bottoms[0].diff, bound)[...] = top.diff
