"""Net.predict and net(x): any number of samples, any batch, host arrays, one-line mistakes."""

import numpy as np
import pytest

import graphnet
from graphnet import GraphnetError
from graphnet.layers import LSTM, Input, InnerProduct, MemoryData, Softmax, SoftmaxLoss
from tests.helpers import layer_from_yaml


def mlp(backend="numpy"):
    return graphnet.chain("mlp", [InnerProduct(output_dim=5, neuron="relu"),
                                  InnerProduct(output_dim=3), Softmax()],
                          input=(4,), backend=backend, dtype="float64", seed=2)


def reference(net, x):
    """The mlp's probabilities, written out in NumPy."""
    (w1, b1), (w2, b2) = ([net.backend.to_host(p.data) for p in net.params[n]] for n in ("ip1", "ip2"))
    s = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_chain_names_and_joins_its_layers():
    net = mlp()
    assert [(l.name, l.bottoms, l.tops) for l in net.layers] == [
        ("data", [], ["data"]), ("ip1", ["data"], ["ip1"]), ("ip2", ["ip1"], ["ip2"]),
        ("prob", ["ip2"], ["prob"])]
    assert net.inputs == ["data"] and net.outputs == ["prob"] and net.phase == "test"


def test_chain_keeps_what_is_given_and_the_users_layers_stay_unnamed():
    first = InnerProduct(output_dim=5)
    named = InnerProduct(name="ip1", bottoms=["data"], tops=["out"], output_dim=2)
    net = graphnet.chain("c", [first, named, InnerProduct(output_dim=1)], input=3)
    assert [(l.name, l.bottoms, l.tops) for l in net.specs] == [
        ("data", [], ["data"]), ("ip2", ["data"], ["ip2"]), ("ip1", ["data"], ["out"]),
        ("ip3", ["out"], ["ip3"])]
    assert net.outputs == ["ip2", "ip3"]
    assert first.name is None and first.bottoms == []


def test_predict_is_the_maths_for_any_count_and_batch(backend, rng):
    net = mlp(backend)
    x = rng.standard_normal((130, 4))
    expected = reference(net, x)
    for batch_size in (None, 1, 7, 64, 500):
        probs = net.predict(x, batch_size=batch_size)
        assert type(probs) is np.ndarray and probs.shape == (130, 3)
        np.testing.assert_allclose(probs, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net(x[:1]), expected[:1], rtol=1e-12)
    assert net.predict(x[:0]).shape == (0, 3)


def test_named_outputs_come_as_a_dict(rng):
    net = mlp()
    x = rng.standard_normal((9, 4))
    out = net.predict({"data": x}, outputs=["ip1", "prob"], batch_size=4)
    assert sorted(out) == ["ip1", "prob"] and out["ip1"].shape == (9, 5)
    np.testing.assert_allclose(out["prob"], reference(net, x), rtol=1e-12)
    np.testing.assert_allclose(net.predict(x, outputs="ip1"), out["ip1"], rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda net, x: net.predict({"dta": x}), "the net has no input 'dta' (did you mean 'data'?)"),
    (lambda net, x: net.predict(x[:, :3]), "input 'data' must be (N, 4), got (6, 3)"),
    (lambda net, x: net.predict(x[0]), "must be (N, 4), got (4,) (one sample: add a batch axis"),
    (lambda net, x: net.predict(x, outputs=["ip3"]), "the net has no blob 'ip3' (did you mean"),
    (lambda net, x: net.predict(x, batch_size=0), "batch_size: must be a whole number >= 1, got 0"),
    (lambda net, x: net.predict(np.array([["a"] * 4])), "input 'data' must hold numbers"),
])
def test_mistakes_are_one_line(rng, call, message):
    with pytest.raises(GraphnetError) as err:
        call(mlp(), rng.standard_normal((6, 4)))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("net 'mlp'")


