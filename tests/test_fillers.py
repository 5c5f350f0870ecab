"""Fillers draw what Caffe's filler.hpp and Mocha's initializers draw; the converter checks names and fields."""

import math

import numpy as np
import pytest

import graphnet
from graphnet.errors import GraphnetError
from graphnet.fillers import (FILLERS, MSRA, Bilinear, Constant, Filler, Gaussian, Orthogonal,
                              Uniform, Xavier, filler)
from graphnet.layers import InnerProduct, Input
from tests.helpers import layer_from_yaml

CONV = (64, 32, 5, 5)          # (out, in, kh, kw): fan_in = 32*25 = 800, fan_out = 64*25 = 1600
FANS = {"fan_in": 800, "fan_out": 1600, "average": 1200}
RANDOM = ["gaussian", "uniform", "xavier", "msra", "orthogonal"]


def draw(spec, shape, seed=0, dtype=np.float64):
    return filler(spec).fill(shape, np.random.default_rng(seed), dtype)


# --- constant, gaussian, uniform ------------------------------------------------------------

def test_constant_fills_the_value_and_defaults_to_zero():
    w = draw({"type": "constant", "value": 0.25}, (3, 4), dtype=np.float32)
    assert w.shape == (3, 4) and w.dtype == np.float32
    assert np.all(w == np.float32(0.25))
    assert np.all(draw("constant", (5,)) == 0)


def test_gaussian_mean_and_std():
    n = 1_000_000
    w = draw({"type": "gaussian", "mean": 3.0, "std": 0.5}, (1000, 1000))
    # Standard errors: std/sqrt(n) = 5e-4 for the mean, std/sqrt(2n) = 3.5e-4 for the std.
    assert abs(w.mean() - 3.0) < 5 * 0.5 / math.sqrt(n)
    assert abs(w.std() - 0.5) < 5 * 0.5 / math.sqrt(2 * n)


def test_gaussian_defaults_are_caffes():
    assert Gaussian() == Gaussian(mean=0.0, std=1.0)
    w = draw("gaussian", (1000, 1000))
    assert abs(w.mean()) < 5e-3 and abs(w.std() - 1.0) < 5e-3


def test_uniform_bounds_mean_and_std():
    n = 1_000_000
    w = draw({"type": "uniform", "min": -2.0, "max": 6.0}, (n,))
    assert w.min() >= -2.0 and w.max() < 6.0
    assert w.min() < -2.0 + 1e-3 and w.max() > 6.0 - 1e-3       # the whole interval is reached
    std = 8.0 / math.sqrt(12)
    assert abs(w.mean() - 2.0) < 5 * std / math.sqrt(n)
    assert abs(w.std() - std) < 0.005 * std


def test_uniform_defaults_to_zero_one():
    w = draw("uniform", (100_000,))
    assert Uniform() == Uniform(min=0.0, max=1.0)
    assert w.min() >= 0.0 and w.max() < 1.0 and abs(w.mean() - 0.5) < 5e-3


# --- xavier and msra: fans of a (out, in, kh, kw) weight ------------------------------------

@pytest.mark.parametrize("variance_norm", ["fan_in", "fan_out", "average"])
@pytest.mark.parametrize("name", ["xavier", "glorot"])
def test_xavier_is_uniform_in_plus_minus_sqrt_3_over_n(name, variance_norm):
    w = draw({"type": name, "variance_norm": variance_norm}, CONV)
    bound = math.sqrt(3.0 / FANS[variance_norm])
    assert w.shape == CONV
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound     # 51200 draws: the bound itself, not a neighbour's
    # U[-a, a] has std a/sqrt(3) = 1/sqrt(n); relative standard error of the std ~ 0.2%.
    assert abs(w.std() - bound / math.sqrt(3)) < 0.015 * bound / math.sqrt(3)
    assert abs(w.mean()) < 5 * bound / math.sqrt(3 * w.size)


