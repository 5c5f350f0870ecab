import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import ElementWise, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer

OPS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}


def reference_gradients(operation, xs, dy):
    """dL/dx_i by the formulas, products written out (no division by x_i)."""
    if operation == "add":
        return [dy for _ in xs]
    if operation == "sub":
        return [dy, -dy]
    if operation == "div":
        return [dy / xs[1], -dy * xs[0] / xs[1] ** 2]
    grads = []
    for i in range(len(xs)):
        g = dy.copy()
        for j, x in enumerate(xs):
            if j != i:
                g = g * x
        grads.append(g)
    return grads


def run_backward(layer, arrays, dy):
    names = list(dict.fromkeys(layer.bottoms))
    net = Net("n", [Input(name="in", tops=names, shapes=[a.shape for a in arrays]), layer],
              dtype="float64", force_backward=True)
    for name, array in zip(names, arrays):
        net.blobs[name].data[...] = array
    net.forward()
    net.backward(top_diffs={layer.tops[0]: dy})
    return net.blobs[layer.tops[0]].data.copy(), [net.blobs[n].diff.copy() for n in names]


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: e, type: ElementWise, operation: mul, bottoms: [a, b], tops: [c]}") == \
        ElementWise(name="e", operation="mul", bottoms=["a", "b"], tops=["c"])
    default = layer_from_yaml("{name: e, type: ElementWise, bottoms: [a, b, c], tops: [d]}")
    assert default.operation == "add"
    assert default == ElementWise(name="e", operation="add", bottoms=["a", "b", "c"], tops=["d"])
    assert ElementWise(name="e", operation="DIV", bottoms=["a", "b"], tops=["c"]).operation == "div"


@pytest.mark.parametrize("operation, count", [("add", 2), ("add", 3), ("add", 4), ("sub", 2), ("mul", 2),
                                              ("mul", 3), ("div", 2)])
def test_forward_and_gradients(backend, rng, operation, count):
    arrays = [rng.uniform(0.5, 2.0, (3, 4)) * rng.choice([-1, 1], (3, 4)) for _ in range(count)]
    names = [f"x{i}" for i in range(count)]
    layer = ElementWise(name="e", operation=operation, bottoms=names, tops=["y"])
    _, (y,) = run_layer(layer, arrays, backend=backend)
    expected = arrays[0]
    for a in arrays[1:]:
        expected = OPS[operation](expected, a)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    report = check_layer(layer, arrays, backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {f"bottom '{n}'" for n in names}


@pytest.mark.parametrize("operation, count", [("add", 3), ("sub", 2), ("mul", 3), ("div", 2)])
def test_backward_matches_the_formulas(rng, operation, count):
    arrays = [rng.uniform(0.5, 2.0, (2, 3, 2)) for _ in range(count)]
    dy = rng.normal(size=(2, 3, 2))
    layer = ElementWise(name="e", operation=operation, bottoms=[f"x{i}" for i in range(count)], tops=["y"])
    _, grads = run_backward(layer, arrays, dy)
    for got, want in zip(grads, reference_gradients(operation, arrays, dy)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_mul_gradients_with_zeros(rng):
    # dL/dx_i = dy * prod_{j != i} x_j is finite even where x_i (or another x_j) is 0.
    a = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5]])
    b = np.array([[4.0, 0.0, -1.0], [2.0, 0.0, 2.0]])
    c = np.array([[0.5, 1.0, 0.0], [3.0, 2.0, -1.0]])
    dy = rng.normal(size=(2, 3))
    layer = ElementWise(name="e", operation="mul", bottoms=["a", "b", "c"], tops=["y"])
    y, (da, db, dc) = run_backward(layer, [a, b, c], dy)
    np.testing.assert_array_equal(y, a * b * c)
    for got in (da, db, dc):
        assert np.isfinite(got).all()
    np.testing.assert_allclose(da, dy * b * c, rtol=1e-12)
    np.testing.assert_allclose(db, dy * a * c, rtol=1e-12)
    np.testing.assert_allclose(dc, dy * a * b, rtol=1e-12)
    report = check_layer(layer, [a, b, c])
    assert report.max_error < 1e-6, report


@pytest.mark.parametrize("operation, expected_y, expected_dx", [
    ("add", lambda x: 2 * x, lambda x, dy: 2 * dy),
    ("sub", lambda x: 0 * x, lambda x, dy: 0 * dy),
    ("mul", lambda x: x * x, lambda x, dy: 2 * x * dy),
    ("div", lambda x: np.ones_like(x), lambda x, dy: 0 * dy),
])
def test_a_blob_used_twice_gets_the_sum_of_both_gradients(rng, operation, expected_y, expected_dx):
    # bottoms: [x, x]; the net splits x, the layer sees two blobs.
    layer = ElementWise(name="e", operation=operation, bottoms=["x", "x"], tops=["y"])
    x = rng.uniform(0.5, 2.0, (2, 3))
    dy = rng.normal(size=(2, 3))
    y, (dx,) = run_backward(layer, [x], dy)
    np.testing.assert_allclose(y, expected_y(x), rtol=1e-12)
    np.testing.assert_allclose(dx, expected_dx(x, dy), rtol=1e-12, atol=1e-12)
    report = check_layer(layer, [x])
    assert report.max_error < 1e-6, report


