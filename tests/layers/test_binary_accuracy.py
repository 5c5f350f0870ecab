"""BinaryAccuracy: hand counts for 0/1 and -1/1 labels, a loop reference, shape errors."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import BinaryAccuracy, Input
from tests.helpers import layer_from_yaml, run_layer


def binary_accuracy(**fields):
    return BinaryAccuracy(name="acc", bottoms=["p", "y"], **fields)


def test_yaml_and_python_give_the_same_spec():
    assert (layer_from_yaml("{name: acc, type: BinaryAccuracy, bottoms: [p, y], threshold: 0}")
            == binary_accuracy(threshold=0.0))
    assert binary_accuracy().threshold == 0.5


def test_probabilities_and_0_1_labels(backend):
    p = np.array([0.9, 0.2, 0.6, 0.4, 0.1])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.0])      # right, right, wrong, wrong, right
    net, (value,) = run_layer(binary_accuracy(), [p, y], backend=backend)
    assert value == pytest.approx(3 / 5)
    assert net.statistics() == {"acc": pytest.approx(3 / 5)}


def test_scores_and_minus_one_one_labels(backend):
    p = np.array([[2.0, -0.5], [-3.0, 0.25]])
    y = np.array([[1.0, 1.0], [-1.0, 1.0]])       # right, wrong, right, right
    _, (value,) = run_layer(binary_accuracy(threshold=0), [p, y], backend=backend)
    assert value == pytest.approx(3 / 4)


def test_a_value_at_the_threshold_counts_as_below(backend):
    p, y = np.array([0.5, 0.5, 1.0]), np.array([0.0, 0.0, 0.5])   # right, right, wrong
    _, (value,) = run_layer(binary_accuracy(), [p, y], backend=backend)
    assert value == pytest.approx(2 / 3)


@pytest.mark.parametrize("shape", [(10,), (4, 3), (2, 3, 2, 2)])
def test_matches_reference(shape, backend):
    rng = np.random.default_rng(0)
    p, y = rng.uniform(size=shape), rng.integers(0, 2, size=shape).astype(float)
    right = sum((p[i] > 0.5) == (y[i] > 0.5) for i in np.ndindex(shape))
    _, (value,) = run_layer(binary_accuracy(), [p, y], backend=backend)
    assert value == pytest.approx(right / p.size)


def test_shapes_must_be_equal():
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["p", "y"], shapes=[[4, 1], [4]]), binary_accuracy()])
    text = str(err.value)
    assert "layer 'acc'" in text and "bottoms" in text and "shapes differ" in text
    assert "'p' is (4, 1)" in text and "'y' is (4,)" in text


def test_threshold_must_be_a_number():
    with pytest.raises(GraphnetError) as err:
        binary_accuracy(threshold="half")
    assert "layer 'acc'" in str(err.value) and "threshold" in str(err.value)
    assert "number" in str(err.value)
