"""Which rows each process reads: process r serves rows [r*B, (r+1)*B) of each global batch of
K*B rows, so the global batches are the batches of one process with batch size K*B. A loss
normalized by its count of valid (not ignored) labels divides by the count of all K."""

import copy

from ..errors import GraphnetError


def sharded(layers, team):
    """Copies of `layers` whose data layers serve this process's share of each global batch;
    the others as they are. `team` has `rank` and `size`."""
    if team is None or team.size == 1:
        return list(layers)
    out = []
    for layer in layers:
        if hasattr(layer, "shard"):
            layer = copy.copy(layer)
            layer.shard = (team.rank, team.size)
        elif getattr(layer, "ignore_label", None) is not None and hasattr(layer, "valid_normalizer"):
            layer = copy.copy(layer)   # ignored labels: each process counts its own valid ones
            layer.valid_normalizer = team.valid_normalizer
        out.append(layer)
    return out


def check_sharded(net, size):
    """Refuse, in one line, a net whose data layers cannot share their batches among processes,
    or whose loss is a sum over the batch (averaging gradients would divide it by K)."""
    for layer in net.layers:
        if layer.is_source and getattr(layer, "shard", (0, 1))[1] != size:
            raise GraphnetError(f"{type(layer).__name__} cannot share its batches among {size} "
                                "processes (MemoryData, HDF5Data, AsyncHDF5Data and SequenceData can)",
                                layer=layer.name, net=net.name)
        if layer.is_loss and getattr(layer, "normalization", None) == "none":
            raise GraphnetError(f"normalization none sums the loss over the batch, and {size} "
                                "processes average their gradients: use batch_size (or valid, "
                                "full) to train on several processes",
                                layer=layer.name, field="normalization", net=net.name)
