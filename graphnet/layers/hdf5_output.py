"""HDF5Output: what a net computes, written batch by batch into an HDF5 file."""

import os

import h5py
import numpy as np

from ..spec import Field, boolean, names, optional, text
from .base import Layer, register


@register
class HDF5Output(Layer):
    """Appends each forward's bottoms to datasets of the same names (or `datasets`) in
    `file_name`, growing along the first axis. An existing file is an error unless
    `force_overwrite`. The file is flushed after every batch, so it is complete whenever
    the net stops; `close()` releases it.

        - {name: save, type: HDF5Output, bottoms: [ip2, label], file_name: out/predictions.h5}
    """
    file_name = Field(text)
    datasets = Field(optional(names), None, "dataset names, one per bottom; default: the blob names")
    force_overwrite = Field(boolean, False)
    n_bottoms = (1, None)
    n_tops = 0
    differentiable = False

    def validate(self):
        super().validate()
        if self.datasets is not None and len(self.datasets) != len(self.bottoms):
            raise self.error(f"needs one name per bottom ({len(self.bottoms)}), got {len(self.datasets)}",
                             "datasets")
        written = self.datasets or self.bottoms
        if len(set(written)) != len(written):
            raise self.error(f"writes two datasets of one name: {written}",
                             "datasets" if self.datasets else "bottoms")

    def setup(self, bottom_shapes):
        for bottom, shape in zip(self.bottoms, bottom_shapes):
            if not shape:
                raise self.error(f"'{bottom}' is a scalar; it writes batches (samples along the "
                                 "first axis)", "bottoms")
        if os.path.exists(self.file_name) and not self.force_overwrite:
            raise self.error(f"{self.file_name} exists; set force_overwrite: true to replace it", "file_name")
        try:
            os.makedirs(os.path.dirname(self.file_name) or ".", exist_ok=True)
            self.file = h5py.File(self.file_name, "w")
        except (OSError, ValueError) as err:  # ValueError: a NUL in the name
            raise self.error(f"cannot create {self.file_name} ({' '.join(str(err).split())})",
                             "file_name") from None
        for name, shape in zip(self.datasets or self.bottoms, bottom_shapes):
            # A chunk is a batch, or as many samples as fit in about 1 MiB.
            sample_bytes = max(1, int(np.prod(shape[1:])) * self.backend.dtype.itemsize)
            rows = max(1, min(shape[0], (1 << 20) // sample_bytes))
            self.file.create_dataset(name, (0, *shape[1:]), self.backend.dtype,
                                     maxshape=(None, *shape[1:]), chunks=(rows, *shape[1:]))
        return []

    def forward(self, bottoms, tops):
        for name, bottom in zip(self.datasets or self.bottoms, bottoms):
            dataset = self.file[name]
            start = dataset.shape[0]
            dataset.resize(start + len(bottom.data), axis=0)
            dataset[start:] = self.backend.to_host(bottom.data)
        self.file.flush()

    def close(self):
        self.file.close()