def test_float32_stays_float32(rng):
    a, b = rng.uniform(0.5, 2.0, (2, 2, 3)), rng.uniform(0.5, 2.0, (2, 2, 3))
    _, (y,) = run_layer(ElementWise(name="e", operation="div", bottoms=["a", "b"], tops=["y"]),
                        [a, b], dtype="float32")
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, a / b, rtol=1e-6)


@pytest.mark.parametrize("operation", ["sub", "div"])
@pytest.mark.parametrize("count", [1, 3])
def test_sub_and_div_take_exactly_two_bottoms(operation, count):
    bottoms = ["a", "b", "c"][:count]
    with pytest.raises(GraphnetError) as err:
        ElementWise(name="e", operation=operation, bottoms=bottoms, tops=["y"])
    for word in ["layer 'e'", "bottoms", operation, "2", f"got {count}"]:
        assert word in str(err.value), str(err.value)


@pytest.mark.parametrize("operation", ["add", "mul"])
def test_add_and_mul_take_at_least_two_bottoms(operation):
    with pytest.raises(GraphnetError) as err:
        ElementWise(name="e", operation=operation, bottoms=["a"], tops=["y"])
    assert "layer 'e': bottoms: ElementWise takes at least 2, got 1" in str(err.value)


def test_bad_operation():
    with pytest.raises(GraphnetError) as err:
        ElementWise(name="e", operation="mult", bottoms=["a", "b"], tops=["y"])
    for word in ["layer 'e'", "operation", "must be one of add, sub, mul, div", "did you mean 'mul'"]:
        assert word in str(err.value), str(err.value)


def test_one_top():
    with pytest.raises(GraphnetError) as err:
        ElementWise(name="e", bottoms=["a", "b"], tops=["y", "z"])
    assert "layer 'e': tops: ElementWise takes exactly 1, got 2" in str(err.value)


@pytest.mark.parametrize("shapes, words", [
    ([[2, 3], [2, 4]], "shapes differ: 'a' is (2, 3), 'b' is (2, 4)"),
    ([[2, 3], [2, 3], [3, 2]], "shapes differ: 'a' is (2, 3), 'c' is (3, 2)"),
    ([[2, 3], [2, 3, 1]], "shapes differ: 'a' is (2, 3), 'b' is (2, 3, 1)"),
])
def test_shapes_must_match(shapes, words):
    names = ["a", "b", "c"][:len(shapes)]
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=names, shapes=shapes),
                  ElementWise(name="e", operation="mul", bottoms=names, tops=["y"])])
    assert f"layer 'e': bottoms: {words}" in str(err.value), str(err.value)


# Caffe's Eltwise: MAX, and SUM with one coefficient per bottom.

@pytest.mark.parametrize("count", [2, 3])
def test_max_forward_and_gradient(backend, rng, count):
    arrays = [rng.normal(size=(3, 4)) for _ in range(count)]
    layer = ElementWise(name="e", operation="max", bottoms=[f"x{i}" for i in range(count)], tops=["y"])
    _, (y,) = run_layer(layer, arrays, backend=backend)
    np.testing.assert_array_equal(y, np.max(arrays, axis=0))
    report = check_layer(layer, arrays, backend=backend)
    assert report.max_error < 1e-6, report


def test_max_gradient_goes_to_the_first_maximum(rng):
    a = np.array([[1.0, 5.0, 2.0]])
    b = np.array([[1.0, 3.0, 7.0]])
    c = np.array([[0.0, 5.0, 7.0]])
    dy = np.array([[10.0, 20.0, 30.0]])
    layer = ElementWise(name="e", operation="max", bottoms=["a", "b", "c"], tops=["y"])
    y, (da, db, dc) = run_backward(layer, [a, b, c], dy)
    np.testing.assert_array_equal(y, [[1.0, 5.0, 7.0]])
    np.testing.assert_array_equal(da, [[10.0, 20.0, 0.0]])    # ties: the earlier bottom
    np.testing.assert_array_equal(db, [[0.0, 0.0, 30.0]])
    np.testing.assert_array_equal(dc, [[0.0, 0.0, 0.0]])


def test_coeff_forward_and_gradient(backend, rng):
    arrays = [rng.normal(size=(2, 3, 2)) for _ in range(3)]
    layer = ElementWise(name="e", bottoms=["a", "b", "c"], tops=["y"], coeff=[1.5, -0.5, 2])
    _, (y,) = run_layer(layer, arrays, backend=backend)
    np.testing.assert_allclose(y, 1.5 * arrays[0] - 0.5 * arrays[1] + 2 * arrays[2], rtol=1e-12)
    report = check_layer(layer, arrays, backend=backend)
    assert report.max_error < 1e-6, report
    dy = rng.normal(size=(2, 3, 2))
    _, grads = run_backward(layer, arrays, dy)
    for got, c in zip(grads, [1.5, -0.5, 2]):
        np.testing.assert_allclose(got, c * dy, rtol=1e-12)


@pytest.mark.parametrize("fields, message", [
    (dict(operation="mul", coeff=[1, 2]), "coeff: is for operation add only, got operation mul"),
    (dict(coeff=[1, 2, 3]), "coeff: needs one factor per bottom (2), got 3"),
])
def test_coeff_mistakes(fields, message):
    with pytest.raises(GraphnetError) as err:
        ElementWise(name="e", bottoms=["a", "b"], tops=["y"], **fields)
    assert f"layer 'e': {message}" in str(err.value)