def test_several_inputs_need_a_dict_of_all_of_them_with_one_count(rng):
    net = graphnet.Net("two", [
        Input(name="in", tops=["a", "b"], shapes=[[1, 2], [1, 3]]),
        layer_from_yaml("{name: cat, type: Concat, bottoms: [a, b], tops: [c]}")], phase="test")
    a, b = rng.standard_normal((5, 2)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(net({"a": a, "b": b}), np.concatenate([a, b], axis=1), rtol=1e-6)
    for inputs, message in ((a, "the net has inputs 'a', 'b': give a dict"),
                            ({"a": a}, "input 'b' is missing"),
                            ({"a": a, "b": b[:4]}, "inputs differ in their number of samples")):
        with pytest.raises(GraphnetError, match=message):
            net.predict(inputs)


def test_a_net_fed_by_data_layers_is_pointed_to_load(rng):
    net = graphnet.Net("train", [
        MemoryData(name="d", tops=["x", "y"], batch_size=2, data=[np.zeros((4, 3)), np.zeros(4)]),
        InnerProduct(name="ip", bottoms=["x"], tops=["s"], output_dim=2),
        SoftmaxLoss(name="loss", bottoms=["s", "y"])])
    with pytest.raises(GraphnetError, match=r"Input layers; graphnet.load\(netdef, weights\)"):
        net.predict(np.zeros((2, 3)))


def test_a_nameless_layer_is_refused_outside_chain():
    with pytest.raises(GraphnetError, match="layer #2: name: required field is missing"):
        graphnet.Net("n", [Input(name="in", tops=["x"], shapes=[[1, 2]]),
                           InnerProduct(bottoms=["x"], tops=["y"], output_dim=2)])
    with pytest.raises(GraphnetError, match="layer 'ip': bottoms: InnerProduct takes exactly 1, got 0"):
        InnerProduct(name="ip", output_dim=2)


def lstm_net():
    return graphnet.Net("seq", [
        Input(name="in", tops=["x", "cont"], shapes=[[1, 1, 3], [1, 1]]),
        LSTM(name="lstm", bottoms=["x", "cont"], tops=["h"], output_dim=4),
        InnerProduct(name="ip", bottoms=["h"], tops=["s"], output_dim=2, axis=2),
        Softmax(name="prob", bottoms=["s"], tops=["p"], axis=2)], phase="test", dtype="float64", seed=1)


def run_once(net, x):
    """The probabilities of one (T, N) net run over the whole sequence from a zero state."""
    whole = graphnet.Net("seq", [Input(name="in", tops=["x", "cont"], shapes=[x.shape, x.shape[:2]]),
                                 *net.specs[1:]], phase="test", dtype="float64", share_with=net)
    whole.blobs["x"].data[...] = x
    whole.blobs["cont"].data[...] = 1
    whole.blobs["cont"].data[0] = 0
    whole.forward()
    return whole.blobs["p"].data.copy()


def test_a_sequence_carries_its_state_across_calls_and_batches(rng):
    net = lstm_net()
    x = rng.standard_normal((12, 2, 3))
    expected = run_once(net, x)
    np.testing.assert_allclose(net(x), expected, rtol=1e-10)  # cont may be left out: 1
    net.reset_state()
    steps = np.concatenate([net(x[t:t + 1]) for t in range(12)])
    np.testing.assert_allclose(steps, expected, rtol=1e-10)
    net.reset_state()
    np.testing.assert_allclose(net.predict(x, batch_size=5), expected, rtol=1e-10)
    net.reset_state()
    first = net({"x": x[:7], "cont": np.ones((7, 2))})
    np.testing.assert_allclose(np.concatenate([first, net(x[7:])]), expected, rtol=1e-10)
    # Without a reset the state goes on: the same steps again give other probabilities.
    assert np.abs(net(x[:7]) - first).max() > 1e-6


def test_a_sequence_of_other_streams_needs_a_reset(rng):
    net = lstm_net()
    net(rng.standard_normal((3, 2, 3)))
    with pytest.raises(GraphnetError, match="carries the state of 2 streams .* have 3: call reset_state"):
        net(rng.standard_normal((3, 3, 3)))
    net.reset_state()
    assert net(rng.standard_normal((3, 3, 3))).shape == (3, 3, 2)
    with pytest.raises(GraphnetError, match=r"input 'x' must be \(T, N, 3\), got \(3, 3\)"):
        net(rng.standard_normal((3, 3)))