@pytest.mark.parametrize("variance_norm", ["fan_in", "fan_out", "average"])
@pytest.mark.parametrize("name", ["msra", "he"])
def test_msra_is_gaussian_with_std_sqrt_2_over_n(name, variance_norm):
    w = draw({"type": name, "variance_norm": variance_norm}, CONV)
    std = math.sqrt(2.0 / FANS[variance_norm])
    assert w.shape == CONV
    # Relative standard error of the std: 1/sqrt(2*51200) ~ 0.3%.
    assert abs(w.std() - std) < 0.015 * std
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)


def test_fan_in_of_an_inner_product_weight_is_its_input_size():
    # (output_dim, input_dim): Caffe fan_in = count/shape[0] = input_dim; Mocha the same.
    w = draw("xavier", (10, 300))
    assert np.abs(w).max() <= math.sqrt(3 / 300) and np.abs(w).max() > 0.99 * math.sqrt(3 / 300)


def test_xavier_and_msra_default_to_fan_in():
    assert Xavier().variance_norm == "fan_in" and MSRA().variance_norm == "fan_in"
    assert filler({"type": "xavier", "variance_norm": "AVERAGE"}).variance_norm == "average"


def test_aliases_name_the_same_filler():
    assert type(filler("glorot")) is Xavier and type(filler("he")) is MSRA
    assert filler("glorot") == filler("xavier")
    np.testing.assert_array_equal(draw("glorot", CONV, seed=3), draw("xavier", CONV, seed=3))


# --- orthogonal --------------------------------------------------------------------------------

@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_orthogonal_wide_has_orthonormal_rows(gain):
    w = draw({"type": "orthogonal", "gain": gain}, (4, 2, 3, 3))       # flattened (4, 18)
    m = w.reshape(4, -1)
    np.testing.assert_allclose(m @ m.T, gain ** 2 * np.eye(4), atol=1e-12)


@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal_tall_has_orthonormal_columns(gain):
    w = draw({"type": "orthogonal", "gain": gain}, (20, 6))
    np.testing.assert_allclose(w.T @ w, gain ** 2 * np.eye(6), atol=1e-12)


def test_orthogonal_square_is_an_orthogonal_matrix():
    w = draw("orthogonal", (7, 7))
    np.testing.assert_allclose(w @ w.T, np.eye(7), atol=1e-12)
    np.testing.assert_allclose(w.T @ w, np.eye(7), atol=1e-12)


def test_orthogonal_in_float32_keeps_the_dtype():
    w = draw("orthogonal", (8, 16), dtype=np.float32)
    assert w.dtype == np.float32
    np.testing.assert_allclose(w @ w.T, np.eye(8), atol=1e-5)


@pytest.mark.parametrize("shape", [(5,), ()])
def test_orthogonal_refuses_fewer_than_two_axes(shape):
    with pytest.raises(GraphnetError) as e:
        draw("orthogonal", shape)
    assert "2 or more axes" in str(e.value) and str(shape) in str(e.value)


# --- bilinear ----------------------------------------------------------------------------------

def caffe_bilinear(shape):
    """BilinearFiller::Fill from Caffe's filler.hpp, loop for loop."""
    width, height = shape[3], shape[2]
    f = math.ceil(width / 2.0)
    c = (width - 1) / (2.0 * f)
    data = np.empty(math.prod(shape))
    for i in range(data.size):
        x = i % width
        y = (i // width) % height
        data[i] = (1 - abs(x / f - c)) * (1 - abs(y / f - c))
    return data.reshape(shape)


def test_bilinear_k4_matches_caffe():
    shape = (3, 2, 4, 4)
    w = Bilinear().fill(shape, None, np.float64)
    np.testing.assert_allclose(w, caffe_bilinear(shape), atol=0, rtol=1e-15)
    t = np.array([0.25, 0.75, 0.75, 0.25])                 # f = 2, c = 3/4 worked by hand
    for o in range(3):
        for i in range(2):
            np.testing.assert_allclose(w[o, i], np.outer(t, t), rtol=1e-15)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 6, 7, 8])
