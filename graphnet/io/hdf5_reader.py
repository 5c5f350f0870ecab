"""Reading samples from HDF5 files in contiguous blocks of rows.

A source is an .h5 file, a glob, or a .txt file listing .h5 files one per line (paths
relative to the list). Every file must hold one dataset per wanted name, samples along
the first axis, all with the same count in a file and the same sample shape everywhere.
Blocks are read with `read_direct` into buffers the caller allocates once, so reading
never allocates and memory never grows with the files.
"""

import glob
import os

import h5py
import numpy as np

from ..datasets import recipe_for
from ..errors import GraphnetError

BLOCK_BYTES = 1 << 20


def not_found(path, message="no such file"):
    """The error for a data file that is not there. Sources are relative to the folder
    graphnet runs in, not to the netdef, so say which folder that was, and how to make the
    file when a recipe does."""
    hints = []
    if not os.path.isabs(path):
        hints.append(f"looked up from {os.getcwd()}")
        recipe = recipe_for(path)
        if recipe:
            hints.append(f"run graphnet from the folder that holds data/, or prepare it with '{recipe}'")
    return GraphnetError(message + (f" ({'; '.join(hints)})" if hints else ""), path=path)


def unreadable(path, err):
    """The error for a file h5py cannot open; its messages span lines, ours take one."""
    if os.path.isdir(path):
        return GraphnetError("is a folder, not an HDF5 file", path=path)
    return GraphnetError(f"not a readable HDF5 file ({' '.join(str(err).split())})", path=path)


def source_files(source):
    """The HDF5 files a source names, in order."""
    if source.endswith(".txt"):
        try:
            with open(source, encoding="utf-8") as f:
                names = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        except FileNotFoundError:
            raise not_found(source) from None
        except UnicodeDecodeError:
            raise GraphnetError("is not a UTF-8 text file listing HDF5 files", path=source) from None
        except OSError as err:
            raise GraphnetError(f"cannot read the list of HDF5 files: {err.strerror}", path=source) from None
        files = [os.path.join(os.path.dirname(source), name) for name in names]
    elif any(c in source for c in "*?["):
        files = sorted(glob.glob(source))
    else:
        files = [source]
    if not files:
        raise not_found(source, "names no HDF5 file")
    return files


def read_dataset(path, name, missing_ok=False):
    """The whole of one (small) dataset, e.g. a mean image; None if it is missing and
    `missing_ok`."""
    try:
        with h5py.File(path, "r") as f:
            if missing_ok and name not in f:
                return None
            if not isinstance(f.get(name), h5py.Dataset):
                raise GraphnetError(f"has no dataset '{name}' (it has: {', '.join(f) or 'none'})", path=path)
            return f[name][()]
    except FileNotFoundError:
        raise not_found(path, "no such HDF5 file") from None
    except OSError as err:
        raise unreadable(path, err) from None


class HDF5Source:
    """The files of a source, checked, with each file's row count and a block size."""

    def __init__(self, source, names, block_rows=None):
        self.files = source_files(source)
        self.names = list(names)
        self.handles, self.rows, self.shapes = [], [], None
        try:
            for path in self.files:
                self._open(path)
        except GraphnetError:
            self.close()
            raise
        if sum(self.rows) == 0:
            self.close()
            raise GraphnetError("holds no samples", path=source)
        first = self.handles[0][self.names[0]]
        if block_rows is None:
            # Whole chunks (HDF5 reads a chunk whole anyway), as many as fit in about 1 MiB of
            # samples as they are held, in floats of at least 4 bytes: bytes (uint8) then block
            # as their float32 version did, and a shuffled order is the same for both.
            sample_bytes = max(1, int(np.prod(first.shape[1:])) * max(4, first.dtype.itemsize))
            chunk = first.chunks[0] if first.chunks else 1
            block_rows = chunk * max(1, BLOCK_BYTES // (chunk * sample_bytes))
        self.block_rows = int(block_rows)

    def _open(self, path):
        try:
            handle = h5py.File(path, "r")
        except FileNotFoundError:
            raise not_found(path, "no such HDF5 file") from None
        except OSError as err:
            raise unreadable(path, err) from None
        self.handles.append(handle)
        counts, shapes = set(), []
        for name in self.names:
            if name not in handle or not isinstance(handle[name], h5py.Dataset):
                raise GraphnetError(f"has no dataset '{name}' (it has: {', '.join(handle) or 'none'})",
                                    path=path)
            data = handle[name]
            if data.ndim < 1 or data.dtype.kind not in "biuf":
                raise GraphnetError(f"dataset '{name}' must be numeric with samples along axis 0, "
                                    f"got {data.dtype} {data.shape}", path=path)
            counts.add(data.shape[0])
            shapes.append(data.shape[1:])
        if len(counts) > 1:
            raise GraphnetError("datasets " + ", ".join(f"'{n}' {handle[n].shape}" for n in self.names)
                                + " differ in sample count", path=path)
        if self.shapes is None:
            self.shapes = shapes
        elif shapes != self.shapes:
            bad = next(i for i, (a, b) in enumerate(zip(shapes, self.shapes)) if a != b)
            raise GraphnetError(f"dataset '{self.names[bad]}' holds samples of shape {shapes[bad]}, "
                                f"but {self.files[0]} holds {self.shapes[bad]}", path=path)
        self.rows.append(counts.pop())

    def blocks(self, file):
        """How many blocks file number `file` has."""
        return -(-self.rows[file] // self.block_rows)

    def block_size(self, file, block):
        """How many rows block number `block` of file number `file` has (the last may be short)."""
        # Python ints: a block_rows of 2**63 would overflow NumPy's
        return min(self.block_rows, self.rows[file] - int(block) * self.block_rows)

    def buffers(self, dtype):
        """Arrays that can hold any one block, one per dataset, for `read_into`."""
        rows = min(self.block_rows, max(self.rows))
        return [np.empty((rows, *shape), dtype=dtype) for shape in self.shapes]

    def read_into(self, file, block, buffers):
        """Read one block into the first rows of `buffers` (HDF5 converts to their dtype);
        returns how many rows it read."""
        start = int(block) * self.block_rows
        count = self.block_size(file, block)
        try:
            for name, buffer in zip(self.names, buffers):
                self.handles[file][name].read_direct(buffer, np.s_[start:start + count], np.s_[0:count])
        except (OSError, TypeError) as err:
            raise GraphnetError(f"cannot read rows {start}:{start + count} ({' '.join(str(err).split())})",
                                path=self.files[file]) from None
        return count

    def close(self):
        for handle in self.handles:
            handle.close()
