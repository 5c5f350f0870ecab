import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import ElementWise, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer

OPS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: e, type: ElementWise, operation: mul, bottoms: [a, b], tops: [c]}") == \
        ElementWise(name="e", operation="mul", bottoms=["a", "b"], tops=["c"])


@pytest.mark.parametrize("operation, count", [("add", 2), ("add", 3), ("sub", 2), ("mul", 2),
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
    assert len(report.errors) == count


def test_a_blob_used_twice_gets_the_sum_of_both_gradients(rng):
    layer = ElementWise(name="sq", operation="mul", bottoms=["x", "x"], tops=["y"])
    x = rng.normal(size=(2, 3))
    report = check_layer(layer, [x])
    assert report.max_error < 1e-6, report
    net = report.net
    net.forward()
    net.backward(top_diffs={"y": np.ones((2, 3))})
    np.testing.assert_allclose(net.blobs["x"].diff, 2 * x, rtol=1e-12)


def test_mistakes():
    with pytest.raises(GraphnetError, match="layer 'e': bottoms: operation sub takes exactly 2 bottoms, got 3"):
        ElementWise(name="e", operation="sub", bottoms=["a", "b", "c"], tops=["y"])
    with pytest.raises(GraphnetError, match="layer 'e': operation: must be one of add, sub, mul, div"):
        ElementWise(name="e", operation="max", bottoms=["a", "b"], tops=["y"])
    with pytest.raises(GraphnetError, match=r"layer 'e': bottoms: ElementWise takes at least 2, got 1"):
        ElementWise(name="e", bottoms=["a"], tops=["y"])
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["a", "b"], shapes=[[2, 3], [2, 4]]),
                  ElementWise(name="e", bottoms=["a", "b"], tops=["y"])])
    assert "layer 'e': bottoms: shapes differ: 'a' is (2, 3), 'b' is (2, 4)" in str(err.value)
