"""Slice: Caffe's cut along an axis, against plain indexing; gradient; the inverse of Concat."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Concat, Input, Slice
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def slice_reference(x, axis, points, k):
    """Element by element: top i holds x's indices [edges[i], edges[i+1]) along axis."""
    axis %= x.ndim
    size = x.shape[axis]
    edges = [0, *(points or [size // k * i for i in range(1, k)]), size]
    tops = []
    for start, end in zip(edges[:-1], edges[1:]):
        shape = list(x.shape)
        shape[axis] = end - start
        top = np.empty(shape)
        for index in np.ndindex(*shape):
            top[index] = x[index[:axis] + (index[axis] + start,) + index[axis + 1:]]
        tops.append(top)
    return tops


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: s, type: Slice, bottoms: [x], tops: [a, b], slice_points: [2]}") \
        == Slice(name="s", bottoms=["x"], tops=["a", "b"], slice_points=[2])
    assert Slice(name="s", bottoms=["x"], tops=["a"]).axis == 1


@pytest.mark.parametrize("shape, axis, points, k", [
    ((2, 6, 3), 1, [1, 4], 3), ((2, 6, 3), 1, [], 3), ((4, 3), 0, [3], 2), ((2, 3, 5), -1, [2], 2),
    ((2, 4), 1, [], 1), ((3, 2, 4), 2, [1, 2, 3], 4),
])
def test_forward_and_gradient(backend, rng, shape, axis, points, k):
    x = rng.normal(size=shape)
    layer = Slice(name="s", bottoms=["x"], tops=[f"y{i}" for i in range(k)], axis=axis,
                  slice_points=points)
    _, tops = run_layer(layer, [x], backend=backend)
    for top, expected in zip(tops, slice_reference(x, axis, points, k)):
        np.testing.assert_array_equal(top, expected)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


def test_concat_undoes_slice(rng):
    x = rng.normal(size=(2, 7, 3))
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 7, 3]]),
                    Slice(name="s", bottoms=["x"], tops=["a", "b", "c"], slice_points=[2, 3]),
                    Concat(name="c", bottoms=["a", "b", "c"], tops=["y"])], dtype="float64")
    net.blobs["x"].data[...] = x
    net.forward()
    np.testing.assert_array_equal(net.blobs["y"].data, x)
    assert net.blobs["b"].data.shape == (2, 1, 3)


@pytest.mark.parametrize("fields, message", [
    (dict(slice_points=[2, 2], tops=["a", "b", "c"]), "slice_points: must increase strictly and lie "
     "inside axis 1 of 'x' (2, 6) (1 to 5), got [2, 2]"),
    (dict(slice_points=[6]), "slice_points: must increase strictly"),
    (dict(slice_points=[1, 2]), "slice_points: needs one point fewer than tops (1), got 2"),
    (dict(tops=["a", "b", "c", "d"]), "tops: axis 1 of 'x' (2, 6) does not split into 4 equal parts"),
    (dict(axis=2), "axis: is out of range for 'x' of shape (2, 6), got 2"),
])
def test_mistakes(fields, message):
    fields = {"tops": ["a", "b"], **fields}
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["x"], shapes=[[2, 6]]),
                  Slice(name="s", bottoms=["x"], **fields)])
    assert f"layer 's': {message}" in str(err.value)
