"""Whole nets exported and run by onnxruntime (LeNet, a dropout MLP, a character LSTM with
its state carried over calls), and the one-line errors for what ONNX cannot express."""

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
import graphnet  # noqa: E402
from graphnet import GraphnetError  # noqa: E402
from graphnet.export import export_onnx  # noqa: E402
from graphnet.layers import (LSTM, RNN, Accuracy, BatchNorm, Convolution, Dropout,  # noqa: E402
                             Embed, InnerProduct, Input, MemoryData, Pooling, Power, ReLU,
                             Reshape, Softmax, SoftmaxLoss)
from tests.export.compare import check_layers, deploy_net, graphnet_outputs, randomize, session  # noqa: E402


def lenet():
    return [Convolution(name="conv1", bottoms=["data"], tops=["conv1"], n_filter=20, kernel=5),
            Pooling(name="pool1", bottoms=["conv1"], tops=["pool1"], kernel=2, stride=2),
            Convolution(name="conv2", bottoms=["pool1"], tops=["conv2"], n_filter=50, kernel=5),
            Pooling(name="pool2", bottoms=["conv2"], tops=["pool2"], kernel=2, stride=2),
            InnerProduct(name="ip1", bottoms=["pool2"], tops=["ip1"], output_dim=500, neuron="relu"),
            InnerProduct(name="ip2", bottoms=["ip1"], tops=["ip2"], output_dim=10),
            Softmax(name="prob", bottoms=["ip2"], tops=["prob"])]


def test_lenet_with_odd_images_where_caffe_rounds_up(rng):
    # 29 -> conv 25 -> pool 13 (ceil: the last window half outside) -> conv 9 -> pool 5
    layers = lenet()
    model = check_layers(layers, {"data": ["N", 1, 29, 29]}, rng, batches=(3, 1, 8),
                         make=lambda shape: rng.uniform(0, 1, shape))
    assert [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim] \
        == ["N", 10]
    assert deploy_net(layers, {"data": ["N", 1, 29, 29]}).blobs["pool1"].shape == (3, 20, 13, 13)


def test_mlp_with_dropout(rng):
    check_layers([InnerProduct(name="ip1", bottoms=["data"], tops=["ip1"], output_dim=64, neuron="relu"),
                  Dropout(name="drop1", bottoms=["ip1"], tops=["ip1"]),
                  InnerProduct(name="ip2", bottoms=["ip1"], tops=["ip2"], output_dim=64, neuron="relu"),
                  Dropout(name="drop2", bottoms=["ip2"], tops=["ip2"], ratio=0.2),
                  InnerProduct(name="ip3", bottoms=["ip2"], tops=["ip3"], output_dim=10),
                  Softmax(name="prob", bottoms=["ip3"], tops=["prob"])],
                 {"data": ["N", 1, 28, 28]}, rng)


def char_lstm(steps_shape=(7, "N")):
    layers = [Embed(name="embed", bottoms=["chars"], tops=["embedded"], input_dim=13, output_dim=8),
              LSTM(name="lstm1", bottoms=["embedded", "cont"], tops=["h1"], output_dim=16),
              LSTM(name="lstm2", bottoms=["h1", "cont"], tops=["h2"], output_dim=12),
              InnerProduct(name="ip", bottoms=["h2"], tops=["scores"], output_dim=13, axis=2),
              Softmax(name="prob", bottoms=["scores"], tops=["prob"], axis=2)]
    return layers, {"chars": list(steps_shape), "cont": list(steps_shape)}


def run_sequence(net, sess, rng, calls, make):
    """Several consecutive windows: graphnet carries its state itself, onnxruntime's is fed
    back; every output (every step's probabilities) must agree."""
    steps, n = net.blobs["cont"].shape
    states = {i.name: np.zeros((n, i.shape[1]), np.float32) for i in sess.get_inputs()
              if "/" in i.name}
    assert states, "the recurrent state is an input"
    names = [o.name for o in sess.get_outputs()]
    for call in range(calls):
        x = make((steps, n)).astype(np.float32)
        cont = np.ones((steps, n), np.float32)
        cont[0] = call > 0          # graphnet's first window starts afresh; ONNX's from zeros
        expected = graphnet_outputs(net, {"chars": x, "cont": cont})
        got = dict(zip(names, sess.run(None, {"chars": x, **states})))
        for name, value in expected.items():
            assert got[name].shape == value.shape
            np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-5)
        states = {name: got[f"{name}_next"] for name in states}
        layer = net.layer("lstm2")
        np.testing.assert_allclose(states["lstm2/hidden"], layer.hidden, atol=1e-5)
        np.testing.assert_allclose(states["lstm2/cell"], layer.cell, atol=1e-5)