def test_bilinear_matches_caffe_and_is_symmetric(k):
    w = filler("bilinear").fill((1, 1, k, k), None, np.float64)
    np.testing.assert_allclose(w, caffe_bilinear((1, 1, k, k)), rtol=1e-15)
    np.testing.assert_allclose(w[0, 0], w[0, 0, ::-1, ::-1], rtol=1e-15)   # centred kernel


def deconvolve(x, kernel, stride, pad):
    """Caffe's Deconvolution of one (H, W) map, plainly: each input pixel stamps the kernel."""
    k = kernel.shape[0]
    h, w = x.shape
    full = np.zeros((stride * (h - 1) + k, stride * (w - 1) + k))
    for i in range(h):
        for j in range(w):
            full[stride * i:stride * i + k, stride * j:stride * j + k] += x[i, j] * kernel
    return full[pad:full.shape[0] - pad, pad:full.shape[1] - pad]


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_bilinear_deconvolution_upsamples_a_linear_ramp_exactly(factor):
    # Caffe's recipe: kernel 2f - f%2, stride f, pad ceil((f-1)/2) gives a (f*H, f*W) map.
    k, pad = 2 * factor - factor % 2, math.ceil((factor - 1) / 2)
    kernel = filler("bilinear").fill((1, 1, k, k), None, np.float64)[0, 0]
    i, j = np.meshgrid(np.arange(6.0), np.arange(5.0), indexing="ij")
    x = 0.5 * i - 2.0 * j + 3.0
    y = deconvolve(x, kernel, factor, pad)
    assert y.shape == (6 * factor, 5 * factor)
    # Output pixel q sits at input coordinate (q + 0.5)/f - 0.5; away from the border the
    # interpolation of a linear map is that map.
    u = (np.arange(6 * factor) + 0.5) / factor - 0.5
    v = (np.arange(5 * factor) + 0.5) / factor - 0.5
    expected = 0.5 * u[:, None] - 2.0 * v[None, :] + 3.0
    inner = slice(factor, -factor)
    np.testing.assert_allclose(y[inner, inner], expected[inner, inner], atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1, 4, 3), (4, 4), (1, 4, 4)])
def test_bilinear_refuses_a_kernel_that_is_not_square_and_4d(shape):
    with pytest.raises(GraphnetError) as e:
        Bilinear().fill(shape, None, np.float64)
    assert "square 4-axis kernel" in str(e.value) and str(shape) in str(e.value)


# --- seeds, dtypes --------------------------------------------------------------------------

