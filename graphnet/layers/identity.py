"""Identity: new names for blobs, without a copy."""

from .base import Layer, register


@register
class Identity(Layer):
    """tops[i] is bottoms[i] under another name (Mocha's IdentityLayer).

        - {name: rename, type: Identity, bottoms: [ip2], tops: [scores]}
    """
    n_bottoms = (1, None)
    n_tops = (1, None)
    views = True

    def validate(self):
        super().validate()
        if len(self.tops) != len(self.bottoms):
            raise self.error(f"needs one top per bottom ({len(self.bottoms)}), got {len(self.tops)}",
                             "tops")

    def setup(self, bottom_shapes):
        return [tuple(s) for s in bottom_shapes]

    def forward(self, bottoms, tops):
        for bottom, top in zip(bottoms, tops):
            top.data = bottom.data

    def backward(self, tops, propagate_down, bottoms):
        for down, bottom, top in zip(propagate_down, bottoms, tops):
            if down:
                bottom.diff[...] = top.diff