def test_character_lstm_carries_its_state_over_calls(rng):
    layers, shapes = char_lstm()
    net = deploy_net(layers, shapes)
    randomize(net, rng)
    model, sess = session(net)
    assert sorted(i.name for i in model.graph.input) == [
        "chars", "lstm1/cell", "lstm1/hidden", "lstm2/cell", "lstm2/hidden"]
    make = lambda shape: rng.integers(0, 13, shape)  # noqa: E731
    run_sequence(net, sess, rng, 3, make)
    # Another batch size and window length through the same model: T and N are both free.
    other = deploy_net(layers, {"chars": [4, 5], "cont": [4, 5]}, share_with=net)
    run_sequence(other, sess, rng, 2, make)


def test_a_cont_is_refused_not_ignored(rng):
    layers, shapes = char_lstm()
    net = deploy_net(layers, shapes)
    _, sess = session(net)
    feeds = {i.name: np.zeros([3 if isinstance(d, str) else d for d in i.shape], np.float32)
             for i in sess.get_inputs()}
    with pytest.raises(Exception, match="cont"):
        sess.run(None, {**feeds, "cont": np.ones((7, 3), np.float32)})


def test_a_cont_the_model_would_take_or_compute_is_refused():
    shapes = {"x": [3, 2, 4], "c": [3, 2]}
    assert error_of([LSTM(name="lstm", bottoms=["x", "c"], tops=["h"], output_dim=2),
                     Power(name="double", bottoms=["c"], tops=["c2"], scale=2)], shapes) == (
        "net 'deploy': layer 'lstm': bottoms: 'c' is read by other layers too, so the model "
        "would take it, but its LSTM or RNN cannot: it starts each call from the state inputs "
        "and continues every step")
    assert error_of([Power(name="same", bottoms=["c"], tops=["c2"]),
                     RNN(name="rnn", bottoms=["x", "c2"], tops=["h"], output_dim=2)], shapes) == (
        "net 'deploy': layer 'rnn': bottoms: 'c2' is computed by the net, but ONNX's RNN cannot "
        "restart a stream within a call: cont must come from an Input (the model then takes "
        "the state instead)")


def test_rnn_on_image_sequences(rng):
    # Features (T, N, 2, 3) are flattened; an RNN's state is its hidden state only.
    net = deploy_net([RNN(name="rnn", bottoms=["x", "cont"], tops=["h"], output_dim=6)],
                     {"x": [5, "N", 2, 3], "cont": [5, "N"]})
    randomize(net, rng)
    _, sess = session(net)
    state = np.zeros((3, 6), np.float32)
    for call in range(2):
        x = rng.standard_normal((5, 3, 2, 3)).astype(np.float32)
        expected = graphnet_outputs(net, {"x": x, "cont": np.ones((5, 3))})
        h, state = sess.run(["h", "rnn/hidden_next"], {"x": x, "rnn/hidden": state})
        np.testing.assert_allclose(h, expected["h"], rtol=0, atol=1e-5)


def test_an_input_changed_in_place_is_an_output_of_another_name(rng):
    net = deploy_net([ReLU(name="relu", bottoms=["x"], tops=["x"])], {"x": ["N", 4]})
    model, sess = session(net)
    assert [o.name for o in model.graph.output] == ["x/relu"]
    x = rng.standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], np.maximum(x, 0))


def test_a_float64_net_is_exported_in_float32(rng):
    net = deploy_net([InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=3)],
                     {"x": ["N", 4]}, dtype="float64")
    randomize(net, rng)
    model, sess = session(net)
    assert "float32" in model.doc_string
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(sess.run(None, {"x": x.astype(np.float32)})[0],
                               graphnet_outputs(net, {"x": x})["y"], atol=1e-5)


def test_written_to_a_file_and_at_a_newer_opset(tmp_path, rng):
    layers = lenet()
    net = deploy_net(layers, {"data": ["N", 1, 28, 28]})
    export_onnx(net, tmp_path / "lenet.onnx", opset=21)
    model = onnx.load(str(tmp_path / "lenet.onnx"))
    assert model.opset_import[0].version == 21 and model.ir_version == 10
    onnx.checker.check_model(model, full_check=True)


