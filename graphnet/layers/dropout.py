"""Dropout: zero a random fraction of the units in training, rescaling the rest."""

from ..spec import Field, number
from .base import Layer, register


@register
class Dropout(Layer):
    """Inverted dropout: in training y = x * mask / (1 - ratio), mask ~ Bernoulli(1 - ratio).

    Each unit is kept with probability 1 - ratio, so the expectation of y is x and the
    test phase is the identity. The mask comes from the backend's seeded generator: it
    repeats on resume, and the gradient checker holds it fixed. May run in place.

        - {name: drop1, type: Dropout, bottoms: [ip1], tops: [ip1], ratio: 0.5}
    """
    ratio = Field(number(above=0, below=1), 0.5, "fraction of the units zeroed in training")
    inplace = True

    def setup(self, bottom_shapes):
        self.mask = None
        return [bottom_shapes[0]]

    def forward(self, bottoms, tops):
        x, y = bottoms[0].data, tops[0].data
        if not self.training:
            if y is not x:
                y[...] = x
            return
        # The draws become the mask in place: 1/(1 - ratio) where kept, 0 where dropped.
        mask = self.backend.uniform(x.shape)
        self.xp.greater_equal(mask, self.ratio, out=mask)
        mask *= 1 / (1 - self.ratio)
        self.mask = mask
        self.xp.multiply(x, mask, out=y)

    def backward(self, tops, propagate_down, bottoms):
        if not propagate_down[0]:
            return
        dy, dx = tops[0].diff, bottoms[0].diff
        if self.training:
            self.xp.multiply(dy, self.mask, out=dx)                  # dL/dx = dy * mask
        elif dx is not dy:
            dx[...] = dy
