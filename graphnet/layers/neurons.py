"""Neurons: element-wise activations, fused into a layer or standing alone.

Fused, as Mocha does it: `neuron: relu` on an InnerProduct makes the net apply the
activation to the layer's output in place after forward, and to the output's gradient
before backward. Standing alone, `type: ReLU` is a layer that may run in place.

Each backward is written in terms of the output y, so in-place use needs no copy of x:
relu' = [y > 0], sigmoid' = y(1 - y), tanh' = 1 - y^2, exp' = y. Where a neuron needs an
array of its own, the caller may lend one (`tmp`, shaped like x) so that a step allocates
nothing.
"""

import math

from ..spec import Field, Kind, Registry, number
from .base import Layer, register

NEURONS = Registry("neuron")
_NUMBERS = {}


def _one_and_cap(xp, dtype):
    """1, and the largest whole x whose e^x is finite, as 0-d arrays of `dtype`. NumPy converts
    a Python number at every call, which costs as much as the arithmetic on a thousand elements."""
    numbers = _NUMBERS.get((xp, dtype))
    if numbers is None:
        cap = math.floor(math.log(float(xp.finfo(dtype).max)))
        numbers = _NUMBERS[xp, dtype] = xp.asarray(1, dtype=dtype), xp.asarray(cap, dtype=dtype)
    return numbers


class Neuron(Kind):
    family = "neuron"

    def forward(self, xp, x, out, tmp=None):
        """out = f(x); out may be x; tmp, if given, is scratch like x."""
        raise NotImplementedError

    def backward(self, xp, y, dy, out, tmp=None):
        """out = f'(x) * dy, from y = f(x); out may be dy; tmp, if given, is scratch like y."""
        raise NotImplementedError


@NEURONS.register("identity")
class Identity(Neuron):
    def forward(self, xp, x, out, tmp=None):
        if out is not x:
            out[...] = x

    def backward(self, xp, y, dy, out, tmp=None):
        if out is not dy:
            out[...] = dy


@NEURONS.register("relu")
class ReLUNeuron(Neuron):
    def forward(self, xp, x, out, tmp=None):
        xp.maximum(x, 0, out=out)

    def backward(self, xp, y, dy, out, tmp=None):
        xp.multiply(dy, xp.greater(y, 0, out=tmp), out=out)


@NEURONS.register("leaky_relu", "lrelu")
class LeakyReLUNeuron(Neuron):
    slope = Field(number(above=0), 0.01, "gradient for x < 0")

    def forward(self, xp, x, out, tmp=None):
        xp.multiply(x, xp.where(x > 0, 1, self.slope).astype(x.dtype), out=out)

    def backward(self, xp, y, dy, out, tmp=None):
        xp.multiply(dy, xp.where(y > 0, 1, self.slope).astype(dy.dtype), out=out)


@NEURONS.register("sigmoid")
class SigmoidNeuron(Neuron):
    def forward(self, xp, x, out, tmp=None):
        # 1/(1 + e^-x) = e^x/(1 + e^x), with x capped where e^x would overflow: e^x only
        # underflows (to 0, quietly: exactly 0 out), and past the cap the result rounds to 1.
        # (e^-x would overflow; (1 + tanh(x/2))/2 never does but costs a third more.)
        one, cap = _one_and_cap(xp, out.dtype)
        xp.minimum(x, cap, out=out)
        xp.exp(out, out=out)
        xp.divide(out, xp.add(out, one, out=tmp), out=out)

    def backward(self, xp, y, dy, out, tmp=None):
        tmp = xp.subtract(_one_and_cap(xp, y.dtype)[0], y, out=tmp)
        tmp *= y
        xp.multiply(dy, tmp, out=out)


@NEURONS.register("tanh")
class TanhNeuron(Neuron):
    def forward(self, xp, x, out, tmp=None):
        xp.tanh(x, out=out)

    def backward(self, xp, y, dy, out, tmp=None):
        tmp = xp.multiply(y, y, out=tmp)
        xp.subtract(_one_and_cap(xp, y.dtype)[0], tmp, out=tmp)
        xp.multiply(dy, tmp, out=out)


@NEURONS.register("exponential", "exp")
class ExponentialNeuron(Neuron):
    def forward(self, xp, x, out, tmp=None):
        xp.exp(x, out=out)

    def backward(self, xp, y, dy, out, tmp=None):
        xp.multiply(dy, y, out=out)


neuron = NEURONS.convert
"""Converter for a `neuron` field: a name, or a mapping with a type and its fields."""


class _NeuronLayer(Layer):
    """A stand-alone neuron: tops[i] = f(bottoms[i]), in place when a top is its bottom."""
    inplace = True
    backward_reads_tops = True

    def setup(self, bottom_shapes):
        self._tmp = None
        return list(bottom_shapes)

    def forward(self, bottoms, tops):
        self.activation.forward(self.xp, bottoms[0].data, tops[0].data, self._scratch(tops[0]))

    def backward(self, tops, propagate_down, bottoms):
        if propagate_down[0]:
            self.activation.backward(self.xp, tops[0].data, tops[0].diff, bottoms[0].diff,
                                     self._scratch(tops[0]))

    def _scratch(self, top):
        if self._tmp is None:  # made once, on first use
            self._tmp = self.xp.empty_like(top.data)
        return self._tmp


@register
class ReLU(_NeuronLayer):
    """max(x, 0).

        - {name: relu1, type: ReLU, bottoms: [ip1], tops: [ip1]}
    """
    activation = ReLUNeuron()


@register
class LeakyReLU(_NeuronLayer):
    """x if x > 0 else slope * x.

        - {name: lrelu1, type: LeakyReLU, bottoms: [ip1], tops: [ip1], slope: 0.1}
    """
    slope = Field(number(above=0), 0.01, "gradient for x < 0")

    @property
    def activation(self):
        return LeakyReLUNeuron(slope=self.slope)


@register
class Sigmoid(_NeuronLayer):
    """1 / (1 + exp(-x)).

        - {name: sig, type: Sigmoid, bottoms: [ip1], tops: [p]}
    """
    activation = SigmoidNeuron()


@register
class Tanh(_NeuronLayer):
    """tanh(x).

        - {name: tanh1, type: Tanh, bottoms: [ip1], tops: [ip1]}
    """
    activation = TanhNeuron()


@register
class Exponential(_NeuronLayer):
    """exp(x).

        - {name: rate, type: Exponential, bottoms: [log_rate], tops: [rate]}
    """
    activation = ExponentialNeuron()
