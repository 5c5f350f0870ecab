"""SequenceData: a long sequence (a text) served as consecutive (T, N) windows."""

import numpy as np

from ..errors import GraphnetError
from ..io.hdf5_reader import read_dataset
from ..spec import Field, integer, text
from .base import Layer, register


@register
class SequenceData(Layer):
    """The 1-D dataset `dataset` of the .h5 file `source` (e.g. character indices) is cut
    into `batch_size` streams of equal length, stream n starting at n * length; each forward
    serves the next `seq_len` steps of every stream, time-major, as three tops:

        input  (T, N)  the values
        target (T, N)  the value that follows each one (what a language model predicts)
        cont   (T, N)  0 where a sequence starts, 1 elsewhere

    Batches follow each other in order, so a recurrent layer's carried state is the state
    of the same stream one window earlier (truncated back-propagation through time). A
    sequence starts at the first window of every epoch and wherever the file's optional
    dataset `cont` is 0 (the start of each work). The streams' leftover tails shorter than
    a window are not served. The whole dataset is held in memory.

        - {name: text, type: SequenceData, tops: [chars, next, cont],
           source: data/shakespeare/train.h5, seq_len: 50, batch_size: 64}
    """
    source = Field(text, doc="an .h5 file")
    dataset = Field(text, "chars", "the 1-D dataset to serve")
    seq_len = Field(integer(min=1), doc="T, steps per window")
    batch_size = Field(integer(min=1), doc="N, parallel streams")
    n_bottoms = 0
    n_tops = 3
    is_source = True
    differentiable = False
    state_attrs = ("epoch", "position")
    sample_axes = 2
    sample_name = "steps"
    # (rank, processes), set by graphnet.parallel: the text is cut into processes * batch_size
    # streams and this process serves streams rank * batch_size onwards.
    shard = (0, 1)

    def setup(self, bottom_shapes):
        self.values = self._read(self.dataset)
        starts = self._read("cont", missing_ok=True)
        if starts is not None and starts.shape != self.values.shape:
            raise self.error(f"'{self.source}' has 'cont' of shape {starts.shape}, but "
                             f"'{self.dataset}' is {self.values.shape}", "source")
        rank, processes = self.shard
        streams = self.batch_size * processes
        windows = (len(self.values) - 1) // streams // self.seq_len
        if windows == 0:
            raise self.error(f"'{self.source}' holds {len(self.values)} values in '{self.dataset}': "
                             f"too few for {streams} streams of {self.seq_len} + 1", "source")
        self.stream_length = windows * self.seq_len
        steps = np.arange(self.seq_len)[:, None]
        mine = np.arange(rank * self.batch_size, (rank + 1) * self.batch_size)
        self.window = steps + mine[None, :] * ((len(self.values) - 1) // streams)
        self.starts = starts
        self.epoch, self.position = 0, 0
        return [(self.seq_len, self.batch_size)] * 3

    def _read(self, name, missing_ok=False):
        try:
            values = read_dataset(self.source, name, missing_ok)
        except GraphnetError as err:
            raise err.locate(layer=self.name, field="source") from None
        if values is None:
            return None
        if values.ndim != 1 or values.dtype.kind not in "biuf":
            raise self.error(f"'{self.source}' dataset '{name}' is {values.dtype} of shape "
                             f"{values.shape}, not a 1-D array of numbers", "source")
        return values

    def forward(self, bottoms, tops):
        index = self.window + self.position
        cont = self.starts[index] if self.starts is not None else np.ones(index.shape, np.uint8)
        if self.position == 0:
            cont[0] = 0
        dtype = self.backend.dtype
        for top, values in zip(tops, (self.values[index], self.values[index + 1], cont)):
            top.data[...] = self.xp.asarray(values.astype(dtype, copy=False))
        self.position += self.seq_len
        if self.position == self.stream_length:
            self.epoch, self.position = self.epoch + 1, 0
