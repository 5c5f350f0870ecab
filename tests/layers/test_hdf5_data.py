import os
import resource
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import AsyncHDF5Data, HDF5Data
from tests.helpers import layer_from_yaml


def write(path, n, start=0, chunks=None, extra=None):
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=(np.arange(start, start + n)[:, None] * [1, -1]).astype(np.float32),
                         chunks=(chunks, 2) if chunks else None)
        f.create_dataset("y", data=np.arange(start, start + n, dtype=np.int64))
        for name, value in (extra or {}).items():
            f.create_dataset(name, data=value)
    return str(path)


@pytest.fixture
def source(tmp_path):
    write(tmp_path / "a.h5", 23, 0, chunks=5)
    write(tmp_path / "b.h5", 17, 23, chunks=5)
    (tmp_path / "list.txt").write_text("a.h5\nb.h5\n")
    return str(tmp_path / "list.txt")


def served(net, batches):
    out = []
    for _ in range(batches):
        net.forward()
        out.append(net.blobs["x"].data[:, 0].astype(int).tolist())
    return out


def make(kind, source, **fields):
    fields.setdefault("block_rows", 5)
    return Net("d", [kind(name="d", tops=["x", "y"], source=source, batch_size=8, **fields)], seed=2)


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: d, type: HDF5Data, tops: [x], source: a.h5, batch_size: 4, shuffle: true}") == \
        HDF5Data(name="d", tops=["x"], source="a.h5", batch_size=4, shuffle=True)


def test_reads_in_order_across_files_and_wraps(source):
    net = make(HDF5Data, source)
    batches = sum(served(net, 5), [])
    assert batches == list(range(40))
    assert net.layer("d").epoch == 1
    np.testing.assert_array_equal(net.blobs["y"].data, np.arange(32, 40))


@pytest.mark.parametrize("kind", [HDF5Data, AsyncHDF5Data])
def test_a_shuffled_epoch_visits_every_sample_once(source, kind):
    net = make(kind, source, shuffle=True)
    first, second = sum(served(net, 5), []), sum(served(net, 5), [])
    assert sorted(first) == sorted(second) == list(range(40))
    assert first != second and first != list(range(40))
    np.testing.assert_array_equal(net.blobs["x"].data[:, 1], -net.blobs["x"].data[:, 0])


def test_async_serves_what_the_plain_layer_serves(source):
    plain, threaded = make(HDF5Data, source, shuffle=True), make(AsyncHDF5Data, source, shuffle=True)
    assert served(plain, 12) == served(threaded, 12)


@pytest.mark.parametrize("kind", [HDF5Data, AsyncHDF5Data])
def test_restoring_the_state_attributes_continues_exactly(source, kind):
    net = make(kind, source, shuffle=True)
    served(net, 3)
    layer = net.layer("d")
    saved = {name: getattr(layer, name) for name in layer.state_attrs}
    saved = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in saved.items()}
    state = layer.rng.bit_generator.state
    expected = served(net, 9)
    fresh = make(kind, source, shuffle=True)
    served(fresh, 1)
    for name, value in saved.items():
        setattr(fresh.layer("d"), name, value)
    fresh.layer("d").rng.bit_generator.state = state
    assert served(fresh, 9) == expected


def test_blocks_are_whole_chunks_of_about_a_mebibyte(source, tmp_path):
    # 5-row chunks of 8-byte samples: as many whole chunks as fit in 1 MiB.
    assert make(HDF5Data, source, block_rows=None).layer("d").data.block_rows == 5 * (2**20 // 40)
    with h5py.File(tmp_path / "big.h5", "w") as f:
        f.create_dataset("x", (1000, 784), np.float32, chunks=(500, 784))
        f.create_dataset("y", (1000,), np.float32)
    assert make(HDF5Data, str(tmp_path / "big.h5"), block_rows=None).layer("d").data.block_rows == 500


def test_transform_scales_the_first_top(source):
    net = make(HDF5Data, source, mean=1.0, scale=0.5)
    net.forward()
    np.testing.assert_array_equal(net.blobs["x"].data[:, 0], (np.arange(8) - 1.0) * 0.5)
    np.testing.assert_array_equal(net.blobs["y"].data, np.arange(8))


@pytest.mark.parametrize("setup, words", [
    (lambda d: str(d / "missing.h5"), ["missing.h5", "no such HDF5 file"]),
    (lambda d: (d / "junk.h5").write_bytes(b"junk") and str(d / "junk.h5"), ["junk.h5", "not a readable HDF5 file"]),
    (lambda d: write(d / "noy.h5", 4) and _drop(d / "noy.h5", "y"), ["noy.h5", "has no dataset 'y'"]),
    (lambda d: _two(d, (3,)), ["two.h5", "dataset 'x' holds samples of shape (3,)", "holds (2,)"]),
    (lambda d: _short(d), ["short.h5", "differ in sample count"]),
    (lambda d: str(d / "none-*.h5"), ["none-*.h5", "names no HDF5 file"]),
])
def test_bad_files_name_the_file_and_dataset(tmp_path, setup, words):
    path = setup(tmp_path)
    with pytest.raises(GraphnetError) as err:
        make(HDF5Data, path)
    for word in ["layer 'd'", *words]:
        assert word in str(err.value), str(err.value)


def _drop(path, name):
    with h5py.File(path, "a") as f:
        del f[name]
    return str(path)


def _two(directory, shape):
    write(directory / "one.h5", 4)
    with h5py.File(directory / "two.h5", "w") as f:
        f.create_dataset("x", data=np.zeros((4, *shape)))
        f.create_dataset("y", data=np.zeros(4))
    (directory / "l.txt").write_text("one.h5\ntwo.h5\n")
    return str(directory / "l.txt")


def _short(directory):
    with h5py.File(directory / "short.h5", "w") as f:
        f.create_dataset("x", data=np.zeros((4, 2)))
        f.create_dataset("y", data=np.zeros(3))
    return str(directory / "short.h5")


def test_memory_does_not_grow_with_the_file(tmp_path):
    """Stream a 400 MB file through a process whose address space is capped far below it."""
    path = tmp_path / "big.h5"
    rows, width = 100_000, 1000  # 400 MB of float32
    with h5py.File(path, "w") as f:
        data = f.create_dataset("x", (rows, width), np.float32, chunks=(256, width))
        for start in range(0, rows, 10_000):
            data[start:start + 10_000] = start
        f.create_dataset("y", data=np.arange(rows, dtype=np.float32))
    script = textwrap.dedent(f"""
        import resource, sys
        from graphnet import Net
        from graphnet.layers import HDF5Data
        net = Net("big", [HDF5Data(name="d", tops=["x", "y"], source={str(path)!r}, batch_size=500,
                                   shuffle=True)])
        # Cap the address space at what is in use now plus 150 MB: far below the file's 400 MB.
        used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + 150 * 2**20, resource.RLIM_INFINITY))
        seen = 0
        for _ in range(rows // 500 + 10):
            net.forward()
            seen += 500
        print("epochs", net.layer("d").epoch, "peak MB",
              resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """).replace("rows", str(rows))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "epochs 1" in done.stdout
