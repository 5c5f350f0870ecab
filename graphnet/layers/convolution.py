"""Convolution and Deconvolution (transposed convolution), by im2col and one GEMM per group.

im2col copies every kernel window of the image into a column matrix (C*kh*kw, L), L
running over the batch and the output positions, with kh*kw strided slice copies;
then Y = W X_col is one batched matmul over the groups for the whole batch. col2im, its
adjoint, adds the columns back with kh*kw strided adds. Deconvolution is the same pair
run the other way: its forward is Convolution's input gradient, and its input gradient
is Convolution's forward. The buffers are made once in setup; L runs over (N, OH, OW)
or (OH, OW, N), whichever is faster for the layer's shapes (see _batch_last).
"""

import math

from ..errors import shown
from ..fillers import filler
from ..spec import Field, boolean, integer
from .base import Layer, register
from .neurons import neuron


def pair(min=None):
    """Converter for a size given once or per spatial axis: 5 -> (5, 5), [5, 3] -> (5, 3)."""
    whole, bounded = integer(), integer(min=min)

    def convert(value):
        items = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
        try:
            if len(items) != 2:
                raise ValueError
            items = tuple(whole(v) for v in items)
        except ValueError:
            raise ValueError(f"must be an integer or a pair [h, w] of integers, "
                             f"got {shown(value)}") from None
        return tuple(bounded(v) for v in items)
    return convert


def _batch_last(n, channels, rows, kernel, stride, image_hw, out_hw):
    """Whether the columns run over (OH, OW, N) rather than (N, OH, OW): a cost model.

    A strided slice copy costs about 10 ns per inner loop on top of the bytes it moves.
    With the batch first an inner loop is one output row (OW elements), slow for small
    images; with the batch last it is OW*N (N with a stride), but then the image and the
    rows must be transposed element by element, about 2 ns per element each way.
    Measured on LeNet (N=64, forward + backward): conv2 (12x12 -> 8x8, 500 columns) is
    about 1.4x faster batch last; conv1 (28x28 -> 24x24, 25 columns) 1.2x faster batch first.
    """
    (oh, ow), sw = out_hw, stride[1]
    columns = channels * kernel[0] * kernel[1] * oh * ow        # per sample
    loops_first, loops_last = 1 / ow, 1 / (ow * n if sw == 1 else n)
    copies = 3 * 10 * columns * (loops_first - loops_last)      # im2col, col2im costs twice that
    transposes = 2 * 2 * (channels * image_hw[0] * image_hw[1] + rows * oh * ow)
    return copies > transposes


