"""Neurons: element-wise activations, fused into a layer or standing alone.

Fused, as Mocha does it: `neuron: relu` on an InnerProduct makes the net apply the
activation to the layer's output in place after forward, and to the output's gradient
before backward. Standing alone, `type: ReLU` is a layer that may run in place.

Each backward is written in terms of the output y, so in-place use needs no copy of x:
relu' = [y > 0], sigmoid' = y(1 - y), tanh' = 1 - y^2, exp' = y.
"""

from ..spec import Field, Kind, Registry, number
from .base import Layer, register

NEURONS = Registry("neuron")


class Neuron(Kind):
    family = "neuron"

    def forward(self, xp, x, out):
        """out = f(x); out may be x."""
        raise NotImplementedError

    def backward(self, xp, y, dy, out):
        """out = f'(x) * dy, from y = f(x); out may be dy."""
        raise NotImplementedError


@NEURONS.register("identity")
class Identity(Neuron):
    def forward(self, xp, x, out):
        if out is not x:
            out[...] = x

    def backward(self, xp, y, dy, out):
        if out is not dy:
            out[...] = dy


@NEURONS.register("relu")
class ReLUNeuron(Neuron):
    def forward(self, xp, x, out):
        xp.maximum(x, 0, out=out)

    def backward(self, xp, y, dy, out):
        xp.multiply(dy, y > 0, out=out)


@NEURONS.register("leaky_relu", "lrelu")
class LeakyReLUNeuron(Neuron):
    slope = Field(number(above=0), 0.01, "gradient for x < 0")

    def forward(self, xp, x, out):
        xp.multiply(x, xp.where(x > 0, 1, self.slope).astype(x.dtype), out=out)

    def backward(self, xp, y, dy, out):
        xp.multiply(dy, xp.where(y > 0, 1, self.slope).astype(dy.dtype), out=out)


@NEURONS.register("sigmoid")
class SigmoidNeuron(Neuron):
    def forward(self, xp, x, out):
        # 1/(1 + e^-x) = (1 + tanh(x/2)) / 2 never overflows
        xp.multiply(x, 0.5, out=out)
        xp.tanh(out, out=out)
        out += 1
        out *= 0.5

    def backward(self, xp, y, dy, out):
        xp.multiply(dy, y * (1 - y), out=out)


@NEURONS.register("tanh")
class TanhNeuron(Neuron):
    def forward(self, xp, x, out):
        xp.tanh(x, out=out)

    def backward(self, xp, y, dy, out):
        xp.multiply(dy, 1 - y * y, out=out)


@NEURONS.register("exponential", "exp")
class ExponentialNeuron(Neuron):
    def forward(self, xp, x, out):
        xp.exp(x, out=out)

    def backward(self, xp, y, dy, out):
        xp.multiply(dy, y, out=out)


neuron = NEURONS.convert
"""Converter for a `neuron` field: a name, or a mapping with a type and its fields."""


class _NeuronLayer(Layer):
    """A stand-alone neuron: tops[i] = f(bottoms[i]), in place when a top is its bottom."""
    inplace = True
    backward_reads_tops = True

    def setup(self, bottom_shapes):
        return list(bottom_shapes)

    def forward(self, bottoms, tops):
        self.activation.forward(self.xp, bottoms[0].data, tops[0].data)

    def backward(self, tops, propagate_down, bottoms):
        if propagate_down[0]:
            self.activation.backward(self.xp, tops[0].data, tops[0].diff, bottoms[0].diff)


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
