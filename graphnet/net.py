"""Net: layers joined by named blobs, built into an order, shapes and parameters.

Building follows Caffe's order of steps: keep the layers of this phase, order them by
their blobs, insert a Split wherever a blob is read twice, infer every shape, create or
share the parameters, and work out which layers need a backward pass.
"""

import copy
import math
import time

from . import joins
from .backend import get_backend
from .blob import Blob, Param
from .errors import GraphnetError, did_you_mean
from .fillers import fill_finite
from .layers import Layer
from .layers.neurons import Identity
from .layers.split import Split
from .memory import MemoryBudget
from .topology import included, insert_splits, mark_kept_tops, sort_layers


class Net:
    """A network built for one phase on one backend.

        net = Net("xor", [MemoryData(...), InnerProduct(...), ...], phase="train")
        net = Net.from_yaml("netdefs/xor.yaml", phase="test", share_with=train_net)
        net.forward(); net.backward()
        net.blobs["h"].data, net.params["hid"][0].diff, net.loss

    `backward` adds into parameter gradients (as Caffe and PyTorch do); `clear_param_diffs`
    zeroes them. A net built with `share_with=other` uses the other net's parameters for
    every layer whose param_key (default: its name) the other net has.
    """

    def __init__(self, name, layers, *, phase="train", backend=None, dtype="float32", seed=0,
                 share_with=None, stages=(), level=0, force_backward=False):
        self.name = name
        self.phase = phase
        self.backend = get_backend(backend, dtype, seed)
        self.force_backward = force_backward
        # As given: predict builds the net again for other batch sizes.
        self.specs, self.stages, self.level = list(layers), tuple(stages), level
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"net {name!r}: layers must be Layer objects, got {layer!r}")
        # Working copies: the user's layer objects stay plain specs, usable in other nets.
        layers = [copy.copy(l) for l in layers if included(l, phase, set(stages), level)]
        for layer in layers:
            layer.tops = list(layer.tops) or ([layer.name] if layer.is_loss or layer.has_stats else [])
            layer.bottoms = list(layer.bottoms)
        self._check_names(layers)
        self.layers = sort_layers(mark_kept_tops(layers), self._error)
        self._loss_weights = self._find_loss_weights()
        self.layers = insert_splits(self.layers, self._loss_weights)
        self.blobs = {}
        self._setup_layers(MemoryBudget(self.backend, share_with.param_registry if share_with else ()))
        self._setup_params(share_with)
        self._find_backward()
        self.loss = 0.0
        self._plan_statistics()
        self.reset_statistics()

    @classmethod
    def from_yaml(cls, path, *, phase="train", backend=None, dtype=None, seed=None,
                  overrides=(), share_with=None, **kwargs):
        """Build the net a netdef file describes; `overrides` are "key=value" strings."""
        from .netdef import load_netdef
        netdef = load_netdef(path, overrides)
        return cls(netdef.name, netdef.layers, phase=phase,
                   backend=backend or netdef.backend, dtype=dtype or netdef.dtype,
                   seed=netdef.seed if seed is None else seed, share_with=share_with, **kwargs)

    # --- errors -------------------------------------------------------------------------

    @staticmethod
    def _place(layer, field):
        """The netdef file of `layer`, and the line of `field` in it (else the layer's line)."""
        file, line = getattr(layer, "_where", (None, None))
        return file, getattr(layer, "_field_lines", {}).get(field, line)

    def _error(self, layer, message, field=None):
        file, line = self._place(layer, field)
        return GraphnetError(message, file=file, line=line, layer=layer.name, field=field,
                             net=self.name)

    def _locate(self, err, layer):
        file, line = self._place(layer, err.field)
        # A layer's message names its bottoms; say the blob the user wrote, not its split.
        for split in (l for l in self.layers if isinstance(l, Split)):
            for top in split.tops:
                err.message = err.message.replace(f"'{top}'", f"'{split.bottoms[0]}'")
        return err.locate(file=file, line=line, layer=layer.name, net=self.name)

    # --- building -----------------------------------------------------------------------

    def _check_names(self, layers):
        seen = {}
        for layer in layers:
            if layer.name is None:  # only graphnet.chain fills names in
                raise GraphnetError("required field is missing", layer=f"#{layers.index(layer) + 1}",
                                    field="name", net=self.name)
            if layer.name in seen:
                first = getattr(seen[layer.name], "_where", (None, None))[1]
                raise self._error(layer, "another layer has this name"
                                  + (f" (line {first})" if first else ""), "name")
            seen[layer.name] = layer

    def _find_loss_weights(self):
        weights = {}
        for layer in self.layers:
            for i, top in enumerate(layer.tops):
                if layer.loss_weight is not None:
                    weight = layer.loss_weight[i]
                else:
                    weight = 1.0 if layer.is_loss and i == 0 else 0.0
                if weight:
                    weights[top] = weight
        return weights

    def _setup_layers(self, budget):
        for layer in self.layers:
            try:
                self._setup_layer(layer, budget)
            except GraphnetError as err:
                raise self._locate(err, layer) from None
            except MemoryError as err:  # the budget is a lower bound; the allocator has the last word
                raise self._error(layer, f"not enough memory: {err}") from None
        self.inputs = [t for l in self.layers if type(l).__name__ == "Input" for t in l.tops]
        read = {b for l in self.layers for b in l.bottoms if b not in l.tops}
        self.outputs = [b for b in self.blobs if b not in read]

    def _setup_layer(self, layer, budget):
        backend = self.backend
        layer.backend, layer.xp = backend, backend.xp
        layer.training = self.phase == "train"
        layer.param_decls = []
        layer.bottom_blobs = [self.blobs[b] for b in layer.bottoms]
        top_shapes = [tuple(int(d) for d in shape)
                      for shape in layer.setup([b.shape for b in layer.bottom_blobs])]
        budget.add(layer, top_shapes)
        for top, shape in zip(layer.tops, top_shapes):
            if top in layer.bottoms and shape != self.blobs[top].shape:
                raise layer.error(f"runs in place on '{top}' of shape "
                                  f"{self.blobs[top].shape} but makes shape {shape}", "tops")
            if top in layer.bottoms:
                pass  # in place: the same blob
            elif layer.views:  # rebound to a view of the bottom at each forward
                placeholder = backend.xp.broadcast_to(backend.zeros(()), shape)
                self.blobs[top] = Blob(top, placeholder, backend.xp)
            else:
                self.blobs[top] = Blob(top, backend.zeros(shape), backend.xp)
        layer.top_blobs = [self.blobs[t] for t in layer.tops]
        layer.saved_tops = [(self.blobs[t], backend.zeros(self.blobs[t].shape))
                            for t in getattr(layer, "kept_tops", ())]
        layer.detached = [(self.blobs[t], backend.zeros(self.blobs[t].shape))
                          for t in getattr(layer, "detached_tops", ())]

    def _setup_params(self, share_with):
        """Create each declared parameter, or take it from the layer or net that shares it."""
        backend, own, self.params = self.backend, {}, {}
        borrowed = share_with.param_registry if share_with is not None else {}
        for layer in self.layers:
            declared = [d[0] for d in layer.param_decls]
            for pname in layer.param:
                if pname not in declared:
                    raise self._error(layer, f"{type(layer).__name__} has no parameter '{pname}'"
                                      f"{did_you_mean(pname, declared)}", "param")
            layer.params = {}
            for pname, shape, filler, lr_mult, decay_mult in layer.param_decls:
                key = f"{layer.param_key or layer.name}/{pname}"
                param = own.get(key) or borrowed.get(key)
                if param is None:
                    mults = {"lr_mult": lr_mult, "decay_mult": decay_mult, **layer.param.get(pname, {})}
                    param = own[key] = Param(key, pname, shape, filler=filler, **mults)
                    param.layer = layer
                elif param.shape != shape:
                    where = "this net" if key in own else f"net '{share_with.name}'"
                    raise self._error(layer, f"shares parameter '{key}' of shape {param.shape} "
                                      f"with {where}, but here its shape is {shape}", "param_key")
                param.frozen = param.frozen or layer.frozen
                layer.params[pname] = param
            if layer.params:
                self.params[layer.name] = list(layer.params.values())
        self.param_registry = {p.key: p for ps in self.params.values() for p in ps}
        # The parameters this net owns live in one flat array, so an update is one expression.
        self.owned_params = list(own.values())
        owned = {id(p) for p in self.owned_params}
        self._borrowed_params = [p for p in self.param_registry.values() if id(p) not in owned]
        sizes = [math.prod(p.shape) for p in self.owned_params]
        try:
            self.param_data = backend.zeros(sum(sizes))
            self.param_diff = backend.zeros(sum(sizes))
        except MemoryError as err:
            raise GraphnetError(f"not enough memory for the parameters: {err}", net=self.name) from None
        offset = 0
        for param, size in zip(self.owned_params, sizes):
            param.data = self.param_data[offset:offset + size].reshape(param.shape)
            param.diff = self.param_diff[offset:offset + size].reshape(param.shape)
            offset += size
            try:
                values = fill_finite(param.filler, param.shape, backend.rng, backend.dtype)
            except GraphnetError as err:
                field = f"{param.name}_filler"  # the YAML key, where the layer has one
                field = field if field in param.layer.fields else f"{param.name} filler"
                raise self._locate(err.locate(field=field), param.layer) from None
            except MemoryError as err:
                raise self._error(param.layer, f"not enough memory: {err}") from None
            param.data[...] = backend.asarray(values)

    def _find_backward(self):
        """Which layers run backward, and to which bottoms (Caffe's two sweeps)."""
        needs = {}
        for layer in self.layers:
            wanted = layer.differentiable and not layer.is_source and (
                any(needs.get(b, False) for b in layer.bottoms)
                or any(p.needs_grad for p in layer.params.values()) or self.force_backward)
            layer.need_backward = wanted
            for top in layer.tops:
                needs[top] = needs.get(top, False) or wanted
        feeds_loss = set(self._loss_weights)
        for layer in reversed(self.layers):
            contributes = any(t in feeds_loss for t in layer.tops) or self.force_backward
            layer.need_backward = layer.need_backward and contributes
            down = []
            for i, bottom in enumerate(layer.bottoms):
                allowed = layer.grad_bottoms is None or i in layer.grad_bottoms
                flag = needs.get(bottom, False) or self.force_backward
                if layer.propagate_down is not None:
                    flag = layer.propagate_down[i]
                down.append(bool(layer.need_backward and allowed and flag))
            layer.propagate = down
            feeds_loss.update(b for b, d in zip(layer.bottoms, down) if d)
        self._plan_steps()

    def _plan_steps(self):
        """What forward and backward do for each layer, worked out once: a step runs per
        layer per pass, so it should look nothing up that does not change."""
        fused = [getattr(l, "neuron", None) for l in self.layers]
        fused = [None if n is None or isinstance(n, Identity) else n for n in fused]
        # A fused neuron may need a temporary; one buffer serves them all in turn.
        sizes = [math.prod(b.shape) for l, n in zip(self.layers, fused) if n for b in l.top_blobs]
        scratch = self.backend.empty(max(sizes, default=0))
        steps = [(layer, layer.bottom_blobs, layer.top_blobs, neuron,
                  [(t, scratch[:math.prod(t.shape)].reshape(t.shape)) for t in layer.top_blobs]
                  if neuron else None, bool(layer.detached or layer.saved_tops))
                 for layer, neuron in zip(self.layers, fused)]
        forward, self._backward_steps = joins.plan(steps)
        self._forward_steps = {True: forward, False: [s for s in forward if not s[0].is_source]}
        # One per layer, for `timings`: joined layers cannot be timed apart.
        self._timed_steps = {True: steps, False: [s for s in steps if not s[0].is_source]}
        self._timed_backward = [step[:5] for step in reversed(steps) if step[0].need_backward]

    def _plan_statistics(self):
        """The loss tops with their weights, and the statistics. A scalar loss top is read as a
        number for the loss anyway, so its statistic adds up that number on the host; every
        other statistic adds up on the device."""
        self._stat_blobs = [b for l in self.layers if l.is_loss or l.has_stats for b in l.top_blobs]
        index = {b.name: i for i, b in enumerate(self._stat_blobs) if b.shape == ()}
        self._weighted = [(b, self._loss_weights[b.name], index.get(b.name)) for l in self.layers
                          for b in l.top_blobs if b.name in self._loss_weights]
        self._host_stats = {i for _, _, i in self._weighted if i is not None}
        self._device_stats = [(i, b) for i, b in enumerate(self._stat_blobs)
                              if i not in self._host_stats]

    # --- running ------------------------------------------------------------------------

    def forward(self, sources=True, timings=None):
        """Run every layer forward; returns the loss, the weighted sum of the loss tops.

        With sources=False, data and input layers keep their tops as they are. A `timings`
        dict gathers each layer's seconds: {name: [forward, backward]}.
        """
        xp = self.backend.xp
        steps = (self._forward_steps if timings is None else self._timed_steps)[bool(sources)]
        for layer, bottoms, tops, neuron, fused, keeps in steps:
            if timings is not None:
                start = self._clock()
            layer.forward(bottoms, tops)
            if neuron is not None:
                for top, tmp in fused:
                    neuron.forward(xp, top.data, top.data, tmp)
            if keeps:
                self._keep_tops(layer)
            if timings is not None:
                timings.setdefault(layer.name, [0.0, 0.0])[0] += self._clock() - start
        # The one host read of a pass: the caller wants the loss as a number.
        loss, totals = 0.0, self._stat_totals
        for blob, weight, stat in self._weighted:
            data = blob.data
            value = float(data if data.ndim == 0 else data.sum())
            loss += weight * value
            if stat is not None:
                totals[stat] += value
        for stat, blob in self._device_stats:  # read only when statistics() is asked for
            totals[stat] += blob.data
        self._stat_passes += 1
        self.loss = loss
        return loss

    @staticmethod
    def _keep_tops(layer):
        for blob, own in layer.detached:  # a view a later in-place layer will change
            own[...] = blob.data
            blob.data = own
        for blob, saved in layer.saved_tops:
            saved[...] = blob.data

    def backward(self, top_diffs=None, timings=None):
        """Back-propagate the loss; parameter gradients are added to their diffs.

        `top_diffs` ({blob: array}) seeds those blobs' gradients instead of the loss
        weights: the gradient of sum(top_diffs[b] * b) over them.
        """
        for blob, weight, _ in self._weighted:
            blob.diff[...] = weight
        if top_diffs:
            for name, diff in top_diffs.items():
                self.blobs[name].diff[...] = self.backend.asarray(diff)
        xp = self.backend.xp
        for layer, bottoms, tops, neuron, fused in (
                self._backward_steps if timings is None else self._timed_backward):
            if timings is not None:
                start = self._clock()
            saved = layer.saved_tops
            if saved:  # its outputs as it made them, before in-place changes
                changed = [blob.data for blob, _ in saved]
                for blob, kept in saved:
                    blob.data = kept
            if neuron is not None:
                for top, tmp in fused:
                    neuron.backward(xp, top.data, top.diff, top.diff, tmp)
            layer.backward(tops, layer.propagate, bottoms)
            if saved:
                for (blob, _), data in zip(saved, changed):
                    blob.data = data
            if timings is not None:
                timings.setdefault(layer.name, [0.0, 0.0])[1] += self._clock() - start

    def _clock(self):
        self.backend.synchronize()
        return time.perf_counter()

    def forward_backward(self):
        """Clear parameter gradients, run forward and backward; returns the loss."""
        self.clear_param_diffs()
        loss = self.forward()
        self.backward()
        return loss

    def clear_param_diffs(self):
        self.param_diff.fill(0)
        for param in self._borrowed_params:
            param.diff.fill(0)

    def forward_epoch(self):
        """Forward until the first data layer that counts epochs has served one whole epoch;
        returns the statistics of that epoch (one forward if no layer counts epochs)."""
        self.reset_statistics()
        counters = [l for l in self.layers if hasattr(l, "epoch")]
        start = counters[0].epoch if counters else None
        self.forward()
        while counters and counters[0].epoch == start:
            self.forward()
        return self.statistics()

    def statistics(self):
        """Each loss and statistic top, averaged over the samples seen since the last reset.

        Every pass serves the same number of samples, so the mean over samples is the mean
        over passes of each top's mean."""
        if not self._stat_passes:
            return {}
        return {blob.name: float(total if isinstance(total, float) else total.mean()) / self._stat_passes
                for total, blob in zip(self._stat_totals, self._stat_blobs)}

    def reset_statistics(self):
        # float64 sums: a long validation epoch adds up many float32 values
        self._stat_totals = [0.0 if i in self._host_stats
                             else self.backend.zeros(b.shape, dtype="float64")
                             for i, b in enumerate(self._stat_blobs)]
        self._stat_passes = 0

    def layer(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"net {self.name!r} has no layer {name!r}{did_you_mean(name, [l.name for l in self.layers])}")

    def freeze(self, *names):
        """Keep these layers' parameters fixed (all layers when no name is given)."""
        self._set_frozen(names, True)

    def unfreeze(self, *names):
        self._set_frozen(names, False)

    def _set_frozen(self, names, frozen):
        for layer in [self.layer(n) for n in names] if names else self.layers:
            for param in layer.params.values():
                param.frozen = frozen
        self._find_backward()

    def predict(self, inputs, outputs=None, batch_size=None):
        """Outputs for any number of samples, as host arrays: `inputs` is an array (a net of one
        input) or {input: array}, batch first ((T, N, ...) for recurrent nets, whose state
        carries over from call to call until reset_state()). Returns the array of the net's
        one output, else {blob: array} of `outputs` (default: the blobs no layer reads).

            probs = net.predict(images)
            net.predict({"data": images}, outputs=["ip2", "prob"], batch_size=100)
        """
        from .predict import predictor
        return predictor(self).run(inputs, outputs, batch_size)

    __call__ = predict  # net(x), as Mathematica's net[x]

    def reset_state(self):
        """Start the next predict of a recurrent net from a zero state."""
        from .predict import predictor
        predictor(self).reset_state()

    def __repr__(self):
        return f"Net({self.name!r}, phase={self.phase!r}, {len(self.layers)} layers, {self.backend})"
