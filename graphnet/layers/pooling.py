"""Pooling: the max or the mean of each kernel window of every channel."""

import math

import numpy as np

from ..spec import Field, boolean, choice
from .base import Layer, register
from .convolution import pair
from .neurons import neuron


@register
class Pooling(Layer):
    """Max or mean over kernel windows, with Caffe's output size:
    ceil((in + 2 pad - kernel) / stride) + 1, less one if the last window would start in
    the padding. Mean windows divide by their size clipped to the padded image, as Caffe.

        - {name: pool1, type: Pooling, bottoms: [conv1], tops: [pool1], pool: max, kernel: 2, stride: 2}
    """
    pool = Field(choice("max", "mean"), "max")
    kernel = Field(pair(min=1), 1, "window size, or [h, w]")
    stride = Field(pair(min=1), 1)
    pad = Field(pair(min=0), 0)
    global_pooling = Field(boolean, False, "one window over the whole map")
    neuron = Field(neuron, "identity", "activation applied to the output (fused)")

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if len(shape) != 4:
            raise self.error(f"needs a 4-D bottom (N, C, H, W), '{self.bottoms[0]}' is {shape}", "bottoms")
        n, c, h, w = shape
        kernel, stride, pad = ((h, w), (1, 1), (0, 0)) if self.global_pooling else (
            self.kernel, self.stride, self.pad)
        if pad[0] >= kernel[0] or pad[1] >= kernel[1]:
            raise self.error(f"must be smaller than the kernel {kernel}, got {pad}", "pad")
        out = []
        for size, k, s, p in zip((h, w), kernel, stride, pad):
            if size + 2 * p < k:
                raise self.error(f"{kernel} is larger than '{self.bottoms[0]}' {shape} padded by {pad}",
                                 "kernel")
            o = math.ceil((size + 2 * p - k) / s) + 1
            if p > 0 and (o - 1) * s >= size + p:
                o -= 1
            out.append(o)
        self.window, self.step, self.margin = kernel, stride, pad
        (oh, ow), (kh, kw), (sh, sw), (ph, pw) = out, kernel, stride, pad
        # The padded image holds every window whole: max pads with -inf, mean with 0.
        self.padded = self.backend.zeros((n, c, (oh - 1) * sh + kh, (ow - 1) * sw + kw))
        if self.pool == "max":
            self.padded[...] = -np.inf
            self.argmax = self.backend.zeros((n, c, oh, ow), dtype=np.int8 if kh * kw < 128 else np.int32)
        else:
            # Caffe's window size: clipped to the padded image [-pad, size + pad).
            rows = [min(i * sh - ph + kh, h + ph) - (i * sh - ph) for i in range(oh)]
            cols = [min(j * sw - pw + kw, w + pw) - (j * sw - pw) for j in range(ow)]
            self.scale = self.backend.asarray(1.0 / np.outer(rows, cols))
        self.inner = (slice(None), slice(None), slice(ph, ph + h), slice(pw, pw + w))
        return [(n, c, oh, ow)]

    def _windows(self, array):
        """(offset index, the strided view of that kernel offset over all windows)."""
        (kh, kw), (sh, sw) = self.window, self.step
        oh, ow = self.argmax.shape[2:] if self.pool == "max" else self.scale.shape
        for i in range(kh):
            for j in range(kw):
                yield i * kw + j, array[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]

    def forward(self, bottoms, tops):
        xp, y = self.xp, tops[0].data
        self.padded[self.inner] = bottoms[0].data
        windows = self._windows(self.padded)
        _, first = next(windows)
        y[...] = first
        if self.pool == "max":
            self.argmax[...] = 0
            for offset, view in windows:
                better = view > y
                xp.copyto(y, view, where=better)
                self.argmax[better] = offset
        else:
            for _, view in windows:
                y += view
            y *= self.scale

    def backward(self, tops, propagate_down, bottoms):
        if not propagate_down[0]:
            return
        dy, grad = tops[0].diff, self.padded  # the padded buffer is free until the next forward
        grad[...] = 0
        if self.pool == "max":
            for offset, view in self._windows(grad):
                view += dy * (self.argmax == offset)   # the gradient goes to each window's max
        else:
            share = dy * self.scale
            for _, view in self._windows(grad):
                view += share
        bottoms[0].diff[...] = grad[self.inner]
        if self.pool == "max":
            self.padded[...] = -np.inf
