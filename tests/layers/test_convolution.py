"""Convolution and Deconvolution: loop references, the adjoint identity, gradients, errors."""

import math

import numpy as np
import pytest

import graphnet.layers.convolution as convolution
from graphnet import GraphnetError, Net
from graphnet.layers import Convolution, Deconvolution, Input
from graphnet.layers.convolution import pair
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


@pytest.fixture(params=["one part", "a part per sample"])
def layout(request, monkeypatch):
    """The whole batch in one part, or cut into one part per sample (as a large batch is,
    each part's weight gradient summed in order after the parts ran on the threads)."""
    if request.param == "a part per sample":
        monkeypatch.setattr(convolution._ConvolutionBase, "part_bytes", 1)
    return request.param


def conv_reference(x, w, b, stride=(1, 1), pad=(0, 0), dilation=(1, 1), n_group=1):
    """Cross-correlation one output element at a time, in float64."""
    n, c, h, width = x.shape
    f, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    padded = np.zeros((n, c, h + 2 * ph, width + 2 * pw))
    padded[:, :, ph:ph + h, pw:pw + width] = x
    oh = (h + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    ow = (width + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    y = np.zeros((n, f, oh, ow))
    for i in range(n):
        for o in range(f):
            g = o // (f // n_group)
            for r in range(oh):
                for s in range(ow):
                    total = 0.0 if b is None else b[o]
                    for ch in range(cg):
                        for p in range(kh):
                            for q in range(kw):
                                total += w[o, ch, p, q] * padded[i, g * cg + ch, r * sh + p * dh,
                                                                 s * sw + q * dw]
                    y[i, o, r, s] = total
    return y


def deconv_reference(x, w, b, stride=(1, 1), pad=(0, 0), dilation=(1, 1), n_group=1):
    """Each input element scatters its weighted kernel into the output, in float64."""
    n, c, h, width = x.shape
    _, fg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    full = np.zeros((n, fg * n_group, sh * (h - 1) + dh * (kh - 1) + 1,
                     sw * (width - 1) + dw * (kw - 1) + 1))
    for i in range(n):
        for ch in range(c):
            g = ch // (c // n_group)
            for r in range(h):
                for s in range(width):
                    for o in range(fg):
                        for p in range(kh):
                            for q in range(kw):
                                full[i, g * fg + o, r * sh + p * dh, s * sw + q * dw] += (
                                    x[i, ch, r, s] * w[ch, o, p, q])
    y = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return y if b is None else y + b.reshape(-1, 1, 1)


# name: (bottom shape, fields)
CASES = {
    "plain 3x3": ((2, 3, 6, 5), dict(n_filter=4, kernel=3)),
    "stride 2": ((2, 3, 7, 8), dict(n_filter=4, kernel=3, stride=2)),
    "pad 1": ((2, 2, 5, 5), dict(n_filter=3, kernel=3, pad=1)),
    "dilation 2": ((2, 2, 7, 7), dict(n_filter=3, kernel=3, dilation=2)),
    "groups": ((2, 4, 5, 6), dict(n_filter=6, kernel=3, n_group=2)),
    "depthwise": ((2, 3, 5, 5), dict(n_filter=3, kernel=2, n_group=3)),
    "non-square, per-axis everything": ((2, 4, 9, 8), dict(n_filter=4, kernel=[3, 2], stride=[2, 1],
                                                           pad=[1, 2], dilation=[1, 2], n_group=2)),
    "no bias": ((2, 3, 5, 6), dict(n_filter=2, kernel=[2, 3], bias=False)),
    "1x1": ((3, 4, 3, 3), dict(n_filter=2, kernel=1)),
    "kernel = padded input": ((2, 2, 3, 4), dict(n_filter=2, kernel=[5, 4], pad=[1, 0])),
}


def make(kind, name, seed=0, **extra):
    shape, fields = CASES[name]
    layer = kind(name="c", bottoms=["x"], tops=["y"], bias_filler={"type": "gaussian"},
                 **fields, **extra)
    return layer, np.random.default_rng(seed).normal(size=shape)


def params_of(net):
    params = {p.name: net.backend.to_host(p.data) for p in net.params["c"]}
    return params["weight"], params.get("bias")


def net_for(layer, x, backend="numpy", dtype="float64"):
    """A net that feeds x to the layer and back-propagates whatever top gradient it is given."""
    net = Net("n", [Input(name="in", tops=["x"], shapes=[list(x.shape)]), layer], backend=backend,
              dtype=dtype, force_backward=True)
    net.blobs["x"].data[...] = net.backend.asarray(x)
    net.forward()
    return net


def geometry(layer):
    return dict(stride=layer.stride, pad=layer.pad, dilation=layer.dilation, n_group=layer.n_group)


def test_yaml_and_python_give_the_same_spec():
    for kind in (Convolution, Deconvolution):
        from_yaml = layer_from_yaml(
            f"{{name: c, type: {kind.__name__}, bottoms: [x], tops: [y], n_filter: 8,"
            f" kernel: [5, 3], stride: 2, pad: [1, 0], dilation: 1, n_group: 2, bias: false,"
            f" neuron: relu, weight_filler: {{type: gaussian, std: 0.01}}, bias_filler: 0.1}}")
        from_python = kind(name="c", bottoms=["x"], tops=["y"], n_filter=8, kernel=(5, 3),
                           stride=[2, 2], pad=[1, 0], n_group=2, bias=False, neuron="relu",
                           weight_filler={"type": "gaussian", "std": 0.01}, bias_filler=0.1)
        assert from_yaml == from_python
        assert (from_yaml.kernel, from_yaml.stride, from_yaml.pad) == ((5, 3), (2, 2), (1, 0))
        plain = kind(name="c", bottoms=["x"], tops=["y"], n_filter=1, kernel=3)
        assert (plain.stride, plain.pad, plain.dilation, plain.n_group, plain.bias) == (
            (1, 1), (0, 0), (1, 1), 1, True)


def test_pair_converter():
    assert pair(min=1)(5) == (5, 5)
    assert pair(min=0)([0, 2]) == (0, 2)
    assert pair()((3.0, -1)) == (3, -1)
    for bad in ([1, 2, 3], [4], "a", True, [1, "b"], 2.5):
        with pytest.raises(ValueError, match=r"an integer or a pair \[h, w\] of integers"):
            pair(min=1)(bad)
    with pytest.raises(ValueError, match="must be >= 1, got 0"):
        pair(min=1)([3, 0])


@pytest.mark.parametrize("name", CASES)
def test_convolution_forward_matches_loops(name, layout, backend):
    layer, x = make(Convolution, name)
    net, (y,) = run_layer(layer, [x], backend=backend)
    w, b = params_of(net)
    expected = conv_reference(x, w, b, **geometry(layer))
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_deconvolution_forward_matches_loops(name, layout, backend):
    layer, x = make(Deconvolution, name)
    net, (y,) = run_layer(layer, [x], backend=backend)
    w, b = params_of(net)
    expected = deconv_reference(x, w, b, **geometry(layer))
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_params_shapes_and_rates():
    layer, x = make(Convolution, "groups")
    net, (y,) = run_layer(layer, [x])
    weight, bias = net.params["c"]
    assert y.shape == (2, 6, 3, 4)
    assert weight.shape == (6, 2, 3, 3) and bias.shape == (6,)
    assert (weight.lr_mult, weight.decay_mult, bias.lr_mult, bias.decay_mult) == (1, 1, 2, 0)
    layer, x = make(Deconvolution, "groups")
    net, (y,) = run_layer(layer, [x])
    weight, bias = net.params["c"]
    assert y.shape == (2, 6, 7, 8)
    assert weight.shape == (4, 3, 3, 3) and bias.shape == (6,)   # (C, n_filter/n_group, kh, kw)
    layer, x = make(Deconvolution, "no bias")
    assert [p.name for p in run_layer(layer, [x])[0].params["c"]] == ["weight"]


def test_fused_relu(backend):
    layer, x = make(Convolution, "pad 1", neuron="relu")
    net, (y,) = run_layer(layer, [x], backend=backend)
    expected = conv_reference(x, *params_of(net), **geometry(layer))
    assert (expected < 0).any() and (expected > 0).any()
    np.testing.assert_allclose(y, np.maximum(expected, 0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
def test_float32_net_keeps_float32(kind, layout, backend):
    layer, x = make(kind, "non-square, per-axis everything")
    net = net_for(layer, x, backend, dtype="float32")
    y = net.backend.to_host(net.blobs["y"].data)
    assert y.dtype == np.float32
    reference = conv_reference if kind is Convolution else deconv_reference
    w, b = params_of(net)
    expected = reference(x.astype(np.float32), w, b, **geometry(layer))
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    net.backward(top_diffs={"y": np.ones(y.shape)})
    assert all(p.diff.dtype == np.float32 and p.diff.any() for p in net.params["c"])
    assert net.blobs["x"].diff.dtype == np.float32


@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
@pytest.mark.parametrize("name", ["plain 3x3", "stride 2", "non-square, per-axis everything",
                                  "depthwise", "no bias"])
def test_gradient(kind, name, layout, backend):
    layer, x = make(kind, name, seed=1)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    expected = {"bottom 'x'", "param 'c/weight'"} | ({"param 'c/bias'"} if layer.bias else set())
    assert set(report.errors) == expected


@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
def test_gradient_with_fused_relu_and_dilation(kind, backend):
    layer, x = make(kind, "dilation 2", seed=2, neuron="relu")
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


@pytest.mark.parametrize("name", ["plain 3x3", "stride 2", "pad 1", "dilation 2", "groups",
                                  "non-square, per-axis everything"])
def test_deconvolution_is_the_adjoint_of_convolution(name, layout, backend):
    """<conv(x), y> == <x, deconv(y)> with one weight (Caffe's shapes make that possible)."""
    shape, fields = CASES[name]
    fields = {**fields, "bias": False}
    conv = Net("conv", [Input(name="in", tops=["x"], shapes=[shape]),
                        Convolution(name="c", bottoms=["x"], tops=["y"], **fields)],
               backend=backend, dtype="float64")
    y_shape = conv.blobs["y"].shape
    fields["n_filter"] = shape[1]
    deconv = Net("deconv", [Input(name="in", tops=["y"], shapes=[y_shape]),
                            Deconvolution(name="c", bottoms=["y"], tops=["x"], **fields)],
                 backend=backend, dtype="float64")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=shape), rng.normal(size=y_shape)
    weight = rng.normal(size=conv.params["c"][0].shape)
    for net, array, name_in in ((conv, x, "x"), (deconv, y, "y")):
        net.params["c"][0].data[...] = net.backend.asarray(weight)
        net.blobs[name_in].data[...] = net.backend.asarray(array)
        net.forward()
    conv_x = conv.backend.to_host(conv.blobs["y"].data)
    deconv_y = deconv.backend.to_host(deconv.blobs["x"].data)
    # Rows and columns of x that a stride leaves unread get nothing back from deconvolution.
    _, _, h, w = deconv_y.shape
    assert np.sum(conv_x * y) == pytest.approx(np.sum(x[:, :, :h, :w] * deconv_y), rel=1e-12)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bilinear_deconvolution_upsamples(scale, layout, backend):
    """Caffe's recipe: kernel 2s - s%2, stride s, pad ceil((s-1)/2), one group per channel."""
    layer = Deconvolution(name="up", bottoms=["x"], tops=["y"], n_filter=3, n_group=3,
                          kernel=2 * scale - scale % 2, stride=scale,
                          pad=math.ceil((scale - 1) / 2), bias=False, weight_filler="bilinear")
    _, (y,) = run_layer(layer, [np.full((2, 3, 5, 6), 3.0)], backend=backend)
    assert y.shape == (2, 3, 5 * scale, 6 * scale)
    inside = (slice(None), slice(None), slice(scale, -scale), slice(scale, -scale))
    np.testing.assert_allclose(y[inside], 3.0, rtol=1e-12)
    assert (y[:, :, 0, 0] < 3.0).all()     # the border sees fewer inputs
    # A ramp in the bottom is interpolated linearly: output o lies at (o + 0.5)/s - 0.5.
    ramp = np.broadcast_to(np.arange(5.0)[:, None] * 2 - 1, (2, 3, 5, 6))
    _, (y,) = run_layer(layer, [ramp], backend=backend)
    where = (np.arange(5 * scale) + 0.5) / scale - 0.5
    expected = np.broadcast_to((where * 2 - 1)[:, None], y.shape)
    np.testing.assert_allclose(y[inside], expected[inside], atol=1e-12)


@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
def test_buffers_serve_every_iteration(kind, layout, backend):
    """New inputs through the reused buffers, and backward twice after one forward, give
    what a fresh net gives."""
    layer, x = make(kind, "non-square, per-axis everything")
    net = net_for(layer, x, backend)
    reference = conv_reference if kind is Convolution else deconv_reference
    w, b = params_of(net)
    rng = np.random.default_rng(4)
    dy = rng.normal(size=net.blobs["y"].shape)

    def gradients(net):
        net.clear_param_diffs()
        net.backward(top_diffs={"y": dy})
        return [net.backend.to_host(a).copy() for a in
                (*(p.diff for p in net.params["c"]), net.blobs["x"].diff)]

    for _ in range(2):
        x = rng.normal(size=x.shape)
        net.blobs["x"].data[...] = net.backend.asarray(x)
        net.forward()
        y = net.backend.to_host(net.blobs["y"].data)
        expected = reference(x, w, b, **geometry(layer))
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
        expected = gradients(net_for(layer, x, backend))
        for _ in range(2):
            for got, want in zip(gradients(net), expected):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_forward_only_net_matches_one_that_runs_backward(layout, backend):
    """Columns live in per-thread scratch, one part's worth, reused part after part, in a
    test-phase net as in a training one; the test net's top is the training net's."""
    layer, x = make(Convolution, "non-square, per-axis everything")
    x = np.random.default_rng(5).normal(size=(7, *x.shape[1:]))
    train = net_for(layer, x, backend)
    test = Net("c", [Input(name="in", tops=["x"], shapes=[list(x.shape)]), layer], phase="test",
               backend=backend, dtype="float64", share_with=train)
    test.blobs["x"].data[...] = test.backend.asarray(x)
    test.forward()
    for conv in (test.layers[-1], train.layers[-1]):
        one_part = conv.parts[0].stop - conv.parts[0].start
        held = [b for k, b in conv.scratch.items() if k[0] == "columns"]
        assert 1 <= len(held) <= 4 and all(b.size <= one_part * conv.columns.per_sample for b in held)
    np.testing.assert_allclose(test.backend.to_host(test.blobs["y"].data),
                               train.backend.to_host(train.blobs["y"].data), rtol=1e-13, atol=1e-13)


# --- errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
@pytest.mark.parametrize("fields, field, words", [
    (dict(kernel=3), "n_filter", "required field is missing"),
    (dict(n_filter=4), "kernel", "required field is missing"),
    (dict(n_filter=0, kernel=3), "n_filter", "must be >= 1, got 0"),
    (dict(n_filter=4, kernel=0), "kernel", "must be >= 1, got 0"),
    (dict(n_filter=4, kernel=[3, 3, 3]), "kernel", "an integer or a pair [h, w] of integers"),
    (dict(n_filter=4, kernel="big"), "kernel", "a pair [h, w] of integers, got 'big'"),
    (dict(n_filter=4, kernel=3, stride=[1, 0]), "stride", "must be >= 1, got 0"),
    (dict(n_filter=4, kernel=3, pad=-1), "pad", "must be >= 0, got -1"),
    (dict(n_filter=4, kernel=3, dilation=0), "dilation", "must be >= 1, got 0"),
    (dict(n_filter=4, kernel=3, n_group=0), "n_group", "must be >= 1, got 0"),
    (dict(n_filter=4, kernel=3, n_group=3), "n_group", "n_filter 4 does not divide into 3 groups"),
    (dict(n_filter=4, kernel=3, bias="yes"), "bias", "must be true or false"),
    (dict(n_filter=4, kernel=3, neuron="relux"), "neuron", "did you mean 'relu'"),
    (dict(n_filter=4, kernel=3, weight_filler="xavir"), "weight_filler", "did you mean 'xavier'"),
    (dict(n_filter=4, kernel=3, filters=4), "filters", "unknown field"),
])
def test_bad_field_values(kind, fields, field, words):
    with pytest.raises(GraphnetError) as e:
        kind(name="c", bottoms=["x"], tops=["y"], **fields)
    assert e.value.field == field
    assert "layer 'c'" in str(e.value) and field in str(e.value) and words in str(e.value)


def build(layer, *shapes):
    names = [f"b{i}" for i in range(len(shapes))]
    return Net("n", [Input(name="in", tops=names, shapes=[list(s) for s in shapes]), layer])


@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 8), (1, 2, 3, 8, 8)])
def test_bottom_must_be_4d(kind, shape):
    with pytest.raises(GraphnetError) as e:
        build(kind(name="c", bottoms=["b0"], tops=["y"], n_filter=2, kernel=1), shape)
    assert e.value.field == "bottoms"
    assert all(w in str(e.value) for w in ("layer 'c'", "4-D", "'b0'", str(shape)))


