"""Bias: a learned or given offset broadcast along axis/num_axes, against a loop; gradients."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Bias, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(x, beta, axis):
    """y[..., i, ...] = x + beta[i], looping over the bias's positions."""
    y = x.copy()
    for index in np.ndindex(*beta.shape):
        y[(slice(None),) * axis + index] += beta[index]
    return y


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: b, type: Bias, bottoms: [x], tops: [y], num_axes: 2}") == \
        Bias(name="b", bottoms=["x"], tops=["y"], num_axes=2)
    assert Bias(name="b", bottoms=["x"], tops=["y"]).axis == 1


@pytest.mark.parametrize("shape, axis, num_axes, param_shape", [
    ((2, 3, 4), 1, 1, (3,)), ((2, 3, 4, 5), 1, 2, (3, 4)), ((2, 3, 4), -1, -1, (4,)),
    ((2, 3), 0, 0, ()),
])
def test_learned_forward_and_gradient(backend, rng, shape, axis, num_axes, param_shape):
    x = rng.normal(size=shape)
    layer = Bias(name="b", bottoms=["x"], tops=["y"], axis=axis, num_axes=num_axes,
                 bias_filler={"type": "gaussian"})
    net, (y,) = run_layer(layer, [x], backend=backend)
    (beta,) = net.params["b"]
    assert (beta.key, beta.shape) == ("b/bias", param_shape)
    np.testing.assert_allclose(y, reference(x, net.backend.to_host(beta.data), axis % len(shape)),
                               rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'x'", "param 'b/bias'"}


@pytest.mark.parametrize("tops", [["y"], ["x"]])
def test_two_bottoms_forward_and_gradient(backend, rng, tops):
    x, c = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3))
    layer = Bias(name="b", bottoms=["x", "c"], tops=tops, axis=0)
    net, (y,) = run_layer(layer, [x, c], backend=backend)
    assert "b" not in net.params
    np.testing.assert_allclose(y, x + c[:, :, None], rtol=1e-12)
    report = check_layer(layer, [x, c], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'x'", "bottom 'c'"}


def test_filler_defaults_to_zero():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                    Bias(name="b", bottoms=["x"], tops=["y"])])
    np.testing.assert_array_equal(net.params["b"][0].data, 0)


def test_shape_mistakes():
    with pytest.raises(GraphnetError, match=r"layer 'b': num_axes: axes 1 to 2 go past the end"):
        Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                  Bias(name="b", bottoms=["x"], tops=["y"], num_axes=2)])
    with pytest.raises(GraphnetError, match=r"layer 'b': bottoms: 'c' \(2,\) must match"):
        Net("n", [Input(name="in", tops=["x", "c"], shapes=[[2, 3], [2]]),
                  Bias(name="b", bottoms=["x", "c"], tops=["y"])])
