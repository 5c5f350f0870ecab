"""Joins: neighbouring layers whose parts run as one job of the threads.

A convolution and the pooling after it each cut the batch into parts that the threads take
side by side (graphnet/workers.py). One after the other they are two jobs: the threads meet
twice, the second thread starts each job late (it must take the GIL from the caller; 30-50
us on the 2-core VM LeNet is measured on), and the pooling reads the convolution's output
after it has left the cache. Joined, part i of the convolution and then part i of the
pooling make one part of one job, and backward runs the same parts in reverse order: a
part's samples go through both layers while they are in the cache.

A join is a run of adjacent layers, each feeding the next its one top, that are `joinable`
(graphnet/layers/base.py): all their work happens inside their parts, so only the order in
which parts run changes, and no number does. Their parts must agree; a layer with `any_cut`
takes its neighbour's. A fused neuron between two layers, or a layer that keeps its tops,
ends a join. `Net.forward(timings=...)` runs the layers one by one, to time each.
"""


class Join:
    """Layers run as one job, standing as one step among the net's layers."""
    is_source = False
    saved_tops = ()
    propagate = None

    def __init__(self, layers):
        self.layers = layers
        self.name = "+".join(layer.name for layer in layers)
        self.backend = layers[0].backend

    def forward(self, bottoms, tops):
        with self.backend.joined():
            for layer in self.layers:
                layer.forward(layer.bottom_blobs, layer.top_blobs)

    def backward(self, tops, propagate_down, bottoms):
        with self.backend.joined():
            for layer in reversed(self.layers):
                layer.backward(layer.top_blobs, layer.propagate, layer.bottom_blobs)


def plan(steps):
    """The net's forward steps (layer, bottoms, tops, neuron, fused, keeps), one per layer,
    as (forward steps, backward steps) with each join as one step."""
    groups = []
    for step in steps:
        if groups and _joins(groups[-1], step):
            groups[-1].append(step)
        else:
            groups.append([step])
    forward, backward = [], []
    for group in groups:
        if len(group) > 1:
            _share_cut([step[0] for step in group])
        forward.append(_one_step(group) + (group[-1][5],))
        run = []   # backward: the runs of the group's layers that have one
        for step in group + [None]:
            if step is not None and step[0].need_backward:
                run.append(step)
            elif run:
                backward.append(_one_step(run))
                run = []
    return forward, backward[::-1]


def _one_step(steps):
    """(layer, bottoms, tops, neuron, fused) of these steps run as one."""
    if len(steps) == 1:
        return steps[0][:5]
    first, last = steps[0], steps[-1]
    return (Join([step[0] for step in steps]), first[1], last[2], last[3], last[4])


def _joins(group, step):
    """Whether `step` can run in one job with the steps of `group`, the one before it last."""
    before, layer = group[-1][0], step[0]
    if not (before.joinable and layer.joinable):
        return False
    if len(before.tops) != 1 or list(layer.bottoms) != list(before.tops):
        return False
    if group[-1][3] is not None or group[-1][5] or step[5]:   # a fused neuron, kept tops
        return False
    cut = _fixed_cut([s[0] for s in group])
    return layer.any_cut or cut is None or list(layer.parts) == list(cut)


def _fixed_cut(layers):
    """The parts of the layers whose numbers depend on them (all alike), or None."""
    for layer in layers:
        if not layer.any_cut:
            return layer.parts
    return None


def _share_cut(layers):
    cut = _fixed_cut(layers) or layers[0].parts
    for layer in layers:
        if layer.any_cut:
            layer.parts = cut
