"""Converters of the vision layers: convolutions, Caffe's pooling windows, LRN, Crop."""

import math

import numpy as np

from ..layers.pooling import pooled_extent
from .onnx_registry import converts
from .onnx_layers import apply_steps, channels_axis_fixed, int64_const, view


@converts("Convolution", "Deconvolution")
def convolution(graph, layer, x, y):
    op = "Conv" if type(layer).__name__ == "Convolution" else "ConvTranspose"
    inputs = [x[0], graph.const("weight", graph.param("weight"))]   # both as ONNX lays them out
    inputs += [graph.const("bias", graph.param("bias"))] if layer.bias else []
    graph.node(op, inputs, out=y[0], kernel_shape=list(layer.kernel), strides=list(layer.stride),
               pads=list(layer.pad) * 2, dilations=list(layer.dilation), group=layer.n_group)


def _window_pool(graph, pool, x, out, sizes, kernel, stride, before, extents):
    """Pool the trailing axes of x (N, C, *sizes) over graphnet's (Caffe's) windows.

    ONNX's ceil_mode gets the count right but its shape inference does not drop the last
    window as Caffe does, and its divisors depend on the runtime's version. So: pad each
    axis explicitly up to where the windows end (a negative pad cuts an axis the windows
    stop short of), pool without padding or ceil_mode, and rescale a mean from the kernel's
    size to graphnet's divisor (the window clipped to the padded image)."""
    after = [span - b - size for (_, span, _), b, size in zip(extents, before, sizes)]
    if any(before) or any(after):
        pads = [0, 0, *before, 0, 0, *after]
        fill = -np.inf if pool == "max" else 0.0
        x = graph.node("Pad", [x, int64_const(graph, "pads", pads), graph.const("fill", fill)])
    divisor = np.ones(())
    for _, _, counts in extents:
        divisor = np.multiply.outer(divisor, np.asarray(counts, dtype=float))
    rescale = np.prod(kernel) / divisor
    op = "MaxPool" if pool == "max" else "AveragePool"
    rescaled = pool == "mean" and np.any(rescale != 1)
    pooled = graph.node(op, [x], out=None if rescaled else out, kernel_shape=list(kernel),
                        strides=list(stride))
    if rescaled:
        graph.node("Mul", [pooled, graph.const("divisor", rescale[None, None])], out=out)


@converts("Pooling")
def pooling(graph, layer, x, y):
    n, c, h, w = graph.shape(layer.bottoms[0])
    if layer.global_pooling:
        graph.node("GlobalMaxPool" if layer.pool == "max" else "GlobalAveragePool", x, out=y[0])
        return
    extents = [pooled_extent(size, k, s, p, p)
               for size, k, s, p in zip((h, w), layer.kernel, layer.stride, layer.pad)]
    _window_pool(graph, layer.pool, x[0], y[0], (h, w), layer.kernel, layer.stride, layer.pad,
                 extents)


@converts("ChannelPooling")
def channel_pooling(graph, layer, x, y):
    # Channels as the rows of an image (N, 1, C, rest), pooled with windows (kernel, 1).
    bottom = layer.bottoms[0]
    shape = graph.shape(bottom)
    channels_axis_fixed(graph, bottom)
    rest = math.prod(shape[2:])
    image = view(graph, x[0], bottom, (None, 1, shape[1], rest))
    before, after = layer.pad
    extents = [pooled_extent(shape[1], layer.kernel, layer.stride, before, after),
               (rest, rest, [1] * rest)]
    pooled = graph.fresh(f"{layer.name}/pooled")
    _window_pool(graph, layer.pool, image, pooled, (shape[1], rest), (layer.kernel, 1),
                 (layer.stride, 1), (before, 0), extents)
    view(graph, pooled, bottom, graph.shape(layer.tops[0]), out=y[0])


@converts("LRN")
def lrn(graph, layer, x, y):
    bottom = layer.bottoms[0]
    shape = graph.shape(bottom)
    channels_axis_fixed(graph, bottom)
    if layer.norm_region == "across_channels":
        attrs = dict(size=layer.local_size, alpha=float(layer.alpha), beta=float(layer.beta),
                     bias=float(layer.k))
        if len(shape) == 4:
            graph.node("LRN", x, out=y[0], **attrs)
            return
        image = view(graph, x[0], bottom, (None, shape[1], math.prod(shape[2:]), 1))
        view(graph, graph.node("LRN", [image], **attrs), bottom, shape, out=y[0])
        return
    # Within a channel ONNX has no operator: k + alpha * (mean of x^2 over the zero-padded
    # local_size^2 window), to the power -beta, times x.
    half = layer.local_size // 2
    squares = graph.node("Mul", [x[0], x[0]])
    mean = graph.node("AveragePool", [squares], kernel_shape=[layer.local_size] * 2,
                      pads=[half] * 4, count_include_pad=1)
    scaled = apply_steps(graph, mean, None, [("Mul", "alpha", layer.alpha), ("Add", "k", layer.k),
                                        ("Pow", "power", -layer.beta)])
    graph.node("Mul", [x[0], scaled], out=y[0])


@converts("Crop")
def crop(graph, layer, x, y):
    bottom = layer.bottoms[0]
    axis = layer.axis % len(graph.shape(bottom))
    if axis < graph.dynamic[bottom]:
        raise graph.error(f"is {layer.axis}: it would crop the free batch axis of '{bottom}'",
                          "axis")
    cut = layer.window[axis:]
    graph.node("Slice", [x[0], int64_const(graph, "starts", [s.start for s in cut]),
                         int64_const(graph, "ends", [s.stop for s in cut]),
                         int64_const(graph, "axes", list(range(axis, axis + len(cut))))], out=y[0])
