"""ElementWise: add, subtract, multiply or divide blobs of one shape, element by element."""

from ..spec import Field, choice
from .base import Layer, register


@register
class ElementWise(Layer):
    """tops[0] = bottoms[0] (op) bottoms[1] (op) ...; add and mul take two or more bottoms,
    sub and div exactly two. All bottoms have the same shape.

        - {name: residual, type: ElementWise, operation: add, bottoms: [x, fx], tops: [y]}
    """
    operation = Field(choice("add", "sub", "mul", "div"), "add")
    n_bottoms = (2, None)

    def validate(self):
        # Before the generic count check: "sub takes exactly 2" says more than "at least 2".
        if self.operation in ("sub", "div") and len(self.bottoms) != 2:
            raise self.error(f"operation {self.operation} takes exactly 2 bottoms, "
                             f"got {len(self.bottoms)}", "bottoms")
        super().validate()

    def setup(self, bottom_shapes):
        first = tuple(bottom_shapes[0])
        for name, shape in zip(self.bottoms[1:], bottom_shapes[1:]):
            if tuple(shape) != first:
                raise self.error(f"shapes differ: '{self.bottoms[0]}' is {first}, "
                                 f"'{name}' is {tuple(shape)}", "bottoms")
        return [first]

    def forward(self, bottoms, tops):
        xp, y = self.xp, tops[0].data
        op = {"add": xp.add, "sub": xp.subtract, "mul": xp.multiply, "div": xp.divide}[self.operation]
        op(bottoms[0].data, bottoms[1].data, out=y)
        for bottom in bottoms[2:]:
            op(y, bottom.data, out=y)

    def backward(self, tops, propagate_down, bottoms):
        xp, dy = self.xp, tops[0].diff
        for i, bottom in enumerate(bottoms):
            if not propagate_down[i]:
                continue
            dx = bottom.diff
            if self.operation == "add" or (self.operation == "sub" and i == 0):
                dx[...] = dy
            elif self.operation == "sub":
                xp.negative(dy, out=dx)
            elif self.operation == "mul":
                # dL/dx_i = dy * prod_{j != i} x_j (a product, never a division by x_i)
                dx[...] = dy
                for j, other in enumerate(bottoms):
                    if j != i:
                        dx *= other.data
            elif i == 0:
                xp.divide(dy, bottoms[1].data, out=dx)                     # dL/da = dy / b
            else:
                a, b = bottoms[0].data, bottoms[1].data
                xp.multiply(dy, -a / (b * b), out=dx)                      # dL/db = -dy a / b^2
