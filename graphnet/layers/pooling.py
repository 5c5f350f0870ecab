"""Pooling: the max or the mean of each kernel window of every channel.

Both directions loop over the kh*kw kernel offsets; each offset is one strided view of
all windows at once (measured on LeNet's pools, this is ~25x faster in NumPy than a
reshape to (N, C, OH, k, OW, k) reduced over two axes). When the windows tile the image
(stride == kernel, no padding, sizes divide) the bottom is read in place and the
gradient written straight into its diff: no padded copy, no zeroing, no accumulation.
"""

import math

import numpy as np

from ..spec import Field, boolean, choice
from ..workers import batch_parts
from .base import Layer, register
from .convolution import pair
from .neurons import neuron


def pooled_extent(size, kernel, stride, before, after):
    """Windows along one axis, Caffe's way: (count, span, sizes).

    count = ceil((size + before + after - kernel) / stride) + 1, less one if the last
    window would start at or past the end of the data (Caffe drops it only when padded,
    which with stride > kernel can leave an empty window); span = the padded length the
    windows reach; sizes = each window clipped to the padded axis, for means.
    """
    count = math.ceil((size + before + after - kernel) / stride) + 1
    if (count - 1) * stride >= size + before:
        count -= 1
    starts = [i * stride - before for i in range(count)]
    sizes = [min(start + kernel, size + after) - start for start in starts]
    return count, (count - 1) * stride + kernel, sizes


class WindowPooling(Layer):
    """Max or mean over windows that `_windows(array)` lists as one strided view per kernel
    offset. A subclass's setup works out the geometry and ends with `_buffers(...)`."""

    def _buffers(self, out_shape, padded_shape, direct, tiled, inner, sizes):
        """direct: every window lies inside the bottom, read in place; tiled: the windows
        also cover it exactly once; inner: where the bottom sits in the padded copy;
        sizes: each window's size, for means."""
        self.direct, self.tiled, self.inner = direct, tiled, inner
        self.which = None   # where each max came from, when a compiled kernel pools
        self.joinable = self.any_cut = False
        self.pooled_by_kernel = False
        self.padded = None if direct else self.backend.zeros(padded_shape)
        self.grad = None if direct else self.backend.zeros(padded_shape)
        if self.pool == "max":
            self.best = self.backend.zeros(out_shape)  # the maxima, safe from in-place layers
            if not direct:
                self.padded[...] = -np.inf
        else:
            self.scale = self.backend.asarray(1.0 / np.asarray(sizes, dtype=float))
        return [tuple(out_shape)]

    def forward(self, bottoms, tops):
        xp, y = self.xp, tops[0].data
        self.pooled_by_kernel = self.which is not None and bottoms[0].data.flags.c_contiguous
        if self.pooled_by_kernel:
            tiles, pooled = self._tiles(bottoms[0].data, y), y.reshape(len(self.which), -1)
            pool = self.backend.kernels.max_pool_2x2

            def part(index, slot):
                rows = self._rows(index)
                pool(tiles[rows], pooled[rows], self.which[rows])
            self.backend.parallel(len(self.parts), part)
            return
        if self.direct:
            image = bottoms[0].data
        else:
            image = self.padded
            image[self.inner] = bottoms[0].data
        windows = self._windows(image)
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
        xp, dy = self.xp, tops[0].diff
        grad = bottoms[0].diff if self.direct else self.grad
        if not self.tiled:
            grad[...] = 0  # windows overlap or skip inputs: add their shares onto zeros
        if self.pooled_by_kernel:
            out = grad if grad.flags.c_contiguous else xp.empty(grad.shape, grad.dtype)
            tiles = self._tiles(out, dy)
            dy, unpool = xp.ascontiguousarray(dy).reshape(len(tiles), -1), self.backend.kernels.max_unpool_2x2

            def part(index, slot):
                rows = self._rows(index)
                unpool(dy[rows], self.which[rows], tiles[rows])

            def copy_back():
                grad[...] = out
            self.backend.parallel(len(self.parts), part, then=None if out is grad else copy_back)
            return
        if self.pool == "max":
            # Each window's gradient goes to the first input equal to its max (one, on ties).
            y = self.best
            image = bottoms[0].data if self.direct else self.padded
            unclaimed = xp.ones(y.shape, dtype=bool)
            hit = xp.empty(y.shape, dtype=bool)
            share = None if self.tiled else xp.empty_like(dy)
            for view, grad_view in zip(self._windows(image), self._windows(grad)):
                xp.equal(view, y, out=hit)
                hit &= unclaimed
                unclaimed ^= hit
                if self.tiled:
                    xp.multiply(dy, hit, out=grad_view)
                else:
                    xp.multiply(dy, hit, out=share)
                    grad_view += share
        else:
            share = dy * self.scale
            for grad_view in self._windows(grad):
                if self.tiled:
                    grad_view[...] = share
                else:
                    grad_view += share
        if not self.direct:
            bottoms[0].diff[...] = grad[self.inner]

    def _rows(self, index):
        """Part `index`'s rows of the tiles: those of its samples."""
        samples, per_sample = self.parts[index], len(self.which) // self.samples
        return slice(samples.start * per_sample, samples.stop * per_sample)

    @staticmethod
    def _tiles(image, pooled):
        """An (N, C, 2*OH, 2*OW) image as (N*C*OH, 2, 2*OW): the row pairs of its 2x2 tiles."""
        return image.reshape(pooled.shape[0] * pooled.shape[1] * pooled.shape[2], 2, -1)


