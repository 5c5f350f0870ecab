import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Flatten, Input, Reshape
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def build(layer, shape):
    return Net("n", [Input(name="in", tops=["x"], shapes=[list(shape)]), layer])


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: r, type: Reshape, bottoms: [x], tops: [y], shape: [0, -1]}") == \
        Reshape(name="r", bottoms=["x"], tops=["y"], shape=[0, -1])
    assert layer_from_yaml("{name: f, type: Flatten, bottoms: [x], tops: [y], axis: 2}") == \
        Flatten(name="f", bottoms=["x"], tops=["y"], axis=2)


@pytest.mark.parametrize("shape, target, expected", [([0, -1], None, (2, 12)), ([4, 0, -1], None, (4, 3, 2)),
                                                     ([2, 3, 2, 2], None, (2, 3, 2, 2)), ([-1], None, (24,))])
def test_reshape(backend, rng, shape, target, expected):
    x = rng.normal(size=(2, 3, 4))
    layer = Reshape(name="r", bottoms=["x"], tops=["y"], shape=shape)
    net, (y,) = run_layer(layer, [x], backend=backend)
    np.testing.assert_array_equal(y, x.reshape(expected))
    assert check_layer(layer, [x], backend=backend).max_error < 1e-6


def test_reshape_is_a_view():
    net, _ = run_layer(Reshape(name="r", bottoms=["x"], tops=["y"], shape=[0, -1]), [np.ones((2, 3, 4))])
    assert np.shares_memory(net.blobs["y"].data, net.blobs["x"].data)


@pytest.mark.parametrize("axis, end_axis, expected", [(1, -1, (2, 60)), (0, 1, (6, 4, 5)), (2, 3, (2, 3, 20)),
                                                      (-2, -1, (2, 3, 20)), (1, 1, (2, 3, 4, 5))])
def test_flatten(backend, rng, axis, end_axis, expected):
    x = rng.normal(size=(2, 3, 4, 5))
    layer = Flatten(name="f", bottoms=["x"], tops=["y"], axis=axis, end_axis=end_axis)
    _, (y,) = run_layer(layer, [x], backend=backend)
    np.testing.assert_array_equal(y, x.reshape(expected))
    assert check_layer(layer, [x], backend=backend).max_error < 1e-6


@pytest.mark.parametrize("layer, words", [
    (Reshape(name="r", bottoms=["x"], tops=["y"], shape=[5, -1]), ["shape", "[5, -1] cannot hold the 24 values", "(2, 3, 4)"]),
    (Reshape(name="r", bottoms=["x"], tops=["y"], shape=[7]), ["shape", "cannot hold the 24 values"]),
    (Reshape(name="r", bottoms=["x"], tops=["y"], shape=[0, 0, 0, 0]), ["shape", "0 at axis 3 copies an axis"]),
    (Flatten(name="r", bottoms=["x"], tops=["y"], axis=3), ["axis", "out of range", "(2, 3, 4)"]),
    (Flatten(name="r", bottoms=["x"], tops=["y"], axis=2, end_axis=1), ["end_axis", "comes before axis 2"]),
])
def test_shape_mistakes(layer, words):
    with pytest.raises(GraphnetError) as err:
        build(layer, (2, 3, 4))
    assert "layer 'r'" in str(err.value)
    for word in words:
        assert word in str(err.value), str(err.value)
    with pytest.raises(GraphnetError, match="layer 'r': shape: may hold -1 once"):
        Reshape(name="r", bottoms=["x"], tops=["y"], shape=[-1, -1])
