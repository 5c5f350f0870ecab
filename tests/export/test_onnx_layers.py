"""Every layer type ONNX can express: onnxruntime on the exported model equals graphnet's
forward (random weights, max abs difference <= 1e-5 in float32) at batch sizes 3 (the
net's), 1 and 5, output shapes included."""

import numpy as np
import pytest

pytest.importorskip("onnx")
from graphnet.layers import (LRN, ArgMax, BatchNorm, ChannelPooling, Concat,  # noqa: E402
                             Convolution, Crop, Deconvolution, Dropout, ElementWise, Embed,
                             Exponential, Flatten, Identity, Index2Onehot, InnerProduct,
                             LeakyReLU, Pooling, Power, ReLU, Reshape, Scale, Sigmoid, Softmax,
                             Split, Tanh)
from tests.export.compare import check_layers  # noqa: E402

IMAGE = {"x": ["N", 4, 7, 9]}


def test_inner_product_flattens_an_image_and_fuses_its_neuron(rng):
    check_layers([InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=6, neuron="sigmoid")],
                 IMAGE, rng)


def test_inner_product_without_bias_on_vectors(rng):
    check_layers([InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=6, bias=False)],
                 {"x": ["N", 5]}, rng)


@pytest.mark.parametrize("shape", [["N", 3, 5], ["N", 3, 2, 4]])
def test_inner_product_axis_2(rng, shape):
    check_layers([InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=6, axis=2)],
                 {"x": shape}, rng)


@pytest.mark.parametrize("fields", [
    dict(kernel=3),
    dict(kernel=[3, 2], stride=2, pad=[1, 2], n_group=2, neuron="relu"),
    dict(kernel=2, dilation=[2, 3], bias=False, n_group=4),
])
def test_convolution(rng, fields):
    check_layers([Convolution(name="conv", bottoms=["x"], tops=["y"], n_filter=8, **fields)], IMAGE, rng)


@pytest.mark.parametrize("fields", [
    dict(kernel=3),
    dict(kernel=4, stride=2, pad=1, n_group=2, neuron="tanh"),
    dict(kernel=[3, 2], stride=[1, 3], dilation=2, bias=False),
])
def test_deconvolution(rng, fields):
    check_layers([Deconvolution(name="up", bottoms=["x"], tops=["y"], n_filter=6, **fields)], IMAGE, rng)


# (size, kernel, stride, pad): Caffe's ceil with and without the dropped last window
# (3, 2, 2, 1 trims it), overhang past the padding, stride above the kernel.
POOLS = [(7, 2, 2, 0), (9, 3, 2, 0), (3, 2, 2, 1), (7, 3, 2, 1), (6, 4, 3, 2), (8, 3, 3, 1),
         (10, 2, 3, 0), (10, 2, 4, 1), (5, 5, 1, 2), (9, [3, 2], [2, 1], [1, 0])]


@pytest.mark.parametrize("pool", ["max", "mean"])
@pytest.mark.parametrize("size, kernel, stride, pad", POOLS)
def test_pooling_rounds_and_divides_as_caffe(rng, pool, size, kernel, stride, pad):
    check_layers([Pooling(name="pool", bottoms=["x"], tops=["y"], pool=pool, kernel=kernel,
                          stride=stride, pad=pad)], {"x": ["N", 2, size, size + 1]}, rng, batches=(3, 2))


@pytest.mark.parametrize("pool", ["max", "mean"])
def test_global_pooling_with_a_neuron(rng, pool):
    check_layers([Pooling(name="pool", bottoms=["x"], tops=["y"], pool=pool, global_pooling=True,
                          neuron="exponential")], IMAGE, rng)


@pytest.mark.parametrize("pool, kernel, stride, pad", [("max", 2, 2, 0), ("mean", 3, 2, [1, 2])])
def test_channel_pooling(rng, pool, kernel, stride, pad):
    check_layers([ChannelPooling(name="cp", bottoms=["x"], tops=["y"], pool=pool, kernel=kernel,
                                 stride=stride, pad=pad)], {"x": ["N", 7, 3, 2]}, rng)


def test_neurons_in_place_and_apart(rng):
    check_layers([ReLU(name="relu", bottoms=["x"], tops=["x"]),
                  LeakyReLU(name="leaky", bottoms=["x"], tops=["a"], slope=0.2),
                  Sigmoid(name="sig", bottoms=["a"], tops=["b"]),
                  Tanh(name="tanh", bottoms=["b"], tops=["b"]),
                  Exponential(name="exp", bottoms=["b"], tops=["c"]),
                  LeakyReLU(name="leaky2", bottoms=["x"], tops=["d"], slope=0.3)],
                 {"x": ["N", 5]}, rng)


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_softmax(rng, axis):
    check_layers([Softmax(name="prob", bottoms=["x"], tops=["p"], axis=axis)], IMAGE, rng)


@pytest.mark.parametrize("shape", [["N", 6, 4, 5], ["N", 7]])
def test_lrn_across_channels(rng, shape):
    check_layers([LRN(name="norm", bottoms=["x"], tops=["y"], local_size=3, alpha=0.5, beta=0.75,
                      k=2.0)], {"x": shape}, rng)


