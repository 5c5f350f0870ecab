"""Embed: a learned vector for each index (a lookup table; Caffe's Embed, PyTorch's Embedding)."""

from ..fillers import filler
from ..spec import Field, boolean, integer
from .base import Layer, as_indices, register


@register
class Embed(Layer):
    """Bottom: indices 0..input_dim-1 of any shape S (held as numbers, like labels); top:
    S + (output_dim,), row `index` of `weight` (input_dim, output_dim) at each position.
    It is the same as a one-hot code times an InnerProduct's weight, without the one-hot
    code. The indices take no gradient; the rows they picked do.

        - {name: embed, type: Embed, bottoms: [chars], tops: [embedded], input_dim: 84,
           output_dim: 64}
    """
    input_dim = Field(integer(min=1), doc="how many indices (the alphabet, the vocabulary)")
    output_dim = Field(integer(min=1), doc="length of each vector")
    bias = Field(boolean, False, "also learn a bias added to every vector")
    weight_filler = Field(filler, {"type": "gaussian", "std": 1.0})
    bias_filler = Field(filler, 0.0)
    grad_bottoms = ()

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        self.add_param("weight", (self.input_dim, self.output_dim), self.weight_filler)
        if self.bias:
            self.add_param("bias", (self.output_dim,), self.bias_filler, decay_mult=0.0)
        self.kernels = self.backend.kernels
        return [shape + (self.output_dim,)]

    def forward(self, bottoms, tops):
        xp, values = self.xp, bottoms[0].data
        self.index, bad = as_indices(xp, values.ravel(), self.input_dim)
        if bad.any():
            raise self.error(f"indices must be whole numbers 0 to {self.input_dim - 1}, got "
                             f"{float(values.ravel()[bad][0]):g} in '{self.bottoms[0]}'", "bottoms")
        out = tops[0].data.reshape(len(self.index), self.output_dim)
        xp.take(self.params["weight"].data, self.index, axis=0, out=out)
        if self.bias:
            out += self.params["bias"].data

    def backward(self, tops, propagate_down, bottoms):
        dy = tops[0].diff.reshape(len(self.index), self.output_dim)
        weight = self.params["weight"]
        if weight.needs_grad:
            if self.kernels is not None:     # np.add.at's sums in its order, ~20x faster
                self.kernels.add_rows(weight.diff, self.index, dy)
            else:
                self.xp.add.at(weight.diff, self.index, dy)
        if self.bias and self.params["bias"].needs_grad:
            self.params["bias"].diff += dy.sum(axis=0)
