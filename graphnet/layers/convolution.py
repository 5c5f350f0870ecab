"""Convolution and Deconvolution (transposed convolution), by im2col and per-sample GEMMs.

im2col copies every kernel window of a sample into its column matrix (C*kh*kw, OH*OW)
(graphnet/layers/columns.py); then Y_n = W X_col,n is one product per sample and group,
written straight into the NCHW top. col2im, its adjoint, adds the columns back.
Deconvolution is the same pair run the other way: its forward is Convolution's input
gradient, and its input gradient is Convolution's forward.

The batch is cut into parts of a few samples that the backend's threads take side by side
(graphnet/workers.py); each part's weight gradient is summed into the parameter in part
order, so the numbers do not depend on the thread count. Columns live only in each thread's
scratch, one part's worth: backward makes them again rather than keeping forward's (on
LeNet, 15.4 ms a step on one thread against 16.8 keeping them, the columns hot in cache
against 12 MB of them cold; the same on two threads), so the memory of a net, training or
not, does not grow with the batch beyond its blobs.
"""

import math

from ..errors import shown
from ..fillers import filler
from ..spec import Field, boolean, integer
from .base import Layer, register
from ..workers import batch_parts
from .columns import Columns
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


class _ConvolutionBase(Layer):
    joinable = True   # all of forward and backward in the parts (graphnet/joins.py)
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

    part_bytes = 1 << 20   # columns per part: a few samples, within a core's cache
    # On a device, where each part is a round of kernel launches: the batch whole, up to
    # this much (LeNet on an H200 trained at 9,388 images/s and inferred at 234,811, in
    # parts of 1 MB at 2,665 and 11,576).
    device_part_bytes = 1 << 26
    # Below this many rows (C/G*kh*kw) the columns are stored by sample, else batch last
    # (graphnet/layers/columns.py, with the figures that chose it).
    by_sample_below = 64

    def prepare(self, image_shape, rows, rows_hw):
        """Declare the parameters and make the geometry. The image side is (N, C, H, W), the
        other side of the matmul (N, rows, *rows_hw); the weight is (rows, C/G, kh, kw)."""
        n, c, h, w = image_shape
        self.add_param("weight", (rows, c // self.n_group, *self.kernel), self.weight_filler)
        if self.bias:
            self.add_param("bias", (self.n_filter,), self.bias_filler, lr_mult=2.0, decay_mult=0.0)
        by_sample = c // self.n_group * self.kernel[0] * self.kernel[1] < self.by_sample_below
        self.columns = Columns(self.backend, (c, h, w), self.kernel, self.stride, self.pad,
                               self.dilation, rows_hw, by_sample)
        self.parts = batch_parts(n, self.backend.dtype.itemsize * self.columns.per_sample,
                                 self.device_part_bytes if self.backend.launches else self.part_bytes)
        self.rows_shape = (self.n_group, rows // self.n_group, rows_hw[0] * rows_hw[1])
        self.scratch = {}    # per thread slot: a part's columns, rows and weight gradient
        self.part_grads = None

    def _scratch(self, name, slot, shape):
        # By shape too: a batch's last part may be smaller, and must not evict the others'.
        buffer = self.scratch.get((name, slot, shape))
        if buffer is None:
            buffer = self.scratch[name, slot, shape] = self.backend.empty(shape)
        return buffer

    def column_buffer(self, index, slot):
        """This thread's scratch for the columns of part `index`."""
        part = self.parts[index]
        return self._scratch("columns", slot, self.columns.shape(part.stop - part.start))

    def operands(self, tops, propagate_down, bottoms):
        """Backward's (x, dL/dy, dL/dx or None), and each part's gradient buffers: all made
        here, before the threads take the parts (a blob's diff is made on first read)."""
        self.part_buffers()
        return bottoms[0].data, tops[0].diff, bottoms[0].diff if propagate_down[0] else None

    def part_buffers(self):
        """Each part's weight (and bias) gradient, made before the threads take the parts."""
        if self.part_grads is None:
            g, r, k = self.grouped(self.params["weight"].data).shape
            shape = (g, r, k) if self.columns.by_sample else (g, k, r)   # see add_grads
            self.part_grads = self.backend.zeros((len(self.parts),) + shape)
            self.part_bias = self.backend.zeros((len(self.parts), self.n_filter))

    def grouped(self, array):
        """A weight (R, ., kh, kw) as (G, R/G, .*kh*kw), the matmul's view of it."""
        return array.reshape(self.n_group, len(array) // self.n_group, -1)

    def matrix(self, columns):
        """Columns as the matmul's operand: (P, G, C/G*kh*kw, OH*OW) by sample, else
        (G, C/G*kh*kw, OH*OW*P)."""
        if self.columns.by_sample:
            return columns.reshape(len(columns), self.n_group, -1, self.rows_shape[2])
        return columns.reshape(self.n_group, -1, self.rows_shape[2] * columns.shape[-1])

    def rows_in(self, array, slot):
        """An (P, R, OH, OW) array as the matmul's rows: (P, G, R/G, OH*OW), a view, by sample;
        else (G, R/G, OH*OW*P), a transposed copy in this thread's scratch."""
        p = len(array)
        if self.columns.by_sample:
            return array.reshape(p, *self.rows_shape)
        rows = self.rows_out(array, slot)
        rows.reshape(-1, *array.shape[2:], p)[...] = array.transpose(1, 2, 3, 0)
        return rows

    def rows_out(self, array, slot):
        """Where the matmul writes rows meant for array (P, R, OH, OW): see `rows_done`."""
        p = len(array)
        if self.columns.by_sample:
            return array.reshape(p, *self.rows_shape)
        g, r, length = self.rows_shape
        return self._scratch("rows", slot, (g, r, length * p))

    def rows_done(self, rows, array, bias=None):
        """The rows from `rows_out`, plus a bias per row when given, into array."""
        if self.columns.by_sample:
            if bias is None:
                return
            kernels = self.backend.kernels
            if kernels is not None and array.flags.c_contiguous:
                kernels.add_bias(array.reshape(len(array), len(bias), -1), bias)
            else:
                array += bias.reshape(-1, 1, 1)
            return
        rows = rows.reshape(-1, *array.shape[2:], len(array)).transpose(3, 0, 1, 2)
        if bias is None:
            array[...] = rows
        else:
            self.xp.add(rows, bias.reshape(-1, 1, 1), out=array)

    def add_grads(self, rows, columns, index, slot, bias_rows=True):
        """Part `index`'s dL/dW = rows columns^T (summed over its samples), and with
        `bias_rows` dL/db = the rows' sum, into its own buffers (`part_bias`); `sum_parts`
        adds the parts up in order."""
        xp = self.xp
        bias = self.part_bias[index].reshape(self.rows_shape[:2]) if bias_rows else None
        if self.columns.by_sample:
            product = self._scratch("product", slot, (len(rows),) + self.part_grads.shape[1:])
            xp.matmul(rows, columns.swapaxes(-1, -2), out=product)
            product.sum(axis=0, out=self.part_grads[index])
            if bias is not None:
                rows.sum(axis=(0, 3), out=bias)
        else:
            # (X_col dY^T)^T: 290 us against 367 for dY X_col^T on conv2's part (BLAS reads
            # the transposed X_col slower than the transposed dY).
            xp.matmul(columns, rows.swapaxes(-1, -2), out=self.part_grads[index])
            if bias is not None:
                rows.sum(axis=-1, out=bias)

    def sum_parts(self):
        """The parts' gradients into the parameters', in part order."""
        weight = self.params["weight"]
        if weight.needs_grad:
            diff, total = self.grouped(weight.diff), self.part_grads.sum(axis=0)
            diff += total if self.columns.by_sample else total.swapaxes(-1, -2)
        if self.bias and self.params["bias"].needs_grad:
            self.params["bias"].diff += self.part_bias.sum(axis=0).reshape(-1)


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
        x, y, xp = bottoms[0].data, tops[0].data, self.xp
        weight = self.grouped(self.params["weight"].data)
        bias = self.params["bias"].data if self.bias else None

        def part_forward(index, slot):
            part = self.parts[index]
            columns = self.column_buffer(index, slot)
            self.columns.im2col(x[part], columns, slot)
            rows = self.rows_out(y[part], slot)
            xp.matmul(weight, self.matrix(columns), out=rows)                  # Y = W X_col
            self.rows_done(rows, y[part], bias)
        self.backend.parallel(len(self.parts), part_forward)

    def backward(self, tops, propagate_down, bottoms):
        xp, weight = self.xp, self.grouped(self.params["weight"].data)
        x, dy_all, dx_all = self.operands(tops, propagate_down, bottoms)

        def part_backward(index, slot):
            part = self.parts[index]
            columns = self.column_buffer(index, slot)
            self.columns.im2col(x[part], columns, slot)
            dy = self.rows_in(dy_all[part], slot)
            self.add_grads(dy, self.matrix(columns), index, slot)      # dL/dW = dY X_col^T
            if propagate_down[0]:
                xp.matmul(weight.swapaxes(-1, -2), dy, out=self.matrix(columns))  # W^T dY
                self.columns.col2im(columns, dx_all[part], slot)             # col2im of it
        self.backend.parallel(len(self.parts), part_backward, then=self.sum_parts)


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
        x, y, xp = bottoms[0].data, tops[0].data, self.xp
        weight = self.grouped(self.params["weight"].data).swapaxes(-1, -2)
        bias = self.params["bias"].data.reshape(-1, 1, 1) if self.bias else None

        def part_forward(index, slot):
            part = self.parts[index]
            columns = self.column_buffer(index, slot)
            xp.matmul(weight, self.rows_in(x[part], slot), out=self.matrix(columns))  # W^T X
            self.columns.col2im(columns, y[part], slot)                   # Y = col2im(Y_col)
            if bias is not None:
                y[part] += bias
        self.backend.parallel(len(self.parts), part_forward)

    def backward(self, tops, propagate_down, bottoms):
        xp, weight = self.xp, self.grouped(self.params["weight"].data)
        x, dy_all, dx_all = self.operands(tops, propagate_down, bottoms)

        def part_backward(index, slot):
            part = self.parts[index]
            columns = self.column_buffer(index, slot)
            self.columns.im2col(dy_all[part], columns, slot)
            dy_columns = self.matrix(columns)
            self.add_grads(self.rows_in(x[part], slot), dy_columns, index, slot, False)  # X dY_col^T
            dy_all[part].sum(axis=(0, 2, 3), out=self.part_bias[index])
            if propagate_down[0]:
                rows = self.rows_out(dx_all[part], slot)
                xp.matmul(weight, dy_columns, out=rows)                          # W dY_col
                self.rows_done(rows, dx_all[part])
        self.backend.parallel(len(self.parts), part_backward, then=self.sum_parts)
