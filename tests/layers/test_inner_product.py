import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import InnerProduct, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer

ACTIVATIONS = {"identity": lambda z: z, "relu": lambda z: np.maximum(z, 0),
               "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "exponential": np.exp}


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: ip, type: InnerProduct, bottoms: [x], tops: [y], output_dim: 3, "
                           "bias: false, neuron: relu, weight_filler: {type: gaussian, std: 0.1}}") == \
        InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=3, bias=False, neuron="relu",
                     weight_filler={"type": "gaussian", "std": 0.1})


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_forward_and_gradient(backend, rng, bias, activation):
    x = rng.normal(size=(4, 2, 3))
    layer = InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=5, bias=bias, neuron=activation,
                         bias_filler={"type": "gaussian"})
    net, (y,) = run_layer(layer, [x], backend=backend)
    params = [net.backend.to_host(p.data) for p in net.params["ip"]]
    z = x.reshape(4, -1) @ params[0].T + (params[1] if bias else 0)
    np.testing.assert_allclose(y, ACTIVATIONS[activation](z), rtol=1e-10)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"param 'ip/weight'", "bottom 'x'"} | ({"param 'ip/bias'"} if bias else set())


def test_parameters_and_multipliers():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3, 4]]),
                    InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=5,
                                 param={"bias": {"lr_mult": 3}})])
    weight, bias = net.params["ip"]
    assert weight.shape == (5, 12) and bias.shape == (5,)
    assert (weight.lr_mult, weight.decay_mult, bias.lr_mult, bias.decay_mult) == (1, 1, 3, 0)
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                  InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=5,
                               param={"wieght": {"lr_mult": 3}})])
    assert "layer 'ip': param: InnerProduct has no parameter 'wieght' (did you mean 'weight'?)" in str(err.value)


@pytest.mark.parametrize("fields, words", [
    (dict(output_dim=0), ["output_dim", "must be >= 1, got 0"]),
    (dict(output_dim=2.5), ["output_dim", "must be an integer, got 2.5"]),
    (dict(output_dim=2, bias="yes"), ["bias", "must be true or false"]),
    (dict(output_dim=2, param={"weight": {"lr_mul": 1}}), ["param", "unknown key 'lr_mul'", "did you mean 'lr_mult'"]),
])
def test_mistakes(fields, words):
    with pytest.raises(GraphnetError) as err:
        InnerProduct(name="ip", bottoms=["x"], tops=["y"], **fields)
    for word in ["layer 'ip'", *words]:
        assert word in str(err.value), str(err.value)
