import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Concat, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def concat_reference(arrays, axis):
    """Bottom after bottom along `axis`, element by element."""
    axis %= arrays[0].ndim
    shape = list(arrays[0].shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    out = np.empty(shape)
    offset = 0
    for a in arrays:
        for index in np.ndindex(*a.shape):
            moved = index[:axis] + (index[axis] + offset,) + index[axis + 1:]
            out[moved] = a[index]
        offset += a.shape[axis]
    return out


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: c, type: Concat, bottoms: [a, b], tops: [y], axis: 0}") == \
        Concat(name="c", bottoms=["a", "b"], tops=["y"], axis=0)
    assert layer_from_yaml("{name: c, type: Concat, bottoms: [a, b], tops: [y]}").axis == 1


@pytest.mark.parametrize("axis, shapes", [
    (1, [(2, 3, 4), (2, 1, 4), (2, 2, 4)]), (0, [(1, 3), (2, 3)]), (-1, [(2, 3, 1), (2, 3, 5)]),
    (-3, [(2, 3, 1), (1, 3, 1)]), (2, [(2, 1, 3), (2, 1, 2)]), (1, [(2, 3)]), (0, [(3,), (2,), (1,)]),
])
def test_forward_and_gradient(backend, rng, axis, shapes):
    arrays = [rng.normal(size=s) for s in shapes]
    layer = Concat(name="c", bottoms=[f"x{i}" for i in range(len(arrays))], tops=["y"], axis=axis)
    _, (y,) = run_layer(layer, arrays, backend=backend)
    np.testing.assert_array_equal(y, concat_reference(arrays, axis))
    report = check_layer(layer, arrays, backend=backend)
    assert report.max_error < 1e-6, report
    assert sorted(report.errors) == sorted(f"bottom 'x{i}'" for i in range(len(arrays)))


def test_backward_splits_the_top_diff(backend):
    net = Net("n", [Input(name="in", tops=["a", "b"], shapes=[[2, 1], [2, 3]]),
                    Concat(name="c", bottoms=["a", "b"], tops=["y"])],
              backend=backend, dtype="float64", force_backward=True)
    net.forward()
    dy = np.arange(8.0).reshape(2, 4)
    for _ in range(2):  # the bottoms' diffs are overwritten, not added to
        net.backward(top_diffs={"y": dy})
    to_host = net.backend.to_host
    np.testing.assert_array_equal(to_host(net.blobs["a"].diff), dy[:, :1])
    np.testing.assert_array_equal(to_host(net.blobs["b"].diff), dy[:, 1:])


def test_a_blob_joined_twice_gets_both_gradients(rng):
    a = rng.normal(size=(2, 3))
    layer = Concat(name="c", bottoms=["a", "a"], tops=["y"], axis=0)
    _, (y,) = run_layer(layer, [a])
    np.testing.assert_array_equal(y, np.vstack([a, a]))
    report = check_layer(layer, [a])
    assert report.max_error < 1e-6, report
    net = report.net
    dy = np.arange(12.0).reshape(4, 3)
    net.backward(top_diffs={"y": dy})
    np.testing.assert_array_equal(net.blobs["a"].diff, dy[:2] + dy[2:])


@pytest.mark.parametrize("shapes, axis, message", [
    ([[2, 3, 4], [2, 3, 5]], 1, "bottoms: shapes differ off axis 1: 'a' is (2, 3, 4), 'b' is (2, 3, 5)"),
    ([[2, 3, 4], [5, 3, 4]], -2, "bottoms: shapes differ off axis 1: 'a' is (2, 3, 4), 'b' is (5, 3, 4)"),
    ([[2, 3], [2, 3, 1]], 1, "bottoms: shapes differ off axis 1: 'a' is (2, 3), 'b' is (2, 3, 1)"),
    ([[2, 3], [2, 3]], 2, "axis: is out of range for 'a' of shape (2, 3), got 2"),
    ([[2, 3], [2, 3]], -3, "axis: is out of range for 'a' of shape (2, 3), got -3"),
])
def test_shape_mistakes(shapes, axis, message):
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["a", "b"], shapes=shapes),
                  Concat(name="c", bottoms=["a", "b"], tops=["y"], axis=axis)])
    assert f"layer 'c': {message}" in str(err.value)


def test_field_mistakes():
    with pytest.raises(GraphnetError, match=r"layer 'c': bottoms: Concat takes at least 1, got 0"):
        Concat(name="c", tops=["y"])
    with pytest.raises(GraphnetError, match=r"layer 'c': tops: Concat takes exactly 1, got 2"):
        Concat(name="c", bottoms=["a"], tops=["y", "z"])
    with pytest.raises(GraphnetError, match=r"layer 'c': axis: must be an integer, got 'x'"):
        Concat(name="c", bottoms=["a"], tops=["y"], axis="x")
