"""HDF5Data and AsyncHDF5Data: batches streamed from HDF5 files, one block of rows at a time."""

import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..io.hdf5_reader import HDF5Source
from ..spec import Field, boolean, integer, number, optional, text
from .base import Layer, register


@register
class HDF5Data(Layer):
    """Each top is the dataset of that name in the `source` files (an .h5 file, a glob, or a
    .txt list of files). Rows are read in contiguous blocks, so memory holds one block,
    never a whole file. With `shuffle` the order of files, of blocks within each file and
    of rows within each block is drawn anew every epoch (Mocha's three levels).
    `mean` and `scale` transform the first top: (x - mean) * scale.

        - {name: mnist, type: HDF5Data, tops: [data, label], source: data/mnist/train.txt,
           batch_size: 64, shuffle: true}
    """
    source = Field(text, doc="an .h5 file, a glob, or a .txt file listing .h5 files")
    batch_size = Field(integer(min=1))
    shuffle = Field(boolean, False)
    block_rows = Field(optional(integer(min=1)), None, "rows read at once; default: the chunk or ~1 MiB")
    scale = Field(optional(number()), None)
    mean = Field(optional(number()), None)
    n_bottoms = 0
    n_tops = (1, None)
    is_source = True
    differentiable = False
    state_attrs = ("epoch", "schedule", "position", "row_order", "row", "rng")

    def setup(self, bottom_shapes):
        self.data = HDF5Source(self.source, self.tops, self.block_rows)
        self.rng = np.random.default_rng([self.backend.seed, zlib.crc32(self.name.encode())])
        self.epoch, self._block_key, self._block = 0, None, None
        self._new_epoch()
        self.host = [np.empty((self.batch_size, *shape), dtype=self.backend.dtype)
                     for shape in self.data.shapes]
        return [(self.batch_size, *shape) for shape in self.data.shapes]

    def _new_epoch(self):
        """The (file, block) pairs of one epoch, in the order they will be read."""
        files = self.rng.permutation(len(self.data.files)) if self.shuffle else range(len(self.data.files))
        pairs = []
        for f in files:
            blocks = self.data.blocks(f)
            pairs += [(f, b) for b in (self.rng.permutation(blocks) if self.shuffle else range(blocks))]
        self.schedule, self.position = np.array(pairs, dtype=np.int64).reshape(-1, 2), 0
        self._enter_block()

    def _enter_block(self):
        f, b = self.schedule[self.position]
        rows = min(self.data.block_rows, self.data.rows[f] - b * self.data.block_rows)
        self.row_order = self.rng.permutation(rows) if self.shuffle else np.arange(rows)
        self.row = 0

    def _advance(self):
        self.position += 1
        if self.position == len(self.schedule):
            self.epoch += 1
            self._new_epoch()
        else:
            self._enter_block()

    def _current_block(self):
        key = tuple(int(k) for k in self.schedule[self.position])
        if key != self._block_key:
            self._block, self._block_key = self._read(key), key
        return self._block

    def _read(self, key):
        return self.data.read(*key)

    def forward(self, bottoms, tops):
        filled = 0
        while filled < self.batch_size:
            block = self._current_block()
            take = min(self.batch_size - filled, len(self.row_order) - self.row)
            index = self.row_order[self.row:self.row + take]
            for array, host in zip(block, self.host):
                host[filled:filled + take] = array[index]
            filled += take
            self.row += take
            if self.row == len(self.row_order):
                self._advance()
        if self.mean is not None:
            self.host[0] -= self.mean
        if self.scale is not None:
            self.host[0] *= self.scale
        for host, top in zip(self.host, tops):
            top.data[...] = self.xp.asarray(host)


@register
class AsyncHDF5Data(HDF5Data):
    """HDF5Data whose next block is read by a background thread while the net computes.

    It serves exactly the batches HDF5Data serves for the same seed.

        - {name: mnist, type: AsyncHDF5Data, tops: [data, label], source: data/mnist/train.txt,
           batch_size: 64, shuffle: true}
    """

    def _read(self, key):
        if not hasattr(self, "_reader"):
            self._reader, self._pending = ThreadPoolExecutor(1, thread_name_prefix=self.name), {}
        future = self._pending.pop(key, None)
        block = future.result() if future is not None else self.data.read(*key)
        self._pending.clear()  # a resumed position makes any other read useless
        if self.position + 1 < len(self.schedule):
            following = tuple(int(k) for k in self.schedule[self.position + 1])
            self._pending[following] = self._reader.submit(self.data.read, *following)
        return block
