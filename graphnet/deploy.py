"""Deploy nets: a train netdef made into a net that maps inputs to predictions (Caffe's deploy).

    net = graphnet.load("netdefs/mnist.yaml", "snapshots/mnist/snapshot-00010000.h5")
    net.predict(images)            # probabilities, from the Softmax that follows the SoftmaxLoss

From the netdef's test-phase layers: every data layer becomes an `Input` of the same tops
and per-sample shapes (the batch is whatever `predict` is given); losses and statistics
drop out, with every layer and data top that only fed them (a label's path); a `Softmax`
reads what each `SoftmaxLoss` read, and a `Sigmoid` what each `SigmoidCrossEntropyLoss` read,
so the net's output is probabilities; the net is built
in the test phase (Dropout is the identity, BatchNorm uses its running statistics).
Other losses read their prediction as it is: BinaryCrossEntropyLoss and
MultinomialLogisticLoss read probabilities already, SquareLoss and HingeLoss scores.
A netdef of `Input` layers with shapes (Caffe's deploy prototxt) is used as it is.
"""

from .errors import GraphnetError
from .io.snapshot import Snapshot, sample_shapes
from .layers import Input, Sigmoid, SigmoidCrossEntropyLoss, Softmax, SoftmaxLoss
from .net import Net
from .topology import included


def deploy_layers(layers, shapes, batch=(1,)):
    """The deploy net's layers from a netdef's: `shapes` is {data top: per-sample shape},
    `batch` the leading axes each input gets ((T, N) for sequences)."""
    layers = [l for l in layers if included(l, "test", set(), 0)]
    ends = [l for l in layers if l.is_loss or l.has_stats]
    body = [l for l in layers if not (l.is_loss or l.has_stats)]
    read = {b for l in layers for b in l.bottoms if b not in l.tops}   # in place: still an output
    # What the predictions are: each loss's first bottom, and blobs that no layer reads.
    needed = {l.bottoms[0] for l in ends if l.is_loss}
    needed |= {t for l in body for t in l.tops if t not in read}
    kept, grown = [], True
    while grown:
        grown = False
        for layer in body:
            if layer not in kept and needed.intersection(layer.tops):
                kept.append(layer)
                needed.update(layer.bottoms)
                grown = True
    taken = {l.name for l in layers} | {t for l in layers for t in l.tops}
    softmaxes = []
    for loss in (l for l in ends if isinstance(l, (SoftmaxLoss, SigmoidCrossEntropyLoss))):
        name = "prob" if "prob" not in taken else f"{loss.name}_prob"
        taken.add(name)
        softmaxes.append(Softmax(name=name, bottoms=[loss.bottoms[0]], tops=[name], axis=loss.axis)
                         if isinstance(loss, SoftmaxLoss) else
                         Sigmoid(name=name, bottoms=[loss.bottoms[0]], tops=[name]))
    out = []
    for layer in body:
        if layer not in kept:
            continue
        tops = [t for t in layer.tops if t in needed]
        if isinstance(layer, Input) and tops != layer.tops:
            layer = layer.replace(tops=tops, shapes=[s for t, s in zip(layer.tops, layer.shapes)
                                                     if t in needed])
        elif layer.is_source and not isinstance(layer, Input):
            layer = Input(name=layer.name, tops=tops,
                          shapes=[[*batch, *_shape(shapes, top, layer)] for top in tops])
        out.append(layer)
    return out + softmaxes


def _shape(shapes, top, layer):
    if top not in shapes:
        raise GraphnetError(f"the shape of one sample of '{top}' is not known", layer=layer.name,
                            field="tops")
    return shapes[top]


def data_shapes(netdef):
    """{data top: per-sample shape}, found by building the netdef's test-phase data layers:
    for snapshots that do not record them (this reads the data layers' files)."""
    sources = [l for l in netdef.layers
               if l.is_source and not isinstance(l, Input) and included(l, "test", set(), 0)]
    if not sources:
        return {}
    net = Net(netdef.name, sources, phase="test", dtype=netdef.dtype, seed=netdef.seed)
    return sample_shapes(net)


def deploy_net(netdef, shapes=None, backend=None, dtype=None):
    """The deploy net of a NetDef, with batch 1 (`predict` builds others as it needs them).
    `shapes`: {data top: per-sample shape}; by default the data layers are built to find them."""
    sequence = any(l.is_source and l.sample_axes == 2 for l in netdef.layers)
    layers = deploy_layers(netdef.layers, data_shapes(netdef) if shapes is None else shapes,
                           (1, 1) if sequence else (1,))
    return Net(netdef.name, layers, phase="test", backend=backend or netdef.backend,
               dtype=dtype or netdef.dtype, seed=netdef.seed)


def load(netdef, weights, backend=None):
    """The deploy net of `netdef` (a netdef file or a NetDef) with the parameters of the
    snapshot `weights`, ready for `net.predict(x)` or `net(x)`.

        net = graphnet.load("netdefs/mnist.yaml", "snapshots/mnist/snapshot-00010000.h5")
    """
    from .netdef import NetDef, load_netdef
    netdef = netdef if isinstance(netdef, NetDef) else load_netdef(netdef)
    snapshot = Snapshot(weights)
    shapes = snapshot.inputs
    if shapes is None:
        try:
            shapes = data_shapes(netdef)
        except GraphnetError as err:
            err.message += (f" (snapshot {snapshot.path} does not record the input shapes, so "
                            "the data layers' files are read for them)")
            raise
    net = deploy_net(netdef, shapes, backend, snapshot.dtype)
    snapshot.load_params(net)
    return net
