import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Exponential, InnerProduct, Input, LeakyReLU, ReLU, Sigmoid, Tanh
from graphnet.layers.neurons import (ExponentialNeuron, Identity, LeakyReLUNeuron, ReLUNeuron,
                                     SigmoidNeuron, TanhNeuron, neuron)
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def leaky(slope):
    return lambda x: np.array([v if v > 0 else slope * v for v in x.ravel()]).reshape(x.shape)


REFERENCES = {
    ReLU: lambda x: np.array([max(v, 0.0) for v in x.ravel()]).reshape(x.shape),
    LeakyReLU: leaky(0.01),
    Sigmoid: lambda x: 1 / (1 + np.exp(-x)),
    Tanh: lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)),
    Exponential: lambda x: np.e ** x,
}


def away_from_zero(rng, shape):
    """|x| >= 0.1: away from the kink of ReLU and LeakyReLU."""
    return rng.uniform(0.1, 2, shape) * rng.choice([-1, 1], shape)


@pytest.mark.parametrize("kind", list(REFERENCES), ids=lambda k: k.__name__)
@pytest.mark.parametrize("in_place", [False, True], ids=["separate", "in_place"])
def test_forward_and_gradient(backend, rng, kind, in_place):
    x = away_from_zero(rng, (4, 5))
    top = "x" if in_place else "y"
    layer = kind(name="n", bottoms=["x"], tops=[top])
    assert layer_from_yaml(f"{{name: n, type: {kind.__name__}, bottoms: [x], tops: [{top}]}}") == layer
    net, (y,) = run_layer(layer, [x], backend=backend)
    assert (top in net.blobs) and (in_place == ("y" not in net.blobs))
    np.testing.assert_allclose(y, REFERENCES[kind](x), rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'x'"}


@pytest.mark.parametrize("in_place", [False, True], ids=["separate", "in_place"])
@pytest.mark.parametrize("slope", [0.1, 0.5, 2.0])
def test_leaky_relu_slope(backend, rng, slope, in_place):
    x = away_from_zero(rng, (3, 2, 4))
    top = "x" if in_place else "y"
    layer = LeakyReLU(name="l", bottoms=["x"], tops=[top], slope=slope)
    assert layer_from_yaml(f"{{name: l, type: LeakyReLU, bottoms: [x], tops: [{top}], slope: {slope}}}") == layer
    _, (y,) = run_layer(layer, [x], backend=backend)
    np.testing.assert_allclose(y, leaky(slope)(x), rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


def test_leaky_slope_by_hand():
    x = np.array([[-2.0, 3.0]])
    _, (y,) = run_layer(LeakyReLU(name="l", bottoms=["x"], tops=["y"], slope=0.25), [x])
    np.testing.assert_allclose(y, [[-0.5, 3.0]])
    assert LeakyReLU(name="l", bottoms=["x"], tops=["y"]).slope == 0.01


@pytest.mark.parametrize("in_place", [False, True], ids=["separate", "in_place"])
def test_in_place_backward_uses_the_output(in_place):
    # In place, x is overwritten by y; the gradient must still be right (computed from y).
    x = np.array([[-1.0, 0.5, 2.0]])
    dy = np.array([[3.0, 5.0, 7.0]])
    top = "x" if in_place else "y"
    expected = {ReLU: [[0.0, 5.0, 7.0]],
                Sigmoid: dy / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x))),
                Tanh: dy * (1 - np.tanh(x) ** 2),
                Exponential: dy * np.exp(x)}
    for kind, want in expected.items():
        net = Net("n", [Input(name="in", tops=["x"], shapes=[[1, 3]]), kind(name="n", bottoms=["x"], tops=[top])],
                  dtype="float64", force_backward=True)
        net.blobs["x"].data[...] = x
        net.forward()
        net.backward(top_diffs={top: dy})
        np.testing.assert_allclose(net.blobs["x"].diff, want, rtol=1e-12, err_msg=kind.__name__)


def test_sigmoid_and_exponential_at_extremes():
    _, (y,) = run_layer(Sigmoid(name="s", bottoms=["x"], tops=["y"]), [np.array([[-1000.0, 0, 1000.0]])])
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, [[0, 0.5, 1]])
    _, (y,) = run_layer(Tanh(name="t", bottoms=["x"], tops=["y"]), [np.array([[-1000.0, 0, 1000.0]])])
    np.testing.assert_allclose(y, [[-1, 0, 1]])


