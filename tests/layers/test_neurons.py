import numpy as np
import pytest

from graphnet import GraphnetError
from graphnet.layers import Exponential, InnerProduct, LeakyReLU, ReLU, Sigmoid, Tanh
from graphnet.layers.neurons import LeakyReLUNeuron, neuron
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer

REFERENCES = {
    ReLU: lambda x: np.maximum(x, 0),
    LeakyReLU: lambda x: np.where(x > 0, x, 0.01 * x),
    Sigmoid: lambda x: 1 / (1 + np.exp(-x)),
    Tanh: np.tanh,
    Exponential: np.exp,
}


@pytest.mark.parametrize("kind", list(REFERENCES), ids=lambda k: k.__name__)
@pytest.mark.parametrize("in_place", [False, True])
def test_forward_and_gradient(backend, rng, kind, in_place):
    # |x| >= 0.1: away from the kink of ReLU and LeakyReLU
    x = rng.uniform(0.1, 2, (4, 5)) * rng.choice([-1, 1], (4, 5))
    layer = kind(name="n", bottoms=["x"], tops=["x" if in_place else "y"])
    assert layer_from_yaml(f"{{name: n, type: {kind.__name__}, bottoms: [x], tops: [{layer.tops[0]}]}}") == layer
    _, (y,) = run_layer(layer, [x], backend=backend)
    np.testing.assert_allclose(y, REFERENCES[kind](x), rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


def test_sigmoid_does_not_overflow():
    _, (y,) = run_layer(Sigmoid(name="s", bottoms=["x"], tops=["y"]), [np.array([[-1000.0, 0, 1000.0]])])
    np.testing.assert_allclose(y, [[0, 0.5, 1]])


def test_neuron_field_converter():
    assert neuron("ReLU").type == "relu"
    assert neuron({"type": "leaky_relu", "slope": 0.1}) == LeakyReLUNeuron(slope=0.1)
    with pytest.raises(ValueError, match="unknown neuron 'rleu' .did you mean 'relu'"):
        neuron("rleu")
    with pytest.raises(ValueError, match="neuron leaky_relu: .*slope"):
        neuron({"type": "leaky_relu", "slope": -1})
    with pytest.raises(GraphnetError, match="layer 'ip': neuron: unknown neuron 'sigmod'"):
        InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=2, neuron="sigmod")


def test_leaky_slope_field():
    x = np.array([[-2.0, 3.0]])
    _, (y,) = run_layer(LeakyReLU(name="l", bottoms=["x"], tops=["y"], slope=0.25), [x])
    np.testing.assert_allclose(y, [[-0.5, 3.0]])