# --- what cannot be exported: one line each --------------------------------------------

def error_of(layers, shapes=None, phase="test", **kwargs):
    shapes = shapes or {"x": [2, 4], "label": [2]}
    net = graphnet.Net("deploy", [Input(name="input", tops=list(shapes), shapes=list(shapes.values())),
                                  *layers], phase=phase)
    with pytest.raises(GraphnetError) as err:
        export_onnx(net, **kwargs)
    return str(err.value)


def test_losses_statistics_and_data_layers_are_named():
    assert error_of([SoftmaxLoss(name="loss", bottoms=["x", "label"])]) == (
        "net 'deploy': layer 'loss': SoftmaxLoss cannot be exported to ONNX: a loss is for "
        "training; a deploy net ends in the prediction (Softmax)")
    assert error_of([Accuracy(name="accuracy", bottoms=["x", "label"])]) == (
        "net 'deploy': layer 'accuracy': Accuracy cannot be exported to ONNX: a statistic is "
        "for training and validation")
    assert error_of([MemoryData(name="data", tops=["a", "b"], batch_size=4,
                                source={"type": "parity", "n": 8})]) == (
        "net 'deploy': layer 'data': MemoryData cannot be exported to ONNX: a data layer; a "
        "deploy net takes its data from Input layers")


def test_what_a_free_batch_axis_rules_out():
    assert error_of([Reshape(name="flat", bottoms=["x"], tops=["y"], shape=[-1])]) == (
        "net 'deploy': layer 'flat': shape: (2, 4) -> (8,) changes the free batch axis of 'x'; "
        "a deploy net takes any batch size")
    message = error_of([LSTM(name="lstm", bottoms=["x", "c"], tops=["h"], output_dim=2),
                        InnerProduct(name="ip", bottoms=["h"], tops=["y"], output_dim=2)],
                       {"x": [3, 2, 4], "c": [3, 2]})
    assert message == ("net 'deploy': layer 'ip': axis: is 1, which would flatten the free axis "
                       "N of the time-major 'h' (T, N, ...) into the features; use axis: 2")


def test_training_behaviour_is_refused():
    assert error_of([Dropout(name="drop", bottoms=["x"], tops=["y"])], phase="train") == (
        "net 'deploy': export needs the net built for the test phase (Dropout off, BatchNorm's "
        "running statistics), not 'train'")
    assert error_of([BatchNorm(name="bn", bottoms=["x"], tops=["y"], use_global_stats=False)]) == (
        "net 'deploy': layer 'bn': use_global_stats: is false: each batch would be normalized "
        "with its own statistics; export normalizes with the running ones")


def test_opset_and_a_missing_onnx(monkeypatch):
    layers = [Softmax(name="prob", bottoms=["x"], tops=["p"])]
    assert error_of(layers, opset=13).startswith("opset: must be 17 to ")
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert error_of(layers) == "ONNX export needs the onnx package: pip install graphnet[onnx]"


def test_the_command_exports_a_trained_net(tmp_path, capsys, rng):
    from graphnet.cli import main
    ort = pytest.importorskip("onnxruntime")
    run, model = tmp_path / "run", tmp_path / "xor.onnx"
    assert main(["solve", "netdefs/xor.yaml", "--set", "solver.max_iter=20",
                 "--set", f"solver.run_dir={run}"]) == 0
    snapshot = run / "snapshot-00000020.h5"
    capsys.readouterr()
    assert main(["export", "netdefs/xor.yaml", "--weights", str(snapshot), "-o", str(model)]) == 0
    assert capsys.readouterr().out == f"wrote {model} (opset 17): inputs x; outputs p\n"
    x = rng.integers(0, 2, (7, 3)).astype(np.float32)
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"x": x})[0],
                               graphnet.load("netdefs/xor.yaml", snapshot).predict(x), rtol=0, atol=1e-6)
    assert main(["export", "netdefs/xor.yaml", "--weights", str(snapshot), "-o", str(model),
                 "--opset", "12"]) == 2
    assert capsys.readouterr().err.startswith("--opset: must be 17 to ")


def test_graphnet_export_is_imported_without_onnx():
    code = "import sys, graphnet.export, graphnet.cli; assert 'onnx' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
