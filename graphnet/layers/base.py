"""The layer contract and the registry of layer types.

A layer is configuration plus maths. Its fields are the keys a user writes in YAML, or
the keywords in Python; the net builder makes a fresh working copy of each layer for
every net, so one layer object can serve a train net and a test net. The engine calls:

    setup(bottom_shapes) -> top_shapes    infer shapes, declare params with add_param
    forward(bottoms, tops)                write tops[i].data from bottoms[i].data
    backward(tops, propagate_down, bottoms)
                                          write bottoms[i].diff where propagate_down[i];
                                          add (+=) into each param's diff

and does everything else: parameter creation, initialisation, sharing, freezing,
learning-rate and decay multipliers, fused neurons, loss weights, and summing the
gradients of a blob read by several layers. During forward and backward a layer has
`self.xp` (numpy or cupy), `self.backend`, `self.training` and `self.params` (name ->
Param, in the order declared).
"""

import numbers

import numpy as np

from ..errors import GraphnetError, did_you_mean
from ..spec import (Field, Spec, boolean, choice, identifier, integer, list_of, mapping, names,
                    number, optional, text)

LAYERS = {}


def register(cls):
    """Make a layer class available under its class name as a netdef `type`. A name is
    one type: a second class of that name (from a plugin, say) is refused, naming both
    modules; the same class imported again (a reloaded module) takes its place."""
    known = LAYERS.get(cls.__name__)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise GraphnetError(f"layer type '{cls.__name__}' of module {cls.__module__} is already "
                            f"defined by module {known.__module__}; give the class another name")
    LAYERS[cls.__name__] = cls
    return cls


def _rule(value):
    """An include/exclude rule: {phase, stage, not_stage, min_level, max_level}."""
    rule = mapping(value)
    known = {"phase": choice("train", "test"), "stage": list_of(text), "not_stage": list_of(text),
             "min_level": integer(), "max_level": integer()}
    for key in rule:
        if key not in known:
            raise ValueError(f"unknown rule key '{key}'{did_you_mean(key, known)}")
        rule[key] = known[key](rule[key])
    return rule


def _param_overrides(value):
    """{param name: {lr_mult, decay_mult, max_norm}}; names are checked against add_param later."""
    keys = {"lr_mult": number(), "decay_mult": number(), "max_norm": number(above=0)}
    overrides = {}
    for pname, fields in mapping(value).items():
        fields = mapping(fields)
        for key in fields:
            if key not in keys:
                raise ValueError(f"{pname}: unknown key '{key}'{did_you_mean(key, keys)}")
        overrides[pname] = {k: keys[k](v) for k, v in fields.items()}
    return overrides


def as_indices(xp, values, n):
    """(indices, bad): `values` (labels and indices travel as floats) as int64, and where they
    are not whole numbers 0..n-1. Cheap enough for every forward: one cast and one pass."""
    with np.errstate(invalid="ignore"):  # nan and inf cast to junk, which `bad` flags
        index = values.astype(xp.int64)
    # A negative index is huge as unsigned, so one comparison checks both ends; a value
    # the cast changed (3.5, nan, inf) was not a whole number.
    return index, (index.view(xp.uint64) >= n) | (index != values)


