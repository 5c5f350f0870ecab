"""Fillers: how a parameter's first values are drawn (Caffe's fillers, Mocha's initializers).

In a netdef a filler is a name, a number (a constant), or a mapping with its fields:

    weight_filler: xavier
    weight_filler: {type: gaussian, std: 0.01}
    bias_filler: 0.1

Fillers draw on the host from the backend's seeded NumPy generator, so a net starts from
the same values on NumPy and on CuPy. For a weight of shape (out, in, ...), fan_in is
count/shape[0] and fan_out is count/shape[1], as in Caffe.
"""

import math

import numpy as np

from .errors import GraphnetError
from .spec import Field, Kind, Registry, choice, number

FILLERS = Registry("filler", number=("constant", "value"))


class Filler(Kind):
    family = "filler"

    def fill(self, shape, rng, dtype):
        """A host array of `shape` and `dtype` drawn from the NumPy generator `rng`."""
        raise NotImplementedError


def fill_finite(filler, shape, rng, dtype):
    """filler.fill(...), refused when a value is not finite in `dtype` (std: 1e300 in float32)."""
    with np.errstate(over="ignore", invalid="ignore"):
        values = filler.fill(shape, rng, dtype)
    if not np.isfinite(values).all():
        raise GraphnetError(f"makes values that are not finite in {np.dtype(dtype)}")
    return values


def _fans(shape):
    count = math.prod(shape)
    fan_in = count / shape[0] if shape else 1
    fan_out = count / shape[1] if len(shape) > 1 else count
    return fan_in, fan_out


def _fan(shape, variance_norm):
    fan_in, fan_out = _fans(shape)
    return {"fan_in": fan_in, "fan_out": fan_out, "average": (fan_in + fan_out) / 2}[variance_norm]


@FILLERS.register("constant")
class Constant(Filler):
    value = Field(number(), 0.0)

    def fill(self, shape, rng, dtype):
        return np.full(shape, self.value, dtype=dtype)


@FILLERS.register("gaussian")
class Gaussian(Filler):
    mean = Field(number(), 0.0)
    std = Field(number(min=0), 1.0)

    def fill(self, shape, rng, dtype):
        return rng.normal(self.mean, self.std, shape).astype(dtype)


@FILLERS.register("uniform")
class Uniform(Filler):
    min = Field(number(), 0.0)
    max = Field(number(), 1.0)

    def validate(self):
        if self.max < self.min:
            raise ValueError(f"max must be >= min, got min={self.min}, max={self.max}")

    def fill(self, shape, rng, dtype):
        return rng.uniform(self.min, self.max, shape).astype(dtype)


@FILLERS.register("xavier", "glorot")
class Xavier(Filler):
    """U[-a, a] with a = sqrt(3 / n), n = fan_in by default (Caffe, Mocha)."""
    variance_norm = Field(choice("fan_in", "fan_out", "average"), "fan_in")

    def fill(self, shape, rng, dtype):
        scale = math.sqrt(3.0 / _fan(shape, self.variance_norm))
        return rng.uniform(-scale, scale, shape).astype(dtype)


@FILLERS.register("msra", "he")
class MSRA(Filler):
    """N(0, 2 / n), n = fan_in by default: He et al. for ReLU nets."""
    variance_norm = Field(choice("fan_in", "fan_out", "average"), "fan_in")

    def fill(self, shape, rng, dtype):
        std = math.sqrt(2.0 / _fan(shape, self.variance_norm))
        return rng.normal(0.0, std, shape).astype(dtype)


@FILLERS.register("orthogonal")
class Orthogonal(Filler):
    """Rows (or columns) of an orthogonal matrix, times `gain` (Saxe et al.; Mocha)."""
    gain = Field(number(), 1.0)

    def fill(self, shape, rng, dtype):
        if len(shape) < 2:
            raise GraphnetError(f"needs a parameter of 2 or more axes, got shape {tuple(shape)}")
        flat = (shape[0], math.prod(shape[1:]))
        u, _, vt = np.linalg.svd(rng.standard_normal(flat), full_matrices=False)
        q = u if u.shape == flat else vt
        return (self.gain * q).reshape(shape).astype(dtype)


@FILLERS.register("bilinear")
class Bilinear(Filler):
    """Bilinear interpolation kernels, for a Deconvolution that upsamples (Caffe)."""

    def fill(self, shape, rng, dtype):
        if len(shape) != 4 or shape[2] != shape[3]:
            raise GraphnetError(f"needs a square 4-axis kernel, got shape {tuple(shape)}")
        k = shape[2]
        f = math.ceil(k / 2)
        c = (k - 1) / (2 * f)  # Caffe's fixed centre; symmetric for odd k too
        t = 1 - np.abs(np.arange(k) / f - c)
        return np.broadcast_to(np.outer(t, t), shape).astype(dtype)


filler = FILLERS.convert
"""Converter for a filler field: a name, a number (constant), a mapping or a Filler."""
