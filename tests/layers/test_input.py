import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import InnerProduct, Input
from tests.helpers import layer_from_yaml


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: in, type: Input, tops: [x, y], shapes: [[1, 2], [3]]}") == \
        Input(name="in", tops=["x", "y"], shapes=[[1, 2], [3]])


def test_one_blob_per_top_of_its_shape_holding_what_the_user_sets(backend):
    net = Net("n", [Input(name="in", tops=["x", "y"], shapes=[[1, 2], [3, 1, 2]])], backend=backend)
    assert net.blobs["x"].shape == (1, 2) and net.blobs["y"].shape == (3, 1, 2)
    assert net.inputs == ["x", "y"] and net.outputs == ["x", "y"]
    assert net.blobs["x"].data.dtype == np.float32
    np.testing.assert_array_equal(net.backend.to_host(net.blobs["y"].data), np.zeros((3, 1, 2)))
    net.blobs["x"].data[...] = net.backend.asarray(np.array([[1.5, -2.0]]))
    net.forward()
    np.testing.assert_array_equal(net.backend.to_host(net.blobs["x"].data), [[1.5, -2.0]])


def test_takes_no_gradient(rng):
    # The InnerProduct learns, but nothing flows back to the input.
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[4, 3]]),
                    InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=2, loss_weight=[1.0])],
              dtype="float64")
    assert not net.layer("in").need_backward and net.layer("ip").propagate == [False]
    net.blobs["x"].data[...] = rng.normal(size=(4, 3))
    net.forward()
    net.backward()
    assert net.params["ip"][0].diff.any()


@pytest.mark.parametrize("fields, message", [
    (dict(tops=["x", "y"], shapes=[[1, 2]]), "shapes: needs one shape per top (2), got 1"),
    (dict(tops=["x"], shapes=[[1, 2], [3]]), "shapes: needs one shape per top (1), got 2"),
    (dict(tops=["x"], shapes=[[2, 0]]), "shapes: item 0: item 1: must be >= 1, got 0"),
    (dict(tops=["x"], shapes=[[]]), "shapes: item 0: needs at least 1 item, got 0"),
    (dict(tops=["x"], shapes=[[2.5]]), "shapes: item 0: item 0: must be an integer, got 2.5"),
    (dict(tops=["x"]), "shapes: required field is missing"),
    (dict(tops=[], shapes=[[1]]), "tops: Input takes at least 1, got 0"),
    (dict(bottoms=["z"], tops=["x"], shapes=[[1]]), "bottoms: Input takes exactly 0, got 1"),
])
def test_mistakes(fields, message):
    with pytest.raises(GraphnetError) as err:
        Input(name="in", **fields)
    assert str(err.value) == f"layer 'in': {message}"