def test_lrn_within_channel(rng):
    check_layers([LRN(name="norm", bottoms=["x"], tops=["y"], local_size=3, alpha=2.0, beta=0.6,
                      k=1.5, norm_region="within_channel")], IMAGE, rng)


def test_batch_norm_and_scale_in_place(rng):
    check_layers([BatchNorm(name="bn", bottoms=["x"], tops=["y"], eps=1e-3),
                  Scale(name="scale", bottoms=["y"], tops=["y"], bias=True),
                  BatchNorm(name="bn2", bottoms=["v"], tops=["w"])],
                 {**IMAGE, "v": ["N", 5]}, rng)


@pytest.mark.parametrize("fields", [dict(axis=2, num_axes=2), dict(num_axes=-1, bias=True),
                                    dict(num_axes=0), dict(axis=-1)])
def test_scale(rng, fields):
    check_layers([Scale(name="scale", bottoms=["x"], tops=["y"], **fields)], IMAGE, rng)


def test_dropout_identity_split_and_concat(rng):
    # Dropout renames x (identity in the test phase); x is read twice (an inserted Split);
    # Identity renames two blobs, one of them a net output.
    check_layers([Dropout(name="drop", bottoms=["x"], tops=["d"], ratio=0.5),
                  Dropout(name="drop2", bottoms=["z"], tops=["z"]),
                  Concat(name="cat", bottoms=["d", "x", "z"], tops=["c"], axis=1),
                  Identity(name="same", bottoms=["c", "x"], tops=["c2", "x2"]),
                  Split(name="fork", bottoms=["c2"], tops=["c3", "c4"]),
                  ElementWise(name="sum", bottoms=["c3", "c4"], tops=["s"])],
                 {"x": ["N", 3, 2], "z": ["N", 1, 2]}, rng)


def test_concat_along_the_batch(rng):
    check_layers([Concat(name="cat", bottoms=["x", "z"], tops=["c"], axis=0)],
                 {"x": ["N", 2], "z": ["N", 2]}, rng)


@pytest.mark.parametrize("layer", [
    Reshape(name="r", bottoms=["x"], tops=["y"], shape=[0, -1, 9]),
    Reshape(name="r", bottoms=["x"], tops=["y"], shape=[-1, 252]),
    Flatten(name="f", bottoms=["x"], tops=["y"]),
    Flatten(name="f", bottoms=["x"], tops=["y"], axis=2),
    Flatten(name="f", bottoms=["x"], tops=["y"], axis=1, end_axis=2),
])
def test_reshape_and_flatten(rng, layer):
    check_layers([layer], IMAGE, rng)


def test_crop(rng):
    check_layers([Crop(name="crop", bottoms=["x", "ref"], tops=["y"], axis=2, offset=[1, 3])],
                 {**IMAGE, "ref": ["N", 4, 5, 4]}, rng)


@pytest.mark.parametrize("operation, n, coeff", [("add", 3, None), ("sub", 2, None), ("mul", 3, None),
                                                ("div", 2, None), ("max", 3, None),
                                                ("add", 3, [1.5, -0.5, 2])])
def test_elementwise(rng, operation, n, coeff):
    names = ["a", "b", "c"][:n]
    check_layers([ElementWise(name="op", bottoms=names, tops=["y"], operation=operation, coeff=coeff)],
                 {name: ["N", 3, 4] for name in names}, rng,
                 make=lambda shape: rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape))


@pytest.mark.parametrize("power, scale, shift", [(2, 1, 0), (1, 0.5, 0), (1, 1, 3), (0.5, 2, 4),
                                                 (-1.5, 0.3, 2), (0, 2, 1), (1, 1, 0)])
def test_power(rng, power, scale, shift):
    check_layers([Power(name="pow", bottoms=["x"], tops=["y"], power=power, scale=scale, shift=shift)],
                 {"x": ["N", 3, 4]}, rng, make=lambda shape: rng.uniform(0, 2, shape))


@pytest.mark.parametrize("bias", [False, True])
def test_embed(rng, bias):
    check_layers([Embed(name="embed", bottoms=["i"], tops=["v"], input_dim=11, output_dim=4, bias=bias)],
                 {"i": ["N", 2, 3]}, rng, make=lambda shape: rng.integers(0, 11, shape))


@pytest.mark.parametrize("fields", [dict(), dict(top_k=3), dict(top_k=2, out_max_val=True),
                                    dict(axis=-1, top_k=1, out_max_val=True), dict(axis=2)])
def test_argmax(rng, fields):
    # Scores in a few values, so ties happen: the lower index wins in both.
    check_layers([ArgMax(name="top", bottoms=["x"], tops=["y"], **fields)], {"x": ["N", 5, 4]}, rng,
                 make=lambda shape: rng.integers(0, 3, shape))


@pytest.mark.parametrize("shape", [["N"], ["N", 1, 2, 3]])
def test_index2onehot(rng, shape):
    check_layers([Index2Onehot(name="onehot", bottoms=["i"], tops=["y"], n_class=5)], {"i": shape},
                 rng, make=lambda s: rng.integers(0, 5, s))
