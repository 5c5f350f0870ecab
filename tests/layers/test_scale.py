import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import BatchNorm, Input, Scale
from graphnet.testing import check_gradients, check_layer
from tests.helpers import layer_from_yaml, run_layer


def scale(**fields):
    return Scale(name="sc", **{"bottoms": ["x"], "tops": ["y"], **fields})


def message(call):
    with pytest.raises(GraphnetError) as err:
        call()
    return str(err.value)


def reference(x, gamma, beta, axis, end):
    """y[..., i, ...] = x * gamma[i] + beta[i], looping over the parameters' positions."""
    y = x.copy() if beta is None else np.empty_like(x)
    for index in np.ndindex(*gamma.shape):
        where = (slice(None),) * axis + index
        y[where] = x[where] * gamma[index] + (0 if beta is None else beta[index])
    return y


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: sc, type: Scale, bottoms: [x], tops: [y], bias: true, "
                           "scale_filler: {type: uniform, min: 0.5, max: 2}}") == \
        scale(bias=True, scale_filler={"type": "uniform", "min": 0.5, "max": 2})
    layer = scale()
    assert (layer.axis, layer.num_axes, layer.bias) == (1, 1, False)


def test_fillers_default_to_one_and_zero():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3, 4]]), scale(bias=True)])
    gamma, beta = net.params["sc"]
    assert (gamma.key, gamma.shape, beta.key, beta.shape) == ("sc/scale", (3,), "sc/bias", (3,))
    np.testing.assert_array_equal(gamma.data, 1)
    np.testing.assert_array_equal(beta.data, 0)
    assert gamma.lr_mult == beta.lr_mult == 1


CONFIGS = [  # shape, axis, num_axes, parameter shape
    ((4, 3), 1, 1, (3,)),
    ((2, 3, 4, 5), 1, 1, (3,)),
    ((2, 3, 4, 5), 1, 2, (3, 4)),
    ((2, 3, 4, 5), -2, -1, (4, 5)),
    ((2, 3, 4), 0, 1, (2,)),
    ((2, 3, 4), 2, 0, ()),
    ((2, 3, 4), 0, -1, (2, 3, 4)),
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("shape, axis, num_axes, param_shape", CONFIGS)
def test_forward_and_gradient(backend, rng, bias, shape, axis, num_axes, param_shape):
    layer = scale(axis=axis, num_axes=num_axes, bias=bias, scale_filler={"type": "gaussian"},
                  bias_filler={"type": "gaussian"})
    x = rng.normal(size=shape)
    net, (y,) = run_layer(layer, [x], backend=backend)
    params = [net.backend.to_host(p.data) for p in net.params["sc"]]
    assert [p.shape for p in params] == [param_shape] * (1 + bias)
    start = axis % len(shape)
    end = len(shape) if num_axes == -1 else start + num_axes
    np.testing.assert_allclose(y, reference(x, params[0], params[1] if bias else None, start, end),
                               rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"param 'sc/scale'", "bottom 'x'"} | ({"param 'sc/bias'"} if bias else set())


@pytest.mark.parametrize("bias", [False, True])
def test_in_place_gradient(backend, rng, bias):
    layer = scale(tops=["x"], bias=bias, scale_filler={"type": "gaussian"})
    report = check_layer(layer, [rng.normal(size=(3, 4, 2))], backend=backend)
    assert report.max_error < 1e-6, report
    assert "param 'sc/scale'" in report.errors


def test_in_place_after_batch_norm(rng):
    """Caffe's idiom: BatchNorm, then Scale with a bias in place on its top."""
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[6, 2, 3]]),
                    BatchNorm(name="bn", bottoms=["x"], tops=["y"]),
                    scale(bottoms=["y"], tops=["y"], bias=True, scale_filler=2.0, bias_filler=0.5)],
              dtype="float64", force_backward=True)
    x = rng.normal(size=(6, 2, 3))
    net.blobs["x"].data[...] = x
    net.forward()
    mean, var = x.mean(axis=(0, 2), keepdims=True), x.var(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(net.blobs["y"].data, 2 * (x - mean) / np.sqrt(var + 1e-5) + 0.5, rtol=1e-10)
    report = check_gradients(net)
    assert report.max_error < 1e-6, report


def test_frozen_in_place_keeps_no_copy(rng):
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]), scale(tops=["x"], frozen=True)],
              dtype="float64")
    net.forward()
    assert net.layer("sc").x_copy is None


@pytest.mark.parametrize("fields, shape, field, words", [
    (dict(axis=3), [2, 3, 4], "axis", "out of range for 'x' of shape (2, 3, 4)"),
    (dict(axis=-4), [2, 3, 4], "axis", "out of range"),
    (dict(axis=2, num_axes=2), [2, 3, 4], "num_axes",
     "axes 2 to 3 go past the end of 'x' of shape (2, 3, 4)"),
])
def test_axes_must_fit_the_bottom(fields, shape, field, words):
    text = message(lambda: Net("n", [Input(name="in", tops=["x"], shapes=[shape]), scale(**fields)]))
    assert "layer 'sc'" in text and field in text and words in text, text


@pytest.mark.parametrize("fields, field, words", [
    (dict(num_axes=-2), "num_axes", "must be >= -1, got -2"),
    (dict(axis=1.5), "axis", "must be an integer"),
    (dict(bias="yes"), "bias", "must be true or false"),
    (dict(bias_term=True), "bias_term", "unknown field"),
    (dict(scale_filler={"type": "gausian"}), "scale_filler", "gaussian"),
    (dict(bottoms=["x", "s", "t"]), "bottoms", "1 to 2, got 3"),
])
def test_bad_fields(fields, field, words):
    text = message(lambda: scale(**fields))
    assert "layer 'sc'" in text and field in text and words in text, text


# Two bottoms: the scale is the second one (Caffe's Scale with bottom[1]).

@pytest.mark.parametrize("shape, axis, scale_shape", [
    ((2, 3, 4), 1, (3,)), ((2, 3, 4, 5), 0, (2, 3)), ((2, 3, 4), -1, (4,)), ((2, 3, 4), 1, (3, 4)),
    ((4, 3), 0, (4, 3)),
])
@pytest.mark.parametrize("bias", [False, True])
def test_two_bottoms_forward_and_gradient(backend, rng, shape, axis, scale_shape, bias):
    x, s = rng.normal(size=shape), rng.normal(size=scale_shape)
    layer = scale(bottoms=["x", "s"], axis=axis, bias=bias, bias_filler={"type": "gaussian"})
    net, (y,) = run_layer(layer, [x, s], backend=backend)
    start = axis % len(shape)
    beta = net.backend.to_host(net.params["sc"][0].data) if bias else None
    assert [p.key for p in net.params.get("sc", [])] == (["sc/bias"] if bias else [])
    expected = reference(x, s, beta, start, start + len(scale_shape))
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    report = check_layer(layer, [x, s], backend=backend)
    assert report.max_error < 1e-6, report
    assert {"bottom 'x'", "bottom 's'"} <= set(report.errors)


def test_two_bottoms_in_place(rng):
    x, s = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3))
    report = check_layer(scale(bottoms=["x", "s"], tops=["x"], axis=0), [x, s])
    assert report.max_error < 1e-6, report


def test_two_bottoms_shape_mistake():
    assert "layer 'sc': bottoms: 's' (4,) must match the axes of 'x' (2, 3, 4) from axis 1 on" in \
        message(lambda: Net("n", [Input(name="in", tops=["x", "s"], shapes=[[2, 3, 4], [4]]),
                                  scale(bottoms=["x", "s"])]))
