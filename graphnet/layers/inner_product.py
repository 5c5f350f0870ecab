"""InnerProduct: a fully connected layer, y = x W^T + b.

Small products use the arrays' dot rather than matmul: NumPy's matmul is several times
slower on skinny products (a thousand samples of a few features), and the method skips the
function's dispatch. Its out must be C-contiguous. A large product is cut into parts for the
backend's threads (graphnet/workers.py): y and dL/dW by output units, dL/dX by input
features, so that each part reads its own slice of the weight (cut by samples, every part
repacked the whole weight: LeNet's ip1 forward took 1.25 ms in 4 parts against 0.66 in
one, and 0.73 cut by units) and no part's result is summed with another's. Where samples
are many and the weight small (a sequence model's scores), y and dL/dX are cut by samples
and dL/dW by input features instead. No cut changes a number: each element is still one
product over the same inputs. matmul, not dot, there: dot holds the GIL.
"""

import math

from ..fillers import filler
from ..spec import Field, boolean, integer
from ..workers import split
from .base import Layer, register
from .neurons import neuron


@register
class InnerProduct(Layer):
    """Every output unit sees every input feature; the features of a sample are flattened.

    Bottom (N, d1, d2, ...) -> top (N, output_dim). The weight is (output_dim, d1*d2*...)
    as in Caffe and PyTorch; the bias learns at twice the rate and without weight decay.
    With `axis: 2` the first two axes both index samples, as for a time-major (T, N, D)
    sequence: (T, N, D) -> (T, N, output_dim), one weight for every step.

        - {name: ip1, type: InnerProduct, bottoms: [pool2], tops: [ip1], output_dim: 500,
           neuron: relu}
    """
    output_dim = Field(integer(min=1), doc="number of output units")
    bias = Field(boolean, True, "learn a bias per output unit")
    axis = Field(integer(min=1), 1, "axes before this index samples; the rest are flattened")
    neuron = Field(neuron, "identity", "activation applied to the output (fused)")
    weight_filler = Field(filler, "xavier")
    bias_filler = Field(filler, 0.0)
    part_products = 1 << 22   # multiply-adds per part, where a product is cut into parts
    part_samples = 256        # fewest samples per part where y and dL/dX are cut by samples

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if self.axis >= len(shape):
            raise self.error(f"is {self.axis}, but bottom '{self.bottoms[0]}' {shape} has only "
                             f"{len(shape)} axes", "axis")
        self.samples = math.prod(shape[:self.axis])
        self._flat = len(shape) == 2  # (N, D) -> (N, output_dim): nothing to reshape
        features = math.prod(shape[self.axis:])
        # On a device one product: each part would be launches of its own.
        count = 1 if self.backend.launches else min(
            4, self.samples * features * self.output_dim // self.part_products)
        # Each product's parts as index pairs: y[samples, units], dW[units, features] and
        # dX[samples, features]; `whole` where a product is not cut that way. Many samples
        # and a small weight (a sequence model's scores: 3,200 x 128 -> 84) cut y and dX by
        # samples and dW by features (cut by units, the 84 outputs made parts 21 wide: the
        # forward took 1.22 ms against 0.59); otherwise y and dW by units, dX by features.
        self.y_parts = self.weight_parts = self.dx_parts = None
        self.y_by_units = False
        if count > 1:
            whole = slice(None)
            samples = split(self.samples, count)
            units, by_features = split(self.output_dim, count), split(features, count)
            if self.samples >= self.part_samples * count:
                self.y_parts = [(rows, whole) for rows in samples]
                self.weight_parts = [(whole, f) for f in by_features]
                self.dx_parts = [(rows, whole) for rows in samples]
            else:
                self.y_by_units = True
                self.y_parts = [(whole, u) for u in units]
                self.weight_parts = [(u, whole) for u in units]
                self.dx_parts = [(whole, f) for f in by_features]
        self.add_param("weight", (self.output_dim, features), self.weight_filler)
        if self.bias:
            self.add_param("bias", (self.output_dim,), self.bias_filler, lr_mult=2.0, decay_mult=0.0)
        return [shape[:self.axis] + (self.output_dim,)]

    def forward(self, bottoms, tops):
        x, y = bottoms[0].data, tops[0].data
        if not self._flat:
            x, y = x.reshape(self.samples, -1), y.reshape(self.samples, self.output_dim)
        weight = self.params["weight"].data
        bias = self.params["bias"].data if self.bias else None
        if self.y_parts:
            def part(index, slot):
                rows, units = self.y_parts[index]
                out = y[rows, units]
                if self.y_by_units:
                    # (W x^T)^T: BLAS takes a slice of W faster as the left operand (ip1's 4
                    # parts on one thread: 687 us against 773 for x W^T; the same bits).
                    product = self.xp.matmul(weight[units], x[rows].T).T
                else:
                    product = self.xp.matmul(x[rows], weight[units].T, out=out)
                if bias is not None:
                    self.xp.add(product, bias[units], out=out)
                elif product is not out:
                    out[...] = product
            self.backend.parallel(len(self.y_parts), part)
            return
        x.dot(weight.T, out=y)                                   # y: our own C-contiguous top
        if bias is not None:
            y += bias

    def backward(self, tops, propagate_down, bottoms):
        dy, x = tops[0].diff, bottoms[0].data
        if not self._flat:
            dy, x = dy.reshape(self.samples, self.output_dim), x.reshape(self.samples, -1)
        weight = self.params["weight"]
        if self.bias and self.params["bias"].needs_grad:
            self.params["bias"].diff += dy.sum(axis=0)               # dL/db = sum_n dY
        dx = None
        if propagate_down[0]:
            dx = bottoms[0].diff if self._flat else bottoms[0].diff.reshape(self.samples, -1)
        if self.y_parts:   # one job for both products
            xp = self.xp

            def weight_part(units, features):
                weight.diff[units, features] += xp.matmul(dy[:, units].T, x[:, features])

            def dx_part(rows, features):
                xp.matmul(dy[rows], weight.data[:, features], out=dx[rows, features])
            products = [(weight_part, p) for p in self.weight_parts] if weight.needs_grad else []
            products += [(dx_part, p) for p in self.dx_parts] if dx is not None else []
            self.backend.parallel(len(products),
                                  lambda index, slot: products[index][0](*products[index][1]))
            return
        if weight.needs_grad:
            weight.diff += dy.T.dot(x)                               # dL/dW = dY^T X
        if dx is None:
            return
        if dx.flags.c_contiguous:
            dy.dot(weight.data, out=dx)                              # dL/dX = dY W
        else:
            self.xp.matmul(dy, weight.data, out=dx)
