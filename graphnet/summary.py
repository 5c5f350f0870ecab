"""A net as a table: layers, their blobs and shapes, parameter counts and memory."""

import math

from .backend import describe_bytes as _size


def describe(net):
    """The table `graphnet info` prints.

    Memory counts each blob a layer makes (its values, unless it is a view of a bottom,
    and its gradient when it takes one) and each parameter the net owns (value and gradient).
    """
    itemsize = net.backend.dtype.itemsize
    takes_grad = {b for l in net.layers for b, down in zip(l.bottoms, l.propagate) if down}
    owned = {id(p) for p in net.owned_params}
    rows, total_params, total_bytes = [], 0, 0
    for layer in net.layers:
        kind = type(layer).__name__
        neuron = getattr(layer, "neuron", None)
        if neuron is not None and neuron.type != "identity":
            kind += f" +{neuron.type}"
        params = sum(math.prod(p.shape) for p in layer.params.values() if id(p) in owned)
        param_bytes = 2 * params * itemsize
        shared = [p.key for p in layer.params.values() if id(p) not in owned
                  or p.key.split("/")[0] != layer.name]
        tops = [t for t in layer.tops if t not in layer.bottoms] or layer.tops
        for i, top in enumerate(tops):
            shape = net.blobs[top].shape
            nbytes = math.prod(shape) * itemsize * ((top in takes_grad) + (not layer.views))
            if top in layer.bottoms:
                nbytes = 0  # in place: no new blob
            if i == 0:
                nbytes += param_bytes
            rows.append([layer.name if i == 0 else "", kind if i == 0 else "",
                         ", ".join(layer.bottoms) if i == 0 else "", top, str(shape),
                         (f"{params:,}" + (" shared" if shared else "")) if i == 0 else "",
                         _size(nbytes)])
            total_bytes += nbytes
        total_params += params
    header = ["layer", "type", "bottoms", "tops", "shape", "params", "memory"]
    footer = ["total", "", "", "", "", f"{total_params:,}", _size(total_bytes)]
    widths = [max(len(r[i]) for r in [header, footer, *rows]) for i in range(len(header))]
    right = {5, 6}

    def line(row):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    rule = "-" * len(line(header))
    title = (f"net '{net.name}', phase {net.phase}, {net.backend.name} {net.backend.dtype.name}: "
             f"{len(net.layers)} layers, loss from {', '.join(net._loss_weights) or 'nothing'}")
    return "\n".join([title, line(header), rule, *map(line, rows), rule, line(footer)])
