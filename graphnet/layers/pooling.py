"""Pooling: the max or the mean of each kernel window of every channel."""

import math

import numpy as np

from ..spec import Field, boolean, choice
from .base import Layer, register
from .convolution import pair


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
        self.window, self.step, self.out_hw = kernel, stride, out
        (oh, ow), (kh, kw), (sh, sw), (ph, pw) = out, kernel, stride, pad
        # The padded image holds every window whole: max pads with -inf, mean with 0.
        padded = (n, c, (oh - 1) * sh + kh, (ow - 1) * sw + kw)
        self.exact = padded == shape  # windows tile the image: read it in place, no copy
        self.padded = None if self.exact else self.backend.zeros(padded)
        self.grad = self.backend.zeros(padded)
        self.best = self.backend.zeros((n, c, oh, ow))  # the maxima, kept from in-place changes
        if self.pool == "max" and not self.exact:
            self.padded[...] = -np.inf
        if self.pool == "mean":
            # Caffe's window size: clipped to the padded image [-pad, size + pad).
            rows = [min(i * sh - ph + kh, h + ph) - (i * sh - ph) for i in range(oh)]
            cols = [min(j * sw - pw + kw, w + pw) - (j * sw - pw) for j in range(ow)]
            self.scale = self.backend.asarray(1.0 / np.outer(rows, cols))
        self.inner = (slice(None), slice(None), slice(ph, ph + h), slice(pw, pw + w))
        return [(n, c, oh, ow)]

    def _windows(self, array):
        """The strided view of each kernel offset over all windows, offset by offset."""
        (kh, kw), (sh, sw), (oh, ow) = self.window, self.step, self.out_hw
        for i in range(kh):
            for j in range(kw):
                yield array[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]

    def _image(self, bottom):
        if self.exact:
            return bottom.data
        self.padded[self.inner] = bottom.data
        return self.padded

    def forward(self, bottoms, tops):
        xp, y = self.xp, tops[0].data
        windows = self._windows(self._image(bottoms[0]))
        if self.pool == "max":
            self.best[...] = next(windows)
            for view in windows:
                xp.maximum(self.best, view, out=self.best)
            y[...] = self.best
        else:
            y[...] = next(windows)
            for view in windows:
                y += view
            y *= self.scale

    def backward(self, tops, propagate_down, bottoms):
        if not propagate_down[0]:
            return
        xp, dy, grad = self.xp, tops[0].diff, self.grad
        grad[...] = 0
        if self.pool == "max":
            # Each window's gradient goes to the first input equal to its max (one, on ties).
            y = self.best
            image = bottoms[0].data if self.exact else self.padded
            unclaimed = xp.ones(y.shape, dtype=bool)
            for view, grad_view in zip(self._windows(image), self._windows(grad)):
                hit = (view == y) & unclaimed
                unclaimed &= ~hit
                grad_view += dy * hit
        else:
            share = dy * self.scale
            for grad_view in self._windows(grad):
                grad_view += share
        bottoms[0].diff[...] = grad[self.inner]
