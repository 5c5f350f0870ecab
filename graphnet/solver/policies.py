"""Learning-rate and momentum policies: the rate and momentum of each update (Caffe, Mocha).

In a solver section a policy is a number (fixed), a name, or a mapping with its fields:

    lr_policy: 0.01
    lr_policy: {type: inv, base_lr: 0.01, gamma: 0.0001, power: 0.75}
    lr_policy:
      type: staged
      stages:
        - {iters: 1000, policy: 0.1}
        - {policy: {type: step, base_lr: 0.1, gamma: 0.5, stepsize: 5000}}
    momentum: {type: linear, base: 0.5, gamma: 0.0008, stepsize: 600, max: 0.9}

`iteration` is the number of updates already applied (0 for the first one), as in Caffe.
A policy with a state (decay_on_validation) gives it as plain numbers, `state()`, for
snapshots, and takes it back with `load_state(state)`.
"""

import bisect
import math

from ..errors import did_you_mean
from ..spec import Field, Kind, Registry, boolean, integer, list_of, number, text

LR_POLICIES = Registry("lr_policy", number=("fixed", "base_lr"))
MOMENTUM_POLICIES = Registry("momentum policy", number=("fixed", "base"))


class Policy(Kind):
    def state(self):
        """What a snapshot keeps of this policy: {name: number}; {} when it has no state."""
        return {}

    def load_state(self, state):
        """Take back what `state()` gave."""


class LRPolicy(Policy):
    family = "lr_policy"

    def rate(self, iteration):
        """The learning rate of the update that follows `iteration` updates."""
        raise NotImplementedError


class MomentumPolicy(Policy):
    family = "momentum policy"

    def momentum(self, iteration):
        """The momentum of the update that follows `iteration` updates."""
        raise NotImplementedError


lr_policy = LR_POLICIES.convert
"""Converter for a learning-rate policy: a number (fixed), a name, a mapping or a policy."""

momentum_policy = MOMENTUM_POLICIES.convert
"""Converter for a momentum policy: a number (fixed), a name, a mapping or a policy."""


# --- learning-rate policies -----------------------------------------------------------------

@LR_POLICIES.register("fixed")
class Fixed(LRPolicy):
    """base_lr always: `lr_policy: 0.01` or `{type: fixed, base_lr: 0.01}`."""
    base_lr = Field(number(min=0))

    def rate(self, iteration):
        return self.base_lr


