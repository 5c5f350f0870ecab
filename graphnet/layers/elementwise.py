"""ElementWise: add, subtract, multiply, divide or take the max of blobs of one shape."""

from ..spec import Field, choice, list_of, number, optional
from .base import Layer, register


@register
class ElementWise(Layer):
    """tops[0] = bottoms[0] (op) bottoms[1] (op) ...; add, mul and max take two or more
    bottoms, sub and div exactly two. All bottoms have the same shape. Caffe's Eltwise:
    SUM is add (with `coeff`, one factor per bottom: y = sum c_i x_i), PROD is mul, MAX is
    max (the gradient goes to the first bottom holding the maximum, as in Caffe).

        - {name: residual, type: ElementWise, operation: add, bottoms: [x, fx], tops: [y]}
        - {name: mix, type: ElementWise, bottoms: [a, b, c], tops: [y], coeff: [1.5, -0.5, 2]}
    """
    operation = Field(choice("add", "sub", "mul", "div", "max"), "add")
    coeff = Field(optional(list_of(number())), None, "add only: one factor per bottom")
    n_bottoms = (2, None)

    def validate(self):
        # Before the generic count check: "sub takes exactly 2" says more than "at least 2".
        if self.operation in ("sub", "div") and len(self.bottoms) != 2:
            raise self.error(f"operation {self.operation} takes exactly 2 bottoms, "
                             f"got {len(self.bottoms)}", "bottoms")
        if self.coeff is not None and self.operation != "add":
            raise self.error(f"is for operation add only, got operation {self.operation}", "coeff")
        if self.coeff is not None and len(self.coeff) != len(self.bottoms):
            raise self.error(f"needs one factor per bottom ({len(self.bottoms)}), "
                             f"got {len(self.coeff)}", "coeff")
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
        if self.coeff is not None:
            xp.multiply(bottoms[0].data, self.coeff[0], out=y)
            for c, bottom in zip(self.coeff[1:], bottoms[1:]):
                y += c * bottom.data
            return
        if self.operation == "max":
            # Which bottom holds the maximum; ties go to the earlier bottom (Caffe's '>').
            self.argmax = xp.zeros(y.shape, xp.int32)
            y[...] = bottoms[0].data
            for i, bottom in enumerate(bottoms[1:], 1):
                self.argmax[bottom.data > y] = i
                xp.maximum(y, bottom.data, out=y)
            return
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
            if self.coeff is not None:
                xp.multiply(dy, self.coeff[i], out=dx)
            elif self.operation == "max":
                xp.multiply(dy, self.argmax == i, out=dx)
            elif self.operation == "add" or (self.operation == "sub" and i == 0):
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
