"""Scale: a learned factor (and optionally a bias) per channel, Caffe's Scale layer."""

import math

from ..fillers import filler
from ..spec import Field, boolean, integer
from .base import Layer, register


@register
class Scale(Layer):
    """y = x * scale (+ bias), the parameters spanning `num_axes` axes from `axis` and
    broadcast over the others. With the defaults: one scale per channel of (N, C, ...).

    BatchNorm's learned gamma and beta. May run in place (it then keeps a copy of x for
    the scale's gradient). num_axes: -1 spans every axis from `axis` on; 0 learns one number.

        - {name: scale1, type: Scale, bottoms: [bn1], tops: [bn1], bias: true}
    """
    axis = Field(integer(), 1, "first axis of the parameters; negative counts from the end")
    num_axes = Field(integer(min=-1), 1, "axes the parameters span; -1: all from axis on")
    bias = Field(boolean, False, "also learn a bias (Caffe's bias_term)")
    scale_filler = Field(filler, 1.0)
    bias_filler = Field(filler, 0.0)
    inplace = True

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        axis = self.axis + len(shape) if self.axis < 0 else self.axis
        if not 0 <= axis < len(shape):
            raise self.error(f"is out of range for '{self.bottoms[0]}' of shape {shape}", "axis")
        end = len(shape) if self.num_axes == -1 else axis + self.num_axes
        if end > len(shape):
            raise self.error(f"axes {axis} to {end - 1} go past the end of '{self.bottoms[0]}' "
                             f"of shape {shape}", "num_axes")
        param_shape = shape[axis:end]
        # x seen as (outer, scaled, inner): the parameters broadcast along the middle axis.
        self.view = (math.prod(shape[:axis]), math.prod(param_shape), math.prod(shape[end:]))
        self.add_param("scale", param_shape, self.scale_filler)
        if self.bias:
            self.add_param("bias", param_shape, self.bias_filler)
        self.x_copy = None
        return [shape]

    def _param(self, name):
        return self.params[name].data.reshape(1, -1, 1)

    def forward(self, bottoms, tops):
        x, y = bottoms[0].data.reshape(self.view), tops[0].data.reshape(self.view)
        if tops[0] is bottoms[0] and self.params["scale"].needs_grad:
            if self.x_copy is None:
                self.x_copy = self.xp.empty_like(x)
            self.x_copy[...] = x
        self.xp.multiply(x, self._param("scale"), out=y)
        if self.bias:
            y += self._param("bias")

    def backward(self, tops, propagate_down, bottoms):
        dy = tops[0].diff.reshape(self.view)
        scale = self.params["scale"]
        if scale.needs_grad:
            x = self.x_copy if tops[0] is bottoms[0] else bottoms[0].data.reshape(self.view)
            scale.diff += (dy * x).sum(axis=(0, 2)).reshape(scale.shape)   # dL/dscale = sum dy * x
        if self.bias and self.params["bias"].needs_grad:
            bias = self.params["bias"]
            bias.diff += dy.sum(axis=(0, 2)).reshape(bias.shape)          # dL/dbias = sum dy
        if propagate_down[0]:
            # Last: in place, dx is dy's array.
            self.xp.multiply(dy, self._param("scale"), out=bottoms[0].diff.reshape(self.view))
