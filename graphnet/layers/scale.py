"""Scale: a factor (and optionally a bias) per channel, Caffe's Scale layer; the factor
learned, or read from a second bottom."""

import math

from ..fillers import filler
from ..spec import Field, boolean, integer
from .base import Layer, register


def broadcast_view(layer, bottom_shapes):
    """(parameter shape, (outer, middle, inner)) for Scale and Bias: x seen as (outer,
    middle, inner), the parameter or second bottom broadcast along the middle axis. With
    two bottoms the second one's shape sets the span (num_axes is then not used), as in Caffe."""
    shape = tuple(bottom_shapes[0])
    axis = layer.axis + len(shape) if layer.axis < 0 else layer.axis
    if not 0 <= axis < len(shape):
        raise layer.error(f"is out of range for '{layer.bottoms[0]}' of shape {shape}", "axis")
    if len(bottom_shapes) > 1:
        span = tuple(bottom_shapes[1])
        if shape[axis:axis + len(span)] != span:
            raise layer.error(f"'{layer.bottoms[1]}' {span} must match the axes of "
                              f"'{layer.bottoms[0]}' {shape} from axis {axis} on", "bottoms")
        end = axis + len(span)
    else:
        end = len(shape) if layer.num_axes == -1 else axis + layer.num_axes
        if end > len(shape):
            raise layer.error(f"axes {axis} to {end - 1} go past the end of '{layer.bottoms[0]}' "
                              f"of shape {shape}", "num_axes")
    param_shape = shape[axis:end]
    return param_shape, (math.prod(shape[:axis]), math.prod(param_shape), math.prod(shape[end:]))


@register
class Scale(Layer):
    """y = x * scale (+ bias), the scale spanning `num_axes` axes from `axis` and broadcast
    over the others. With the defaults: one scale per channel of (N, C, ...). The scale is
    learned, or is a second bottom whose shape matches x's axes from `axis` on (as
    ResNet-style Caffe nets use it); then both bottoms take a gradient.

    BatchNorm's learned gamma and beta. May run in place (it then keeps a copy of x for
    the scale's gradient). num_axes: -1 spans every axis from `axis` on; 0 learns one number.

        - {name: scale1, type: Scale, bottoms: [bn1], tops: [bn1], bias: true}
        - {name: gate, type: Scale, bottoms: [features, weights], tops: [gated]}   # weights (N, C)
    """
    axis = Field(integer(), 1, "first axis of the scale; negative counts from the end")
    num_axes = Field(integer(min=-1), 1, "axes a learned scale spans; -1: all from axis on")
    bias = Field(boolean, False, "also learn a bias (Caffe's bias_term)")
    scale_filler = Field(filler, 1.0)
    bias_filler = Field(filler, 0.0)
    n_bottoms = (1, 2)
    inplace = True

    def setup(self, bottom_shapes):
        param_shape, self.view = broadcast_view(self, bottom_shapes)
        self.given = len(bottom_shapes) == 2
        if not self.given:
            self.add_param("scale", param_shape, self.scale_filler)
        if self.bias:
            self.add_param("bias", param_shape, self.bias_filler)
        self.x_copy = None
        return [tuple(bottom_shapes[0])]

    def _scale(self, bottoms):
        scale = bottoms[1].data if self.given else self.params["scale"].data
        return scale.reshape(1, -1, 1)

    def _scale_needs_grad(self):
        # A second bottom may need its gradient; forward cannot tell, so it keeps x then.
        return self.given or self.params["scale"].needs_grad

    def forward(self, bottoms, tops):
        x, y = bottoms[0].data.reshape(self.view), tops[0].data.reshape(self.view)
        if tops[0] is bottoms[0] and self._scale_needs_grad():
            if self.x_copy is None:
                self.x_copy = self.xp.empty_like(x)
            self.x_copy[...] = x
        self.xp.multiply(x, self._scale(bottoms), out=y)
        if self.bias:
            y += self.params["bias"].data.reshape(1, -1, 1)

    def backward(self, tops, propagate_down, bottoms):
        dy = tops[0].diff.reshape(self.view)
        if self.given and propagate_down[1] or not self.given and self.params["scale"].needs_grad:
            x = self.x_copy if tops[0] is bottoms[0] else bottoms[0].data.reshape(self.view)
            dscale = (dy * x).sum(axis=(0, 2))                           # dL/dscale = sum dy * x
            if self.given:
                bottoms[1].diff[...] = dscale.reshape(bottoms[1].diff.shape)
            else:
                self.params["scale"].diff += dscale.reshape(self.params["scale"].shape)
        if self.bias and self.params["bias"].needs_grad:
            bias = self.params["bias"]
            bias.diff += dy.sum(axis=(0, 2)).reshape(bias.shape)          # dL/dbias = sum dy
        if propagate_down[0]:
            # Last: in place, dx is dy's array.
            self.xp.multiply(dy, self._scale(bottoms), out=bottoms[0].diff.reshape(self.view))
