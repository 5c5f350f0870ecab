import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import InnerProduct, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer

ACTIVATIONS = {"identity": lambda z: z, "relu": lambda z: np.maximum(z, 0),
               "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
               "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "exponential": np.exp}


def reference(x, weight, bias):
    """y[n, o] = sum_f x[n, f] W[o, f] + b[o], by explicit loops over the flattened features."""
    flat = x.reshape(len(x), -1)
    y = np.zeros((len(x), len(weight)))
    for n in range(len(x)):
        for o in range(len(weight)):
            y[n, o] = sum(flat[n, f] * weight[o, f] for f in range(flat.shape[1]))
            if bias is not None:
                y[n, o] += bias[o]
    return y


def host_params(net, name="ip"):
    return [net.backend.to_host(p.data) for p in net.params[name]]


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: ip, type: InnerProduct, bottoms: [x], tops: [y], output_dim: 3, "
                           "bias: false, neuron: relu, weight_filler: {type: gaussian, std: 0.1}}") == \
        InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=3, bias=False, neuron="relu",
                     weight_filler={"type": "gaussian", "std": 0.1})
    assert layer_from_yaml("{name: ip, type: InnerProduct, bottoms: [x], tops: [y], output_dim: 3, "
                           "neuron: {type: leaky_relu, slope: 0.1}, param: {bias: {lr_mult: 3}}}") == \
        InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=3,
                     neuron={"type": "leaky_relu", "slope": 0.1}, param={"bias": {"lr_mult": 3}})


def test_defaults():
    layer = InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=3)
    assert layer.bias is True and layer.neuron.type == "identity"
    assert layer == layer_from_yaml("{name: ip, type: InnerProduct, bottoms: [x], tops: [y], output_dim: 3, "
                                    "bias: true, neuron: identity, weight_filler: xavier, bias_filler: 0}")


@pytest.fixture(params=["one product", "in parts", "in parts by samples"])
def parts(request, monkeypatch):
    """Each product whole, or cut into four parts for the threads (as a large layer's is):
    by units and features, or, as with many samples, by samples and features."""
    if request.param != "one product":
        monkeypatch.setattr(InnerProduct, "part_products", 1)
    if request.param == "in parts by samples":
        monkeypatch.setattr(InnerProduct, "part_samples", 0)
    return request.param


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_forward_and_gradient(backend, rng, bias, activation, parts):
    x = rng.normal(size=(4, 2, 3))
    layer = InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=5, bias=bias, neuron=activation,
                         bias_filler={"type": "gaussian"})
    net, (y,) = run_layer(layer, [x], backend=backend)
    params = host_params(net)
    assert len(params) == (2 if bias else 1)
    z = x.reshape(4, -1) @ params[0].T + (params[1] if bias else 0)
    np.testing.assert_allclose(z, reference(x, params[0], params[1] if bias else None), rtol=1e-10)
    np.testing.assert_allclose(y, ACTIVATIONS[activation](z), rtol=1e-10)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"param 'ip/weight'", "bottom 'x'"} | ({"param 'ip/bias'"} if bias else set())


def test_fused_leaky_relu_with_a_slope(rng):
    x = rng.normal(size=(6, 4))
    layer = InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=3,
                         neuron={"type": "leaky_relu", "slope": 0.1})
    net, (y,) = run_layer(layer, [x])
    weight, bias = host_params(net)
    z = x @ weight.T + bias
    assert (z < 0).any() and (z > 0).any()
    np.testing.assert_allclose(y, np.where(z > 0, z, 0.1 * z), rtol=1e-10)
    report = check_layer(layer, [x])
    assert report.max_error < 1e-6, report


@pytest.mark.parametrize("shape", [(3, 2, 4, 5), (2, 1, 1, 7), (5, 6)])
def test_bottoms_are_flattened(backend, rng, shape):
    x = rng.normal(size=shape)
    layer = InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=4, bias_filler=0.5)
    net, (y,) = run_layer(layer, [x], backend=backend)
    weight, bias = host_params(net)
    features = int(np.prod(shape[1:]))
    assert weight.shape == (4, features) and bias.shape == (4,)
    assert y.shape == (shape[0], 4) and net.blobs["y"].shape == (shape[0], 4)
    np.testing.assert_allclose(bias, 0.5)
    np.testing.assert_allclose(y, x.reshape(shape[0], -1) @ weight.T + bias, rtol=1e-10)
    np.testing.assert_allclose(y, reference(x, weight, bias), rtol=1e-10)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert report.net.blobs["x"].diff.shape == shape


