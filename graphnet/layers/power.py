"""Power: (shift + scale * x) ** power, element by element."""

from ..spec import Field, number
from .base import Layer, register


@register
class Power(Layer):
    """y = (shift + scale * x) ** power (Caffe's and Mocha's Power).

        - {name: square, type: Power, bottoms: [x], tops: [x2], power: 2}
    """
    power = Field(number(), 1.0)
    scale = Field(number(), 1.0)
    shift = Field(number(), 0.0)

    def setup(self, bottom_shapes):
        return [tuple(bottom_shapes[0])]

    def forward(self, bottoms, tops):
        xp, y = self.xp, tops[0].data
        if self.power == 0:
            y[...] = 1
            return
        xp.multiply(bottoms[0].data, self.scale, out=y)
        y += self.shift
        if self.power != 1:
            xp.power(y, self.power, out=y)

    def backward(self, tops, propagate_down, bottoms):
        if not propagate_down[0]:
            return
        xp, dx, dy = self.xp, bottoms[0].diff, tops[0].diff
        if self.power == 0 or self.scale == 0:
            dx[...] = 0
        elif self.power == 1:
            xp.multiply(dy, self.scale, out=dx)
        else:
            # dy/dx = power * scale * (shift + scale x)^(power - 1)
            base = bottoms[0].data * self.scale + self.shift
            xp.multiply(dy, (self.power * self.scale) * xp.power(base, self.power - 1), out=dx)