class Layer(Spec):
    """Base of all layers: the fields every layer has, and the contract above."""

    # Optional here only so that graphnet.chain can name a layer; a netdef and a Net need it.
    name = Field(optional(identifier), None, "unique within the net; also the default param_key")
    bottoms = Field(names, [], "blobs read")
    tops = Field(names, [], "blobs written; a top equal to a bottom runs in place")
    phase = Field(optional(choice("train", "test")), None, "only in this phase")
    include = Field(list_of(_rule), [], "rules: keep the layer if any is met")
    exclude = Field(list_of(_rule), [], "rules: drop the layer if any is met")
    loss_weight = Field(optional(list_of(number())), None,
                        "one per top; a top with a non-zero weight adds weight*sum(top) to the loss")
    param_key = Field(optional(identifier), None,
                      "layers (in any net) with the same key share parameters; default: name")
    param = Field(_param_overrides, {},
                  "by parameter name: {weight: {lr_mult: 1, decay_mult: 1, max_norm: 4.5}}")
    frozen = Field(boolean, False, "keep this layer's parameters fixed")
    propagate_down = Field(optional(list_of(boolean)), None, "one per bottom: force or skip its gradient")

    # Traits, declared by each layer type; the net builder checks and uses them.
    n_bottoms = 1              # an int, or (min, max) with max None for any number
    n_tops = 1
    is_source = False          # makes its tops from outside the net (data layers)
    is_loss = False            # first top weighs 1 in the loss unless loss_weight says otherwise
    has_stats = False          # its tops are statistics averaged over an epoch in validation
    differentiable = True      # has a backward
    grad_bottoms = None        # indices of bottoms a gradient can flow to; None: all
    inplace = False            # may run with tops == bottoms
    state_attrs = ()           # runtime attributes a snapshot keeps (data positions, generators)
    views = False              # its tops are views of its bottoms: no memory of their own
    backward_reads_tops = False  # backward uses tops' values (so no later layer may change them)
    sample_axes = 1            # a source's leading top axes that index samples: 2 for (T, N) sequences
    sample_name = "images"     # what a source's samples are, for `graphnet time`
    # Joins (graphnet/joins.py): a joinable layer's forward and backward each do all their
    # work in one backend.parallel call over `parts`, slices of the batch, part i touching
    # samples parts[i] only (a sum over the parts goes in the call's `then`); with any_cut
    # its numbers do not depend on the cut, so it may take its neighbour's parts.
    joinable = False
    any_cut = False

    def _kind(self):
        return f"layer type {type(self).__name__}"

    def _error(self, message, values, field=None):
        name = values.get("name") if isinstance(values.get("name"), str) else None
        return GraphnetError(message, layer=name, field=field)

    def validate(self):
        # A layer without a name is a link for graphnet.chain, which fills in its name,
        # bottoms and tops, and builds it again: its arity is checked then.
        for field, arity in (("bottoms", self.n_bottoms), ("tops", self.n_tops)) if self.name else ():
            low, high = (arity, arity) if isinstance(arity, numbers.Integral) else arity
            if (self.is_loss or self.has_stats) and field == "tops":
                low = 0  # an unnamed top is named after the layer
            count = len(getattr(self, field))
            if count < low or (high is not None and count > high):
                want = f"exactly {low}" if low == high else (
                    f"at least {low}" if high is None else f"{low} to {high}")
                raise GraphnetError(f"{type(self).__name__} takes {want}, got {count}",
                                    layer=self.name, field=field)
        if self.include and self.exclude:
            raise GraphnetError("give include rules or exclude rules, not both",
                                layer=self.name, field="include")
        if self.loss_weight is not None and len(self.loss_weight) != len(self.tops or [self.name]):
            raise GraphnetError(f"needs one weight per top ({len(self.tops)}), "
                                f"got {len(self.loss_weight)}", layer=self.name, field="loss_weight")
        if self.propagate_down is not None and len(self.propagate_down) != len(self.bottoms):
            raise GraphnetError(f"needs one flag per bottom ({len(self.bottoms)}), "
                                f"got {len(self.propagate_down)}",
                                layer=self.name, field="propagate_down")

    def error(self, message, field=None):
        """A GraphnetError placed at this layer, for setup's shape and value checks."""
        return GraphnetError(message, layer=self.name, field=field)

    def add_param(self, name, shape, filler, lr_mult=1.0, decay_mult=1.0):
        """Declare a parameter during setup; the engine creates, shares and fills it."""
        self.param_decls.append((name, tuple(int(d) for d in shape), filler, lr_mult, decay_mult))

    def setup(self, bottom_shapes):
        raise NotImplementedError

    def forward(self, bottoms, tops):
        raise NotImplementedError

    def backward(self, tops, propagate_down, bottoms):
        raise NotImplementedError


class Loss(Layer):
    """A layer whose scalar top is minimised; it takes (prediction, label)."""
    n_bottoms = 2
    n_tops = (0, 1)
    is_loss = True
    grad_bottoms = (0,)

    def check_batch(self, bottom_shapes):
        """Prediction and label must agree on the batch size."""
        (pred, label) = bottom_shapes[:2]
        if pred[:1] != label[:1]:
            raise self.error(f"batch sizes differ: '{self.bottoms[0]}' is {pred}, "
                             f"'{self.bottoms[1]}' is {label}", "bottoms")


class Statistic(Layer):
    """A layer that measures (accuracy...) without a gradient; averaged in validation."""
    n_bottoms = 2
    n_tops = (0, 1)
    has_stats = True
    differentiable = False
