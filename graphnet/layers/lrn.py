"""LRN: local response normalization, Caffe's and Mocha's (AlexNet's)."""

from ..spec import Field, choice, integer, number
from .base import Layer, register


@register
class LRN(Layer):
    """Each value divided by the energy of its neighbourhood:

        y = x / s^beta,  s = k + alpha/n * sum of x_j^2 over the neighbourhood of x

    across_channels: the local_size channels centred on x's (n = local_size);
    within_channel: the local_size x local_size positions centred on x's in its channel
    (n = local_size^2). Both zero padded. Caffe's within_channel uses 1 for k; here k counts
    in both (the default, 1, gives Caffe's).

        - {name: norm1, type: LRN, bottoms: [pool1], tops: [norm1], local_size: 5, alpha: 1.0e-4,
           beta: 0.75}
    """
    local_size = Field(integer(min=1), 5, "odd: the window centred on each value")
    alpha = Field(number(), 1.0, "scale of the summed squares")
    beta = Field(number(), 0.75, "exponent")
    k = Field(number(), 1.0, "added to the scaled sum")
    norm_region = Field(choice("across_channels", "within_channel"), "across_channels")

    def validate(self):
        super().validate()
        if self.local_size % 2 == 0:
            raise self.error(f"must be odd, got {self.local_size}", "local_size")

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if self.norm_region == "within_channel" and len(shape) != 4:
            raise self.error(f"within_channel needs a 4-D bottom (N, C, H, W), '{self.bottoms[0]}' "
                             f"is {shape}", "bottoms")
        if len(shape) < 2:
            raise self.error(f"needs a bottom with channels (N, C, ...), '{self.bottoms[0]}' is {shape}",
                             "bottoms")
        self.axes = (1,) if self.norm_region == "across_channels" else (2, 3)
        self.n = self.local_size ** len(self.axes)
        self.sum = self.backend.zeros(shape)     # s, kept for backward
        self.power = self.backend.zeros(shape)   # s^-beta
        self.work = self.backend.zeros(shape)
        self.box = self.backend.zeros(shape) if len(self.axes) > 1 else None
        return [shape]

    def _window_sum(self, a, out):
        """out = the sum of `a` over each value's zero-padded window: a box filter per axis."""
        half = self.local_size // 2
        stages = [(a, out)] if len(self.axes) == 1 else [(a, self.box), (self.box, out)]
        for axis, (src, dst) in zip(self.axes, stages):
            before = (slice(None),) * axis
            dst[...] = src
            for d in range(1, min(half, a.shape[axis] - 1) + 1):
                dst[before + (slice(d, None),)] += src[before + (slice(None, -d),)]
                dst[before + (slice(None, -d),)] += src[before + (slice(d, None),)]
        return out

    def forward(self, bottoms, tops):
        xp, x, s = self.xp, bottoms[0].data, self.sum
        xp.multiply(x, x, out=self.work)
        self._window_sum(self.work, s)
        s *= self.alpha / self.n
        s += self.k
        xp.log(s, out=self.power)        # s^-beta as exp(-beta log s): twice as fast as power
        self.power *= -self.beta
        xp.exp(self.power, out=self.power)
        xp.multiply(x, self.power, out=tops[0].data)

    def backward(self, tops, propagate_down, bottoms):
        if not propagate_down[0]:
            return
        # y_i = x_i s_i^-b, with s_j = k + a/n sum_{i in W(j)} x_i^2 and i in W(j) <=> j in W(i):
        # dL/dx_i = dy_i s_i^-b - (2ab/n) x_i sum_{j in W(i)} dy_j x_j s_j^(-b-1)
        # (y is not read: a layer may have changed it in place.)
        xp, x, dy, dx, work = self.xp, bottoms[0].data, tops[0].diff, bottoms[0].diff, self.work
        xp.multiply(dy, x, out=work)
        work *= self.power
        work /= self.sum
        self._window_sum(work, dx)
        dx *= x
        dx *= -2 * self.alpha * self.beta / self.n
        xp.multiply(dy, self.power, out=work)
        dx += work
