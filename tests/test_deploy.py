"""Deploy nets from train netdefs, input shapes kept in snapshots, and graphnet.load."""

import json
import pathlib
import runpy

import h5py
import numpy as np
import pytest

import graphnet
from graphnet import GraphnetError
from graphnet.cli import main
from graphnet.deploy import deploy_layers
from graphnet.io.snapshot import Snapshot, _contents, _digest
from graphnet.layers import Input, Softmax
from graphnet.netdef import load_netdef
from tests.test_shakespeare import texts, tiny_netdef  # noqa: F401  (texts is a fixture)

SMALL = """\
name: small
seed: 3
layers:
  - {{name: images, type: HDF5Data, tops: [data, label], source: {train}, batch_size: 20,
     shuffle: true, phase: train}}
  - {{name: images, type: HDF5Data, tops: [data, label], source: {test}, batch_size: 50, phase: test}}
  - {{name: conv1, type: Convolution, bottoms: [data], tops: [conv1], n_filter: 4, kernel: 3}}
  - {{name: bn1, type: BatchNorm, bottoms: [conv1], tops: [bn1]}}
  - {{name: pool1, type: Pooling, bottoms: [bn1], tops: [pool1], pool: max, kernel: 2, stride: 2}}
  - {{name: ip1, type: InnerProduct, bottoms: [pool1], tops: [ip1], output_dim: 16, neuron: relu}}
  - {{name: drop1, type: Dropout, bottoms: [ip1], tops: [ip1]}}
  - {{name: ip2, type: InnerProduct, bottoms: [ip1], tops: [ip2], output_dim: 3}}
  - {{name: loss, type: SoftmaxLoss, bottoms: [ip2, label]}}
  - {{name: accuracy, type: Accuracy, bottoms: [ip2, label], phase: test}}
solver:
  method: sgd
  lr_policy: 0.05
  momentum: 0.9
  max_iter: 40
  run_dir: {run}
coffee_breaks:
  - {{type: Snapshot, every_n_iter: 40}}
"""


def images(path, n, seed):
    """(n, 1, 8, 8) images whose class (0-2) is the brightest third of the rows."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 8, 8)).astype(np.float32)
    label = rng.integers(0, 3, n)
    for i, c in enumerate(label):
        x[i, 0, 3 * c:3 * c + 2] += 0.7
    with h5py.File(path, "w") as f:
        f["data"], f["label"] = x, label.reshape(-1, 1).astype(np.float32)
    return x, label


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(netdef path, snapshot path, test images, test labels) of a small trained convnet."""
    folder = tmp_path_factory.mktemp("small")
    images(folder / "train.h5", 400, 1)
    x, label = images(folder / "test.h5", 200, 2)
    netdef = folder / "small.yaml"
    netdef.write_text(SMALL.format(train=folder / "train.h5", test=folder / "test.h5",
                                   run=folder / "run"))
    assert main(["solve", str(netdef)]) == 0
    return netdef, folder / "run" / "snapshot-00000040.h5", x, label


def test_data_layers_become_inputs_and_losses_a_softmax():
    netdef = load_netdef("netdefs/mnist.yaml")
    layers = deploy_layers(netdef.layers, {"data": [1, 28, 28], "label": [1]})
    assert [type(l).__name__ for l in layers] == [
        "Input", "Convolution", "Pooling", "Convolution", "Pooling", "InnerProduct",
        "InnerProduct", "Softmax"]
    data, prob = layers[0], layers[-1]
    assert data.tops == ["data"] and data.shapes == [[1, 1, 28, 28]]  # the label only fed the loss
    assert (prob.name, prob.bottoms, prob.tops, prob.axis) == ("prob", ["ip2"], ["prob"], 1)
    net = graphnet.Net("mnist", layers, phase="test")
    assert net.inputs == ["data"] and net.outputs == ["prob"]


