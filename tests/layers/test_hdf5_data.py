import copy
import subprocess
import sys
import textwrap
import threading

import h5py
import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.io.snapshot import Snapshot, save_snapshot
from graphnet.layers import AsyncHDF5Data, HDF5Data, InnerProduct
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


@pytest.mark.parametrize("kind", [HDF5Data, AsyncHDF5Data])
@pytest.mark.parametrize("block_rows, batch", [(None, 7), (1, 5), (4, 8), (6, 3), (50, 16)])
def test_shuffled_batches_keep_every_sample_with_its_own_label(tmp_path, kind, block_rows, batch):
    """Every top takes the same rows in the same order: here a sample's row number is its label
    `y`, and also stored in its data `x` (i, -i) and in `z` (3i), in three files of unequal sizes."""
    for name, n, start, chunks in [("a", 23, 0, 5), ("b", 11, 23, 4), ("c", 9, 34, None)]:
        write(tmp_path / f"{name}.h5", n, start, chunks=chunks, extra={"z": 3.0 * np.arange(start, start + n)})
    (tmp_path / "list.txt").write_text("a.h5\nb.h5\nc.h5\n")
    net = Net("d", [kind(name="d", tops=["x", "y", "z"], source=str(tmp_path / "list.txt"), batch_size=batch,
                         shuffle=True, block_rows=block_rows)], seed=4)
    labels = []
    for _ in range(-(-3 * 43 // batch)):   # three epochs of 43 samples, and part of a fourth
        net.forward()
        x, y, z = (net.blobs[top].data for top in ("x", "y", "z"))
        np.testing.assert_array_equal(y, x[:, 0])
        np.testing.assert_array_equal(x[:, 1], -x[:, 0])
        np.testing.assert_array_equal(z, 3 * y)
        labels += y.astype(int).tolist()
    epochs = [labels[k * 43:(k + 1) * 43] for k in range(3)]
    assert all(sorted(epoch) == list(range(43)) for epoch in epochs)
    assert epochs[0] != list(range(43)) and epochs[0] != epochs[1] != epochs[2]


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
    """Stream a 240 MB file, with both layers, through a process whose address space is capped
    at what it uses plus 150 MB: holding the file, or a growing part of it, would fail."""
    path = tmp_path / "big.h5"
    rows, width = 60_000, 1000
    piece = np.ones((10_000, width), np.float32)
    with h5py.File(path, "w") as f:
        data = f.create_dataset("x", (rows, width), np.float32)  # contiguous: ~1 MiB blocks
        for start in range(0, rows, len(piece)):
            data.write_direct(piece * start, dest_sel=np.s_[start:start + len(piece)])
        f.create_dataset("y", data=np.arange(rows, dtype=np.float32))
    script = textwrap.dedent(f"""
        import resource
        import numpy as np
        from graphnet import Net
        from graphnet.layers import AsyncHDF5Data, HDF5Data
        used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + 150 * 2**20, resource.RLIM_INFINITY))
        try:
            np.ones(({rows}, {width}), np.float32)
            print("the cap does not bite")
        except MemoryError:
            pass
        for kind in (HDF5Data, AsyncHDF5Data):
            net = Net("big", [kind(name="d", tops=["x", "y"], source={str(path)!r}, batch_size=500,
                                   shuffle=True)])
            for _ in range({rows} // 500 + 10):
                net.forward()
            print(kind.__name__, "epoch", net.layer("d").epoch, "rows", net.layer("d").data.block_rows)
            del net
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["HDF5Data epoch 1 rows 262", "AsyncHDF5Data epoch 1 rows 262"], \
        done.stdout


def test_mean_from_a_file_broadcasts_over_the_sample(source, tmp_path):
    with h5py.File(tmp_path / "mean.h5", "w") as f:
        f.create_dataset("mean", data=np.array([1.0, -2.0]))
    net = make(HDF5Data, source, mean=str(tmp_path / "mean.h5"), scale=2.0)
    net.forward()
    x = np.arange(8.0)[:, None] * [1, -1]
    np.testing.assert_array_equal(net.blobs["x"].data, (x - [1, -2]) * 2)
    assert layer_from_yaml(f"{{name: d, type: HDF5Data, tops: [x], source: a.h5, batch_size: 4, "
                           f"mean: {tmp_path}/mean.h5}}").mean == str(tmp_path / "mean.h5")


@pytest.mark.parametrize("mean, words", [
    ("nomean.h5", ["mean: ", "nomean.h5", "no such HDF5 file"]),
    ("other.h5", ["mean: ", "other.h5", "has no dataset 'mean'"]),
    ("wide.h5", ["mean: ", "wide.h5", "mean of shape (3,)", "samples of 'x' (2,)"]),
])
def test_bad_mean_files_are_named(source, tmp_path, mean, words):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("average", data=np.zeros(2))
    with h5py.File(tmp_path / "wide.h5", "w") as f:
        f.create_dataset("mean", data=np.zeros(3))
    with pytest.raises(GraphnetError) as err:
        make(HDF5Data, source, mean=str(tmp_path / mean))
    for word in ["layer 'd'", *words]:
        assert word in str(err.value), str(err.value)
    with pytest.raises(GraphnetError, match="layer 'd': mean: must be a number, a list of numbers \\(one per channel\\) or the path of an .h5 file"):
        make(HDF5Data, source, mean="lots")


@pytest.mark.parametrize("shuffle, block_rows, batch", [(False, 5, 8), (True, 7, 3), (True, 40, 6), (True, 2, 16)])
def test_async_matches_the_plain_layer_in_every_configuration(source, shuffle, block_rows, batch):
    def net(kind):
        return Net("d", [kind(name="d", tops=["x", "y"], source=source, batch_size=batch, shuffle=shuffle,
                              block_rows=block_rows)], seed=5)
    plain, threaded = net(HDF5Data), net(AsyncHDF5Data)
    batches = -(-100 // batch)  # two and a half epochs
    assert served(plain, batches) == served(threaded, batches)
    assert plain.layer("d").epoch == threaded.layer("d").epoch >= 2


def spy_reads(layer):
    """Record which thread reads each block."""
    reads, read_into = [], layer.data.read_into

    def spy(file, block, buffers):
        reads.append(("main" if threading.current_thread() is threading.main_thread() else "ahead",
                      (file, block)))
        return read_into(file, block, buffers)
    layer.data.read_into = spy
    return reads


def test_blocks_are_read_ahead_across_epochs(source):
    plain, threaded = make(HDF5Data, source, shuffle=True), make(AsyncHDF5Data, source, shuffle=True)
    plain_reads, reads = spy_reads(plain.layer("d")), spy_reads(threaded.layer("d"))
    assert served(plain, 16) == served(threaded, 16)  # 3.2 epochs of 9 blocks
    assert [who for who, _ in reads] == ["main"] + ["ahead"] * (len(reads) - 1)
    # Each block visited, in order; perhaps one more, read ahead for the next batch.
    assert [key for _, key in reads[:len(plain_reads)]] == [key for _, key in plain_reads]
    assert len(plain_reads) > 27 and len(reads) - len(plain_reads) in (0, 1)


def test_a_restored_position_restarts_the_read_ahead(source):
    net = make(AsyncHDF5Data, source, shuffle=True)
    served(net, 2)
    layer = net.layer("d")
    saved = {name: copy.deepcopy(getattr(layer, name)) for name in layer.state_attrs}
    expected = served(net, 12)
    reads = spy_reads(layer)
    for name, value in saved.items():
        setattr(layer, name, value)
    assert served(net, 12) == expected
    # The restored block was not foreseen: read at once, then reading ahead goes on from it.
    schedule, position = saved["schedule"], saved["position"]
    restart = [i for i, (who, _) in enumerate(reads) if who == "main"]
    assert len(restart) == 1, reads
    assert reads[restart[0]][1] == tuple(schedule[position])
    assert [key for _, key in reads[restart[0] + 1:restart[0] + 3]] == [tuple(k) for k in schedule[position + 1:position + 3]]


def test_a_failed_read_ahead_is_raised_by_forward(source):
    net = make(AsyncHDF5Data, source)
    layer = net.layer("d")
    read_into = layer.data.read_into

    def broken(file, block, buffers):
        if block == 2:
            raise GraphnetError("cannot read rows 10:15 (truncated)", file=layer.data.files[file])
        return read_into(file, block, buffers)
    layer.data.read_into = broken
    net.forward()  # rows 0-7 from blocks 0 and 1, while block 2 fails in the reader thread
    with pytest.raises(GraphnetError, match=r"a\.h5: cannot read rows 10:15 \(truncated\)"):
        net.forward()


@pytest.mark.parametrize("kind", [HDF5Data, AsyncHDF5Data])
def test_a_snapshot_keeps_the_position(source, tmp_path, kind):
    def make_with_params():  # a snapshot needs a parameter
        return Net("d", [kind(name="d", tops=["x", "y"], source=source, batch_size=8, block_rows=5, shuffle=True),
                         InnerProduct(name="ip", bottoms=["x"], tops=["z"], output_dim=1)], seed=2)
    net = make_with_params()
    served(net, 7)
    save_snapshot(str(tmp_path / "s.h5"), net, iteration=7, epoch=1, solver_attrs={}, solver_arrays={})
    expected = served(net, 11)
    fresh = make_with_params()
    with Snapshot(str(tmp_path / "s.h5")) as snap:
        snap.load_positions({"train": fresh})
    assert served(fresh, 11) == expected


@pytest.mark.parametrize("end", ["return", "raise ValueError('boom')"])
def test_the_reader_thread_never_holds_up_exit(source, end):
    script = textwrap.dedent(f"""
        import threading
        from graphnet import Net
        from graphnet.layers import AsyncHDF5Data
        def main():
            net = Net("d", [AsyncHDF5Data(name="d", tops=["x", "y"], source={source!r}, batch_size=8,
                                          block_rows=5, shuffle=True)])
            net.forward()
            print([t.daemon for t in threading.enumerate() if t.name.startswith("graphnet-")])
            {end}
        main()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout == "[True]\n"
    assert done.returncode == (0 if end == "return" else 1), done.stderr
