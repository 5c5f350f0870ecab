import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Input, Softmax
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: s, type: Softmax, bottoms: [x], tops: [y], axis: -1}") == \
        Softmax(name="s", bottoms=["x"], tops=["y"], axis=-1)


@pytest.mark.parametrize("shape, axis", [((4, 5), 1), ((2, 3, 4, 2), 1), ((2, 3, 4), -1), ((3, 4), 0)])
def test_forward_and_gradient(backend, rng, shape, axis):
    x = rng.normal(0, 3, shape)
    layer = Softmax(name="s", bottoms=["x"], tops=["y"], axis=axis)
    _, (y,) = run_layer(layer, [x], backend=backend)
    np.testing.assert_allclose(y, reference(x, axis), rtol=1e-12)
    assert check_layer(layer, [x], backend=backend).max_error < 1e-6


def test_large_scores_do_not_overflow():
    _, (y,) = run_layer(Softmax(name="s", bottoms=["x"], tops=["y"]), [np.array([[1000.0, 0.0, -1000.0]])])
    np.testing.assert_allclose(y, [[1, 0, 0]], atol=1e-12)


def test_axis_out_of_range():
    with pytest.raises(GraphnetError, match=r"layer 's': axis: is out of range for 'x' of shape \(2, 3\)"):
        Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                  Softmax(name="s", bottoms=["x"], tops=["y"], axis=2)])
