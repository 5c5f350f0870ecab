import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Embed, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def embed(**fields):
    return Embed(name="e", bottoms=["i"], tops=["v"], input_dim=7, output_dim=3, **fields)


@pytest.mark.parametrize("bias", [False, True], ids=["no_bias", "bias"])
def test_rows_of_the_weight_and_their_gradient(backend, rng, bias, kernels):
    index = rng.integers(0, 7, size=(5, 4))
    index[0, :3] = 2                     # a repeated index sums its gradients
    layer = embed(bias=bias, bias_filler={"type": "gaussian"})
    net, (v,) = run_layer(layer, [index], backend=backend)
    weight = net.backend.to_host(net.params["e"][0].data)
    expected = weight[index] + (net.backend.to_host(net.params["e"][1].data) if bias else 0)
    assert v.shape == (5, 4, 3)
    np.testing.assert_array_equal(v, expected)
    report = check_layer(layer, [index], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"param 'e/weight'"} | ({"param 'e/bias'"} if bias else set())


def test_the_gradient_of_a_row_is_the_sum_over_its_positions(rng, kernels):
    index = np.array([[1, 1], [4, 1]])
    net = Net("e", [Input(name="feed", tops=["i"], shapes=[[2, 2]]), embed()], dtype="float64",
              force_backward=True)
    net.blobs["i"].data[...] = index
    net.forward()
    dv = rng.normal(size=(2, 2, 3))
    net.clear_param_diffs()
    net.backward(top_diffs={"v": dv})
    grad = net.params["e"][0].diff
    np.testing.assert_allclose(grad[1], dv[0, 0] + dv[0, 1] + dv[1, 1])
    np.testing.assert_allclose(grad[4], dv[1, 0])
    assert not grad[[0, 2, 3, 5, 6]].any()


@pytest.mark.parametrize("value", [7, -1, 2.5])
def test_an_index_outside_the_table_names_the_blob(value):
    with pytest.raises(GraphnetError, match=rf"layer 'e': bottoms: indices must be whole numbers 0 to 6, "
                                            rf"got {value:g} in 'i'"):
        run_layer(embed(), [np.array([[0, value]])])


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: e, type: Embed, bottoms: [i], tops: [v], input_dim: 7, output_dim: 3}") \
        == embed()


@pytest.mark.filterwarnings("error")  # the one line, without a RuntimeWarning from the cast
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_an_index_that_is_not_a_number_names_the_blob(value, backend):
    with pytest.raises(GraphnetError, match=rf"layer 'e': bottoms: indices must be whole numbers 0 to 6, "
                                            rf"got {value:g} in 'i'"):
        run_layer(embed(), [np.array([[0, value]])], backend=backend)
