"""Split: one blob read by several layers. The net inserts one wherever a blob fans out."""

from .base import Layer, register


@register
class Split(Layer):
    """Every top is the bottom (the same array, no copy); the bottom's gradient is their sum.

        - {name: fork, type: Split, bottoms: [x], tops: [x_a, x_b]}
    """
    n_tops = (1, None)
    views = True

    def setup(self, bottom_shapes):
        return [bottom_shapes[0]] * len(self.tops)

    def forward(self, bottoms, tops):
        for top in tops:
            top.data = bottoms[0].data

    def backward(self, tops, propagate_down, bottoms):
        if propagate_down[0]:
            # A top no layer gave a gradient (an accuracy's input) adds nothing: skip it.
            diffs = [top.diff for top in tops if top.has_diff]
            dx = bottoms[0].diff
            if len(diffs) < 2:
                dx[...] = diffs[0] if diffs else 0
                return
            self.xp.add(diffs[0], diffs[1], out=dx)
            for diff in diffs[2:]:
                dx += diff
