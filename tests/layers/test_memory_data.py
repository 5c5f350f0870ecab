import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Input, MemoryData
from tests.helpers import layer_from_yaml


def batches(net, count):
    out = []
    for _ in range(count):
        net.forward()
        out.append(net.blobs["x"].data[:, 0].astype(int).tolist())
    return out


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: d, type: MemoryData, tops: [x, y], batch_size: 4, "
                           "source: {type: parity, n: 10, seed: 3}}") == \
        MemoryData(name="d", tops=["x", "y"], batch_size=4, source={"type": "parity", "n": 10, "seed": 3})


def test_in_order_batches_wrap_round_and_count_epochs(backend):
    x = np.arange(10, dtype=float)[:, None]
    net = Net("d", [MemoryData(name="d", tops=["x", "y"], batch_size=4, data=[x, x * 2])], backend=backend)
    assert batches(net, 3) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    assert net.layer("d").epoch == 1
    np.testing.assert_array_equal(net.backend.to_host(net.blobs["y"].data)[:, 0], [16, 18, 0, 2])


def test_shuffle_visits_every_sample_once_per_epoch():
    x = np.arange(12, dtype=float)[:, None]
    net = Net("d", [MemoryData(name="d", tops=["x"], batch_size=4, data=[x], shuffle=True)])
    first, second = sum(batches(net, 3), []), sum(batches(net, 3), [])
    assert sorted(first) == sorted(second) == list(range(12))
    assert first != second and first != list(range(12))


def test_source_arrays_feed_the_tops():
    net = Net("d", [MemoryData(name="d", tops=["x", "y"], batch_size=5,
                               source={"type": "parity", "n": 20, "bits": 4, "noise": 0, "seed": 1})])
    net.forward()
    x, y = net.blobs["x"].data, net.blobs["y"].data
    assert x.shape == (5, 4) and y.shape == (5, 1)
    np.testing.assert_array_equal(y[:, 0], x.sum(axis=1) % 2)


@pytest.mark.parametrize("fields, words", [
    (dict(tops=["x"], batch_size=2), ["source", "give either source or data"]),
    (dict(tops=["x"], batch_size=2, data=[np.ones(3)], source="parity"), ["give either source or data"]),
    (dict(tops=["x"], batch_size=2, data=[np.ones(3), np.ones(3)]), ["data", "has 2 arrays for 1 tops"]),
    (dict(tops=["x", "y"], batch_size=2, data=[np.ones(3), np.ones(4)]), ["data", "differ in sample count: [3, 4]"]),
    (dict(tops=["x"], batch_size=2, source="parity"), ["source", "has 2 arrays for 1 tops"]),
    (dict(tops=["x", "y"], batch_size=2, source="partiy"), ["source", "unknown source 'partiy'", "did you mean 'parity'"]),
    (dict(tops=["x", "y"], batch_size=0, source="parity"), ["batch_size", "must be >= 1, got 0"]),
    (dict(tops=["x", "y"], batch_size=2, source={"type": "parity", "bits": -1}), ["source", "bits", "must be >= 1"]),
])
def test_mistakes(fields, words):
    with pytest.raises(GraphnetError) as err:
        MemoryData(name="d", **fields)
    assert str(err.value).startswith("layer 'd': ")
    for word in words:
        assert word in str(err.value), str(err.value)


def test_input_needs_one_shape_per_top():
    assert layer_from_yaml("{name: in, type: Input, tops: [x], shapes: [[1, 2]]}") == \
        Input(name="in", tops=["x"], shapes=[[1, 2]])
    with pytest.raises(GraphnetError, match=r"layer 'in': shapes: needs one shape per top \(2\), got 1"):
        Input(name="in", tops=["x", "y"], shapes=[[1, 2]])
    net = Net("n", [Input(name="in", tops=["x", "y"], shapes=[[1, 2], [3]])])
    assert net.blobs["x"].shape == (1, 2) and net.blobs["y"].shape == (3,) and net.inputs == ["x", "y"]
