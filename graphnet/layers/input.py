"""Input: blobs the user fills by hand, for deploy nets and for checking gradients."""

from ..spec import Field, integer, list_of
from .base import Layer, register


@register
class Input(Layer):
    """Tops of the given shapes, left as the user sets them (`net.blobs['x'].data[...] = ...`).

        - {name: input, type: Input, tops: [x], shapes: [[1, 1, 28, 28]]}
    """
    shapes = Field(list_of(list_of(integer(min=1), min_len=1), min_len=1), doc="one shape per top")
    n_bottoms = 0
    n_tops = (1, None)
    is_source = True
    differentiable = False

    def validate(self):
        super().validate()
        if len(self.shapes) != len(self.tops):
            raise self.error(f"needs one shape per top ({len(self.tops)}), got {len(self.shapes)}",
                             "shapes")

    def setup(self, bottom_shapes):
        return [tuple(shape) for shape in self.shapes]

    def forward(self, bottoms, tops):
        pass
