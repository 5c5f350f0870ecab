"""Generated datasets that a MemoryData layer names as its `source`.

    source: {type: parity, n: 1024, bits: 3, noise: 0.1, seed: 1}

Each source makes its arrays from its own seed, so a train net and a test net that name
different seeds see different samples of the same problem.
"""

import numpy as np

from ..spec import Field, Kind, Registry, integer, number

SOURCES = Registry("source")


class Source(Kind):
    family = "source"
    tops = ()  # what each array holds, in order

    def arrays(self):
        """The dataset as host arrays, one per top, samples along the first axis."""
        raise NotImplementedError

    def shapes(self):
        """The shapes `arrays` will have, without making them."""
        raise NotImplementedError


@SOURCES.register("parity")
class Parity(Source):
    """n-bit parity: x is random bits plus Gaussian noise, y is 1 when an odd number are set."""
    n = Field(integer(min=1), 1024, "samples")
    bits = Field(integer(min=1), 3)
    noise = Field(number(min=0), 0.1, "std of the Gaussian noise added to the bits")
    seed = Field(integer(min=0), 0)
    tops = ("x", "y")

    def shapes(self):
        return [(self.n, self.bits), (self.n, 1)]

    def arrays(self):
        rng = np.random.default_rng(self.seed)
        bits = rng.integers(0, 2, (self.n, self.bits))
        x = bits + rng.normal(0, self.noise, bits.shape)
        y = bits.sum(axis=1, keepdims=True) % 2
        return [x.astype(np.float32), y.astype(np.float32)]


@SOURCES.register("linear")
class Linear(Source):
    """y = X w + b (+ noise) with X ~ N(0, 1); w and b are drawn once from `seed` too."""
    n = Field(integer(min=1), 100, "samples")
    dim = Field(integer(min=1), 10, "features")
    outputs = Field(integer(min=1), 1)
    noise = Field(number(min=0), 0.0)
    seed = Field(integer(min=0), 0)
    tops = ("x", "y")

    def truth(self):
        """The true (w, b): w is (outputs, dim), as an InnerProduct weight is."""
        rng = np.random.default_rng([self.seed, 1])
        return rng.normal(0, 1, (self.outputs, self.dim)), rng.normal(0, 1, self.outputs)

    def shapes(self):
        return [(self.n, self.dim), (self.n, self.outputs)]

    def arrays(self):
        w, b = self.truth()
        rng = np.random.default_rng(self.seed)
        x = rng.normal(0, 1, (self.n, self.dim))
        y = x @ w.T + b + rng.normal(0, self.noise, (self.n, self.outputs))
        return [x.astype(np.float32), y.astype(np.float32)]


@SOURCES.register("product")
class Product(Source):
    """y = x1 * x2 with x1, x2 ~ U[low, high]: a function no linear model fits."""
    n = Field(integer(min=1), 1024, "samples")
    low = Field(number(), -1.0)
    high = Field(number(), 1.0)
    seed = Field(integer(min=0), 0)
    tops = ("x", "y")

    def validate(self):
        if not np.isfinite(self.high - self.low):
            raise ValueError(f"high - low must be a finite number, got {self.high} - {self.low}")

    def shapes(self):
        return [(self.n, 2), (self.n, 1)]

    def arrays(self):
        rng = np.random.default_rng(self.seed)
        x = rng.uniform(self.low, self.high, (self.n, 2))
        return [x.astype(np.float32), (x[:, :1] * x[:, 1:]).astype(np.float32)]


source = SOURCES.convert
"""Converter for a `source` field: a name, or a mapping with a type and its fields."""
