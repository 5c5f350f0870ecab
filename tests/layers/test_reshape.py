import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Flatten, Input, ReLU, Reshape, Sigmoid
from graphnet.testing import check_gradients, check_layer
from tests.helpers import layer_from_yaml, run_layer


def build(layer, shape=(2, 3, 4)):
    return Net("n", [Input(name="in", tops=["x"], shapes=[list(shape)]), layer])


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: r, type: Reshape, bottoms: [x], tops: [y], shape: [0, -1]}") == \
        Reshape(name="r", bottoms=["x"], tops=["y"], shape=[0, -1])
    assert layer_from_yaml("{name: f, type: Flatten, bottoms: [x], tops: [y], axis: 2}") == \
        Flatten(name="f", bottoms=["x"], tops=["y"], axis=2)
    flat = layer_from_yaml("{name: f, type: Flatten, bottoms: [x], tops: [y]}")
    assert (flat.axis, flat.end_axis) == (1, -1)


@pytest.mark.parametrize("shape, expected", [
    ([0, -1], (2, 12)), ([4, 0, -1], (4, 3, 2)), ([2, 3, 2, 2], (2, 3, 2, 2)), ([-1], (24,)),
    ([0, 0, 4, 1], (2, 3, 4, 1)), ([-1, 8], (3, 8)), ([1, -1, 0], (1, 6, 4)),
])
def test_reshape(backend, rng, shape, expected):
    x = rng.normal(size=(2, 3, 4))
    layer = Reshape(name="r", bottoms=["x"], tops=["y"], shape=shape)
    net, (y,) = run_layer(layer, [x], backend=backend)
    assert net.blobs["y"].shape == expected
    # Values keep their row-major order: element k of x is element k of y.
    np.testing.assert_array_equal(y.ravel(), x.ravel())
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert report.checked["bottom 'x'"] == x.size


@pytest.mark.parametrize("axis, end_axis, expected", [
    (1, -1, (2, 60)), (0, 1, (6, 4, 5)), (2, 3, (2, 3, 20)), (-2, -1, (2, 3, 20)),
    (1, 1, (2, 3, 4, 5)), (0, -1, (120,)), (-4, 2, (24, 5)),
])
def test_flatten(backend, rng, axis, end_axis, expected):
    x = rng.normal(size=(2, 3, 4, 5))
    layer = Flatten(name="f", bottoms=["x"], tops=["y"], axis=axis, end_axis=end_axis)
    net, (y,) = run_layer(layer, [x], backend=backend)
    assert net.blobs["y"].shape == expected
    np.testing.assert_array_equal(y.ravel(), x.ravel())
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


@pytest.mark.parametrize("layer", [Reshape(name="v", bottoms=["x"], tops=["y"], shape=[0, -1]),
                                   Flatten(name="v", bottoms=["x"], tops=["y"])])
def test_top_is_a_view_of_the_bottom(layer):
    net, _ = run_layer(layer, [np.ones((2, 3, 4))])
    assert np.shares_memory(net.blobs["y"].data, net.blobs["x"].data)
    # New input values show through at the next forward, with nothing copied.
    net.blobs["x"].data[...] = np.arange(24).reshape(2, 3, 4)
    net.forward()
    np.testing.assert_array_equal(net.blobs["y"].data, np.arange(24).reshape(2, 12))


def test_backward_reshapes_the_top_diff():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3, 4]]),
                    Reshape(name="r", bottoms=["x"], tops=["y"], shape=[4, -1])],
              dtype="float64", force_backward=True)
    net.forward()
    dy = np.arange(24.0).reshape(4, 6)
    for _ in range(2):  # the bottom's diff is overwritten, not added to
        net.backward(top_diffs={"y": dy})
    np.testing.assert_array_equal(net.blobs["x"].diff, dy.reshape(2, 3, 4))


# An in-place layer on a view's top changes the view's bottom too, which the bottom's
# producer (here a Sigmoid, whose backward reads its top) then reads in backward.
@pytest.mark.parametrize("view", [Reshape(name="v", bottoms=["h"], tops=["v"], shape=[0, -1]),
                                  Flatten(name="v", bottoms=["h"], tops=["v"])])