def test_a_label_path_drops_out_and_the_softmax_keeps_the_loss_axis():
    layers = [graphnet.layers.Input(name="in", tops=["x", "y"], shapes=[[5, 4, 3], [5, 4]]),
              graphnet.layers.Index2Onehot(name="onehot", bottoms=["y"], tops=["y1"], n_class=3),
              graphnet.layers.InnerProduct(name="ip", bottoms=["x"], tops=["s"], output_dim=3, axis=2),
              graphnet.layers.SoftmaxLoss(name="loss", bottoms=["s", "y"], axis=2),
              graphnet.layers.SquareLoss(name="l2", bottoms=["s", "y1"])]
    deployed = deploy_layers(layers, {})
    assert [l.name for l in deployed] == ["in", "ip", "prob"]
    assert deployed[0].tops == ["x"] and deployed[-1].axis == 2


def test_a_deploy_netdef_of_inputs_is_used_as_it_is(tmp_path):
    path = tmp_path / "deploy.yaml"
    path.write_text("name: d\nlayers:\n"
                    "  - {name: in, type: Input, tops: [x], shapes: [[2, 3]]}\n"
                    "  - {name: ip, type: InnerProduct, bottoms: [x], tops: [y], output_dim: 2}\n"
                    "  - {name: prob, type: Softmax, bottoms: [y], tops: [p]}\n")
    netdef = load_netdef(path)
    assert deploy_layers(netdef.layers, {}) == netdef.layers


def test_snapshots_record_the_shapes_of_a_sample(trained):
    _, snapshot, _, _ = trained
    assert Snapshot(snapshot).inputs == {"data": [1, 8, 8], "label": [1]}
    with h5py.File(snapshot) as f:
        assert json.loads(f.attrs["inputs"]) == {"data": [1, 8, 8], "label": [1]}


def test_the_checksum_covers_the_recorded_shapes(trained, tmp_path):
    copy = tmp_path / "s.h5"
    copy.write_bytes(trained[1].read_bytes())
    with h5py.File(copy, "a") as f:
        f.attrs["inputs"] = json.dumps({"data": [1, 9, 8], "label": [1]})
    with pytest.raises(GraphnetError, match="checksum"):
        Snapshot(copy)


def test_load_predicts_what_graphnet_test_measures(trained, capsys):
    netdef, snapshot, x, label = trained
    assert main(["test", str(netdef), "--weights", str(snapshot)]) == 0
    measured = dict(line.split() for line in capsys.readouterr().out.splitlines())
    net = graphnet.load(netdef, snapshot)
    assert net.phase == "test" and net.outputs == ["prob"]
    probs = net.predict(x)
    assert probs.shape == (200, 3) and isinstance(probs, np.ndarray)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    accuracy = float(np.mean(probs.argmax(axis=1) == label))
    assert accuracy == pytest.approx(float(measured["accuracy"]), abs=1e-6)
    assert accuracy > 0.6  # it learned something, so the comparison means something
    # Dropout is the identity and BatchNorm uses its running statistics: no batch effects.
    one_by_one = np.concatenate([net(x[i:i + 1]) for i in range(len(x))])
    assert np.abs(one_by_one - probs).max() < 1e-6
    np.testing.assert_array_equal(net.predict(x), probs)


def test_load_without_recorded_shapes_reads_them_from_the_data_layers(trained, tmp_path):
    netdef, snapshot, x, _ = trained
    old = tmp_path / "old.h5"
    old.write_bytes(snapshot.read_bytes())
    with h5py.File(old, "a") as f:  # as a snapshot written before the shapes were kept
        del f.attrs["inputs"]
        f.attrs["checksum"] = _digest(_contents(f))
    assert Snapshot(old).inputs is None
    np.testing.assert_array_equal(graphnet.load(netdef, old)(x[:5]), graphnet.load(netdef, snapshot)(x[:5]))


