"""Index2Onehot: class indices to one-hot vectors (Mocha's Index2OnehotLayer)."""

from ..spec import Field, integer
from .base import Layer, register


@register
class Index2Onehot(Layer):
    """Bottom of class indices 0..n_class-1, shaped (N,) or (N, 1, ...), -> one-hot top
    (N, n_class, ...): 1 at the index along axis 1, 0 elsewhere. No gradient.

        - {name: onehot, type: Index2Onehot, bottoms: [label], tops: [target], n_class: 10}
    """
    n_class = Field(integer(min=1), doc="number of classes: the size of the top's axis 1")
    differentiable = False

    def setup(self, bottom_shapes):
        shape = tuple(bottom_shapes[0])
        if not shape or len(shape) > 1 and shape[1] != 1:
            raise self.error(f"needs class indices shaped (N,) or (N, 1, ...), got "
                             f"'{self.bottoms[0]}' of shape {shape}", "bottoms")
        return [(shape[0], self.n_class, *shape[2:])]

    def forward(self, bottoms, tops):
        xp, n = self.xp, self.n_class
        index = bottoms[0].data.reshape(len(bottoms[0].data), 1, -1)
        bad = (index < 0) | (index >= n) | (index != xp.floor(index))
        if bad.any():
            raise self.error(f"class indices must be integers 0 to {n - 1}, got "
                             f"{float(index[bad][0]):g} in '{self.bottoms[0]}'", "bottoms")
        classes = xp.arange(n, dtype=index.dtype).reshape(1, n, 1)
        tops[0].data.reshape(index.shape[0], n, -1)[...] = index == classes
