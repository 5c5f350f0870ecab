import numpy as np
import pytest

from graphnet import GraphnetError
from graphnet.layers import Power
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: p, type: Power, bottoms: [x], tops: [y], power: 2, scale: 0.5}") == \
        Power(name="p", bottoms=["x"], tops=["y"], power=2.0, scale=0.5)


@pytest.mark.parametrize("power, scale, shift", [(2, 1, 0), (3, 0.5, 1), (0.5, 2, 3), (1, -2, 1),
                                                 (0, 1, 0), (-1, 1, 4)])
def test_forward_and_gradient(backend, rng, power, scale, shift):
    x = rng.uniform(0.5, 1.5, (3, 4))  # keeps shift + scale*x away from 0 for fractional powers
    layer = Power(name="p", bottoms=["x"], tops=["y"], power=power, scale=scale, shift=shift)
    _, (y,) = run_layer(layer, [x], backend=backend)
    np.testing.assert_allclose(y, (shift + scale * x) ** power, rtol=1e-12)
    assert check_layer(layer, [x], backend=backend).max_error < 1e-6


def test_bad_value():
    with pytest.raises(GraphnetError, match="layer 'p': power: must be a number, got 'two'"):
        Power(name="p", bottoms=["x"], tops=["y"], power="two")
