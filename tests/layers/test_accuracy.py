"""Accuracy: hand counts, top-k, ignore_label, spatial and axis, against a loop; errors."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Accuracy, Input
from tests.helpers import layer_from_yaml, run_layer

SCORES = np.array([[0.1, 0.7, 0.2],    # ranks: class 1 first, 2 second, 0 third
                   [0.5, 0.3, 0.2],    # 0, 1, 2
                   [0.2, 0.3, 0.5],    # 2, 1, 0
                   [0.3, 0.6, 0.1]])   # 1, 0, 2
LABELS = np.array([1.0, 1.0, 0.0, 0.0])  # ranked first, second, third, second


def reference(x, labels, axis=1, top_k=1, ignore_label=None):
    x = np.moveaxis(x, axis, -1)
    labels = labels.reshape(x.shape[:-1])
    right = counted = 0
    for index in np.ndindex(labels.shape):
        y = int(labels[index])
        if y == ignore_label:
            continue
        counted += 1
        right += y in np.argsort(-x[index])[:top_k]
    return right / max(counted, 1)


def accuracy(**fields):
    return Accuracy(name="acc", bottoms=["x", "y"], **fields)


def test_yaml_and_python_give_the_same_spec():
    assert (layer_from_yaml("{name: acc, type: Accuracy, bottoms: [x, y], top_k: 5, axis: -1,"
                            " ignore_label: 255}")
            == accuracy(top_k=5, axis=-1, ignore_label=255))


@pytest.mark.parametrize("fields, expected", [
    (dict(), 1 / 4),
    (dict(top_k=2), 3 / 4),
    (dict(top_k=3), 4 / 4),
    (dict(ignore_label=0), 1 / 2),
    (dict(top_k=2, ignore_label=1), 1 / 2),
])
def test_hand_counts(fields, expected, backend):
    net, (value,) = run_layer(accuracy(**fields), [SCORES, LABELS], backend=backend)
    assert value == pytest.approx(expected)
    assert net.statistics() == {"acc": pytest.approx(expected)}


def test_everything_ignored_gives_zero(backend):
    _, (value,) = run_layer(accuracy(ignore_label=4), [SCORES, np.full(4, 4.0)], backend=backend)
    assert value == 0.0


@pytest.mark.parametrize("shape, label_shape, axis", [
    ((6, 5), (6,), 1),
    ((6, 5), (6, 1), 1),
    ((3, 5, 4, 2), (3, 4, 2), 1),
    ((3, 5, 4, 2), (3, 1, 4, 2), 1),
    ((3, 4, 5), (3, 4), 2),
    ((3, 4, 5), (3, 4), -1),
])
@pytest.mark.parametrize("top_k", [1, 3])
def test_matches_reference(shape, label_shape, axis, top_k, backend):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)                     # continuous scores: no ties
    labels = rng.integers(0, shape[axis], size=label_shape).astype(float)
    labels.flat[::5] = -1
    for ignore_label in (None, -1):
        if ignore_label is None:
            labels_here = np.where(labels < 0, 0, labels)
        else:
            labels_here = labels
        layer = accuracy(axis=axis, top_k=top_k, ignore_label=ignore_label)
        _, (value,) = run_layer(layer, [x, labels_here], backend=backend)
        assert value == pytest.approx(reference(x, labels_here, axis, top_k, ignore_label))


def test_float32_net(backend):
    _, (value,) = run_layer(accuracy(top_k=2), [SCORES, LABELS], backend=backend, dtype="float32")
    assert value.dtype == np.float32 and value == pytest.approx(3 / 4)


def message(call):
    with pytest.raises(GraphnetError) as err:
        call()
    return str(err.value)


def build(x_shape, y_shape, **fields):
    return Net("n", [Input(name="in", tops=["x", "y"], shapes=[x_shape, y_shape]),
                     accuracy(**fields)])


def test_top_k_at_most_the_classes():
    text = message(lambda: build([4, 3], [4], top_k=4))
    assert "layer 'acc'" in text and "top_k" in text and "3" in text and "got 4" in text


def test_top_k_at_least_one():
    text = message(lambda: accuracy(top_k=0))
    assert "layer 'acc'" in text and "top_k" in text and ">= 1" in text


@pytest.mark.parametrize("x_shape, y_shape", [([4, 3], [4, 3]), ([2, 3, 4], [2, 3]), ([4, 3], [5])])
def test_label_shape_must_fit_the_prediction(x_shape, y_shape):
    text = message(lambda: build(x_shape, y_shape))
    assert "layer 'acc'" in text and "bottoms" in text and "'x'" in text and "'y'" in text
    assert str(tuple(x_shape)) in text and str(tuple(y_shape)) in text


def test_axis_must_not_be_the_batch():
    text = message(lambda: build([4, 3], [3], axis=0))
    assert "layer 'acc'" in text and "axis" in text and "batch" in text


def test_labels_must_be_class_indices(backend):
    text = message(lambda: run_layer(accuracy(), [SCORES, np.array([0.0, 1.0, 3.0, 0.0])],
                                     backend=backend))
    assert "layer 'acc'" in text and "0 to 2" in text and "got 3" in text


@pytest.mark.parametrize("bad", [1.5, np.nan])
def test_labels_that_are_not_whole_numbers_are_refused(bad, backend):
    text = message(lambda: run_layer(accuracy(), [SCORES, np.array([0.0, bad, 2.0, 0.0])],
                                     backend=backend))
    assert text == f"layer 'acc': bottoms: labels must be class indices 0 to 2, got {bad:g} in 'y'"


def test_ties_count_against_the_label(backend):
    # Caffe's rule: a class scoring equal to the label's is counted as better than it.
    scores = np.array([[0.5, 0.5, 0.0],    # label 0 tied with class 1: wrong at top-1, right at top-2
                       [0.2, 0.2, 0.2],    # all tied: wrong at top-1 and top-2, right at top-3
                       [0.1, 0.9, 0.9]])   # label 1 tied with class 2
    labels = np.array([0.0, 1.0, 2.0])
    for top_k, expected in [(1, 0.0), (2, 2 / 3), (3, 1.0)]:
        _, (value,) = run_layer(accuracy(top_k=top_k), [scores, labels], backend=backend)
        assert value == pytest.approx(expected), top_k
