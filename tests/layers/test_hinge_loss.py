"""HingeLoss: l1 and l2 against loops, gradients away from the kink, label and shape errors."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import HingeLoss, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(p, y, norm):
    total = 0.0
    for index in np.ndindex(p.shape):
        margin = max(0.0, 1.0 - y[index] * p[index])
        total += margin if norm == "l1" else margin ** 2
    return total / len(p)


def case(shape, seed=0):
    """Scores whose margin 1 - y p is at least 0.1 away from the kink at 0."""
    rng = np.random.default_rng(seed)
    y = rng.choice([-1.0, 1.0], size=shape)
    margin = rng.uniform(0.1, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return (1.0 - margin) * y, y


def test_yaml_and_python_give_the_same_spec():
    assert (layer_from_yaml("{name: loss, type: HingeLoss, bottoms: [p, y], norm: L2}")
            == HingeLoss(name="loss", bottoms=["p", "y"], norm="l2"))
    assert HingeLoss(name="loss", bottoms=["p", "y"]).norm == "l1"


@pytest.mark.parametrize("norm", ["l1", "l2"])
@pytest.mark.parametrize("shape", [(8,), (4, 3), (2, 3, 2, 2)])
def test_forward_matches_reference(norm, shape, backend):
    p, y = case(shape)
    _, (loss,) = run_layer(HingeLoss(name="loss", bottoms=["p", "y"], norm=norm), [p, y],
                           backend=backend)
    np.testing.assert_allclose(loss, reference(p, y, norm), rtol=1e-12)


def test_forward_by_hand(backend):
    p, y = np.array([2.0, 0.5, -0.5, 0.5]), np.array([1.0, 1.0, 1.0, -1.0])
    layer = HingeLoss(name="loss", bottoms=["p", "y"])
    _, (loss,) = run_layer(layer, [p, y], backend=backend)
    assert loss == pytest.approx((0 + 0.5 + 1.5 + 1.5) / 4)
    _, (loss,) = run_layer(layer.replace(norm="l2"), [p, y], backend=backend)
    assert loss == pytest.approx((0 + 0.25 + 2.25 + 2.25) / 4)


@pytest.mark.parametrize("norm", ["l1", "l2"])
@pytest.mark.parametrize("shape", [(8,), (4, 3), (2, 3, 2, 2)])
def test_gradient(norm, shape, backend):
    layer = HingeLoss(name="loss", bottoms=["p", "y"], norm=norm)
    report = check_layer(layer, case(shape, seed=1), backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'p'"}


def test_bad_norm_is_refused():
    with pytest.raises(GraphnetError) as err:
        layer_from_yaml("{name: loss, type: HingeLoss, bottoms: [p, y], norm: l3}")
    text = str(err.value)
    assert "layer 'loss'" in text and "norm" in text and "l1, l2" in text and "'l3'" in text


def test_shapes_must_be_equal():
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["p", "y"], shapes=[[4, 2], [4, 3]]),
                  HingeLoss(name="loss", bottoms=["p", "y"])])
    text = str(err.value)
    assert "layer 'loss'" in text and "bottoms" in text and "shapes differ" in text
    assert "'p' is (4, 2)" in text and "'y' is (4, 3)" in text


def test_labels_must_be_minus_one_or_one(backend):
    with pytest.raises(GraphnetError) as err:
        run_layer(HingeLoss(name="loss", bottoms=["p", "y"]),
                  [np.zeros(3), np.array([1.0, 0.0, -1.0])], backend=backend)
    text = str(err.value)
    assert "layer 'loss'" in text and "'y'" in text and "-1 or 1" in text and "got 0" in text
