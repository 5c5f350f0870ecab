import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Crop, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: c, type: Crop, bottoms: [x, ref], tops: [y], offset: 3}") == \
        Crop(name="c", bottoms=["x", "ref"], tops=["y"], axis=2, offset=[3])
    assert Crop(name="c", bottoms=["x", "ref"], tops=["y"]).offset == [0]


@pytest.mark.parametrize("x_shape, ref_shape, axis, offset, window", [
    ((2, 3, 6, 7), (2, 3, 4, 4), 2, [1], np.s_[:, :, 1:5, 1:5]),          # Caffe's default axis
    ((2, 3, 6, 7), (5, 1, 4, 5), 2, [2, 0], np.s_[:, :, 2:6, 0:5]),       # axes before `axis` keep x's size
    ((2, 3, 6, 7), (2, 2, 3, 3), 1, [1, 0, 4], np.s_[:, 1:3, 0:3, 4:7]),
    ((2, 3, 6, 7), (2, 3, 6, 2), -1, [], np.s_[:, :, :, 0:2]),            # no offset: 0
    ((4, 5), (2, 3), 0, [1], np.s_[1:3, 1:4]),
    ((2, 3, 4), (2, 3, 4), 2, [0], np.s_[:, :, :]),                       # nothing to cut
])
def test_forward_and_gradient(backend, rng, x_shape, ref_shape, axis, offset, window):
    x, ref = rng.normal(size=x_shape), rng.normal(size=ref_shape)
    layer = Crop(name="c", bottoms=["x", "ref"], tops=["y"], axis=axis, offset=offset)
    _, (y,) = run_layer(layer, [x, ref], backend=backend)
    np.testing.assert_array_equal(y, x[window])
    report = check_layer(layer, [x, ref], backend=backend)
    assert report.max_error < 1e-6, report
    assert list(report.errors) == ["bottom 'x'"]   # the reference takes no gradient


def test_the_gradient_is_zero_outside_the_crop(rng):
    x = rng.normal(size=(1, 1, 4, 4))
    net, (y,) = run_layer(Crop(name="c", bottoms=["x", "ref"], tops=["y"], offset=[1, 2]),
                          [x, np.zeros((1, 1, 2, 2))])
    net.blobs["x"].diff[...] = 7  # a stale gradient must not survive
    layer = net.layer("c")
    net.blobs["y"].diff[...] = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    layer.backward([net.blobs["y"]], [True, False], [net.blobs["x"], net.blobs["ref"]])
    expect = np.zeros((4, 4))
    expect[1:3, 2:4] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(net.blobs["x"].diff[0, 0], expect)


@pytest.mark.parametrize("fields, shapes, words", [
    (dict(offset=[1]), [(2, 3, 4, 4), (2, 3, 4, 4)],
     ["offset", "axis 2: offset 1 + size 4 of 'ref' (2, 3, 4, 4) is past the size 4 of 'x' (2, 3, 4, 4)"]),
    (dict(axis=1, offset=[0, 3, 0]), [(2, 3, 6, 4), (2, 3, 4, 4)],
     ["offset", "axis 2: offset 3 + size 4 of 'ref' (2, 3, 4, 4) is past the size 6 of 'x'"]),
    (dict(offset=[1, 1, 1]), [(2, 3, 6, 6), (2, 3, 4, 4)],
     ["offset", "needs one offset, or one per cropped axis (2), got 3"]),
    (dict(), [(2, 3, 6, 6), (2, 4, 4)],
     ["bottoms", "needs bottoms with as many axes: 'x' is (2, 3, 6, 6), 'ref' is (2, 4, 4)"]),
    (dict(axis=4), [(2, 3, 6, 6), (2, 3, 4, 4)], ["axis", "is out of range for 'x' of shape (2, 3, 6, 6)"]),
    (dict(offset=-1), None, ["offset", "must be >= 0, got -1"]),
])
def test_mistakes(fields, shapes, words):
    with pytest.raises(GraphnetError) as err:
        layer = Crop(name="c", bottoms=["x", "ref"], tops=["y"], **fields)
        Net("n", [Input(name="in", tops=["x", "ref"], shapes=[list(s) for s in shapes]), layer])
    for word in ["layer 'c'", *words]:
        assert word in str(err.value), str(err.value)


def test_two_bottoms():
    with pytest.raises(GraphnetError) as err:
        Crop(name="c", bottoms=["x"], tops=["y"])
    assert "layer 'c': bottoms: Crop takes exactly 2, got 1" in str(err.value)