@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_values_other_seed_other_values(name):
    a, b, c = draw(name, (6, 5), seed=7), draw(name, (6, 5), seed=7), draw(name, (6, 5), seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", sorted(FILLERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_filler_keeps_shape_and_dtype(name, dtype):
    w = draw(name, (3, 2, 4, 4), dtype=dtype)
    assert w.shape == (3, 2, 4, 4) and w.dtype == dtype
    assert np.all(np.isfinite(w))


# --- the converter ---------------------------------------------------------------------------

def test_converter_takes_a_name():
    assert filler("xavier") == Xavier()
    assert filler("Gaussian") == Gaussian()
    assert repr(filler("msra")) == "msra()"


@pytest.mark.parametrize("value", [0.1, 2, np.float32(0.5)])
def test_converter_takes_a_number_as_a_constant(value):
    f = filler(value)
    assert f == Constant(value=float(value))
    assert repr(f) == f"constant(value={float(value)!r})"


def test_converter_takes_a_mapping():
    f = filler({"type": "gaussian", "std": 0.01})
    assert f == Gaussian(std=0.01) and f.mean == 0.0
    assert repr(f) == "gaussian(std=0.01)"
    assert filler({"type": "uniform", "min": "-1e-1", "max": 0.1}) == Uniform(min=-0.1, max=0.1)


def test_converter_passes_a_filler_through():
    f = Orthogonal(gain=2.0)
    assert filler(f) is f


def test_converter_refuses_an_unknown_type_and_suggests_the_nearest():
    with pytest.raises(ValueError) as e:
        filler("xavir")
    assert "unknown filler 'xavir'" in str(e.value) and "did you mean 'xavier'" in str(e.value)
    with pytest.raises(ValueError) as e:
        filler({"type": "gausian", "std": 1})
    assert "did you mean 'gaussian'" in str(e.value)
    assert "known: bilinear, constant, gaussian" in str(e.value)


def test_converter_refuses_an_unknown_field_and_suggests_the_nearest():
    with pytest.raises(ValueError) as e:
        filler({"type": "gaussian", "sd": 0.1})
    assert str(e.value).startswith("sd:") and "did you mean 'std'" in str(e.value)


def test_converter_names_a_bad_field():
    with pytest.raises(ValueError) as e:
        filler({"type": "gaussian", "std": -1})
    assert str(e.value).startswith("std:") and ">= 0" in str(e.value) and "-1" in str(e.value)
    with pytest.raises(ValueError) as e:
        filler({"type": "xavier", "variance_norm": "fan_inn"})
    assert "variance_norm" in str(e.value) and "did you mean 'fan_in'" in str(e.value)


def test_filler_class_raises_graphnet_error_with_the_field():
    with pytest.raises(GraphnetError) as e:
        Gaussian(std=-1)
    assert str(e.value) == "std: must be >= 0, got -1.0"


def test_uniform_refuses_max_below_min():
    with pytest.raises(ValueError) as e:
        filler({"type": "uniform", "min": 1, "max": 0})
    assert "max must be >= min" in str(e.value) and "min=1.0, max=0.0" in str(e.value)
    assert Uniform(min=2, max=2).fill((3,), np.random.default_rng(0), np.float64).tolist() == [2, 2, 2]


@pytest.mark.parametrize("value", [True, None, [0.1], {"std": 1}, {"value": 1}])
def test_converter_refuses_what_is_not_a_filler(value):
    with pytest.raises(ValueError) as e:
        filler(value)
    assert "must be a number, a filler name or a mapping" in str(e.value)


def test_every_registered_filler_is_a_filler_named_by_its_type():
    for name, cls in FILLERS.items():
        assert issubclass(cls, Filler)
        assert filler(name).type in (name, {"glorot": "xavier", "he": "msra"}.get(name))


# --- in a net ----------------------------------------------------------------------------------

def test_a_bad_filler_field_in_yaml_names_the_layer_and_the_field():
    with pytest.raises(GraphnetError) as e:
        layer_from_yaml("{name: ip, type: InnerProduct, bottoms: [x], tops: [y], output_dim: 3,"
                        " weight_filler: {type: gaussian, std: -1}}")
    message = str(e.value)
    assert "layer 'ip'" in message and "weight_filler" in message and "std" in message
    assert "must be >= 0" in message


def test_a_filler_that_cannot_fill_its_param_names_the_layer():
    layers = [Input(name="in", tops=["x"], shapes=[[2, 3]]),
              InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=4,
                           bias_filler="orthogonal")]
    with pytest.raises(GraphnetError) as e:
        graphnet.Net("n", layers)
    assert "layer 'ip'" in str(e.value) and "bias" in str(e.value)
    assert "2 or more axes" in str(e.value)


def test_a_net_draws_its_weights_from_the_fillers():
    layers = [Input(name="in", tops=["x"], shapes=[[2, 300]]),
              InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=200,
                           weight_filler={"type": "gaussian", "std": 0.1}, bias_filler=0.5)]
    one, two = graphnet.Net("n", layers, seed=3), graphnet.Net("n", layers, seed=3)
    weight, bias = one.params["ip"]
    assert abs(float(weight.data.std()) - 0.1) < 0.002 and np.all(bias.data == np.float32(0.5))
    np.testing.assert_array_equal(weight.data, two.params["ip"][0].data)