@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
def test_one_bottom_one_top(kind):
    with pytest.raises(GraphnetError) as e:
        kind(name="c", bottoms=["a", "b"], tops=["y"], n_filter=2, kernel=1)
    assert e.value.field == "bottoms" and "takes exactly 1, got 2" in str(e.value)
    with pytest.raises(GraphnetError) as e:
        kind(name="c", bottoms=["a"], tops=["y", "z"], n_filter=2, kernel=1)
    assert e.value.field == "tops" and "takes exactly 1, got 2" in str(e.value)


@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
def test_groups_must_divide_the_channels(kind):
    with pytest.raises(GraphnetError) as e:
        build(kind(name="c", bottoms=["b0"], tops=["y"], n_filter=4, kernel=3, n_group=2),
              (2, 5, 8, 8))
    assert e.value.field == "n_group"
    assert all(w in str(e.value) for w in ("layer 'c'", "5 channels", "'b0'", "(2, 5, 8, 8)",
                                           "2 groups"))


@pytest.mark.parametrize("fields, shape, words", [
    (dict(kernel=5), (1, 1, 3, 3), ("spans 5x5", "padded is 3x3")),
    (dict(kernel=[3, 6], pad=1), (1, 1, 3, 3), ("spans 3x6", "padded is 5x5")),
    (dict(kernel=3, dilation=3), (2, 1, 6, 6), ("spans 7x7", "padded is 6x6")),
])
def test_kernel_larger_than_padded_input(fields, shape, words):
    layer = Convolution(name="c", bottoms=["b0"], tops=["y"], n_filter=2, **fields)
    with pytest.raises(GraphnetError) as e:
        build(layer, shape)
    assert e.value.field == "kernel"
    assert all(w in str(e.value) for w in ("layer 'c'", "'b0'", str(shape), *words))


def test_deconvolution_padded_away():
    layer = Deconvolution(name="c", bottoms=["b0"], tops=["y"], n_filter=2, kernel=2, pad=[1, 0])
    with pytest.raises(GraphnetError) as e:
        build(layer, (2, 3, 1, 4))
    assert e.value.field == "pad"
    assert all(w in str(e.value) for w in ("layer 'c'", "no output", "'b0'", "(2, 3, 1, 4)", "0x5"))