def test_in_place_layer_after_a_view(rng, view):
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                    Sigmoid(name="s", bottoms=["x"], tops=["h"]), view,
                    Sigmoid(name="s2", bottoms=["v"], tops=["v"])], dtype="float64",
              force_backward=True)
    net.blobs["x"].data[...] = rng.normal(size=(2, 3))
    report = check_gradients(net)
    assert report.max_error < 1e-6, report


def test_in_place_layer_after_a_view_leaves_other_readers_alone():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                    Reshape(name="r", bottoms=["x"], tops=["v"], shape=[-1]),
                    ReLU(name="relu", bottoms=["v"], tops=["v"]),
                    Reshape(name="r2", bottoms=["x"], tops=["w"], shape=[3, 2])], dtype="float64")
    x = np.array([[1.0, -2, 3], [-4, 5, -6]])
    net.blobs["x"].data[...] = x
    net.forward()
    np.testing.assert_array_equal(net.blobs["v"].data, np.maximum(x, 0).ravel())
    np.testing.assert_array_equal(net.blobs["w"].data, x.reshape(3, 2))


@pytest.mark.parametrize("layer, field, words", [
    (Reshape(name="r", bottoms=["x"], tops=["y"], shape=[5, -1]), "shape",
     ["[5, -1] cannot hold the 24 values of 'x' of shape (2, 3, 4)"]),
    (Reshape(name="r", bottoms=["x"], tops=["y"], shape=[7]), "shape", ["[7] cannot hold the 24 values"]),
    (Reshape(name="r", bottoms=["x"], tops=["y"], shape=[0, 0, 5]), "shape", ["[0, 0, 5] cannot hold"]),
    (Reshape(name="r", bottoms=["x"], tops=["y"], shape=[0, 0, 0, 0]), "shape",
     ["0 at axis 3 copies an axis that 'x' of shape (2, 3, 4) does not have"]),
    (Flatten(name="r", bottoms=["x"], tops=["y"], axis=3), "axis",
     ["out of range for 'x' of shape (2, 3, 4), got 3"]),
    (Flatten(name="r", bottoms=["x"], tops=["y"], axis=-4), "axis", ["out of range", "got -4"]),
    (Flatten(name="r", bottoms=["x"], tops=["y"], end_axis=5), "end_axis", ["out of range", "got 5"]),
    (Flatten(name="r", bottoms=["x"], tops=["y"], axis=2, end_axis=1), "end_axis",
     ["1 comes before axis 2 in shape (2, 3, 4)"]),
])
def test_shape_mistakes(layer, field, words):
    with pytest.raises(GraphnetError) as err:
        build(layer)
    assert f"layer 'r': {field}: " in str(err.value)
    for word in words:
        assert word in str(err.value), str(err.value)


@pytest.mark.parametrize("fields, message", [
    (dict(shape=[-1, -1]), "shape: may hold -1 only once, got [-1, -1]"),
    (dict(shape=[2, -2]), "shape: item 1: must be >= -1, got -2"),
    (dict(shape=[]), "shape: needs at least 1 item, got 0"),
    (dict(), "shape: required field is missing"),
    (dict(shape=[-1], bottoms=["x", "z"]), "bottoms: Reshape takes exactly 1, got 2"),
])
def test_reshape_field_mistakes(fields, message):
    with pytest.raises(GraphnetError) as err:
        Reshape(**{"name": "r", "bottoms": ["x"], "tops": ["y"], **fields})
    assert str(err.value) == f"layer 'r': {message}"


def test_flatten_field_mistakes():
    with pytest.raises(GraphnetError, match="layer 'f': axis: must be an integer, got 1.5"):
        Flatten(name="f", bottoms=["x"], tops=["y"], axis=1.5)
    with pytest.raises(GraphnetError, match="layer 'f': tops: Flatten takes exactly 1, got 2"):
        Flatten(name="f", bottoms=["x"], tops=["y", "z"])
