"""HDF5Data and AsyncHDF5Data: batches streamed from HDF5 files, one block of rows at a time."""

import copy
import math
import queue
import threading
import weakref
import zlib

import numpy as np

from ..errors import GraphnetError, shown
from ..io.hdf5_reader import HDF5Source, read_dataset
from ..memory import check_host_memory
from ..spec import Field, boolean, integer, list_of, number, optional, text
from .base import Layer, register


def _mean(value):
    """A number, a list of numbers (one per channel), or the path of an .h5 file whose dataset
    `mean` is shaped like a sample."""
    if isinstance(value, str) and value.endswith((".h5", ".hdf5")):
        return value
    try:
        return list_of(number(), min_len=1)(value) if isinstance(value, (list, tuple)) else number()(value)
    except ValueError:
        raise ValueError("must be a number, a list of numbers (one per channel) or the path of an "
                         f".h5 file, got {shown(value)}") from None


@register
class HDF5Data(Layer):
    """Each top is the dataset of that name in the `source` files (an .h5 file, a glob, or a
    .txt list of files). Rows are read in contiguous blocks (whole chunks, about 1 MiB, or
    `block_rows`), so memory holds one block, never a whole file. Batches follow file order,
    block order and row order, wrapping round and counting `epoch`; with `shuffle` the order
    of files, of blocks within each file and of rows within each block is drawn anew every
    epoch (Mocha's three levels).

    The first top is transformed as Caffe's DataTransformer does: (x - mean) * scale, where
    `mean` is a number, one number per channel, or an .h5 file whose dataset `mean`
    broadcasts to one (uncropped) sample; then a `crop` x `crop` window of the last two axes
    (height, width), drawn at random for each sample in training and centred in the test
    phase, the mean image cut at the same place; and with `mirror`, each sample flipped left
    to right with probability 1/2 in training (never in the test phase). Stored bytes
    (uint8) are read as the net's dtype.

        - {name: mnist, type: HDF5Data, tops: [data, label], source: data/mnist/train.txt,
           batch_size: 64, shuffle: true, scale: 0.00390625}
        - {name: images, type: HDF5Data, tops: [data, label], source: data/train.txt, batch_size: 32,
           mean: [104, 117, 123], crop: 227, mirror: true}
    """
    source = Field(text, doc="an .h5 file, a glob, or a .txt file listing .h5 files")
    batch_size = Field(integer(min=1))
    shuffle = Field(boolean, False, "visit files, blocks and rows in a new random order each epoch")
    block_rows = Field(optional(integer(min=1)), None, "rows read at once; default: whole chunks, ~1 MiB")
    scale = Field(optional(number()), None, "multiply the first top by this (after mean)")
    mean = Field(optional(_mean), None, "subtract from the first top: a number, one per channel, "
                                        "or an .h5 file")
    crop = Field(optional(integer(min=1)), None, "serve a crop x crop window: random in training, "
                                                 "the centre in test")
    mirror = Field(boolean, False, "flip each sample left to right at random in training")
    n_bottoms = 0
    n_tops = (1, None)
    is_source = True
    differentiable = False
    state_attrs = ("epoch", "schedule", "position", "row_order", "row", "rng")
    # (rank, processes), set by graphnet.parallel: every process walks the same schedule in
    # global batches of processes * batch_size rows and reads only the blocks of its own share.
    shard = (0, 1)

    def setup(self, bottom_shapes):
        try:
            self.data = HDF5Source(self.source, self.tops, self.block_rows)
        except GraphnetError as err:
            raise err.locate(field="source") from None
        dtype = self.backend.dtype
        self.offset = self._load_mean() if isinstance(self.mean, str) else self.mean
        if isinstance(self.mean, list):
            self.offset = self._channel_means()
        self.rng = np.random.default_rng([self.backend.seed, zlib.crc32(self.name.encode())])
        shapes = [(self.batch_size, *shape) for shape in self.data.shapes]
        shapes[0] = self._setup_window(shapes[0])
        self.epoch, self._loaded = 0, None
        self.schedule, self.position = self._draw_schedule(self.rng), 0
        self._enter_block()
        self.block = self.data.buffers(dtype)
        check_host_memory(self, self.batch_size * sum(math.prod(s) for s in self.data.shapes)
                          * dtype.itemsize, f"batches of {self.batch_size}", "batch_size")
        self.host = [np.empty((self.batch_size, *shape), dtype=dtype) for shape in self.data.shapes]
        self.window = np.empty(shapes[0], dtype=dtype) if self.crop or self.mirror else None
        return shapes

    def _channel_means(self):
        sample = self.data.shapes[0]
        if len(self.mean) not in (1, sample[0] if sample else 1):
            raise self.error(f"has {len(self.mean)} values for samples of '{self.tops[0]}' {sample}, "
                             f"whose {sample[0] if sample else 1} channel(s) are the first axis", "mean")
        return np.array(self.mean, dtype=self.backend.dtype).reshape(-1, *[1] * (len(sample) - 1))

    def _setup_window(self, shape):
        """The first top's shape after crop; in training with crop or mirror, a generator of
        its own, so that the draws leave the data order (and the read-ahead) as it is."""
        if not (self.crop or self.mirror):
            return shape
        if len(shape) < 3:
            raise self.error(f"crop and mirror need samples of '{self.tops[0]}' with a height and a "
                             f"width as their last axes, got {shape[1:]}", "crop" if self.crop else "mirror")
        if self.crop and self.crop > min(shape[-2:]):
            raise self.error(f"{self.crop} is larger than the samples of '{self.tops[0]}' "
                             f"({shape[-2]} x {shape[-1]})", "crop")
        if self.training:
            self.transform_rng = np.random.default_rng([self.backend.seed, zlib.crc32(self.name.encode()), 1])
            self.state_attrs = type(self).state_attrs + ("transform_rng",)
        return (*shape[:-2], self.crop, self.crop) if self.crop else shape

    def _load_mean(self):
        try:
            mean = read_dataset(self.mean, "mean")
        except GraphnetError as err:
            raise err.locate(field="mean") from None
        sample = self.data.shapes[0]
        try:
            fits = np.broadcast_shapes(mean.shape, sample) == sample
        except ValueError:
            fits = False
        if not fits:
            raise self.error(f"'{self.mean}' holds a mean of shape {mean.shape}, which does not fit "
                             f"samples of '{self.tops[0]}' {sample}", "mean")
        return mean.astype(self.backend.dtype)

    def _draw_schedule(self, rng):
        """The (file, block) pairs of one epoch, in the order they will be read."""
        n_files = len(self.data.files)
        pairs = []
        for f in rng.permutation(n_files) if self.shuffle else range(n_files):
            blocks = self.data.blocks(f)
            pairs += [(f, b) for b in (rng.permutation(blocks) if self.shuffle else range(blocks))]
        return np.array(pairs, dtype=np.int64).reshape(-1, 2)

    def _enter_block(self):
        rows = self.data.block_size(*self.schedule[self.position])
        self.row_order = self.rng.permutation(rows) if self.shuffle else np.arange(rows)
        self.row = 0

    def _advance(self):
        self.position += 1
        if self.position == len(self.schedule):
            self.epoch += 1
            self.schedule, self.position = self._draw_schedule(self.rng), 0
        self._enter_block()

    def _key(self, position):
        return tuple(int(k) for k in self.schedule[position])

    def _current_block(self):
        key = self._key(self.position)
        if key != self._loaded:
            self._fetch(key)
            self._loaded = key
        return self.block

    def _fetch(self, key):
        """Fill self.block with block `key` = (file, block)."""
        self.data.read_into(*key, self.block)

    def forward(self, bottoms, tops):
        rank, processes = self.shard
        mine, end = rank * self.batch_size, (rank + 1) * self.batch_size
        served = 0   # rows of the global batch passed so far
        while served < self.batch_size * processes:
            take = min(self.batch_size * processes - served, len(self.row_order) - self.row)
            low, high = max(served, mine), min(served + take, end)
            if low < high:  # this process's rows: the only blocks it reads
                block = self._current_block()
                index = self.row_order[self.row + low - served:self.row + high - served]
                for array, host in zip(block, self.host):
                    np.take(array, index, axis=0, out=host[low - mine:high - mine], mode="clip")
            served += take
            self.row += take
            if self.row == len(self.row_order):
                self._advance()
        if self.offset is not None:
            self.host[0] -= self.offset
        if self.scale is not None:
            self.host[0] *= self.scale
        batches = list(self.host)
        if self.window is not None:
            batches[0] = self._cut(self.host[0], mine, end)
        for host, top in zip(batches, tops):
            top.data[...] = self.xp.asarray(host)

    def _cut(self, batch, mine, end):
        """Crop and mirror `batch` into self.window. The mean was subtracted before: cutting
        after it is Caffe's mean cut at the same place. In training each batch draws, for all
        processes' rows, the flips, then the window rows, then the window columns; each process
        keeps those of its own rows."""
        height, width = batch.shape[-2:]
        size_h, size_w = (self.crop, self.crop) if self.crop else (height, width)
        n = len(batch)
        if self.training:
            rows = self.batch_size * self.shard[1]
            rng = self.transform_rng
            flips = rng.integers(2, size=rows) if self.mirror else np.zeros(rows, np.int64)
            y0 = rng.integers(height - size_h + 1, size=rows) if self.crop else np.zeros(rows, np.int64)
            x0 = rng.integers(width - size_w + 1, size=rows) if self.crop else np.zeros(rows, np.int64)
            flips, y0, x0 = flips[mine:end], y0[mine:end], x0[mine:end]
        else:  # Caffe's test phase: the centre, never flipped
            flips, y0, x0 = [0] * n, [(height - size_h) // 2] * n, [(width - size_w) // 2] * n
        for i in range(n):
            cut = batch[i, ..., y0[i]:y0[i] + size_h, x0[i]:x0[i] + size_w]
            self.window[i] = cut[..., ::-1] if flips[i] else cut
        return self.window


def _read_blocks(data, requests, done):
    """The reader thread: read each requested (key, buffers) and report (key, error)."""
    while (job := requests.get()) is not None:
        key, buffers = job
        try:
            data.read_into(*key, buffers)
            done.put((key, None))
        except BaseException as err:  # handed to the net's thread, which raises it
            done.put((key, err))


def _stop_reader(requests, thread):
    requests.put(None)
    thread.join(timeout=30)


@register
class AsyncHDF5Data(HDF5Data):
    """HDF5Data whose next block is read by a background thread while the net computes.

    It serves exactly the batches HDF5Data serves for the same seed, holding two blocks.
    The thread reads into the spare block; a position restored from a snapshot that the
    read-ahead did not foresee is read directly, and reading ahead starts again from it.
    The thread is a daemon and is stopped (after its current read) when the layer is
    collected or the process exits.

        - {name: mnist, type: AsyncHDF5Data, tops: [data, label], source: data/mnist/train.txt,
           batch_size: 64, shuffle: true}
    """

    def setup(self, bottom_shapes):
        shapes = super().setup(bottom_shapes)
        self.spare, self._ahead = self.data.buffers(self.backend.dtype), None
        self._requests, self._done = queue.Queue(), queue.Queue()
        thread = threading.Thread(target=_read_blocks, args=(self.data, self._requests, self._done),
                                  name=f"graphnet-{self.name}-reader", daemon=True)
        thread.start()
        weakref.finalize(self, _stop_reader, self._requests, thread)
        return shapes

    def _fetch(self, key):
        if self._ahead is not None:
            ahead, self._ahead = self._ahead, None
            done, error = self._done.get()
            if done == ahead == key:
                if error is not None:
                    raise error
                self.block, self.spare = self.spare, self.block
                key = None
        if key is not None:  # not foreseen (first block, or a restored position)
            self.data.read_into(*key, self.block)
        self._read_ahead()

    def _read_ahead(self):
        if self.position + 1 < len(self.schedule):
            following = self._key(self.position + 1)
        else:  # the next epoch's first block: draw its schedule on a copy of the generator
            following = tuple(int(k) for k in self._draw_schedule(copy.deepcopy(self.rng))[0])
        if following != self._key(self.position):
            self._ahead = following
            self._requests.put((following, self.spare))
