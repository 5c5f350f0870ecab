import numpy as np
import pytest

from graphnet import GraphnetError
from graphnet.layers import Identity
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def test_renames_without_copy_and_passes_gradients(backend, rng):
    assert layer_from_yaml("{name: i, type: Identity, bottoms: [a, b], tops: [c, d]}") == \
        Identity(name="i", bottoms=["a", "b"], tops=["c", "d"])
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(4,))
    layer = Identity(name="i", bottoms=["a", "b"], tops=["c", "d"])
    net, (c, d) = run_layer(layer, [a, b], backend=backend)
    np.testing.assert_array_equal(c, a)
    np.testing.assert_array_equal(d, b)
    assert net.blobs["c"].data is net.blobs["a"].data
    assert check_layer(layer, [a, b], backend=backend).max_error < 1e-6


def test_top_count_must_match():
    with pytest.raises(GraphnetError, match=r"layer 'i': tops: needs one top per bottom \(2\), got 1"):
        Identity(name="i", bottoms=["a", "b"], tops=["c"])
