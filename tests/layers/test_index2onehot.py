import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Index2Onehot, Input
from tests.helpers import layer_from_yaml, run_layer


def onehot(**fields):
    return Index2Onehot(name="oh", **{"bottoms": ["label"], "tops": ["y"], "n_class": 4, **fields})


def message(call):
    with pytest.raises(GraphnetError) as err:
        call()
    return str(err.value)


def reference(labels, n_class):
    """One-hot along axis 1, filled position by position."""
    flat = labels.reshape(len(labels), -1)
    out = np.zeros((len(labels), n_class, flat.shape[1]))
    for n in range(flat.shape[0]):
        for p in range(flat.shape[1]):
            out[n, int(flat[n, p]), p] = 1
    return out


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: oh, type: Index2Onehot, bottoms: [label], tops: [y], n_class: 4}") == \
        onehot()


@pytest.mark.parametrize("shape, top_shape", [((6,), (6, 4)), ((6, 1), (6, 4)),
                                              ((3, 1, 2, 5), (3, 4, 2, 5)), ((2, 1, 3), (2, 4, 3))])
def test_forward(backend, rng, shape, top_shape):
    labels = rng.integers(0, 4, size=shape).astype(float)
    _, (y,) = run_layer(onehot(), [labels], backend=backend)
    assert y.shape == top_shape
    np.testing.assert_array_equal(y.reshape(shape[0], 4, -1), reference(labels, 4))
    np.testing.assert_array_equal(y.sum(axis=1), 1)


def test_float32_top(rng):
    _, (y,) = run_layer(onehot(n_class=3), [np.array([2.0, 0.0, 1.0])], dtype="float32")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.eye(3)[[2, 0, 1]])


def test_not_differentiable():
    net = Net("n", [Input(name="in", tops=["label"], shapes=[[2]]), onehot()], force_backward=True)
    assert not net.layer("oh").need_backward


@pytest.mark.parametrize("bad, shown", [(4.0, "got 4 in 'label'"), (-1.0, "got -1 in 'label'"),
                                        (1.5, "got 1.5 in 'label'"), (np.nan, "got nan in 'label'")])
def test_index_outside_the_classes(backend, bad, shown):
    labels = np.array([0.0, 3.0, bad, 1.0])
    text = message(lambda: run_layer(onehot(), [labels], backend=backend))
    assert "layer 'oh'" in text and "bottoms" in text and "integers 0 to 3" in text and shown in text, text


@pytest.mark.parametrize("shape", [[4, 3], [2, 2, 5]])
def test_bottom_must_hold_one_index_per_position(shape):
    text = message(lambda: Net("n", [Input(name="in", tops=["label"], shapes=[shape]), onehot()]))
    assert "layer 'oh'" in text and "bottoms" in text and "'label'" in text and str(tuple(shape)) in text
    assert "(N,) or (N, 1, ...)" in text


@pytest.mark.parametrize("fields, field, words", [
    (dict(n_class=0), "n_class", "must be >= 1, got 0"),
    (dict(n_class=2.5), "n_class", "must be an integer"),
    (dict(bottoms=["a", "b"]), "bottoms", "exactly 1, got 2"),
])
def test_bad_fields(fields, field, words):
    text = message(lambda: onehot(**fields))
    assert "layer 'oh'" in text and field in text and words in text, text


def test_n_class_is_required():
    text = message(lambda: Index2Onehot(name="oh", bottoms=["label"], tops=["y"]))
    assert "layer 'oh'" in text and "n_class" in text and "required" in text
