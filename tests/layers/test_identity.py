import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Identity, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: i, type: Identity, bottoms: [a, b], tops: [c, d]}") == \
        Identity(name="i", bottoms=["a", "b"], tops=["c", "d"])


@pytest.mark.parametrize("shapes", [[(2, 3)], [(2, 3), (4,)], [(1, 2, 3), (3,), (2, 2)]])
def test_tops_are_the_bottoms_without_a_copy(backend, rng, shapes):
    arrays = [rng.normal(size=s) for s in shapes]
    bottoms, tops = [f"x{i}" for i in range(len(shapes))], [f"y{i}" for i in range(len(shapes))]
    layer = Identity(name="i", bottoms=bottoms, tops=tops)
    net, outputs = run_layer(layer, arrays, backend=backend)
    for bottom, top, array, output in zip(bottoms, tops, arrays, outputs):
        np.testing.assert_array_equal(output, array)
        assert net.blobs[top].data is net.blobs[bottom].data
    report = check_layer(layer, arrays, backend=backend)
    assert report.max_error < 1e-6, report
    assert sorted(report.errors) == sorted(f"bottom '{b}'" for b in bottoms)


def test_backward_copies_each_diff_back():
    net = Net("n", [Input(name="in", tops=["a", "b"], shapes=[[2, 3], [4]]),
                    Identity(name="i", bottoms=["a", "b"], tops=["c", "d"])],
              dtype="float64", force_backward=True)
    net.forward()
    dc, dd = np.arange(6.0).reshape(2, 3), -np.arange(4.0)
    for _ in range(2):  # the bottoms' diffs are overwritten, not added to
        net.backward(top_diffs={"c": dc, "d": dd})
    np.testing.assert_array_equal(net.blobs["a"].diff, dc)
    np.testing.assert_array_equal(net.blobs["b"].diff, dd)
    assert not np.shares_memory(net.blobs["a"].diff, net.blobs["c"].diff)


@pytest.mark.parametrize("fields, message", [
    (dict(bottoms=["a", "b"], tops=["c"]), "tops: needs one top per bottom (2), got 1"),
    (dict(bottoms=["a"], tops=["c", "d"]), "tops: needs one top per bottom (1), got 2"),
    (dict(bottoms=[], tops=["c"]), "bottoms: Identity takes at least 1, got 0"),
])
def test_field_mistakes(fields, message):
    with pytest.raises(GraphnetError) as err:
        Identity(name="i", **fields)
    assert str(err.value) == f"layer 'i': {message}"


def test_cannot_run_in_place():
    with pytest.raises(GraphnetError, match="layer 'i': tops: top 'a' is also a bottom, but "
                                            "Identity cannot run in place"):
        Net("n", [Input(name="in", tops=["a"], shapes=[[2]]), Identity(name="i", bottoms=["a"], tops=["a"])])