@LR_POLICIES.register("step")
class Step(LRPolicy):
    """base_lr * gamma^floor(iteration / stepsize):
    `{type: step, base_lr: 0.1, gamma: 0.1, stepsize: 10000}`."""
    base_lr = Field(number(min=0))
    gamma = Field(number(min=0))
    stepsize = Field(integer(min=1))

    def rate(self, iteration):
        return self.base_lr * self.gamma ** (iteration // self.stepsize)


@LR_POLICIES.register("exp")
class Exp(LRPolicy):
    """base_lr * gamma^iteration: `{type: exp, base_lr: 0.1, gamma: 0.999}`."""
    base_lr = Field(number(min=0))
    gamma = Field(number(above=0))

    def rate(self, iteration):
        return self.base_lr * self.gamma ** iteration


@LR_POLICIES.register("inv")
class Inv(LRPolicy):
    """base_lr * (1 + gamma*iteration)^-power: `{type: inv, base_lr: 0.01, gamma: 0.0001, power: 0.75}`."""
    base_lr = Field(number(min=0))
    gamma = Field(number(min=0))
    power = Field(number(min=0))

    def rate(self, iteration):
        return self.base_lr * (1.0 + self.gamma * iteration) ** -self.power


@LR_POLICIES.register("multistep")
class MultiStep(LRPolicy):
    """base_lr * gamma^(how many stepvalues are <= iteration):
    `{type: multistep, base_lr: 0.1, gamma: 0.1, stepvalues: [30000, 60000]}`."""
    base_lr = Field(number(min=0))
    gamma = Field(number(min=0))
    stepvalues = Field(list_of(integer(min=0), min_len=1))

    def validate(self):
        if any(b <= a for a, b in zip(self.stepvalues, self.stepvalues[1:])):
            raise ValueError(f"stepvalues must increase, got {self.stepvalues}")

    def rate(self, iteration):
        return self.base_lr * self.gamma ** bisect.bisect_right(self.stepvalues, iteration)


@LR_POLICIES.register("poly")
class Poly(LRPolicy):
    """base_lr * (1 - iteration/max_iter)^power, 0 from max_iter on:
    `{type: poly, base_lr: 0.01, power: 0.9, max_iter: 10000}`."""
    base_lr = Field(number(min=0))
    power = Field(number(min=0))
    max_iter = Field(integer(min=1))

    def rate(self, iteration):
        if iteration >= self.max_iter:
            return 0.0
        return self.base_lr * (1.0 - iteration / self.max_iter) ** self.power


@LR_POLICIES.register("sigmoid")
class Sigmoid(LRPolicy):
    """base_lr / (1 + exp(-gamma*(iteration - stepsize))); a negative gamma decreases:
    `{type: sigmoid, base_lr: 0.1, gamma: -0.001, stepsize: 5000}`."""
    base_lr = Field(number(min=0))
    gamma = Field(number())
    stepsize = Field(integer(min=0))

    def rate(self, iteration):
        z = self.gamma * (iteration - self.stepsize)
        if z >= 0:
            return self.base_lr / (1.0 + math.exp(-z))
        return self.base_lr * math.exp(z) / (1.0 + math.exp(z))  # the same, free of overflow


def _stage(policy):
    """Converter for one stage, {iters: N, policy: ...}; the last stage may leave out iters."""
    def convert(value):
        if not isinstance(value, dict) or "policy" not in value:
            raise ValueError(f"must be a mapping {{iters: N, policy: ...}}, got {value!r}")
        for key in value:
            if key not in ("iters", "policy"):
                raise ValueError(f"unknown key '{key}'{did_you_mean(key, ('iters', 'policy'))}")
        try:
            iters = None if value.get("iters") is None else integer(min=1)(value["iters"])
        except ValueError as err:
            raise ValueError(f"iters: {err}") from None
        try:
            return {"iters": iters, "policy": policy(value["policy"])}
        except ValueError as err:
            raise ValueError(f"policy: {err}") from None
    return convert


class _Stages:
    """Mocha's staged policy: each stage's policy, at the global iteration, for `iters` updates."""

    def validate(self):
        for i, stage in enumerate(self.stages[:-1]):
            if stage["iters"] is None:
                raise ValueError(f"stages: item {i}: needs iters (only the last stage may leave it out)")

    def policy_at(self, iteration):
        end = 0
        for stage in self.stages[:-1]:
            end += stage["iters"]
            if iteration < end:
                return stage["policy"]
        return self.stages[-1]["policy"]


@LR_POLICIES.register("staged")
class Staged(_Stages, LRPolicy):
    """The rate of the current stage's policy; the last stage lasts forever:

        lr_policy:
          type: staged
          stages:
            - {iters: 500, policy: 0.01}                                       # warm-up
            - {policy: {type: step, base_lr: 0.1, gamma: 0.1, stepsize: 10000}}
    """
    stages = Field(list_of(_stage(lr_policy), min_len=1))

    def validate(self):
        super().validate()
        for i, stage in enumerate(self.stages):
            if isinstance(stage["policy"], DecayOnValidation):
                raise ValueError(f"stages: item {i}: decay_on_validation cannot be a stage; "
                                 f"it follows validation, not iterations")

    def rate(self, iteration):
        return self.policy_at(iteration).rate(iteration)


@LR_POLICIES.register("decay_on_validation")
class DecayOnValidation(LRPolicy):
    """Mocha's DecayOnValidation: when the validation statistic `key` gets worse than the
    best so far, multiply the rate by gamma (never below min_lr) and go back to the last
    good snapshot. Needs ValidationPerformance and Snapshot coffee breaks.

        lr_policy: {type: decay_on_validation, base_lr: 0.1, key: accuracy, gamma: 0.5}
    """
    base_lr = Field(number(min=0))
    key = Field(text, doc="the test net statistic to watch, e.g. accuracy or loss")
    gamma = Field(number(above=0, below=1), 0.5)
    min_lr = Field(number(min=0), 1e-8, "the rate stops decaying here")
    higher_better = Field(boolean, True, "false for a loss")

    def __init__(self, **values):
        super().__init__(**values)
        self.current = self.base_lr
        self.best = -math.inf if self.higher_better else math.inf

    def rate(self, iteration):
        return self.current

    def observe(self, value):
        """Take a validation result; True when it is worse and the rate was lowered,
        meaning: reload the last good snapshot. NaN counts as worse."""
        value = float(value)
        if value >= self.best if self.higher_better else value <= self.best:
            self.best = value
            return False
        if self.current <= self.min_lr:
            return False
        self.current = max(self.current * self.gamma, self.min_lr)
        return True

    def state(self):
        return {"rate": self.current, "best": self.best}

    def load_state(self, state):
        self.current = float(state.get("rate", self.current))
        self.best = float(state.get("best", self.best))


# --- momentum policies ----------------------------------------------------------------------

@MOMENTUM_POLICIES.register("fixed")
class FixedMomentum(MomentumPolicy):
    """base always: `momentum: 0.9` or `{type: fixed, base: 0.9}`."""
    base = Field(number(min=0))

    def momentum(self, iteration):
        return self.base


@MOMENTUM_POLICIES.register("step")
class StepMomentum(MomentumPolicy):
    """min(base * gamma^floor(iteration / stepsize), max):
    `{type: step, base: 0.5, gamma: 1.1, stepsize: 1000, max: 0.9}`."""
    base = Field(number(min=0))
    gamma = Field(number(min=0))
    stepsize = Field(integer(min=1))
    max = Field(number(min=0))

    def momentum(self, iteration):
        try:
            return min(self.base * self.gamma ** (iteration // self.stepsize), self.max)
        except OverflowError:  # gamma > 1 for very many steps: far past max
            return self.max


@MOMENTUM_POLICIES.register("linear")
class LinearMomentum(MomentumPolicy):
    """min(base + floor(iteration / stepsize) * gamma, max):
    `{type: linear, base: 0.5, gamma: 0.0008, stepsize: 600, max: 0.9}`."""
    base = Field(number(min=0))
    gamma = Field(number())
    stepsize = Field(integer(min=1))
    max = Field(number(min=0))

    def momentum(self, iteration):
        return min(self.base + (iteration // self.stepsize) * self.gamma, self.max)


@MOMENTUM_POLICIES.register("staged")
class StagedMomentum(_Stages, MomentumPolicy):
    """The momentum of the current stage's policy; the last stage lasts forever:

        momentum:
          type: staged
          stages: [{iters: 1000, policy: 0.5}, {policy: 0.9}]
    """
    stages = Field(list_of(_stage(momentum_policy), min_len=1))

    def momentum(self, iteration):
        return self.policy_at(iteration).momentum(iteration)