class _Im2col:
    """im2col and col2im for one layer's shapes, with the buffers they reuse.

    The image side is (N, C, H, W); `columns` are (G, C/G*kh*kw, L) and `rows`, the other
    side of the matmul with R channels, are (G, R/G, L), with L in the same order in both.
    Images and rows are held channel first inside: (C, N, H, W) or (C, H, W, N).
    """

    def __init__(self, layer, image_shape, rows, out_hw):
        n, c, h, w = image_shape
        (kh, kw), (sh, sw) = layer.kernel, layer.stride
        (ph, pw), (dh, dw) = layer.pad, layer.dilation
        (oh, ow), groups, backend = out_hw, layer.n_group, layer.backend
        self.xp = backend.xp
        self.batch_last = _batch_last(n, c, rows, layer.kernel, layer.stride, (h, w), out_hw)
        if self.batch_last:
            self.order, self.undo = (1, 2, 3, 0), (3, 0, 1, 2)
            image, spatial, first = (c, h + 2 * ph, w + 2 * pw, n), (oh, ow, n), 1
        else:
            self.order, self.undo = (1, 0, 2, 3), (1, 0, 2, 3)
            image, spatial, first = (c, n, h + 2 * ph, w + 2 * pw), (n, oh, ow), 2
        length = math.prod(spatial)
        self.by_offset = backend.empty((c, kh, kw, *spatial))
        self.columns = self.by_offset.reshape(groups, c // groups * kh * kw, length)
        self.rows = backend.empty((groups, rows // groups, length))
        self.row_image = self.rows.reshape(rows, *spatial)
        # Where the window of each kernel offset lies in the padded image, and the image.
        self.windows = []
        for i in range(kh):
            for j in range(kw):
                window = [slice(None)] * 4
                window[first] = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
                window[first + 1] = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
                self.windows.append((i, j, tuple(window)))
        inside = [slice(None)] * 4
        inside[first:first + 2] = slice(ph, ph + h), slice(pw, pw + w)
        self.inside = tuple(inside)
        # A view of the caller's array serves when there is nothing to pad or reorder.
        direct = not (ph or pw or self.batch_last)
        self.padded = None if direct else backend.zeros(image)   # im2col's source; border stays 0
        self.summed = None if direct else backend.empty(image)   # col2im's target
        self.kernels = backend.kernels if self.batch_last else None
        self.stride, self.dilation = layer.stride, layer.dilation

    def im2col(self, x):
        """Fill and return the columns of images x (N, C, H, W)."""
        image = x.transpose(self.order)
        if self.padded is not None:
            self.padded[self.inside] = image
            image = self.padded
        for i, j, window in self.windows:
            self.by_offset[:, i, j] = image[window]
        return self.columns

    def col2im(self, out):
        """Write into out (N, C, H, W) the sum of the columns' windows: im2col's adjoint."""
        image = out.transpose(self.order) if self.summed is None else self.summed
        if self.kernels is not None:   # one pass over the columns instead of kh*kw slices
            self.kernels.col2im_batch_last(self.by_offset, image, self.stride, self.dilation)
        else:
            image[...] = 0
            for i, j, window in self.windows:
                image[window] += self.by_offset[:, i, j]
        if self.summed is not None:
            out[...] = self.summed[self.inside].transpose(self.undo)

    def to_rows(self, a):
        """Fill and return the rows from a (N, R, OH, OW)."""
        self.row_image[...] = a.transpose(self.order)
        return self.rows

    def from_rows(self, out, bias=None):
        """Write the rows, plus a bias per row when given, into out (N, R, OH, OW)."""
        if bias is None:
            out[...] = self.row_image.transpose(self.undo)
        else:
            self.xp.add(self.row_image.transpose(self.undo), bias.reshape(-1, 1, 1), out=out)


class _ConvolutionBase(Layer):
    n_filter = Field(integer(min=1), doc="number of output channels")
    kernel = Field(pair(min=1), doc="kernel size: k or [kh, kw]")
    stride = Field(pair(min=1), 1, "step between windows: s or [sh, sw]")
    pad = Field(pair(min=0), 0, "zeros added on each side: p or [ph, pw]")
    dilation = Field(pair(min=1), 1, "spacing between kernel taps: d or [dh, dw]")
    n_group = Field(integer(min=1), 1, "channels split into groups convolved separately")
    bias = Field(boolean, True, "learn a bias per output channel")
    neuron = Field(neuron, "identity", "activation applied to the output (fused)")
    weight_filler = Field(filler, "xavier")
    bias_filler = Field(filler, 0.0)

    def validate(self):
        super().validate()
        if self.n_filter % self.n_group:
            raise self.error(f"n_filter {self.n_filter} does not divide into {self.n_group} groups",
                             "n_group")

    def check_bottom(self, shape):
        """The bottom's (N, C, H, W), checked."""
        if len(shape) != 4:
            raise self.error(f"needs a 4-D bottom (N, C, H, W), '{self.bottoms[0]}' is {shape}",
                             "bottoms")
        if shape[1] % self.n_group:
            raise self.error(f"{shape[1]} channels of '{self.bottoms[0]}' {shape} do not divide "
                             f"into {self.n_group} groups", "n_group")
        return shape

    def extent(self):
        """The span (h, w) of a dilated kernel."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def grouped(self, array):
        """A weight (R, ., kh, kw) as (G, R/G, .*kh*kw), the matmul's view of it."""
        return array.reshape(self.n_group, len(array) // self.n_group, -1)

    def prepare(self, image_shape, rows, rows_hw):
        """Declare the parameters and make the buffers. The image side is (N, C, H, W), the
        other side of the matmul (N, rows, *rows_hw); the weight is (rows, C/G, kh, kw)."""
        self.add_param("weight", (rows, image_shape[1] // self.n_group, *self.kernel),
                       self.weight_filler)
        if self.bias:
            self.add_param("bias", (self.n_filter,), self.bias_filler, lr_mult=2.0, decay_mult=0.0)
        self.buffers = _Im2col(self, image_shape, rows, rows_hw)
        self.weight_grad = self.backend.empty(self.buffers.rows.shape[:2]
                                              + self.buffers.columns.shape[1:2])
        self.kept = False   # whether forward's operand (X_col or X) is still in the buffers

    def add_weight_grad(self, rows, columns):
        """dL/dW += rows columns^T, group by group."""
        weight = self.params["weight"]
        if weight.needs_grad:
            self.xp.matmul(rows, columns.transpose(0, 2, 1), out=self.weight_grad)
            diff = self.grouped(weight.diff)
            diff += self.weight_grad


@register
class Convolution(_ConvolutionBase):
    """2-D convolution (cross-correlation, as in Caffe) of an (N, C, H, W) bottom.

    Top (N, n_filter, OH, OW) with OH = (H + 2*pad - (dilation*(kernel-1)+1)) // stride + 1.
    The weight is (n_filter, C/n_group, kh, kw): group g's filters see only the g-th
    n_group-th of the channels. The bias learns at twice the rate, without decay.

        - {name: conv1, type: Convolution, bottoms: [data], tops: [conv1], n_filter: 20,
           kernel: 5, stride: 1, pad: [2, 2], neuron: relu}
    """

    def setup(self, bottom_shapes):
        n, c, h, w = self.check_bottom(bottom_shapes[0])
        (ph, pw), (eh, ew) = self.pad, self.extent()
        out = tuple((size + 2 * p - e) // s + 1 for size, p, e, s
                    in zip((h, w), self.pad, self.extent(), self.stride))
        if min(out) < 1:
            raise self.error(f"kernel spans {eh}x{ew} (dilation included) but '{self.bottoms[0]}' "
                             f"{bottom_shapes[0]} padded is {h + 2 * ph}x{w + 2 * pw}", "kernel")
        self.prepare((n, c, h, w), self.n_filter, out)
        return [(n, self.n_filter, *out)]

    def forward(self, bottoms, tops):
        columns = self.buffers.im2col(bottoms[0].data)
        self.kept = True
        self.xp.matmul(self.grouped(self.params["weight"].data), columns,
                       out=self.buffers.rows)                              # Y = W X_col
        self.buffers.from_rows(tops[0].data, self.params["bias"].data if self.bias else None)

    def backward(self, tops, propagate_down, bottoms):
        dy = self.buffers.to_rows(tops[0].diff)
        columns = self.buffers.columns if self.kept else self.buffers.im2col(bottoms[0].data)
        self.add_weight_grad(dy, columns)                              # dL/dW = dY X_col^T
        if self.bias and self.params["bias"].needs_grad:
            self.params["bias"].diff += dy.sum(axis=2).reshape(-1)     # dL/db = sum of dY
        if propagate_down[0]:
            weight = self.grouped(self.params["weight"].data)
            self.xp.matmul(weight.transpose(0, 2, 1), dy, out=columns)  # dL/dX_col = W^T dY
            self.kept = False
            self.buffers.col2im(bottoms[0].diff)                       # dL/dX = col2im(dL/dX_col)


@register
class Deconvolution(_ConvolutionBase):
    """Transposed convolution (Caffe's Deconvolution): the adjoint of a Convolution.

    Bottom (N, C, H, W) -> top (N, n_filter, OH, OW) with
    OH = stride*(H-1) + dilation*(kernel-1)+1 - 2*pad: a Convolution with the same fields
    maps the top's shape back to the bottom's. The weight is (C, n_filter/n_group, kh, kw)
    as in Caffe. With `weight_filler: bilinear`, stride s, kernel 2s - s%2, pad ceil((s-1)/2)
    and n_group = C = n_filter (and lr_mult 0) it upsamples each channel bilinearly by s.

        - {name: up, type: Deconvolution, bottoms: [score], tops: [upscore], n_filter: 21,
           kernel: 4, stride: 2, pad: 1, n_group: 21, bias: false, weight_filler: bilinear,
           param: {weight: {lr_mult: 0}}}
    """

    def setup(self, bottom_shapes):
        n, c, h, w = self.check_bottom(bottom_shapes[0])
        out = tuple(s * (size - 1) + e - 2 * p for size, p, e, s
                    in zip((h, w), self.pad, self.extent(), self.stride))
        if min(out) < 1:
            raise self.error(f"leaves no output: '{self.bottoms[0]}' {bottom_shapes[0]} gives "
                             f"{out[0]}x{out[1]} (stride*(in-1) + dilation*(kernel-1)+1 - 2*pad)",
                             "pad")
        self.prepare((n, self.n_filter, *out), c, (h, w))
        return [(n, self.n_filter, *out)]

    def forward(self, bottoms, tops):
        x = self.buffers.to_rows(bottoms[0].data)
        self.kept = True
        weight = self.grouped(self.params["weight"].data)
        self.xp.matmul(weight.transpose(0, 2, 1), x, out=self.buffers.columns)  # Y_col = W^T X
        self.buffers.col2im(tops[0].data)                                        # Y = col2im(Y_col)
        if self.bias:
            tops[0].data += self.params["bias"].data.reshape(-1, 1, 1)

    def backward(self, tops, propagate_down, bottoms):
        dy = tops[0].diff
        columns = self.buffers.im2col(dy)
        x = self.buffers.rows if self.kept else self.buffers.to_rows(bottoms[0].data)
        self.add_weight_grad(x, columns)                               # dL/dW = X dY_col^T
        if self.bias and self.params["bias"].needs_grad:
            self.params["bias"].diff += dy.sum(axis=(0, 2, 3))         # dL/db = sum of dY
        if propagate_down[0]:
            weight = self.grouped(self.params["weight"].data)
            self.xp.matmul(weight, columns, out=self.buffers.rows)     # dL/dX = W dY_col
            self.kept = False
            self.buffers.from_rows(bottoms[0].diff)
