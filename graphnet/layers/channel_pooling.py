"""ChannelPooling: the max or the mean over windows of neighbouring channels."""

import numpy as np

from ..errors import shown
from ..spec import Field, choice, integer
from .base import register
from .pooling import WindowPooling, pooled_extent


def _before_after(value):
    """Padding given once for both ends, or as [before, after]: 1 -> (1, 1)."""
    items = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"must be an integer or a pair [before, after], got {shown(value)}")
    return tuple(integer(min=0)(v) for v in items)


@register
class ChannelPooling(WindowPooling):
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
        direct = before == 0 and span <= c
        return self._buffers((n, count) + shape[2:], (n, max(span, before + c)) + shape[2:],
                             direct, direct and s == k and span == c,
                             (slice(None), slice(before, before + c)),
                             np.reshape(sizes, (count,) + (1,) * (len(shape) - 2)))

    def _windows(self, array):
        """The strided view of each kernel offset over all windows."""
        s = self.stride
        for i in range(self.kernel):
            yield array[:, i:i + s * (self.count - 1) + 1:s]
