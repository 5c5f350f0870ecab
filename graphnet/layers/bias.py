"""Bias: a learned offset per channel, or a second bottom added with broadcasting (Caffe's Bias)."""

from ..fillers import filler
from ..spec import Field, integer
from .base import Layer, register
from .scale import broadcast_view


@register
class Bias(Layer):
    """y = x + bias, the bias spanning `num_axes` axes from `axis` and broadcast over the
    others (one per channel of (N, C, ...) by default). The bias is learned, or is a second
    bottom whose shape matches x's axes from `axis` on; then both bottoms take a gradient.

        - {name: shift, type: Bias, bottoms: [x], tops: [x]}
        - {name: add_c, type: Bias, bottoms: [x, per_channel], tops: [y]}   # per_channel (N, C)
    """
    axis = Field(integer(), 1, "first axis of the bias; negative counts from the end")
    num_axes = Field(integer(min=-1), 1, "axes a learned bias spans; -1: all from axis on")
    bias_filler = Field(filler, 0.0)
    n_bottoms = (1, 2)
    inplace = True

    def setup(self, bottom_shapes):
        param_shape, self.view = broadcast_view(self, bottom_shapes)
        self.given = len(bottom_shapes) == 2
        if not self.given:
            self.add_param("bias", param_shape, self.bias_filler)
        return [tuple(bottom_shapes[0])]

    def forward(self, bottoms, tops):
        bias = bottoms[1].data if self.given else self.params["bias"].data
        self.xp.add(bottoms[0].data.reshape(self.view), bias.reshape(1, -1, 1),
                    out=tops[0].data.reshape(self.view))

    def backward(self, tops, propagate_down, bottoms):
        dy = tops[0].diff.reshape(self.view)
        if self.given and propagate_down[1]:
            bottoms[1].diff[...] = dy.sum(axis=(0, 2)).reshape(bottoms[1].diff.shape)  # sum dy
        elif not self.given and self.params["bias"].needs_grad:
            bias = self.params["bias"]
            bias.diff += dy.sum(axis=(0, 2)).reshape(bias.shape)
        if propagate_down[0] and tops[0] is not bottoms[0]:
            bottoms[0].diff[...] = tops[0].diff                             # in place: already dy
