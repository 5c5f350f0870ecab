"""Caffe's DataTransformer in HDF5Data and AsyncHDF5Data: per-channel means, crop and mirror,
their draws kept by snapshots, and uint8 files read as the net's dtype."""

import os
import zlib

import h5py
import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.coffee import Snapshot
from graphnet.layers import AsyncHDF5Data, HDF5Data, InnerProduct, SquareLoss
from graphnet.solver import Solver
from tests.helpers import layer_from_yaml

N, C, H, W = 37, 3, 6, 7


@pytest.fixture
def images(tmp_path):
    """37 uint8 images (3 x 6 x 7) with targets, in one file of 5-row chunks."""
    x = np.random.default_rng(0).integers(0, 256, size=(N, C, H, W), dtype=np.uint8)
    with h5py.File(tmp_path / "images.h5", "w") as f:
        f.create_dataset("x", data=x, chunks=(5, C, H, W))
        f.create_dataset("y", data=np.arange(N, dtype=np.float32)[:, None] / N)
    return str(tmp_path / "images.h5"), x


def make(kind, source, phase="train", batch=8, seed=4, **fields):
    layer = kind(name="d", tops=["x", "y"], source=source, batch_size=batch, block_rows=5, **fields)
    return Net("d", [layer], phase=phase, seed=seed, dtype="float64")


def caffe_transform(x, mean, scale, crop, flips, y0, x0):
    """DataTransformer::Transform written out pixel by pixel, as Caffe's loops index it."""
    n, c, h, w = x.shape
    size = crop or h
    out = np.empty((n, c, size, crop or w))
    for i in range(n):
        for ch in range(c):
            for row in range(out.shape[2]):
                for col in range(out.shape[3]):
                    src_row, src_col = y0[i] + row, x0[i] + col
                    m = mean[ch, src_row, src_col] if mean.ndim == 3 else mean[ch]
                    to = out.shape[3] - 1 - col if flips[i] else col
                    out[i, ch, row, to] = (float(x[i, ch, src_row, src_col]) - m) * scale
    return out


def draws(seed, rows, crop, mirror, batches=1):
    """The layer's generator, drawn as its docstring says: per batch flips, rows, columns."""
    rng = np.random.default_rng([seed, zlib.crc32(b"d"), 1])
    out = []
    for _ in range(batches):
        flips = rng.integers(2, size=rows) if mirror else np.zeros(rows, int)
        y0 = rng.integers(H - crop + 1, size=rows) if crop else np.zeros(rows, int)
        x0 = rng.integers(W - crop + 1, size=rows) if crop else np.zeros(rows, int)
        out.append((flips, y0, x0))
    return out


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: d, type: HDF5Data, tops: [x], source: a.h5, batch_size: 4, "
                           "mean: [104, 117, 123], crop: 5, mirror: true}") == \
        HDF5Data(name="d", tops=["x"], source="a.h5", batch_size=4, mean=[104.0, 117.0, 123.0], crop=5,
                 mirror=True)


@pytest.mark.parametrize("kind", [HDF5Data, AsyncHDF5Data])
@pytest.mark.parametrize("crop, mirror", [(4, True), (5, False), (None, True), (6, True)])
def test_training_pixels_are_caffes_for_the_layers_generator(images, kind, crop, mirror):
    source, x = images
    mean = [100.0, 120.5, 90.0]
    net = make(kind, source, mean=mean, scale=0.25, crop=crop, mirror=mirror)
    size_h, size_w = (crop, crop) if crop else (H, W)
    assert net.blobs["x"].shape == (8, C, size_h, size_w)
    expected_draws = draws(4, 8, crop, mirror, batches=6)
    for b in range(6):  # past the end of the epoch (37 rows): the wrap-round too
        net.forward()
        rows = (np.arange(8) + 8 * b) % N
        flips, y0, x0 = expected_draws[b]
        expected = caffe_transform(x[rows], np.array(mean), 0.25, crop, flips, y0, x0)
        np.testing.assert_array_equal(net.blobs["x"].data, expected)
        np.testing.assert_array_equal(net.blobs["y"].data[:, 0], np.float32(rows / N))
    if crop and mirror:
        assert any(d[0].any() for d in expected_draws) and any(d[2].any() for d in expected_draws)


def test_a_mean_image_is_cut_where_the_sample_is(images, tmp_path):
    source, x = images
    mean = np.random.default_rng(1).uniform(0, 255, size=(C, H, W))
    with h5py.File(tmp_path / "mean.h5", "w") as f:
        f.create_dataset("mean", data=mean)
    net = make(HDF5Data, source, mean=str(tmp_path / "mean.h5"), scale=0.5, crop=3, mirror=True)
    net.forward()
    flips, y0, x0 = draws(4, 8, 3, True)[0]
    np.testing.assert_array_equal(net.blobs["x"].data, caffe_transform(x[:8], mean, 0.5, 3, flips, y0, x0))


@pytest.mark.parametrize("kind", [HDF5Data, AsyncHDF5Data])
def test_the_test_phase_serves_the_centre_never_flipped(images, kind):
    source, x = images
    net = make(kind, source, phase="test", mean=[10.0], crop=3, mirror=True)
    net.forward()
    centre = x[:8, :, 1:4, 2:5].astype(np.float64) - 10.0   # (6 - 3) // 2 = 1, (7 - 3) // 2 = 2
    np.testing.assert_array_equal(net.blobs["x"].data, centre)
    assert "transform_rng" not in net.layer("d").state_attrs  # nothing drawn, nothing to keep


