"""`graphnet predict`: inputs from .h5, .npy and image files; outputs to files or top-k lines."""

import sys

import h5py
import numpy as np
import pytest

import graphnet
from graphnet.cli import main
from tests.test_deploy import trained  # noqa: F401  (a fixture: a small trained convnet)


def predict(*args):
    return main(["predict", *map(str, args)])


def test_an_h5_file_in_and_out_is_what_predict_gives(trained, tmp_path, capsys):
    netdef, snapshot, x, _ = trained
    source = tmp_path / "in.h5"
    with h5py.File(source, "w") as f:
        f["data"] = x
    assert predict(netdef, "--weights", snapshot, "--input", source, "--output", tmp_path / "out.h5",
                   "--outputs", "ip2,prob", "--batch-size", 30) == 0
    net = graphnet.load(netdef, snapshot)
    expected = net.predict(x, outputs=["ip2", "prob"])
    with h5py.File(tmp_path / "out.h5") as f:
        assert sorted(f) == ["ip2", "prob"]
        for name in ("ip2", "prob"):
            np.testing.assert_allclose(f[name][()], expected[name], rtol=1e-5, atol=1e-6)
    assert capsys.readouterr().out == ""


def test_an_npy_file_gives_the_top_classes_as_lines(trained, tmp_path, capsys):
    netdef, snapshot, x, _ = trained
    np.save(tmp_path / "x.npy", x[:4])
    assert predict(netdef, "--weights", snapshot, "--input", tmp_path / "x.npy", "--top-k", 2) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    probs = graphnet.load(netdef, snapshot).predict(x[:4])
    assert [int(l[0]) for l in lines] == [0, 0, 1, 1, 2, 2, 3, 3]
    for (sample, cls, p), best in zip(lines, np.argsort(-probs, axis=1)[:, :2].ravel()):
        assert int(cls) == best and float(p) == pytest.approx(probs[int(sample), best], rel=1e-5)
    assert predict(netdef, "--weights", snapshot, "--input", tmp_path / "x.npy",
                   "--output", tmp_path / "p.npy") == 0
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), probs, rtol=1e-5)


def test_images_get_the_data_layers_mean_and_scale(trained, tmp_path, capsys):
    Image = pytest.importorskip("PIL.Image", reason="Pillow is optional (pip install pillow)")
    netdef, snapshot, x, _ = trained
    scaled = tmp_path / "scaled.yaml"
    scaled.write_text(netdef.read_text().replace("batch_size: 50, phase: test",
                                                 "batch_size: 50, phase: test, mean: 0.25, scale: 2.0"))
    pixels = np.random.default_rng(0).integers(0, 256, (3, 8, 8)).astype(np.uint8)
    pixels[2] = 128
    Image.fromarray(pixels[0]).save(tmp_path / "a.png")
    Image.fromarray(pixels[1]).convert("RGB").save(tmp_path / "b.png")  # gray in RGB: made L again
    Image.new("L", (16, 16), 128).save(tmp_path / "c.png")              # resized to 8 x 8
    assert predict(scaled, "--weights", snapshot, "--input", *(tmp_path / f"{n}.png" for n in "abc"),
                   "--pixel-scale", 1 / 256, "--top-k", 3) == 0
    printed = np.array([float(line.split()[2]) for line in capsys.readouterr().out.splitlines()])
    probs = graphnet.load(netdef, snapshot).predict((pixels[:, None] / 256 - 0.25) * 2.0)
    np.testing.assert_allclose(printed, np.sort(probs, axis=1)[:, ::-1].ravel(), rtol=1e-4)


def test_without_pillow_images_say_what_to_install(trained, tmp_path, capsys, monkeypatch):
    netdef, snapshot, _, _ = trained
    monkeypatch.setitem(sys.modules, "PIL", None)
    (tmp_path / "a.png").write_bytes(b"not read")
    assert predict(netdef, "--weights", snapshot, "--input", tmp_path / "a.png") == 2
    assert capsys.readouterr().err == "--input: reading images needs Pillow: pip install pillow\n"


def test_a_large_input_shows_no_bar_off_a_terminal(trained, tmp_path, capsys):
    netdef, snapshot, x, _ = trained
    np.save(tmp_path / "many.npy", np.repeat(x, 8, axis=0))
    assert predict(netdef, "--weights", snapshot, "--input", tmp_path / "many.npy",
                   "--output", tmp_path / "out.npy") == 0
    assert capsys.readouterr().err == ""
    assert np.load(tmp_path / "out.npy").shape == (1600, 3)


