"""MemoryOutput: what a net computes, kept in memory batch by batch."""

from .base import Layer, register


@register
class MemoryOutput(Layer):
    """`outputs[i]` is the list of host copies of bottom i, one per forward
    (Mocha's MemoryOutputLayer); empty it with `outputs = [[] ...]` between uses.

        - {name: keep, type: MemoryOutput, bottoms: [prob]}
    """
    n_bottoms = (1, None)
    n_tops = 0
    differentiable = False

    def setup(self, bottom_shapes):
        self.outputs = [[] for _ in bottom_shapes]
        return []

    def forward(self, bottoms, tops):
        for kept, bottom in zip(self.outputs, bottoms):
            kept.append(self.backend.to_host(bottom.data).copy())
