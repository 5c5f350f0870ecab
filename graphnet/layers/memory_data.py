"""MemoryData: batches from arrays held in memory, or from a generated source."""

import math
import zlib

import numpy as np

from ..datasets.synthetic import source
from ..errors import shown
from ..memory import check_host_memory
from ..spec import Field, boolean, integer, list_of, optional
from .base import Layer, register


def _array(value):
    array = np.asarray(value)
    if array.ndim == 0 or array.dtype.kind not in "biuf":
        raise ValueError(f"must be numeric arrays with samples along the first axis, got {shown(value)}")
    return array


@register
class MemoryData(Layer):
    """Serves `batch_size` samples per forward, in order or shuffled each epoch, wrapping round.

    The arrays come from `source` (in a netdef) or `data` (in Python); one per top,
    samples along the first axis.

        - {name: data, type: MemoryData, tops: [x, y], batch_size: 64,
           source: {type: parity, n: 1024, seed: 1}, shuffle: true}

        MemoryData(name="data", tops=["x", "y"], batch_size=64, data=[x, y])
    """
    batch_size = Field(integer(min=1))
    source = Field(optional(source), None, "a generated dataset: {type: parity, ...}")
    data = Field(optional(list_of(_array, min_len=1)), None, "arrays, one per top (Python only)")
    shuffle = Field(boolean, False, "visit the samples in a new random order each epoch")
    n_bottoms = 0
    n_tops = (1, None)
    is_source = True
    differentiable = False
    views = True   # a batch in order is a view of the samples: nothing is copied
    state_attrs = ("epoch", "cursor", "order", "rng")
    # (rank, processes), set by graphnet.parallel: every process walks the same order in
    # global batches of processes * batch_size and serves its own batch_size of each.
    shard = (0, 1)

    def validate(self):
        super().validate()
        if (self.source is None) == (self.data is None):
            raise self.error("give either source or data", "source")
        shapes = self.shapes()  # a source is made in setup, not here: it may be big
        if len(shapes) != len(self.tops):
            field = "data" if self.data is not None else "source"
            raise self.error(f"has {len(shapes)} arrays for {len(self.tops)} tops", field)
        sizes = {shape[0] for shape in shapes}
        if len(sizes) > 1:
            raise self.error(f"arrays differ in sample count: {sorted(sizes)}", "data")

    def arrays(self):
        return self.data if self.data is not None else self.source.arrays()

    def shapes(self):
        return [a.shape for a in self.data] if self.data is not None else self.source.shapes()

    def setup(self, bottom_shapes):
        if self.data is None:
            check_host_memory(self, sum(math.prod(s) for s in self.shapes()) * self.backend.dtype.itemsize,
                              f"{self.source.n} samples of {self.source.type}", "source")
        # Our own copy, on the host, in the net's dtype once rather than at every batch. The
        # tops are views of it (a gradient check writes into them): a user's arrays are never
        # written. A later layer that changes a top in place gets a copy (the net sees `views`).
        with np.errstate(over="ignore", invalid="ignore"):  # what does not fit is refused below
            self.samples = [np.array(a, dtype=self.backend.dtype) for a in self.arrays()]
        for top, sample in zip(self.tops, self.samples):
            if not np.isfinite(sample).all():
                raise self.error(f"'{top}' holds values that are not finite in {self.backend.dtype}",
                                 "data" if self.data is not None else "source")
        self.n_samples = len(self.samples[0])
        self.rng = np.random.default_rng([self.backend.seed, zlib.crc32(self.name.encode())])
        self.epoch, self.cursor = 0, 0
        self.order = self._new_order()
        return [(self.batch_size, *a.shape[1:]) for a in self.samples]

    def _new_order(self):
        return self.rng.permutation(self.n_samples) if self.shuffle else np.arange(self.n_samples)

    def _next_indices(self, size):
        if not self.shuffle and self.cursor + size <= self.n_samples:
            start, self.cursor = self.cursor, self.cursor + size
            if self.cursor == self.n_samples:
                self.epoch, self.cursor = self.epoch + 1, 0
            return slice(start, start + size)  # in order: a slice, not a gather
        parts, need = [], size
        while need:
            part = self.order[self.cursor:self.cursor + need]
            parts.append(part)
            need -= len(part)
            self.cursor += len(part)
            if self.cursor == self.n_samples:
                self.epoch, self.cursor = self.epoch + 1, 0
                self.order = self._new_order()
        return np.concatenate(parts)

    def forward(self, bottoms, tops):
        rank, processes = self.shard
        index, xp = self._next_indices(self.batch_size * processes), self.xp
        if processes > 1:
            first = rank * self.batch_size
            index = (slice(index.start + first, index.start + first + self.batch_size)
                     if isinstance(index, slice) else index[first:first + self.batch_size])
        for array, top in zip(self.samples, tops):
            top.data = xp.asarray(array[index])   # NumPy: a view (or a gather); CuPy: a copy on the GPU