@register
class Pooling(WindowPooling):
    """Max or mean over kernel windows, with Caffe's output size:
    ceil((in + 2 pad - kernel) / stride) + 1, less one if the last window would start past
    the image. Mean windows divide by their size clipped to the padded image, as Caffe.
    Max sends each window's gradient to one input: the first (row-major) equal to the max.

        - {name: pool1, type: Pooling, bottoms: [conv1], tops: [pool1], pool: max, kernel: 2, stride: 2}
    """
    pool = Field(choice("max", "mean"), "max")
    kernel = Field(pair(min=1), 1, "window size, or [h, w]")
    stride = Field(pair(min=1), 1)
    pad = Field(pair(min=0), 0)
    global_pooling = Field(boolean, False, "one window over the whole map")
    neuron = Field(neuron, "identity", "activation applied to the output (fused)")
    part_bytes = 1 << 20

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if len(shape) != 4:
            raise self.error(f"needs a 4-D bottom (N, C, H, W), '{self.bottoms[0]}' is {shape}", "bottoms")
        n, c, h, w = shape
        kernel, stride, pad = ((h, w), (1, 1), (0, 0)) if self.global_pooling else (
            self.kernel, self.stride, self.pad)
        if pad[0] >= kernel[0] or pad[1] >= kernel[1]:
            raise self.error(f"must be smaller than the kernel {kernel}, got {pad}", "pad")
        if h + 2 * pad[0] < kernel[0] or w + 2 * pad[1] < kernel[1]:
            raise self.error(f"{kernel} is larger than '{self.bottoms[0]}' {shape} padded by {pad}",
                             "kernel")
        (oh, span_h, rows), (ow, span_w, cols) = (
            pooled_extent(size, k, s, p, p) for size, k, s, p in zip((h, w), kernel, stride, pad))
        self.window, self.step, self.out_hw = kernel, stride, (oh, ow)
        # Every window inside the image: read it in place. Otherwise a padded copy holds every
        # window whole (max pads with -inf, mean with 0) and the whole image.
        direct = pad == (0, 0) and span_h <= h and span_w <= w
        tops = self._buffers((n, c, oh, ow), (n, c, max(span_h, h + pad[0]), max(span_w, w + pad[1])),
                             direct, direct and stride == kernel and (span_h, span_w) == (h, w),
                             (slice(None), slice(None), slice(pad[0], pad[0] + h), slice(pad[1], pad[1] + w)),
                             np.outer(rows, cols))
        if self.pool == "max" and self.tiled and kernel == (2, 2) and self.backend.kernels:
            self.which = self.backend.empty((n * c * oh, ow), dtype=np.uint8)
            # Parts of whole samples, about `part_bytes` of bottom each, for the threads; each
            # max is its own, so any cut gives the same numbers, and the kernels' parts run
            # all the work: a neighbour may join it (graphnet/joins.py).
            self.samples = n
            self.parts = batch_parts(n, c * h * w * self.backend.dtype.itemsize, self.part_bytes)
            self.joinable = self.any_cut = True
        return tops

    def _windows(self, array):
        """The strided view of each kernel offset over all windows, offset by offset."""
        (kh, kw), (sh, sw), (oh, ow) = self.window, self.step, self.out_hw
        for i in range(kh):
            for j in range(kw):
                yield array[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
