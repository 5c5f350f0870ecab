"""How a net's layers are chosen, ordered and joined: phase rules, sorting, automatic splits.

Functions over lists of layers, used by the Net builder; `error(layer, message, field)`
makes the GraphnetError that places a mistake at its layer.
"""

import heapq

from .errors import did_you_mean
from .layers.split import Split


def _meets(rule, phase, stages, level):
    return ((rule.get("phase") in (None, phase))
            and rule.get("min_level", level) <= level <= rule.get("max_level", level)
            and all(s in stages for s in rule.get("stage", ()))
            and not any(s in stages for s in rule.get("not_stage", ())))


def included(layer, phase, stages, level):
    if layer.phase not in (None, phase):
        return False
    if layer.include:
        return any(_meets(r, phase, stages, level) for r in layer.include)
    return not any(_meets(r, phase, stages, level) for r in layer.exclude)


def mark_kept_tops(layers):
    """Protect what a later in-place layer would spoil. A layer whose backward reads its
    output (a sigmoid's gradient is y(1 - y)) keeps a copy of that top (`kept_tops`); a
    view layer (Reshape...) gives that top an array of its own (`detached_tops`), so the
    change does not reach the view's bottom."""
    writer = {}
    for layer in layers:
        layer.kept_tops, layer.detached_tops = set(), set()
    for layer in layers:
        for top in layer.tops:
            if top in layer.bottoms and top in writer:
                if _reads_tops(writer[top]):
                    writer[top].kept_tops.add(top)
                if writer[top].views:
                    writer[top].detached_tops.add(top)
            writer[top] = layer
    return layers


def _reads_tops(layer):
    neuron = getattr(layer, "neuron", None)
    return layer.backward_reads_tops or (neuron is not None and neuron.type != "identity")


def sort_layers(layers, error):
    """Order layers so each runs after what it reads; the listed order breaks ties.

    A layer whose top is also its bottom changes that blob in place: it runs after the
    blob's producer and before every plain reader, in the order listed (as in Mocha).
    """
    producer, modifiers = {}, {}
    for layer in layers:
        for top in layer.tops:
            if top in layer.bottoms:
                if not layer.inplace:
                    raise error(layer, f"top '{top}' is also a bottom, but "
                                      f"{type(layer).__name__} cannot run in place", "tops")
                modifiers.setdefault(top, []).append(layer)
            elif top in producer:
                raise error(layer, f"top '{top}' is already produced by layer "
                                  f"'{producer[top].name}'", "tops")
            else:
                producer[top] = layer
    after = {id(l): set() for l in layers}
    for index, layer in enumerate(layers):
        for bottom in layer.bottoms:
            if bottom not in producer:
                raise error(layer, f"bottom '{bottom}' is not produced by any layer"
                                  f"{did_you_mean(bottom, producer)}", "bottoms")
            writers = [producer[bottom]] + modifiers.get(bottom, [])
            if bottom in layer.tops:
                writers = writers[:writers.index(layer)]
            after[id(layer)].update(id(w) for w in writers if w is not layer)
    order, done = [], set()
    ready = [(i, id(l)) for i, l in enumerate(layers) if not after[id(l)]]
    heapq.heapify(ready)
    by_id = {id(l): (i, l) for i, l in enumerate(layers)}
    waiting = {k: set(v) for k, v in after.items()}
    readers = {id(l): [] for l in layers}
    for key, deps in after.items():
        for dep in deps:
            readers[dep].append(key)
    while ready:
        _, key = heapq.heappop(ready)
        order.append(by_id[key][1])
        done.add(key)
        for reader in readers[key]:
            waiting[reader].discard(key)
            if not waiting[reader] and reader not in done:
                heapq.heappush(ready, (by_id[reader][0], reader))
    if len(order) < len(layers):
        raise _cycle_error(error, [l for l in layers if id(l) not in done], after, by_id)
    return order


def _cycle_error(error, stuck, after, by_id):
    path, layer = [], stuck[0]
    while layer not in path:
        path.append(layer)
        layer = next(by_id[k][1] for k in after[id(layer)] if by_id[k][1] in stuck)
    cycle = path[path.index(layer):] + [layer]
    return error(cycle[0], "layers form a cycle: "
                       + " -> ".join(f"'{l.name}'" for l in reversed(cycle)), "bottoms")


def insert_splits(layers, loss_weights):
    """A blob read by several layers (or read and weighed in the loss) gets a Split, right
    after its last writer (its producer, or the last layer changing it in place). The
    readers' bottoms are renamed and a loss weight moves to an extra split top."""
    readers, last_writer = {}, {}
    for layer in layers:
        for i, bottom in enumerate(layer.bottoms):
            if bottom not in layer.tops:
                readers.setdefault(bottom, []).append((layer, i))
        for top in layer.tops:
            last_writer[top] = layer
    order = []
    for layer in layers:
        order.append(layer)
        for t, top in enumerate(layer.tops):
            if last_writer[top] is not layer:
                continue
            users = readers.get(top, [])
            weight = loss_weights.get(top, 0.0)
            if len(users) + bool(weight) < 2:
                continue
            split_name = f"{top}_{layer.name}_{t}_split"
            split_tops = [f"{split_name}_{k}" for k in range(len(users) + bool(weight))]
            for (user, index), name in zip(users, split_tops):
                user.bottoms[index] = name
            if weight:
                del loss_weights[top]
                loss_weights[split_tops[-1]] = weight
            split = Split(name=split_name, bottoms=[top], tops=split_tops)
            split._where = getattr(layer, "_where", (None, None))
            order.append(split)
    return order
