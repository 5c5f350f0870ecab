import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Dropout, Input, ReLU
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def dropout(**fields):
    return Dropout(name="drop", **{"bottoms": ["x"], "tops": ["y"], **fields})


def message(call):
    with pytest.raises(GraphnetError) as err:
        call()
    return str(err.value)


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: drop, type: Dropout, bottoms: [x], tops: [y], ratio: 0.3}") == \
        dropout(ratio=0.3)
    assert dropout().ratio == 0.5


@pytest.mark.parametrize("ratio", [0.2, 0.5, 0.8])
def test_train_forward_matches_the_generator(backend, rng, ratio):
    x = rng.normal(size=(4, 3, 5))
    net, (y,) = run_layer(dropout(ratio=ratio), [x], backend=backend)
    if backend == "numpy":
        # The mask is the seed-0 generator's first draws (the Input layer draws nothing).
        u = np.random.default_rng(0).random(x.shape)
        np.testing.assert_allclose(y, np.where(u >= ratio, x / (1 - ratio), 0.0), rtol=1e-12)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - ratio), rtol=1e-12)
    mask = net.backend.to_host(net.layer("drop").mask)
    np.testing.assert_allclose(mask, kept / (1 - ratio))
    assert mask.dtype == np.float64


@pytest.mark.parametrize("ratio", [0.1, 0.5, 0.9])
def test_kept_fraction_and_expectation(backend, ratio):
    x = np.full((1000, 200), 3.0, dtype=np.float32)
    _, (y,) = run_layer(dropout(ratio=ratio), [x], backend=backend, dtype="float32")
    assert y.dtype == np.float32
    n = x.size
    sd = np.sqrt(ratio * (1 - ratio) / n)
    assert abs((y != 0).mean() - (1 - ratio)) < 5 * sd
    assert abs(y.mean() - 3.0) < 5 * 3.0 * sd / (1 - ratio)


def test_fresh_mask_each_forward(rng):
    x = rng.normal(size=(50, 20))
    net, (first,) = run_layer(dropout(), [x])
    first = first.copy()
    net.forward()
    assert not np.array_equal(first != 0, net.blobs["y"].data != 0)


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("ratio", [0.3, 0.7])
def test_gradient_holds_the_mask(backend, rng, ratio, inplace):
    layer = dropout(ratio=ratio, tops=["x"] if inplace else ["y"])
    x = rng.normal(size=(3, 4, 5))
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert report.checked["bottom 'x'"] == 60
    # Mask and gradient agree: dL/dx = dy * mask, zero where dropped.
    net = report.net
    dx = net.backend.to_host(net.blobs["x"].diff)
    mask = net.backend.to_host(net.layer("drop").mask)
    assert (dx[mask == 0] == 0).all() and (mask == 0).any()


@pytest.mark.parametrize("inplace", [False, True])
def test_test_phase_is_the_identity(backend, rng, inplace):
    x = rng.normal(size=(4, 6))
    layer = dropout(ratio=0.6, tops=["x"] if inplace else ["y"])
    _, (y,) = run_layer(layer, [x], backend=backend, phase="test")
    np.testing.assert_array_equal(y, x)
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[4, 6]]), layer], phase="test",
              backend=backend, dtype="float64", force_backward=True)
    net.blobs["x"].data[...] = net.backend.asarray(x)
    net.forward()
    dy = rng.normal(size=(4, 6))
    net.backward(top_diffs={"x" if inplace else "y": dy})
    np.testing.assert_array_equal(net.backend.to_host(net.blobs["x"].diff), dy)


def test_in_place_after_relu(rng):
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[20, 30]]),
                    ReLU(name="relu", bottoms=["x"], tops=["x"]),
                    dropout(tops=["x"])], dtype="float64")
    x = rng.normal(size=(20, 30))
    net.blobs["x"].data[...] = x
    net.forward()
    mask = net.layer("drop").mask
    np.testing.assert_allclose(net.blobs["x"].data, np.maximum(x, 0) * mask)


def test_mask_repeats_after_restoring_the_generator(rng):
    x = rng.normal(size=(10, 10))
    net, (first,) = run_layer(dropout(), [x])
    first = first.copy()
    state = net.backend.rng_state()
    net.forward()
    second = net.blobs["y"].data.copy()
    net.backend.set_rng_state(state)
    net.forward()
    np.testing.assert_array_equal(net.blobs["y"].data, second)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("ratio, words", [(0, "must be > 0, got 0"), (1, "must be < 1, got 1"),
                                          (1.5, "must be < 1"), (-0.1, "must be > 0"),
                                          ("half", "must be a number, got 'half'")])
def test_ratio_must_be_between_zero_and_one(ratio, words):
    text = message(lambda: dropout(ratio=ratio))
    assert "layer 'drop'" in text and "ratio" in text and words in text, text


def test_one_bottom_and_one_top():
    text = message(lambda: dropout(bottoms=["x", "z"]))
    assert "layer 'drop'" in text and "bottoms" in text and "exactly 1, got 2" in text
    text = message(lambda: dropout(tops=["y", "z"]))
    assert "layer 'drop'" in text and "tops" in text and "exactly 1, got 2" in text


def test_unknown_field():
    text = message(lambda: dropout(dropout_ratio=0.3))
    assert "layer 'drop'" in text and "dropout_ratio" in text and "unknown field" in text
