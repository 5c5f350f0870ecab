import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Input, Power
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(x, power, scale, shift):
    out = np.empty_like(x)
    for index, value in np.ndenumerate(x):
        out[index] = (shift + scale * value) ** power
    return out


def backward(x, dy, power, scale, shift):
    """Reference dL/dx = dy * power * scale * (shift + scale x)^(power - 1), by the formula."""
    return dy * power * scale * (shift + scale * x) ** (power - 1)


def run_backward(layer, x, dy):
    net = Net("n", [Input(name="in", tops=["x"], shapes=[x.shape]), layer], dtype="float64",
              force_backward=True)
    net.blobs["x"].data[...] = x
    net.forward()
    net.backward(top_diffs={"y": dy})
    return net.blobs["y"].data.copy(), net.blobs["x"].diff.copy()


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: p, type: Power, bottoms: [x], tops: [y], power: 2, scale: 0.5, "
                           "shift: -1}") == \
        Power(name="p", bottoms=["x"], tops=["y"], power=2.0, scale=0.5, shift=-1.0)


def test_defaults_are_the_identity(rng):
    layer = layer_from_yaml("{name: p, type: Power, bottoms: [x], tops: [y]}")
    assert (layer.power, layer.scale, layer.shift) == (1.0, 1.0, 0.0)
    assert layer == Power(name="p", bottoms=["x"], tops=["y"], power=1, scale=1, shift=0)
    x = rng.normal(size=(2, 3))
    _, (y,) = run_layer(layer, [x])
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("power, scale, shift", [(2, 1, 0), (3, 0.5, 1), (0.5, 2, 3), (1, -2, 1),
                                                 (1, 1, 0), (0, 1, 0), (-1, 1, 4), (-2.5, 0.5, 1),
                                                 (3, 1, -2), (2, 0, 3)])
def test_forward_and_gradient(backend, rng, power, scale, shift):
    x = rng.uniform(0.5, 1.5, (3, 4))  # keeps shift + scale*x away from 0 for fractional powers
    layer = Power(name="p", bottoms=["x"], tops=["y"], power=power, scale=scale, shift=shift)
    _, (y,) = run_layer(layer, [x], backend=backend)
    np.testing.assert_allclose(y, reference(x, power, scale, shift), rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'x'"}


@pytest.mark.parametrize("power, scale, shift", [(2, 1, 0), (3, -0.5, 1), (1, -2, 1), (0.5, 2, 3)])
def test_backward_matches_the_formula(rng, power, scale, shift):
    x, dy = rng.uniform(0.5, 1.5, (3, 4)), rng.normal(size=(3, 4))
    layer = Power(name="p", bottoms=["x"], tops=["y"], power=power, scale=scale, shift=shift)
    _, dx = run_backward(layer, x, dy)
    np.testing.assert_allclose(dx, backward(x, dy, power, scale, shift), rtol=1e-12)


def test_power_zero_gives_ones_and_no_gradient(rng):
    # Even where the base is 0 or negative: x^0 = 1 (0^0 = 1, as in Caffe).
    x = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0]])
    layer = Power(name="p", bottoms=["x"], tops=["y"], power=0, scale=1, shift=1)
    y, dx = run_backward(layer, x, rng.normal(size=x.shape))
    np.testing.assert_array_equal(y, np.ones_like(x))
    np.testing.assert_array_equal(dx, np.zeros_like(x))


def test_scale_zero_is_a_constant_with_no_gradient(rng):
    # y = shift^power whatever x is; no 0 * inf = nan where shift is 0 and power < 1
    x = rng.normal(size=(2, 3))
    for power, shift in [(0.5, 0.0), (2, 3.0), (-1, 2.0)]:
        layer = Power(name="p", bottoms=["x"], tops=["y"], power=power, scale=0, shift=shift)
        y, dx = run_backward(layer, x, rng.normal(size=x.shape))
        np.testing.assert_allclose(y, np.full_like(x, shift ** power), rtol=1e-12)
        np.testing.assert_array_equal(dx, np.zeros_like(x))


def test_integer_powers_of_negative_bases():
    x = np.array([[-3.0, -1.0, 0.0, 2.0]])
    for power in (2, 3):
        layer = Power(name="p", bottoms=["x"], tops=["y"], power=power, shift=-1)
        y, dx = run_backward(layer, x, np.ones_like(x))
        np.testing.assert_allclose(y, (x - 1) ** power, rtol=1e-12)
        np.testing.assert_allclose(dx, power * (x - 1) ** (power - 1), rtol=1e-12)


def test_float32_stays_float32(rng):
    x = rng.uniform(0.5, 1.5, (3, 4))
    layer = Power(name="p", bottoms=["x"], tops=["y"], power=1.5, scale=2, shift=0.5)
    _, (y,) = run_layer(layer, [x], dtype="float32")
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, reference(x, 1.5, 2, 0.5), rtol=1e-5)


def test_does_not_run_in_place():
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                  Power(name="p", bottoms=["x"], tops=["x"], power=2)])
    for word in ["layer 'p'", "tops", "Power cannot run in place"]:
        assert word in str(err.value), str(err.value)


@pytest.mark.parametrize("fields, words", [
    (dict(power="two"), ["power", "must be a number, got 'two'"]),
    (dict(scale=True), ["scale", "must be a number, got True"]),
    (dict(shift=[1]), ["shift", "must be a number"]),
    (dict(exponent=2), ["exponent", "unknown field"]),
    (dict(bottoms=["a", "b"]), ["bottoms", "Power takes exactly 1, got 2"]),
])
def test_mistakes(fields, words):
    with pytest.raises(GraphnetError) as err:
        Power(**{"name": "p", "bottoms": ["x"], "tops": ["y"], **fields})
    for word in ["layer 'p'", *words]:
        assert word in str(err.value), str(err.value)
