import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Input, Softmax
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(x, axis):
    """Softmax by explicit loops over every line along `axis`."""
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for index in np.ndindex(moved.shape[:-1]):
        line = moved[index]
        e = np.exp(line - line.max())
        out[index] = e / e.sum()
    return np.moveaxis(out, -1, axis)


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: s, type: Softmax, bottoms: [x], tops: [y], axis: -1}") == \
        Softmax(name="s", bottoms=["x"], tops=["y"], axis=-1)
    default = layer_from_yaml("{name: s, type: Softmax, bottoms: [x], tops: [y]}")
    assert default == Softmax(name="s", bottoms=["x"], tops=["y"], axis=1)
    assert default.axis == 1


def test_hand_computed_values():
    x = np.log([[1.0, 2.0, 3.0], [1.0, 1.0, 2.0]])
    _, (y,) = run_layer(Softmax(name="s", bottoms=["x"], tops=["y"]), [x])
    np.testing.assert_allclose(y, [[1 / 6, 2 / 6, 3 / 6], [1 / 4, 1 / 4, 2 / 4]], rtol=1e-12)


@pytest.mark.parametrize("shape, axis", [((4, 5), 1), ((2, 3, 4, 2), 1), ((2, 3, 4), -1), ((3, 4), 0),
                                         ((2, 3, 4), 2), ((2, 3, 4), -3), ((5,), 0)])
def test_forward_and_gradient(backend, rng, shape, axis):
    x = rng.normal(0, 3, shape)
    layer = Softmax(name="s", bottoms=["x"], tops=["y"], axis=axis)
    _, (y,) = run_layer(layer, [x], backend=backend)
    assert y.shape == shape
    np.testing.assert_allclose(y, reference(x, axis), rtol=1e-12)
    np.testing.assert_allclose(y.sum(axis=axis), 1, rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'x'"}


def test_backward_matches_the_jacobian(rng):
    # dL/dx = J^T dy with J = diag(y) - y y^T, for each row (axis 1)
    x, dy = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    layer = Softmax(name="s", bottoms=["x"], tops=["y"])
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[3, 4]]), layer], dtype="float64",
              force_backward=True)
    net.blobs["x"].data[...] = x
    net.forward()
    net.backward(top_diffs={"y": dy})
    y = reference(x, 1)
    expected = np.stack([(np.diag(row) - np.outer(row, row)).T @ d for row, d in zip(y, dy)])
    np.testing.assert_allclose(net.blobs["x"].diff, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_scores_do_not_overflow(dtype):
    _, (y,) = run_layer(Softmax(name="s", bottoms=["x"], tops=["y"]),
                        [np.array([[1000.0, 0.0, -1000.0], [500.0, 500.0, -500.0]])], dtype=dtype)
    assert y.dtype == dtype
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-7)


def test_float32_agrees_with_float64(rng):
    x = rng.normal(0, 5, (6, 10))
    _, (y,) = run_layer(Softmax(name="s", bottoms=["x"], tops=["y"]), [x], dtype="float32")
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, reference(x, 1), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("axis", [2, -3, 5])
def test_axis_out_of_range(axis):
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                  Softmax(name="s", bottoms=["x"], tops=["y"], axis=axis)])
    assert "layer 's': axis: is out of range for 'x' of shape (2, 3)" in str(err.value)


@pytest.mark.parametrize("fields, words", [
    (dict(axis=1.5), ["axis", "must be an integer, got 1.5"]),
    (dict(axis="last"), ["axis", "must be an integer, got 'last'"]),
    (dict(bottoms=["a", "b"]), ["bottoms", "Softmax takes exactly 1, got 2"]),
    (dict(axsi=1), ["axsi", "unknown field", "did you mean 'axis'"]),
])
def test_mistakes(fields, words):
    with pytest.raises(GraphnetError) as err:
        Softmax(**{"name": "s", "bottoms": ["x"], "tops": ["y"], **fields})
    for word in ["layer 's'", *words]:
        assert word in str(err.value), str(err.value)