def test_the_draws_leave_the_data_order_as_it_is(images):
    source, _ = images
    plain = make(HDF5Data, source, shuffle=True)
    cropped = make(HDF5Data, source, shuffle=True, crop=4, mirror=True)
    for _ in range(7):
        plain.forward()
        cropped.forward()
        np.testing.assert_array_equal(plain.blobs["y"].data, cropped.blobs["y"].data)


def test_async_serves_what_the_plain_layer_serves(images):
    source, _ = images
    plain = make(HDF5Data, source, shuffle=True, crop=5, mirror=True, mean=[1.0, 2.0, 3.0], scale=0.1)
    threaded = make(AsyncHDF5Data, source, shuffle=True, crop=5, mirror=True, mean=[1.0, 2.0, 3.0], scale=0.1)
    for _ in range(12):
        plain.forward()
        threaded.forward()
        np.testing.assert_array_equal(plain.blobs["x"].data, threaded.blobs["x"].data)
        np.testing.assert_array_equal(plain.blobs["y"].data, threaded.blobs["y"].data)


def test_bytes_are_read_as_the_nets_dtype(images):
    source, x = images
    for dtype in ("float32", "float64"):
        net = Net("d", [HDF5Data(name="d", tops=["x", "y"], source=source, batch_size=8, scale=0.00390625)],
                  dtype=dtype)
        net.forward()
        assert net.blobs["x"].data.dtype == dtype
        # x * 2**-8 is exact in float32: the same values a file of float32 bytes/256 gives
        np.testing.assert_array_equal(net.blobs["x"].data, (x[:8].astype(np.float32) / 256).astype(dtype))


@pytest.mark.parametrize("kind", [HDF5Data, AsyncHDF5Data])
def test_a_resume_mid_epoch_is_bit_identical(images, tmp_path, kind):
    source, _ = images

    def train(run_dir, max_iter, resume=None):
        layers = [kind(name="d", tops=["x", "y"], source=source, batch_size=6, block_rows=5, shuffle=True,
                       mean=[128.0, 127.0, 126.0], scale=1 / 128, crop=4, mirror=True),
                  InnerProduct(name="ip", bottoms=["x"], tops=["p"], output_dim=1),
                  SquareLoss(name="loss", bottoms=["p", "y"])]
        net = Net("t", layers, seed=7, dtype="float64")
        solver = Solver("sgd", lr_policy=0.01, momentum=0.9, max_iter=max_iter, run_dir=str(run_dir))
        solver.add_coffee_break(Snapshot(), every_n_iter=4)
        solver.solve(net, resume=resume)
        return net

    straight = train(tmp_path / "straight", 16)
    train(tmp_path / "split", 8)
    os.remove(tmp_path / "split" / "snapshot-00000008.h5")  # resume from 4: 24 of 37 rows, mid-epoch
    resumed = train(tmp_path / "split", 16, resume=True)
    assert np.array_equal(straight.param_data, resumed.param_data)
    assert (straight.layer("d").transform_rng.bit_generator.state
            == resumed.layer("d").transform_rng.bit_generator.state)
    with h5py.File(tmp_path / "split" / "snapshot-00000016.h5") as f:
        assert f["layers/train/d"].attrs["transform_rng"].startswith("generator:")


@pytest.mark.parametrize("fields, words", [
    (dict(crop=8), ["crop: 8 is larger than the samples of 'x' (6 x 7)"]),
    (dict(mean=[1.0, 2.0]), ["mean: has 2 values for samples of 'x' (3, 6, 7)", "3 channel(s)"]),
    (dict(mean="lots"), ["mean: must be a number, a list of numbers (one per channel)"]),
    (dict(mean=[1.0, "x"]), ["mean: must be a number, a list of numbers"]),
])
def test_bad_transforms_are_one_line(images, fields, words):
    source, _ = images
    with pytest.raises(GraphnetError) as err:
        make(HDF5Data, source, **fields)
    assert "\n" not in str(err.value)
    for word in ["layer 'd'", *words]:
        assert word in str(err.value), str(err.value)


def test_crop_needs_a_height_and_a_width(tmp_path):
    with h5py.File(tmp_path / "flat.h5", "w") as f:
        f.create_dataset("x", data=np.zeros((4, 5)))
    with pytest.raises(GraphnetError, match=r"layer 'd': mirror: crop and mirror need samples of 'x' "
                                            r"with a height and a width as their last axes, got \(5,\)"):
        Net("d", [HDF5Data(name="d", tops=["x"], source=str(tmp_path / "flat.h5"), batch_size=2, mirror=True)])


@pytest.mark.parametrize("kind", [HDF5Data, AsyncHDF5Data])
def test_k_shards_draw_what_one_batch_of_k_times_b_draws(images, kind):
    """Under K processes each serves its rows of the global batch, crops and flips included
    (graphnet.parallel sets `shard`; here in one process, as tests/parallel/test_shard.py)."""
    source, _ = images

    def served(batch, shard=(0, 1)):
        layer = kind(name="d", tops=["x", "y"], source=source, batch_size=batch, block_rows=5, shuffle=True,
                     crop=4, mirror=True, mean=[1.0, 2.0, 3.0])
        layer.shard = shard
        net = Net("d", [layer], seed=4, dtype="float64")
        out = []
        for _ in range(9):
            net.forward()
            out.append(net.blobs["x"].data.copy())
        return out

    single = served(6)
    shards = [served(2, (rank, 3)) for rank in range(3)]
    for i, batch in enumerate(single):
        np.testing.assert_array_equal(np.concatenate([s[i] for s in shards]), batch)
