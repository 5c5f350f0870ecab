"""Net.predict: any number of samples through a net of Input layers, in batches of any size.

A net is built for one batch shape, as in Caffe. `predict` builds the same net again for
each batch shape it meets, sharing the parameters (`share_with`), and keeps the last few:
one net for the full batches, one for the last. Nothing is padded, so every sample's
result is what a net of one sample gives (to the last digits of a matrix product, whose
order of additions may depend on the batch).

A net with recurrent layers (LSTM, RNN) takes time-major inputs (T, N, ...). Its batches
are runs of consecutive steps, and the state at the end of one starts the next, across
calls too, until `reset_state()`: so a sequence may be given whole or step by step. An
input read only as a recurrent layer's `cont` may be left out: it is 1 everywhere (after
a reset the state is zero, which is where cont 0 would start).
"""

import numpy as np

from .errors import GraphnetError, did_you_mean
from .layers import Input
from .layers.recurrent import Recurrent
from .layers.split import Split

DEFAULT_BATCH = 64
KEPT_NETS = 4


def predictor(net):
    """The Predictor of `net`, made on first use."""
    if getattr(net, "_predictor", None) is None:
        net._predictor = Predictor(net)
    return net._predictor


class Predictor:
    """Runs host arrays through `net` and nets like it built for other batch shapes."""

    def __init__(self, net):
        inputs = [l for l in net.layers if isinstance(l, Input)]
        if not inputs or any(l.is_source and not isinstance(l, Input) for l in net.layers):
            raise GraphnetError("predict needs a net whose data come from Input layers; "
                                "graphnet.load(netdef, weights) makes one from a train netdef",
                                net=net.name)
        self.base = net
        self.recurrent = [l.name for l in net.layers if isinstance(l, Recurrent)]
        self.axes = 2 if self.recurrent else 1  # leading axes that count samples: (T, N)
        self.shapes = {t: tuple(s[self.axes:]) for l in inputs for t, s in zip(l.tops, l.shapes)}
        self.optional = self._cont_inputs(net)
        self.nets = {tuple(net.blobs[inputs[0].tops[0]].shape[:self.axes]): net}
        self.current = None  # the net that holds the carried state
        self.streams = None  # N of the carried state; None after a reset

    def _cont_inputs(self, net):
        """Inputs read only as a recurrent layer's second bottom (cont)."""
        origin = {t: l.bottoms[0] for l in net.layers if isinstance(l, Split) for t in l.tops}
        cont, other = set(), set()
        for layer in net.layers:
            if isinstance(layer, Split):
                continue
            for i, bottom in enumerate(layer.bottoms):
                (cont if isinstance(layer, Recurrent) and i == 1 else other).add(origin.get(bottom, bottom))
        return {t for t in self.shapes if t in cont and t not in other}

    def _error(self, message, field):
        return GraphnetError(message, net=self.base.name, field=field)

    # --- checking what the user gives --------------------------------------------------

    def _arrays(self, inputs):
        required = [t for t in self.shapes if t not in self.optional]
        if not isinstance(inputs, dict):
            if len(required) != 1:
                raise self._error(f"the net has inputs {_names(required)}: give a dict "
                                  "{name: array}", "inputs")
            inputs = {required[0]: inputs}
        for name in inputs:
            if name not in self.shapes:
                raise self._error(f"the net has no input '{name}'{did_you_mean(name, self.shapes)}; "
                                  f"its inputs are {_names(self.shapes)}", "inputs")
        missing = [t for t in required if t not in inputs]
        if missing:
            raise self._error(f"input '{missing[0]}' is missing; the net's inputs are "
                              f"{_names(required)}", "inputs")
        arrays = {}
        for name, value in inputs.items():
            array = value if hasattr(value, "shape") and hasattr(value, "dtype") else np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise self._error(f"input '{name}' must hold numbers, got {array.dtype}", "inputs")
            want = self.shapes[name]
            if tuple(array.shape[self.axes:]) != want or array.ndim != len(want) + self.axes:
                hint = (" (one sample: add a batch axis, x[None])"
                        if tuple(array.shape) == want and self.axes == 1 else "")
                dims = ", ".join(["T", "N"][2 - self.axes:] + [str(d) for d in want])
                raise self._error(f"input '{name}' must be ({dims}), got {tuple(array.shape)}{hint}",
                                  "inputs")
            arrays[name] = array
        leads = {tuple(a.shape[:self.axes]) for a in arrays.values()}
        if len(leads) > 1:
            raise self._error("inputs differ in their " + ("steps and streams" if self.axes == 2
                              else "number of samples") + ": " + ", ".join(
                              f"'{n}' {tuple(a.shape)}" for n, a in arrays.items()), "inputs")
        lead = leads.pop()
        for name in self.optional - set(arrays):
            arrays[name] = np.ones(lead, self.base.backend.dtype)
        return arrays, lead

    def _outputs(self, outputs):
        if outputs is None:
            names = list(self.base.outputs)
        else:
            names = [outputs] if isinstance(outputs, str) else list(outputs)
        for name in names:
            if name not in self.base.blobs:
                raise self._error(f"the net has no blob '{name}'{did_you_mean(name, self.base.blobs)}; "
                                  f"its outputs are {_names(self.base.outputs)}", "outputs")
        return names

    # --- running ------------------------------------------------------------------------

    def net_for(self, lead):
        """The net for inputs whose leading axes are `lead`, built when first needed."""
        net = self.nets.pop(lead, None)
        if net is None:
            base = self.base
            specs = [l.replace(shapes=[(*lead, *self.shapes[t]) for t in l.tops])
                     if isinstance(l, Input) else l for l in base.specs]
            net = type(base)(base.name, specs, phase=base.phase, backend=base.backend,
                             share_with=base, stages=base.stages, level=base.level)
            while len(self.nets) >= KEPT_NETS:
                oldest = next(k for k, v in self.nets.items() if v is not base and v is not self.current)
                del self.nets[oldest]
        self.nets[lead] = net  # the newest last
        return net

    def run(self, inputs, outputs=None, batch_size=None):
        arrays, lead = self._arrays(inputs)
        names = self._outputs(outputs)
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise self._error(f"must be a whole number >= 1, got {batch_size!r}", "batch_size")
        if self.recurrent and self.streams is not None and self.streams != lead[1]:
            raise self._error(f"the net carries the state of {self.streams} streams from the last "
                              f"call, but these inputs have {lead[1]}: call reset_state() to start "
                              "anew", "inputs")
        total = lead[0]
        step = batch_size or (total if self.recurrent else DEFAULT_BATCH)
        results = {}
        for start in range(0, total, max(step, 1)):
            stop = min(start + step, total)
            net = self.net_for((stop - start, *lead[1:]))
            self._carry_state(net)
            backend = net.backend
            for name, array in arrays.items():
                net.blobs[name].data[...] = backend.asarray(array[start:stop])
            net.forward()
            for name in names:
                data = net.blobs[name].data
                if data.ndim == 0 or data.shape[0] != stop - start:
                    raise self._error(f"blob '{name}' of shape {tuple(data.shape)} does not have "
                                      "the batch along its first axis", "outputs")
                if name not in results:
                    results[name] = np.empty((total, *data.shape[1:]), data.dtype)
                results[name][start:stop] = backend.to_host(data)
        if total == 0:
            net = self.net_for((1, *lead[1:]))
            results = {n: np.empty((0, *net.blobs[n].shape[1:]), net.backend.dtype) for n in names}
        if outputs is None and len(names) == 1 or isinstance(outputs, str):
            return results[names[0]]
        return results

    def _carry_state(self, net):
        if not self.recurrent:
            return
        if self.current is not None and self.current is not net:
            for name in self.recurrent:
                before, after = self.current.layer(name), net.layer(name)
                for attr in after.state_attrs:
                    getattr(after, attr)[...] = getattr(before, attr)
        elif self.current is None:
            self._zero_state(net)
        self.current = net
        self.streams = net.blobs[next(iter(self.shapes))].shape[1]

    def _zero_state(self, net):
        for name in self.recurrent:
            layer = net.layer(name)
            for attr in layer.state_attrs:
                getattr(layer, attr)[...] = 0

    def reset_state(self):
        self.current, self.streams = None, None


def _names(names):
    return ", ".join(f"'{n}'" for n in names)