@pytest.mark.parametrize("make, extra, message", [
    (lambda d, x: np.save(d / "in.npy", x[:, 0]), [],
     "net 'small': --input: {d}/in.npy: input 'data' must be (N, 1, 8, 8), got (200, 8, 8)"),
    (lambda d, x: h5py.File(d / "in.h5", "w").create_dataset("images", data=x), [],
     "--input: {d}/in.h5: has no dataset 'data' for the net's input of that name (it has: images)"),
    (lambda d, x: np.save(d / "in.npy", x), ["--outputs", "ip3"],
     "--outputs: the net has no blob 'ip3' (did you mean 'ip2'?)"),
    (lambda d, x: np.save(d / "in.npy", x), ["--outputs", "ip2,prob"],
     "--outputs: the net has outputs ip2, prob: choose one with --outputs"),
    (lambda d, x: np.save(d / "in.npy", x), ["--output", "{d}/o.h5", "--top-k", "2"],
     "--top-k: goes without --output"),
    (lambda d, x: (d / "in.txt").write_text("1 2 3"), [], "--input: {d}/in.txt: must be an .h5, .npy or image file"),
])
def test_mistakes_are_one_line(trained, tmp_path, capsys, make, extra, message):
    netdef, snapshot, x, _ = trained
    make(tmp_path, x)
    source = next(tmp_path.glob("in.*"))
    assert predict(netdef, "--weights", snapshot, "--input", source,
                   *[e.format(d=tmp_path) for e in extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.format(d=tmp_path) in err, err


def byte_digits(path, n, seed):
    """(n, 1, 8, 8) uint8 images, as Caffe and `graphnet data mnist` store pixels: the class
    (0-2) is the brightest third of the rows."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 100, (n, 1, 8, 8), dtype=np.uint8)
    label = rng.integers(0, 3, n)
    for i, c in enumerate(label):
        x[i, 0, 3 * c:3 * c + 2] += 155
    with h5py.File(path, "w") as f:
        f["data"], f["label"] = x, label.reshape(-1, 1).astype(np.float32)
    return x, label


def trained_on_bytes(tmp_path, n_test, transform=""):
    """A small net trained on byte digits with Caffe's scale (and `transform` on its data
    layers): (test images, their labels, the netdef, its snapshot)."""
    from tests.test_deploy import SMALL
    byte_digits(tmp_path / "train.h5", 400, 1)
    x, label = byte_digits(tmp_path / "test.h5", n_test, 2)
    netdef = tmp_path / "bytes.yaml"
    fields = f"scale: 0.00390625, {transform}"
    netdef.write_text(SMALL.format(train=tmp_path / "train.h5", test=tmp_path / "test.h5", run=tmp_path / "run")
                      .replace("batch_size: 20,", f"batch_size: 20, {fields}")
                      .replace("batch_size: 50,", f"batch_size: 50, {fields}"))
    assert main(["solve", str(netdef)]) == 0
    return x, label, netdef, tmp_path / "run" / "snapshot-00000040.h5"


def test_png_digits_predict_as_the_stored_bytes_with_the_netdefs_scale(tmp_path, capsys):
    """Trained on bytes with Caffe's scale: 0.00390625, the net reads PNGs of the same bytes
    right without --pixel-scale."""
    Image = pytest.importorskip("PIL.Image", reason="Pillow is optional (pip install pillow)")
    x, label, netdef, snapshot = trained_on_bytes(tmp_path, 30)
    paths = []
    for i, image in enumerate(x):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image[0]).save(paths[-1])
    capsys.readouterr()
    assert predict(netdef, "--weights", snapshot, "--input", *paths, "--top-k", 1) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    probs = graphnet.load(netdef, snapshot).predict(x * np.float32(0.00390625))
    assert [int(c) for _, c, _ in lines] == probs.argmax(axis=1).tolist()
    np.testing.assert_allclose([float(p) for _, _, p in lines], probs.max(axis=1), rtol=1e-5)
    assert np.mean(probs.argmax(axis=1) == label) > 0.9   # chance is 1/3


def test_images_get_a_mean_per_channel_and_a_mean_image_cut_at_the_centre(tmp_path):
    Image = pytest.importorskip("PIL.Image", reason="Pillow is optional (pip install pillow)")
    from graphnet.io.images import read_images
    from graphnet.layers import HDF5Data
    pixels = np.random.default_rng(0).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    chw = pixels.transpose(2, 0, 1).astype(np.float32)
    per_channel = HDF5Data(name="d", tops=["x"], source="x.h5", batch_size=1, mean=[10.0, 20.0, 30.0], scale=0.5)
    np.testing.assert_array_equal(read_images([tmp_path / "a.png"], (3, 6, 6), per_channel)[0],
                                  (chw - [[[10.0]], [[20.0]], [[30.0]]]) * 0.5)
    mean = np.random.default_rng(1).uniform(0, 255, (3, 8, 8)).astype(np.float32)
    with h5py.File(tmp_path / "mean.h5", "w") as f:
        f["mean"] = mean
    cropping = HDF5Data(name="d", tops=["x"], source="x.h5", batch_size=1, mean=str(tmp_path / "mean.h5"), crop=6)
    np.testing.assert_array_equal(read_images([tmp_path / "a.png"], (3, 6, 6), cropping)[0],
                                  chw - mean[:, 1:7, 1:7])


def test_h5_and_npy_inputs_are_served_as_the_data_layer_serves_its_files(tmp_path, capsys):
    """The test file itself, bytes and all, predicts as `graphnet test` validates: the data
    layer's scale and its centre crop apply to .h5 and .npy inputs as to its own files."""
    x, label, netdef, snapshot = trained_on_bytes(tmp_path, 50, "crop: 6,")
    capsys.readouterr()
    assert main(["test", str(netdef), "--weights", str(snapshot)]) == 0
    tested = dict(line.split() for line in capsys.readouterr().out.splitlines())
    probs = graphnet.load(netdef, snapshot).predict(x[:, :, 1:7, 1:7] * np.float32(0.00390625))
    for source in ("test.h5", "test.npy"):
        np.save(tmp_path / "test.npy", x)
        out = tmp_path / f"out-{source}.h5"
        assert predict(netdef, "--weights", snapshot, "--input", tmp_path / source, "--output", out) == 0
        with h5py.File(out) as f:
            got = f["prob"][()]
        np.testing.assert_allclose(got, probs, rtol=1e-6)
        assert np.mean(got.argmax(axis=1) == label) == pytest.approx(float(tested["accuracy"]))
