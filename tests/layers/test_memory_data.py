import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.datasets.synthetic import Parity
from graphnet.layers import InnerProduct, MemoryData, SquareLoss
from graphnet.testing import check_gradients
from tests.helpers import layer_from_yaml


def served(net, count, top="x"):
    """The first column of `top` in each of the next `count` batches, as ints."""
    out = []
    for _ in range(count):
        net.forward()
        out.append(net.backend.to_host(net.blobs[top].data)[:, 0].astype(int).tolist())
    return out


def numbered(n, batch_size, backend=None, seed=0, **fields):
    """A net serving x = [[0], [1], ..., [n - 1]] and y = 10 x."""
    x = np.arange(n, dtype=float)[:, None]
    return Net("d", [MemoryData(name="d", tops=["x", "y"], batch_size=batch_size, data=[x, 10 * x],
                                **fields)], backend=backend, seed=seed)


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: d, type: MemoryData, tops: [x, y], batch_size: 4, "
                           "source: {type: parity, n: 10, seed: 3}, shuffle: true}") == \
        MemoryData(name="d", tops=["x", "y"], batch_size=4, source={"type": "parity", "n": 10, "seed": 3},
                   shuffle=True)
    x = np.ones((3, 2))
    assert MemoryData(name="d", tops=["x"], batch_size=2, data=[x]) == \
        MemoryData(name="d", tops=["x"], batch_size=2, data=[x.tolist()])


def test_batches_come_in_order_and_wrap_round_counting_epochs(backend):
    net = numbered(10, 4, backend)
    assert net.blobs["x"].shape == (4, 1) and net.blobs["y"].shape == (4, 1)
    assert net.layer("d").epoch == 0
    assert served(net, 2) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert net.layer("d").epoch == 0
    assert served(net, 1) == [[8, 9, 0, 1]]
    assert net.layer("d").epoch == 1
    np.testing.assert_array_equal(net.backend.to_host(net.blobs["y"].data)[:, 0], [80, 90, 0, 10])
    assert served(net, 2) == [[2, 3, 4, 5], [6, 7, 8, 9]]
    assert net.layer("d").epoch == 2


def test_a_batch_larger_than_the_data_wraps_round_more_than_once():
    net = numbered(3, 7)
    assert served(net, 1) == [[0, 1, 2, 0, 1, 2, 0]]
    assert net.layer("d").epoch == 2


def test_source_arrays_feed_the_tops_in_order(backend):
    net = Net("d", [MemoryData(name="d", tops=["x", "y"], batch_size=4,
                               source={"type": "parity", "n": 10, "seed": 3})], backend=backend)
    x, y = Parity(n=10, seed=3).arrays()
    rows = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    for k, index in enumerate(rows):
        net.forward()
        np.testing.assert_array_equal(net.backend.to_host(net.blobs["x"].data), x[index])
        np.testing.assert_array_equal(net.backend.to_host(net.blobs["y"].data), y[index])
        assert net.layer("d").epoch == (k == 2)
    assert net.blobs["x"].shape == (4, 3) and net.blobs["y"].shape == (4, 1)


def test_shuffle_visits_every_sample_once_per_epoch_in_a_new_order(backend):
    net = numbered(10, 4, backend, shuffle=True)
    seen = sum(served(net, 5), [])  # 20 samples: two epochs, the third batch spans both
    first, second = seen[:10], seen[10:]
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second and first != list(range(10))
    assert net.layer("d").epoch == 2
    # y stays paired with x.
    np.testing.assert_array_equal(net.backend.to_host(net.blobs["y"].data),
                                  10 * net.backend.to_host(net.blobs["x"].data))


def test_shuffle_order_follows_the_net_seed():
    orders = [sum(served(numbered(10, 5, seed=seed, shuffle=True), 4), []) for seed in (1, 1, 2)]
    assert orders[0] == orders[1] != orders[2]


def test_data_is_converted_to_the_net_dtype():
    net = Net("d", [MemoryData(name="d", tops=["x"], batch_size=2, data=[np.array([[1, 2], [3, 4]])])])
    net.forward()
    assert net.blobs["x"].data.dtype == np.float32
    np.testing.assert_array_equal(net.blobs["x"].data, [[1, 2], [3, 4]])


