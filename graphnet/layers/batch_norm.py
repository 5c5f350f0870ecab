"""BatchNorm: normalize each channel to zero mean and unit variance (Caffe's, no learned affine)."""

from ..fillers import filler
from ..spec import Field, boolean, number, optional
from .base import Layer, register

STATISTICS = ("mean", "variance", "count")


@register
class BatchNorm(Layer):
    """y = (x - mean) / sqrt(variance + eps) per channel (axis 1), over the batch and spatial axes.

    In training the mean and variance are the batch's; in the test phase (or with
    use_global_stats: true) they are the running statistics. Those are parameters with
    lr_mult 0, so snapshots keep them and a test net built with share_with uses them; the
    layer itself updates them in each training forward, as Caffe's moving average: with
    f = moving_average_fraction,

        count <- f * count + 1
        mean <- mean + (batch mean - mean) / count
        variance <- variance + (batch variance * m / (m - 1) - variance) / count

    for m values per channel. That is Caffe's average, sum_k f^k stat_k / sum_k f^k over the
    batches seen (newest k = 0), exact from the first batch; the parameters hold the
    averages themselves, starting at mean 0 and variance 1 before any training.
    There is no learned scale or bias: follow with Scale (bias: true) for them.

        - {name: bn1, type: BatchNorm, bottoms: [conv1], tops: [bn1]}
        - {name: scale1, type: Scale, bottoms: [bn1], tops: [bn1], bias: true}
    """
    use_global_stats = Field(optional(boolean), None,
                             "normalize with the running statistics; default: in the test phase only")
    moving_average_fraction = Field(number(min=0, max=1), 0.999,
                                    "weight of the past in the running statistics")
    eps = Field(number(above=0), 1e-5, "added to the variance before the square root")

    def validate(self):
        super().validate()
        for pname, overrides in self.param.items():
            if pname in STATISTICS and overrides.get("lr_mult", 0) != 0:
                raise self.error(f"'{pname}' is a running statistic, not learned: its lr_mult must "
                                 f"be 0, got {overrides['lr_mult']:g} (follow with Scale to learn "
                                 f"a scale and a bias)", "param")

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if len(shape) < 2:
            raise self.error(f"needs (N, C, ...) with channels along axis 1, got '{self.bottoms[0]}' "
                             f"of shape {shape}", "bottoms")
        for pname, value in zip(STATISTICS, (0.0, 1.0, 0.0)):
            self.add_param(pname, (shape[1],) if pname != "count" else (1,), filler(value),
                           lr_mult=0.0, decay_mult=0.0)
        self.global_stats = (not self.training if self.use_global_stats is None
                             else self.use_global_stats)
        return [shape]

    def _channels(self, array):
        """The (N, C, rest) view of an (N, C, ...) array."""
        return array.reshape(array.shape[0], array.shape[1], -1)

    def forward(self, bottoms, tops):
        xp = self.xp
        x, y = self._channels(bottoms[0].data), self._channels(tops[0].data)
        if self.global_stats:
            mean = self.params["mean"].data
            variance = self.params["variance"].data
        else:
            mean = self.batch_mean = x.mean(axis=(0, 2))
        xp.subtract(x, mean[:, None], out=y)
        if not self.global_stats:
            variance = (y * y).mean(axis=(0, 2))
            self._update_running(mean, variance, x.shape[0] * x.shape[2])
        self.inv_std = 1 / xp.sqrt(variance + self.eps)
        y *= self.inv_std[:, None]

    def _update_running(self, mean, variance, m):
        f = self.moving_average_fraction
        count = self.params["count"].data
        count *= f
        count += 1
        weight = 1 / count
        running = self.params["mean"].data
        running += (mean - running) * weight
        running = self.params["variance"].data
        running += (variance * (m / max(m - 1, 1)) - running) * weight

    def backward(self, tops, propagate_down, bottoms):
        if not propagate_down[0]:
            return
        dy, dx = self._channels(tops[0].diff), self._channels(bottoms[0].diff)
        inv_std = self.inv_std[:, None]
        if self.global_stats:
            self.xp.multiply(dy, inv_std, out=dx)                    # dL/dx = dy / std
            return
        # With x_hat = (x - mean) / std over the m values of a channel:
        # dL/dx = (dy - mean(dy) - x_hat * mean(dy * x_hat)) / std
        x = self._channels(bottoms[0].data)
        x_hat = (x - self.batch_mean[:, None]) * inv_std
        dy_mean = dy.mean(axis=(0, 2))[:, None]
        dy_xhat_mean = (dy * x_hat).mean(axis=(0, 2))[:, None]
        x_hat *= dy_xhat_mean
        self.xp.subtract(dy, dy_mean, out=dx)
        dx -= x_hat
        dx *= inv_std