@pytest.mark.parametrize("kind", list(REFERENCES), ids=lambda k: k.__name__)
def test_float32_stays_float32(rng, kind):
    x = away_from_zero(rng, (3, 4))
    _, (y,) = run_layer(kind(name="n", bottoms=["x"], tops=["y"]), [x], dtype="float32")
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, REFERENCES[kind](x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, cls", [("identity", Identity), ("relu", ReLUNeuron), ("ReLU", ReLUNeuron),
                                       ("leaky_relu", LeakyReLUNeuron), ("lrelu", LeakyReLUNeuron),
                                       ("sigmoid", SigmoidNeuron), ("tanh", TanhNeuron), ("Tanh", TanhNeuron),
                                       ("exponential", ExponentialNeuron), ("exp", ExponentialNeuron)])
def test_neuron_field_names(name, cls):
    made = neuron(name)
    assert type(made) is cls
    assert neuron({"type": name}) == made
    assert neuron(made) is made


def test_neuron_field_mapping():
    made = neuron({"type": "leaky_relu", "slope": 0.1})
    assert made == LeakyReLUNeuron(slope=0.1) and made.slope == 0.1
    assert neuron("leaky_relu").slope == 0.01
    assert neuron({"type": "leaky_relu", "slope": 0.1}) != neuron("leaky_relu")


@pytest.mark.parametrize("value, words", [
    ("rleu", ["unknown neuron 'rleu'", "(did you mean 'relu'?)", "known: ", "sigmoid"]),
    ("sigmod", ["unknown neuron 'sigmod'", "(did you mean 'sigmoid'?)"]),
    ({"type": "tnah"}, ["unknown neuron 'tnah'", "(did you mean 'tanh'?)"]),
    ({"type": "leaky_relu", "slope": -1}, ["slope: must be > 0, got -1"]),
    ({"type": "relu", "slope": 0.1}, ["slope: unknown field for neuron 'relu'"]),
    ({"slope": 0.1}, ["must be a neuron name or a mapping with a type"]),
    (3, ["must be a neuron name or a mapping with a type, got 3"]),
])
def test_neuron_field_mistakes(value, words):
    with pytest.raises(ValueError) as err:
        neuron(value)
    for word in words:
        assert word in str(err.value), str(err.value)


def test_neuron_field_mistake_on_a_layer():
    with pytest.raises(GraphnetError) as err:
        layer_from_yaml("{name: ip, type: InnerProduct, bottoms: [x], tops: [y], output_dim: 2, neuron: sigmod}")
    assert "layer 'ip': neuron: unknown neuron 'sigmod' (did you mean 'sigmoid'?)" in str(err.value)
    with pytest.raises(GraphnetError) as err:
        InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=2, neuron={"type": "lrelu", "slope": 0})
    assert "layer 'ip': neuron: slope: must be > 0, got 0" in str(err.value)


@pytest.mark.parametrize("fields, words", [
    (dict(slope=0), ["slope", "must be > 0, got 0"]),
    (dict(slope="steep"), ["slope", "must be a number, got 'steep'"]),
    (dict(bottoms=["a", "b"], tops=["c", "d"]), ["bottoms", "LeakyReLU takes exactly 1, got 2"]),
    (dict(tops=[]), ["tops", "LeakyReLU takes exactly 1, got 0"]),
    (dict(slop=0.1), ["slop", "unknown field", "did you mean 'slope'"]),
])
def test_layer_mistakes(fields, words):
    with pytest.raises(GraphnetError) as err:
        LeakyReLU(**{"name": "l", "bottoms": ["x"], "tops": ["y"], **fields})
    for word in ["layer 'l'", *words]:
        assert word in str(err.value), str(err.value)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_neither_overflows_nor_loses_the_tails(dtype):
    x = np.array([[-1e4, -1000, -750, -100, -88.8, -20, -5, 0, 5, 20, 88.8, 100, 750, 1000, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        _, (y,) = run_layer(Sigmoid(name="s", bottoms=["x"], tops=["y"]), [x], dtype=dtype)
    exact = np.exp(-np.logaddexp(0, -x.astype(np.float64)))
    tiny = np.finfo(dtype).tiny
    np.testing.assert_allclose(y[exact > tiny], exact[exact > tiny], rtol=1e-6 if dtype == "float32" else 1e-14)
    assert (y[exact <= tiny] <= 2 * tiny).all() and y[0, 0] == 0 and y[0, -1] == 1
