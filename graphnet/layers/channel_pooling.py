"""ChannelPooling: the max or the mean over windows of neighbouring channels."""

import numpy as np

from ..spec import Field, choice, integer
from .base import Layer, register
from .pooling import pooled_extent


def _before_after(value):
    """Padding given once for both ends, or as [before, after]: 1 -> (1, 1)."""
    items = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"must be an integer or a pair [before, after], got {value!r}")
    return tuple(integer(min=0)(v) for v in items)


@register
class ChannelPooling(Layer):
    """Mocha's channel pooling: windows of `kernel` channels (axis 1), `stride` apart, pooled
    at every position of a bottom (N, C, ...). Sizes are rounded as Pooling's: the channel
    count becomes ceil((C + before + after - kernel) / stride) + 1, less one if the last
    window would start past the channels; a mean divides by the window clipped to the
    padded channels. Max with kernel == stride makes maxout units.

        - {name: maxout, type: ChannelPooling, bottoms: [ip1], tops: [maxout], kernel: 4, stride: 4}
    """
    pool = Field(choice("max", "mean"), "max")
    kernel = Field(integer(min=1), 1, "channels per window")
    stride = Field(integer(min=1), 1, "channels between window starts")
    pad = Field(_before_after, 0, "channels added before and after: p or [before, after]")

    def validate(self):
        super().validate()
        if max(self.pad) >= self.kernel:
            raise self.error(f"must be smaller than the kernel {self.kernel}, got {list(self.pad)}",
                             "pad")

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if len(shape) < 2:
            raise self.error(f"needs a bottom with channels (N, C, ...), '{self.bottoms[0]}' is {shape}",
                             "bottoms")
        n, c = shape[:2]
        (before, after), k, s = self.pad, self.kernel, self.stride
        if c + before + after < k:
            raise self.error(f"{k} is larger than the {c} channels of '{self.bottoms[0]}' {shape} "
                             f"padded by {list(self.pad)}", "kernel")
        count, span, sizes = pooled_extent(c, k, s, before, after)
        self.count = count
        # Every window inside the channels: read them in place; otherwise a padded copy
        # holds every window and all the channels.
        self.direct = before == 0 and span <= c
        self.tiled = self.direct and s == k and span == c
        padded = (n, max(span, before + c)) + shape[2:]
        self.padded = None if self.direct else self.backend.zeros(padded)
        self.grad = None if self.direct else self.backend.zeros(padded)
        self.inner = (slice(None), slice(before, before + c))
        if self.pool == "max":
            self.best = self.backend.zeros((n, count) + shape[2:])  # safe from in-place layers
            if not self.direct:
                self.padded[...] = -np.inf
        else:
            sizes = np.array(sizes, dtype=float).reshape((count,) + (1,) * (len(shape) - 2))
            self.scale = self.backend.asarray(1.0 / sizes)
        return [(n, count) + shape[2:]]

    def _windows(self, array):
        """The strided view of each kernel offset over all windows."""
        s = self.stride
        for i in range(self.kernel):
            yield array[:, i:i + s * (self.count - 1) + 1:s]

    def forward(self, bottoms, tops):
        xp, x, y = self.xp, bottoms[0].data, tops[0].data
        if self.direct:
            image = x
        else:
            image = self.padded
            image[self.inner] = x
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
        xp, dy, dx = self.xp, tops[0].diff, bottoms[0].diff
        grad = dx if self.direct else self.grad
        if not self.tiled:
            grad[...] = 0  # windows overlap or skip channels: add their shares onto zeros
        if self.pool == "max":
            # Each window's gradient goes to its first channel equal to the max.
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
            dx[...] = grad[self.inner]
