"""Finite-difference gradient checking for any layer or whole net.

The objective is a random projection of the net's outputs, L = sum_b r_b . b (or the
net's own loss). Every parameter and every input blob that takes a gradient is
perturbed by +-eps, element by element (a random sample of `max_checks` elements for
large arrays), and the central difference (L(x+eps) - L(x-eps)) / 2eps is compared with
what backward computed. The error of one element is

    |analytic - numeric| / max(|analytic|, |numeric|, floor)

so it is relative for gradients above `floor` and absolute below it. Run it in float64:
float32 rounding swamps any useful tolerance.

    from graphnet.testing import check_layer
    report = check_layer(InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=3),
                         [np.random.randn(4, 5)])
    assert report.max_error < 1e-6, report
"""

import copy
from dataclasses import dataclass, field

import numpy as np

from ..layers import Input
from ..net import Net


@dataclass
class GradientReport:
    """What was checked: the largest error per array, and the worst element overall."""
    errors: dict = field(default_factory=dict)      # array name -> largest error
    checked: dict = field(default_factory=dict)     # array name -> elements checked
    worst: str = ""
    net: Net = None

    @property
    def max_error(self):
        return max(self.errors.values(), default=0.0)

    def __str__(self):
        rows = [f"  {name}: max error {err:.2e} over {self.checked[name]} elements"
                for name, err in self.errors.items()]
        return "\n".join(["gradient check:", *rows, f"  worst: {self.worst}"])


def check_layer(layer, bottoms, *, backend="numpy", seed=0, **options):
    """Check one layer's backward, fed with `bottoms` (arrays, one per distinct bottom name).

    The layer runs in a float64 net behind an Input layer, with every bottom that can
    take a gradient asked for one. Options go to `check_gradients`.
    """
    names = list(dict.fromkeys(layer.bottoms))
    arrays = [np.asarray(b, dtype=np.float64) for b in bottoms]
    if len(arrays) != len(names):
        raise ValueError(f"layer {layer.name!r} reads {len(names)} blobs {names}, got {len(arrays)} arrays")
    feed = Input(name="__input__", tops=names, shapes=[a.shape or (1,) for a in arrays])
    net = Net(f"check_{layer.name}", [feed, layer], backend=backend, dtype="float64", seed=seed,
              force_backward=True)
    for name, array in zip(names, arrays):
        net.blobs[name].data[...] = net.backend.asarray(array.reshape(net.blobs[name].shape))
    return check_gradients(net, **options)


def check_gradients(net, *, eps=1e-5, floor=1e-3, max_checks=100, seed=0, projection=None):
    """Compare `net`'s backward with central differences; returns a GradientReport.

    With projection=True (the default for a net built with force_backward) the objective
    is a random projection of every differentiable output; otherwise it is the net's loss.
    Data layers are run once; their tops are then held fixed, as is the random generator,
    so dropout masks do not change between evaluations, and so is any state a layer carries
    between forwards (the hidden state of a recurrent layer).
    """
    backend = net.backend
    if projection is None:
        projection = net.force_backward
    rng = np.random.default_rng(seed)
    # Draw one batch from each data layer and hold it (before in-place layers change it).
    held, source_blobs = {}, {}
    for layer in net.layers:
        if layer.is_source:
            layer.forward([], layer.top_blobs)
            source_blobs.update({b.name: b for b in layer.top_blobs})
            held.update({b.name: backend.to_host(b.data).copy() for b in layer.top_blobs})
    rng_state = backend.rng_state()
    # State a layer carries from one forward to the next (a recurrent layer's hidden state)
    # is put back before every evaluation, so each sees the same starting point.
    carried = [(layer, name, copy.deepcopy(getattr(layer, name))) for layer in net.layers
               if not layer.is_source for name in layer.state_attrs]
    outputs = [b for layer in net.layers if layer.differentiable and not layer.is_source
               for b in layer.tops if b in net.outputs]
    weights = {b: rng.standard_normal(net.blobs[b].shape) for b in outputs} if projection else {}

    def objective():
        backend.set_rng_state(rng_state)
        for layer, name, value in carried:
            setattr(layer, name, copy.deepcopy(value))
        for name, value in held.items():
            source_blobs[name].data[...] = backend.asarray(value)
        loss = net.forward(sources=False)
        if not projection:
            return np.array([loss])
        return [backend.to_host(net.blobs[b].data).astype(np.float64) for b in weights]

    def difference(plus, minus):
        # The outputs are differenced before they are summed: summing first would bury the
        # change of a few outputs under the rounding of all of them.
        if not projection:
            return float(plus[0] - minus[0])
        return sum(float((w * (p - m)).sum()) for w, p, m in zip(weights.values(), plus, minus))

    objective()
    net.clear_param_diffs()
    net.backward(top_diffs=weights if projection else None)
    took_grad = {id(b) for layer in net.layers for b, down in zip(layer.bottom_blobs, layer.propagate)
                 if down}
    arrays = {f"param '{p.key}'": (p, "data") for ps in net.params.values() for p in ps
              if p.needs_grad}
    arrays.update({f"bottom '{name}'": (blob, "data") for name, blob in source_blobs.items()
                   if id(blob) in took_grad})
    analytic = {name: backend.to_host(getattr(obj, "diff")).astype(np.float64).copy()
                for name, (obj, _) in arrays.items()}

    report = GradientReport(net=net)
    worst = -1.0
    for name, (obj, attr) in arrays.items():
        blob_name = obj.name if name.startswith("bottom") else None
        size = analytic[name].size
        picks = np.arange(size) if size <= max_checks else rng.choice(size, max_checks, replace=False)
        errors = []
        for flat in picks:
            index = np.unravel_index(flat, analytic[name].shape)
            if blob_name is not None:
                original = held[blob_name][index]
                held[blob_name][index] = original + eps
                plus = objective()
                held[blob_name][index] = original - eps
                minus = objective()
                held[blob_name][index] = original
            else:
                array = getattr(obj, attr)
                original = float(array[index])
                array[index] = original + eps
                plus = objective()
                array[index] = original - eps
                minus = objective()
                array[index] = original
            numeric = difference(plus, minus) / (2 * eps)
            got = analytic[name][index]
            error = abs(got - numeric) / max(abs(got), abs(numeric), floor)
            errors.append(error)
            if error > worst:
                worst = error
                report.worst = (f"{name}{list(int(i) for i in index)}: analytic {got:.10g}, "
                                f"numeric {numeric:.10g}, error {error:.2e}")
        report.errors[name] = max(errors, default=0.0)
        report.checked[name] = len(errors)
    objective()
    return report