def test_load_without_recorded_shapes_or_data_files_says_why(trained, tmp_path):
    netdef, snapshot, _, _ = trained
    old = tmp_path / "old.h5"
    old.write_bytes(snapshot.read_bytes())
    with h5py.File(old, "a") as f:
        del f.attrs["inputs"]
        f.attrs["checksum"] = _digest(_contents(f))
    moved = tmp_path / "moved.yaml"
    moved.write_text(netdef.read_text().replace(str(netdef.parent / "test.h5"), str(tmp_path / "gone.h5")))
    with pytest.raises(GraphnetError) as err:
        graphnet.load(moved, old)
    assert "\n" not in str(err.value) and "gone.h5" in str(err.value)
    assert "does not record the input shapes" in str(err.value)


def test_load_needs_every_parameter_of_the_right_shape(trained, tmp_path):
    netdef, snapshot, _, _ = trained
    wider = tmp_path / "wider.yaml"
    wider.write_text(netdef.read_text().replace("output_dim: 16", "output_dim: 17"))
    with pytest.raises(GraphnetError, match=r"parameter 'ip1/weight' has shape \(16, 36\), but "
                                            r"layer 'ip1' needs \(17, 36\)") as err:
        graphnet.load(wider, snapshot)
    assert "\n" not in str(err.value)
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(netdef.read_text().replace("name: ip2", "name: out"))
    with pytest.raises(GraphnetError, match="has no parameter 'out/weight'"):
        graphnet.load(renamed, snapshot)


def test_load_of_a_regression_gives_its_prediction(tmp_path):
    netdef = tmp_path / "regression.yaml"
    netdef.write_text(open("netdefs/regression.yaml").read().replace(
        "max_iter: 300", f"max_iter: 300\n  run_dir: {tmp_path / 'run'}"))
    assert main(["solve", str(netdef)]) == 0
    net = graphnet.load(netdef, tmp_path / "run" / "snapshot-00000300.h5")
    assert net.outputs == ["pred"]  # SquareLoss reads its prediction as it is: no softmax
    assert not any(isinstance(l, Softmax) for l in net.layers)
    x = np.random.default_rng(0).standard_normal((7, 10))
    w, b = net.params["fit"][0].data, net.params["fit"][1].data
    np.testing.assert_allclose(net(x), x @ w.T + b, rtol=1e-5, atol=1e-5)
    assert isinstance(net.layers[0], Input)


@pytest.mark.skipif(not (pathlib.Path("data/mnist/test.h5").exists()
                         and pathlib.Path("data/mnist/train.txt").exists()),
                    reason="MNIST is not prepared in data/mnist (graphnet data mnist)")
def test_the_example_classifies_digits_with_a_lenet(tmp_path, capsys):
    assert main(["solve", "netdefs/mnist.yaml", "--set", "solver.max_iter=20", "--set",
                 f"solver.run_dir={tmp_path}", "--set", "coffee_breaks=[{type: Snapshot, every_n_iter: 20}]"]) == 0
    capsys.readouterr()
    example = runpy.run_path("examples/classify_digits.py")
    example["main"](str(tmp_path / "snapshot-00000020.h5"), 3)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("label")]
    assert [l.split(",")[0] for l in lines] == ["label 7", "label 2", "label 1"]


def test_a_character_model_predicts_a_text_whole_or_step_by_step(texts, tmp_path):
    netdef = tiny_netdef(tmp_path, texts, 5, tmp_path / "run")
    assert main(["solve", netdef]) == 0
    net = graphnet.load(netdef, tmp_path / "run" / "snapshot-00000005.h5")
    assert [l.tops for l in net.layers if isinstance(l, Input)] == [["chars", "cont"]]  # not 'next'
    assert net.outputs == ["prob"] and net.layer("prob").axis == 2
    chars = np.random.default_rng(0).integers(0, 10, (20, 3))
    whole = net.predict({"chars": chars})
    assert whole.shape == (20, 3, net.blobs["prob"].shape[2])
    np.testing.assert_allclose(whole.sum(axis=2), 1, rtol=1e-5)
    net.reset_state()
    steps = np.concatenate([net({"chars": chars[t:t + 1]}) for t in range(20)])
    assert np.abs(steps - whole).max() < 1e-6
