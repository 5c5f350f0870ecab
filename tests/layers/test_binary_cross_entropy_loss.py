"""BinaryCrossEntropyLoss: forward, the floors at p = 0 and 1, gradients to both bottoms."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import BinaryCrossEntropyLoss, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(p, y):
    total = 0.0
    for index in np.ndindex(p.shape):
        total -= y[index] * np.log(p[index]) + (1 - y[index]) * np.log(1 - p[index])
    return total / len(p)


def case(shape, soft, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, size=shape)
    if soft:
        return p, rng.uniform(0.05, 0.95, size=shape)
    return p, rng.integers(0, 2, size=shape).astype(float)


def layer():
    return BinaryCrossEntropyLoss(name="loss", bottoms=["p", "y"])


def test_yaml_and_python_give_the_same_spec():
    assert (layer_from_yaml("{name: loss, type: BinaryCrossEntropyLoss, bottoms: [p, y]}")
            == layer())


@pytest.mark.parametrize("shape", [(6,), (4, 3), (2, 3, 2, 2)])
@pytest.mark.parametrize("soft", [False, True])
def test_forward_matches_reference(shape, soft, backend):
    p, y = case(shape, soft)
    _, (loss,) = run_layer(layer(), [p, y], backend=backend)
    np.testing.assert_allclose(loss, reference(p, y), rtol=1e-12)


@pytest.mark.parametrize("shape", [(6,), (4, 3), (2, 3, 2, 2)])
def test_gradient_reaches_both_bottoms(shape, backend):
    report = check_layer(layer(), case(shape, soft=True, seed=1), backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'p'", "bottom 'y'"}


@pytest.mark.parametrize("shape", [(6,), (4, 3)])
def test_gradient_with_hard_labels(shape, backend):
    # 0/1 targets sit on the edge of the allowed range: check the prediction's gradient only
    hard = BinaryCrossEntropyLoss(name="loss", bottoms=["p", "y"], propagate_down=[True, False])
    report = check_layer(hard, case(shape, soft=False, seed=1), backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'p'"}


def test_gradients_by_hand():
    net = Net("n", [Input(name="in", tops=["p", "y"], shapes=[[2], [2]]), layer()],
              dtype="float64", force_backward=True)
    net.blobs["p"].data[...] = [0.25, 0.5]
    net.blobs["y"].data[...] = [1.0, 0.25]
    net.forward()
    net.backward()
    assert net.loss == pytest.approx(-(np.log(0.25) + np.log(0.5)) / 2)
    # dL/dp = ((1 - y)/(1 - p) - y/p) / N, dL/dy = (log(1 - p) - log p) / N
    np.testing.assert_allclose(net.blobs["p"].diff, [-2.0, 0.5])
    np.testing.assert_allclose(net.blobs["y"].diff, [np.log(3) / 2, 0.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_certain_predictions_cost_a_finite_amount(dtype, backend):
    p, y = np.array([0.0, 1.0, 1.0, 0.0]), np.array([1.0, 0.0, 1.0, 0.0])
    net, (loss,) = run_layer(layer(), [p, y], backend=backend, dtype=dtype)
    assert loss == pytest.approx(-2 * np.log(1e-12) / 4, rel=1e-5)   # two wrong, two right
    net.backward()
    assert np.isfinite(net.backend.to_host(net.blobs["p"].diff)).all()


def test_shapes_must_be_equal():
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["p", "y"], shapes=[[4, 1], [4]]), layer()])
    text = str(err.value)
    assert "layer 'loss'" in text and "bottoms" in text and "shapes differ" in text
    assert "'p' is (4, 1)" in text and "'y' is (4,)" in text


@pytest.mark.parametrize("bad", [-1.0, 2.0])
def test_targets_must_lie_in_0_1(bad, backend):
    with pytest.raises(GraphnetError) as err:
        run_layer(layer(), [np.full(3, 0.5), np.array([0.0, bad, 1.0])], backend=backend)
    text = str(err.value)
    assert "layer 'loss'" in text and "'y'" in text and "[0, 1]" in text and f"got {bad:g}" in text


@pytest.mark.parametrize("bad", [np.nextafter(1.0, 2.0), np.nextafter(0.0, -1.0)])
def test_targets_just_outside_0_1_are_caught(bad):
    with pytest.raises(GraphnetError) as err:
        run_layer(layer(), [np.full(3, 0.5), np.array([0.0, bad, 1.0])])
    assert f"got {bad:g}" in str(err.value)


def test_a_nan_target_is_caught(backend):
    with pytest.raises(GraphnetError) as err:
        run_layer(layer(), [np.full(3, 0.5), np.array([0.0, np.nan, 1.0])], backend=backend)
    assert str(err.value) == "layer 'loss': bottoms: targets must lie in [0, 1], got nan in 'y'"
