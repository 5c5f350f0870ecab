import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Concat, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: c, type: Concat, bottoms: [a, b], tops: [y], axis: 0}") == \
        Concat(name="c", bottoms=["a", "b"], tops=["y"], axis=0)


@pytest.mark.parametrize("axis, shapes", [(1, [(2, 3, 4), (2, 1, 4), (2, 2, 4)]), (0, [(1, 3), (2, 3)]),
                                          (-1, [(2, 3, 1), (2, 3, 5)]), (1, [(2, 3)])])
def test_forward_and_gradient(backend, rng, axis, shapes):
    arrays = [rng.normal(size=s) for s in shapes]
    layer = Concat(name="c", bottoms=[f"x{i}" for i in range(len(arrays))], tops=["y"], axis=axis)
    _, (y,) = run_layer(layer, arrays, backend=backend)
    np.testing.assert_array_equal(y, np.concatenate(arrays, axis=axis))
    report = check_layer(layer, arrays, backend=backend)
    assert report.max_error < 1e-6 and len(report.errors) == len(arrays)


def test_mistakes():
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["a", "b"], shapes=[[2, 3, 4], [2, 3, 5]]),
                  Concat(name="c", bottoms=["a", "b"], tops=["y"])])
    assert "layer 'c': bottoms: shapes differ off axis 1: 'a' is (2, 3, 4), 'b' is (2, 3, 5)" in str(err.value)
    with pytest.raises(GraphnetError, match="layer 'c': axis: is out of range"):
        Net("n", [Input(name="in", tops=["a"], shapes=[[2, 3]]),
                  Concat(name="c", bottoms=["a"], tops=["y"], axis=2)])