def test_backward_by_the_formulas(rng, parts):
    x, dy = rng.normal(size=(3, 2, 2)), rng.normal(size=(3, 5))
    net = Net("n", [Input(name="in", tops=["x"], shapes=[x.shape]),
                    InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=5)],
              dtype="float64", force_backward=True)
    net.blobs["x"].data[...] = x
    net.forward()
    net.clear_param_diffs()
    net.backward(top_diffs={"y": dy})
    weight, bias = net.params["ip"]
    flat = x.reshape(3, -1)
    np.testing.assert_allclose(weight.diff, dy.T @ flat, rtol=1e-12)               # dL/dW = dY^T X
    np.testing.assert_allclose(bias.diff, dy.sum(axis=0), rtol=1e-12)              # dL/db = sum_n dY
    np.testing.assert_allclose(net.blobs["x"].diff, (dy @ weight.data).reshape(x.shape), rtol=1e-12)
    net.backward(top_diffs={"y": dy})              # param diffs add up, the bottom's is overwritten
    np.testing.assert_allclose(weight.diff, 2 * dy.T @ flat, rtol=1e-12)
    np.testing.assert_allclose(bias.diff, 2 * dy.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(net.blobs["x"].diff, (dy @ weight.data).reshape(x.shape), rtol=1e-12)


def test_float32_stays_float32(rng):
    x = rng.normal(size=(4, 3, 2))
    net, (y,) = run_layer(InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=3, neuron="tanh",
                                       bias_filler=0.1), [x], dtype="float32")
    assert y.dtype == np.float32
    weight, bias = host_params(net)
    assert weight.dtype == np.float32 and bias.dtype == np.float32
    np.testing.assert_allclose(y, np.tanh(x.reshape(4, -1) @ weight.T + bias), rtol=1e-5, atol=1e-6)


def test_parameters_and_multipliers():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3, 4]]),
                    InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=5,
                                 param={"bias": {"lr_mult": 3}})])
    weight, bias = net.params["ip"]
    assert weight.shape == (5, 12) and bias.shape == (5,)
    assert (weight.lr_mult, weight.decay_mult, bias.lr_mult, bias.decay_mult) == (1, 1, 3, 0)
    assert net.params["ip"][1].lr_mult == 3


def test_multipliers_from_yaml():
    layer = layer_from_yaml("{name: ip, type: InnerProduct, bottoms: [x], tops: [y], output_dim: 2, "
                            "param: {weight: {lr_mult: 0.5, decay_mult: 2}, bias: {lr_mult: 3}}}")
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]), layer])
    weight, bias = net.params["ip"]
    assert (weight.lr_mult, weight.decay_mult, bias.lr_mult, bias.decay_mult) == (0.5, 2, 3, 0)


def test_without_bias_there_is_one_parameter():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                    InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=4, bias=False)])
    assert [p.name for p in net.params["ip"]] == ["weight"]
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                  InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=4, bias=False,
                               param={"bias": {"lr_mult": 2}})])
    assert "layer 'ip': param: InnerProduct has no parameter 'bias'" in str(err.value)


def test_unknown_parameter_name():
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                  InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=5,
                               param={"wieght": {"lr_mult": 3}})])
    assert "layer 'ip': param: InnerProduct has no parameter 'wieght' (did you mean 'weight'?)" in str(err.value)


@pytest.mark.parametrize("fields, words", [
    (dict(output_dim=0), ["output_dim", "must be >= 1, got 0"]),
    (dict(output_dim=-4), ["output_dim", "must be >= 1, got -4"]),
    (dict(output_dim=2.5), ["output_dim", "must be an integer, got 2.5"]),
    (dict(output_dim="ten"), ["output_dim", "must be an integer, got 'ten'"]),
    (dict(), ["output_dim", "required field is missing"]),
    (dict(output_dim=2, bias="yes"), ["bias", "must be true or false"]),
    (dict(output_dim=2, neuron="rleu"), ["neuron", "unknown neuron 'rleu'", "did you mean 'relu'"]),
    (dict(output_dim=2, param={"weight": {"lr_mul": 1}}),
     ["param", "unknown key 'lr_mul'", "did you mean 'lr_mult'"]),
    (dict(output_dim=2, params={"bias": {"lr_mult": 3}}), ["params", "unknown field", "did you mean 'param'"]),
    (dict(output_dim=2, output_size=2), ["output_size", "unknown field", "did you mean 'output_dim'"]),
    (dict(output_dim=2, bottoms=["a", "b"]), ["bottoms", "InnerProduct takes exactly 1, got 2"]),
])
def test_mistakes(fields, words):
    with pytest.raises(GraphnetError) as err:
        InnerProduct(**{"name": "ip", "bottoms": ["x"], "tops": ["y"], **fields})
    for word in ["layer 'ip'", *words]:
        assert word in str(err.value), str(err.value)


def test_axis_2_applies_one_weight_at_every_time_step(backend, rng):
    x = rng.normal(size=(5, 3, 4))  # (T, N, D)
    layer = InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=6, axis=2,
                         bias_filler={"type": "gaussian"})
    net, (y,) = run_layer(layer, [x], backend=backend)
    weight, bias = host_params(net)
    assert weight.shape == (6, 4) and y.shape == (5, 3, 6)
    np.testing.assert_allclose(y, np.einsum("tnd,od->tno", x, weight) + bias, rtol=1e-10)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


def test_axis_beyond_the_bottom_is_an_error():
    layer = InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=6, axis=2)
    with pytest.raises(GraphnetError, match=r"layer 'ip': axis: is 2, but bottom 'x' \(5, 3\) has only 2 axes"):
        run_layer(layer, [np.zeros((5, 3))])
