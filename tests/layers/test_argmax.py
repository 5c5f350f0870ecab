import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import ArgMax, Input
from tests.helpers import layer_from_yaml, run_layer


def argmax(**fields):
    return ArgMax(name="am", **{"bottoms": ["x"], "tops": ["y"], **fields})


def message(call):
    with pytest.raises(GraphnetError) as err:
        call()
    return str(err.value)


def reference(x, axis, top_k, out_max_val):
    """For each line along `axis`: the k best (score, index) pairs, highest score first,
    the lower index first among equal scores."""
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape[:-1] + (top_k,))
    for where in np.ndindex(*moved.shape[:-1]):
        line = moved[where]
        order = sorted(range(len(line)), key=lambda i: (-line[i], i))[:top_k]
        out[where] = [line[i] for i in order] if out_max_val else order
    return np.moveaxis(out, -1, axis)


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: am, type: ArgMax, bottoms: [x], tops: [y], top_k: 2, "
                           "out_max_val: true}") == argmax(top_k=2, out_max_val=True)
    layer = argmax()
    assert (layer.axis, layer.top_k, layer.out_max_val) == (1, 1, False)


@pytest.mark.parametrize("out_max_val", [False, True])
@pytest.mark.parametrize("shape, axis, top_k", [((5, 4), 1, 1), ((5, 4), 1, 3), ((5, 4), 1, 4),
                                                ((3, 6, 2, 2), 1, 2), ((3, 4, 5), -1, 2),
                                                ((6, 3), 0, 2), ((2, 3, 4), 2, 1)])
def test_forward(backend, rng, shape, axis, top_k, out_max_val):
    # Few distinct values: many ties, which go to the lower index.
    x = rng.integers(0, 3, size=shape).astype(float)
    _, (y,) = run_layer(argmax(axis=axis, top_k=top_k, out_max_val=out_max_val), [x], backend=backend)
    want = reference(x, axis % len(shape), top_k, out_max_val)
    assert y.shape == want.shape
    np.testing.assert_array_equal(y, want)


def test_default_is_the_class_of_each_sample(rng):
    x = rng.normal(size=(7, 5))
    _, (y,) = run_layer(argmax(), [x], dtype="float32")
    assert y.shape == (7, 1) and y.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0], x.argmax(axis=1))


def test_not_differentiable():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]), argmax()], force_backward=True)
    assert not net.layer("am").need_backward


@pytest.mark.parametrize("fields, shape, field, words", [
    (dict(top_k=4), [2, 3], "top_k", "at most the size of axis 1 of 'x' of shape (2, 3), got 4"),
    (dict(axis=2), [2, 3], "axis", "out of range for 'x' of shape (2, 3)"),
    (dict(axis=-3), [2, 3], "axis", "out of range"),
])
def test_shape_mistakes(fields, shape, field, words):
    text = message(lambda: Net("n", [Input(name="in", tops=["x"], shapes=[shape]), argmax(**fields)]))
    assert "layer 'am'" in text and field in text and words in text, text


@pytest.mark.parametrize("fields, field, words", [
    (dict(top_k=0), "top_k", "must be >= 1, got 0"),
    (dict(out_max_val="no"), "out_max_val", "must be true or false"),
    (dict(tops=["y", "z"]), "tops", "exactly 1, got 2"),
])
def test_bad_fields(fields, field, words):
    text = message(lambda: argmax(**fields))
    assert "layer 'am'" in text and field in text and words in text, text
