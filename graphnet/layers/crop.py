"""Crop: a blob cut to the shape of another, Caffe's way."""

from ..spec import Field, integer, list_of
from .base import Layer, register


@register
class Crop(Layer):
    """Bottoms [x, reference]: x cut to reference's shape on every axis from `axis` on,
    starting at `offset` (one per cropped axis, or one for all, as Caffe); the axes before `axis`
    keep x's size. The gradient goes to x only (zero outside the crop).

        - {name: crop, type: Crop, bottoms: [score, data], tops: [score_crop], axis: 2, offset: [19]}
    """
    axis = Field(integer(), 2, "first axis cropped; negative counts from the end")
    offset = Field(list_of(integer(min=0)), [0],
                   "where the crop starts: one per cropped axis, or one for all")
    n_bottoms = 2
    grad_bottoms = (0,)

    def setup(self, bottom_shapes):
        (x, ref), (shape, ref_shape) = self.bottoms, (tuple(s) for s in bottom_shapes)
        if len(shape) != len(ref_shape):
            raise self.error(f"needs bottoms with as many axes: '{x}' is {shape}, '{ref}' is {ref_shape}",
                             "bottoms")
        if not -len(shape) <= self.axis < len(shape):
            raise self.error(f"is out of range for '{x}' of shape {shape}", "axis")
        axis = self.axis % len(shape)
        cropped = len(shape) - axis
        if len(self.offset) not in (0, 1, cropped):
            raise self.error(f"needs one offset, or one per cropped axis ({cropped}), "
                             f"got {len(self.offset)}", "offset")
        offsets = (self.offset or [0]) * cropped if len(self.offset) <= 1 else self.offset
        self.window = tuple(slice(None) for _ in range(axis))
        for i, (start, size, want) in enumerate(zip(offsets, shape[axis:], ref_shape[axis:])):
            if start + want > size:
                raise self.error(f"axis {axis + i}: offset {start} + size {want} of '{ref}' {ref_shape} "
                                 f"is past the size {size} of '{x}' {shape}", "offset")
            self.window += (slice(start, start + want),)
        return [shape[:axis] + ref_shape[axis:]]

    def forward(self, bottoms, tops):
        tops[0].data[...] = bottoms[0].data[self.window]

    def backward(self, tops, propagate_down, bottoms):
        if propagate_down[0]:
            dx = bottoms[0].diff
            dx[...] = 0
            dx[self.window] = tops[0].diff