def test_data_takes_no_gradient_and_holds_still_for_the_checker():
    net = Net("d", [MemoryData(name="d", tops=["x", "y"], batch_size=4,
                               source={"type": "linear", "n": 8, "dim": 3, "seed": 2}),
                    InnerProduct(name="ip", bottoms=["x"], tops=["p"], output_dim=1),
                    SquareLoss(name="loss", bottoms=["p", "y"])], dtype="float64")
    assert not net.layer("d").need_backward and net.layer("ip").propagate == [False]
    report = check_gradients(net)
    assert report.max_error < 1e-6, report
    assert sorted(report.errors) == ["param 'ip/bias'", "param 'ip/weight'"]


@pytest.mark.parametrize("fields, words", [
    (dict(tops=["x"], batch_size=2), ["source", "give either source or data"]),
    (dict(tops=["x"], batch_size=2, data=[np.ones(3)], source="parity"), ["give either source or data"]),
    (dict(tops=["x"], batch_size=2, data=[np.ones(3), np.ones(3)]), ["data", "has 2 arrays for 1 tops"]),
    (dict(tops=["x", "y"], batch_size=2, data=[np.ones(3), np.ones(4)]),
     ["data", "differ in sample count: [3, 4]"]),
    (dict(tops=["x"], batch_size=2, source="parity"), ["source", "has 2 arrays for 1 tops"]),
    (dict(tops=["x", "y"], batch_size=2, source={"type": "partiy"}),
     ["source", "unknown source 'partiy'", "did you mean 'parity'"]),
    (dict(tops=["x", "y"], batch_size=2, source={"type": "parity", "bits": -1}),
     ["source", "bits", "must be >= 1"]),
    (dict(tops=["x", "y"], batch_size=0, source="parity"), ["batch_size", "must be >= 1, got 0"]),
    (dict(tops=["x", "y"], batch_size=2.5, source="parity"), ["batch_size", "must be an integer, got 2.5"]),
    (dict(tops=["x", "y"], source="parity"), ["batch_size", "required field is missing"]),
    (dict(tops=["x"], batch_size=2, data=[["a", "b"]]), ["data", "item 0", "must be numeric arrays"]),
    (dict(tops=["x"], batch_size=2, data=[np.float64(3.0)]),
     ["data", "item 0", "samples along the first axis"]),
    (dict(tops=["x"], batch_size=2, bottoms=["z"], source="parity"), ["bottoms", "takes exactly 0, got 1"]),
])
def test_mistakes(fields, words):
    with pytest.raises(GraphnetError) as err:
        MemoryData(name="d", **fields)
    assert str(err.value).startswith("layer 'd': ")
    for word in words:
        assert word in str(err.value), str(err.value)


def test_batches_are_views_yet_nothing_changes_the_samples():
    from graphnet.layers import ReLU
    x = np.array([[-1.0], [2.0], [-3.0], [4.0]])
    kept = x.copy()
    net = Net("d", [MemoryData(name="d", tops=["x"], batch_size=2, data=[x]),
                    ReLU(name="relu", bottoms=["x"], tops=["x"])], dtype="float64")
    for _ in range(2):  # two epochs: the ReLU in place on x gets a copy, not the samples
        for want in ([[0.0], [2.0]], [[0.0], [4.0]]):
            net.forward()
            np.testing.assert_array_equal(net.blobs["x"].data, want)
    np.testing.assert_array_equal(net.layer("d").samples[0], kept)
    net.blobs["x"].data[...] = 7.0   # as a gradient check does: our own copy, never the user's array
    np.testing.assert_array_equal(x, kept)


def test_a_product_range_beyond_floats_is_refused():
    with pytest.raises(GraphnetError) as err:
        MemoryData(name="d", tops=["x", "y"], batch_size=2,
                   source={"type": "product", "low": -1.7e308, "high": 1.7e308})
    assert str(err.value) == ("layer 'd': source: high - low must be a finite number, "
                              "got 1.7e+308 - -1.7e+308")


def test_loading_a_netdef_makes_no_source():
    # A big source is made when the net is built, after its size is checked, not when read.
    layer = MemoryData(name="d", tops=["x", "y"], batch_size=2, source={"type": "parity", "n": 2 ** 40})
    assert layer.shapes() == [(2 ** 40, 3), (2 ** 40, 1)]
