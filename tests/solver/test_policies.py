"""Every policy against its closed form (Caffe's GetLearningRate, Mocha's policies), and its errors."""

import json
import math

import numpy as np
import pytest

from graphnet.errors import GraphnetError
from graphnet.netdef import parse_yaml
from graphnet.solver.policies import (LR_POLICIES, MOMENTUM_POLICIES, DecayOnValidation, Exp, Fixed,
                                      FixedMomentum, Inv, LinearMomentum, MultiStep, Poly, Sigmoid,
                                      Staged, StagedMomentum, Step, StepMomentum, lr_policy,
                                      momentum_policy)
from graphnet.solver.solver import Solver

from ..helpers import linear_net

ITERATIONS = [0, 1, 2, 3, 4, 5, 9, 10, 11, 99, 100, 101, 1000]


def rates(policy, iterations=ITERATIONS):
    return [policy.rate(i) for i in iterations]


# --- closed forms ---------------------------------------------------------------------------

@pytest.mark.parametrize("entry, closed_form", [
    ("{type: fixed, base_lr: 0.01}", lambda it: 0.01),
    ("{type: step, base_lr: 0.1, gamma: 0.5, stepsize: 10}", lambda it: 0.1 * 0.5 ** math.floor(it / 10)),
    ("{type: exp, base_lr: 0.1, gamma: 0.99}", lambda it: 0.1 * 0.99 ** it),
    ("{type: inv, base_lr: 0.01, gamma: 0.0001, power: 0.75}",
     lambda it: 0.01 * (1 + 0.0001 * it) ** -0.75),
    ("{type: poly, base_lr: 0.1, power: 2, max_iter: 100}",
     lambda it: 0.1 * (1 - it / 100) ** 2 if it <= 100 else 0.0),
    ("{type: poly, base_lr: 0.1, power: 0.5, max_iter: 10}",
     lambda it: 0.1 * (1 - it / 10) ** 0.5 if it <= 10 else 0.0),
    ("{type: sigmoid, base_lr: 0.1, gamma: -0.5, stepsize: 4}",
     lambda it: 0.1 / (1 + math.exp(0.5 * (it - 4)))),
    ("{type: sigmoid, base_lr: 0.1, gamma: 0.05, stepsize: 100}",
     lambda it: 0.1 / (1 + math.exp(-0.05 * (it - 100)))),
])
def test_policy_matches_its_closed_form(entry, closed_form):
    policy = lr_policy(parse_yaml(entry, "<test>"))
    for it in ITERATIONS:
        assert policy.rate(it) == pytest.approx(closed_form(it), rel=1e-12, abs=1e-300), it


def test_lenet_inv_rate_is_the_one_caffe_prints():
    policy = Inv(base_lr=0.01, gamma=1e-4, power=0.75)
    assert policy.rate(0) == 0.01
    assert policy.rate(100) == pytest.approx(0.00992565, abs=5e-9)   # examples/mnist/readme.md


def test_step_changes_exactly_at_multiples_of_stepsize():
    policy = Step(base_lr=1.0, gamma=0.1, stepsize=3)
    assert rates(policy, range(7)) == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01], rel=1e-12)


def test_multistep_counts_the_stepvalues_passed_as_caffe_does():
    policy = MultiStep(base_lr=1.0, gamma=0.5, stepvalues=[2, 5, 6])
    assert rates(policy, range(9)) == [1, 1, 0.5, 0.5, 0.5, 0.25, 0.125, 0.125, 0.125]
    # Caffe's loop: current_step goes up by at most one per iteration, and is never reset.
    current_step = 0
    for it in range(1000):
        if current_step < 3 and it >= policy.stepvalues[current_step]:
            current_step += 1
        assert policy.rate(it) == 0.5 ** current_step


def test_poly_is_zero_from_max_iter_on():
    policy = Poly(base_lr=0.1, power=0.0, max_iter=5)
    assert rates(policy, [0, 4, 5, 6, 100]) == [0.1, 0.1, 0.0, 0.0, 0.0]


def test_sigmoid_does_not_overflow_far_from_its_centre():
    down = Sigmoid(base_lr=0.1, gamma=-0.01, stepsize=1000)
    up = Sigmoid(base_lr=0.1, gamma=0.01, stepsize=1000)
    assert down.rate(0) == pytest.approx(0.1 / (1 + math.exp(-10)), rel=1e-12)
    assert down.rate(10**6) == 0.0 and up.rate(10**6) == 0.1
    assert up.rate(0) == pytest.approx(0.1 / (1 + math.exp(10)), rel=1e-12)
    assert up.rate(1000) == down.rate(1000) == 0.05


def test_rates_are_python_floats():
    for policy in [Fixed(base_lr=1), Step(base_lr=1, gamma=0.5, stepsize=2), Exp(base_lr=1, gamma=0.5),
                   Inv(base_lr=1, gamma=1, power=1), MultiStep(base_lr=1, gamma=0.5, stepvalues=[1]),
                   Poly(base_lr=1, power=1, max_iter=3), Sigmoid(base_lr=1, gamma=1, stepsize=0)]:
        assert all(type(r) is float for r in rates(policy)), policy


# --- the converter --------------------------------------------------------------------------

def test_yaml_and_python_give_equal_policies():
    assert lr_policy(parse_yaml("{type: inv, base_lr: 0.01, gamma: 0.0001, power: 0.75}", "<t>")) \
        == Inv(base_lr=0.01, gamma=1e-4, power=0.75)
    assert lr_policy(parse_yaml("{type: MultiStep, base_lr: 1, gamma: 0.1, stepvalues: [10, 20]}", "<t>")) \
        == MultiStep(base_lr=1.0, gamma=0.1, stepvalues=[10, 20])
    assert momentum_policy(parse_yaml("{type: linear, base: 0.5, gamma: 0.1, stepsize: 5, max: 0.9}", "<t>")) \
        == LinearMomentum(base=0.5, gamma=0.1, stepsize=5, max=0.9)


def test_a_number_is_a_fixed_policy_and_a_policy_passes_through():
    assert lr_policy(0.05) == Fixed(base_lr=0.05)
    assert lr_policy(1) == Fixed(base_lr=1.0)
    assert momentum_policy(0.9) == FixedMomentum(base=0.9)
    step = Step(base_lr=0.1, gamma=0.1, stepsize=100)
    assert lr_policy(step) is step
    assert repr(step) == "step(base_lr=0.1, gamma=0.1, stepsize=100)"


def test_registries_hold_every_policy():
    assert set(LR_POLICIES) == {"fixed", "step", "exp", "inv", "multistep", "poly", "sigmoid",
                                "staged", "decay_on_validation"}
    assert set(MOMENTUM_POLICIES) == {"fixed", "step", "linear", "staged"}


# --- staged ---------------------------------------------------------------------------------

STAGED = """
type: staged
stages:
  - {iters: 3, policy: 0.1}
  - {iters: 2, policy: {type: step, base_lr: 1, gamma: 0.5, stepsize: 1}}
  - {policy: {type: exp, base_lr: 2, gamma: 0.9}}
"""


def test_staged_switches_at_the_summed_lengths_and_uses_the_global_iteration():
    policy = lr_policy(parse_yaml(STAGED, "<test>"))
    expected = [0.1, 0.1, 0.1, 0.5 ** 3, 0.5 ** 4] + [2 * 0.9 ** it for it in range(5, 40)]
    assert rates(policy, range(40)) == pytest.approx(expected, rel=1e-12)
    assert policy.rate(10**5) == pytest.approx(2 * 0.9 ** 10**5, abs=1e-300)


def test_staged_from_python_equals_yaml_and_the_last_stage_lasts_forever():
    python = Staged(stages=[{"iters": 3, "policy": 0.1},
                            {"iters": 2, "policy": Step(base_lr=1, gamma=0.5, stepsize=1)},
                            {"policy": Exp(base_lr=2, gamma=0.9)}])
    assert python == lr_policy(parse_yaml(STAGED, "<test>"))
    bounded = Staged(stages=[{"iters": 3, "policy": 0.1}, {"iters": 2, "policy": 0.2}])
    assert rates(bounded, [0, 2, 3, 4, 5, 1000]) == [0.1, 0.1, 0.2, 0.2, 0.2, 0.2]
    assert rates(Staged(stages=[{"policy": 0.3}]), [0, 10**6]) == [0.3, 0.3]


def test_staged_momentum():
    policy = momentum_policy({"type": "staged", "stages": [
        {"iters": 4, "policy": 0.5},
        {"policy": {"type": "step", "base": 0.5, "gamma": 1.2, "stepsize": 2, "max": 0.95}}]})
    assert isinstance(policy, StagedMomentum)
    got = [policy.momentum(it) for it in range(9)]
    assert got == pytest.approx([0.5] * 4 + [0.72] * 2 + [0.864] * 2 + [0.95], rel=1e-12)


# --- momentum policies ----------------------------------------------------------------------

def test_momentum_policies_match_their_closed_forms():
    step = StepMomentum(base=0.5, gamma=1.2, stepsize=10, max=0.9)
    linear = LinearMomentum(base=0.5, gamma=0.0008, stepsize=600, max=0.9)   # Mocha's MNIST dropout
    for it in ITERATIONS + [599, 600, 1199, 1200, 300_000]:
        assert FixedMomentum(base=0.9).momentum(it) == 0.9
        if it < 5000:
            assert step.momentum(it) == pytest.approx(min(0.5 * 1.2 ** math.floor(it / 10), 0.9),
                                                      rel=1e-12)
        assert linear.momentum(it) == pytest.approx(min(0.5 + math.floor(it / 600) * 0.0008, 0.9),
                                                    rel=1e-12)
    assert linear.momentum(599) == 0.5 and linear.momentum(600) == pytest.approx(0.5008)
    assert linear.momentum(10**6) == 0.9 and step.momentum(10**6) == 0.9   # 1.2^100000 overflows


# --- as the solver reads them ---------------------------------------------------------------

@pytest.mark.parametrize("method", ["sgd", "nesterov"])
def test_the_solver_takes_the_momentum_of_the_update_it_makes(tmp_path, method):
    """The update after t updates uses momentum(t), as Caffe does (Mocha uses momentum(t - 1))."""
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    net = linear_net(x, bias=False)
    w = net.param_data.copy()
    Solver(method, lr_policy=0.1, momentum={"type": "linear", "base": 0.2, "gamma": 0.3, "stepsize": 1,
                                            "max": 0.9},
           max_iter=5, run_dir=str(tmp_path / "run")).solve(net)
    g, v = x.sum(axis=0), np.zeros_like(w)     # loss = sum(x w^T): dL/dw is the sum of the samples
    for mu in [0.2, 0.5, 0.8, 0.9, 0.9]:
        old, v = v, mu * v + 0.1 * g
        w = w - (v if method == "sgd" else (1 + mu) * v - mu * old)
    np.testing.assert_allclose(net.param_data, w, rtol=1e-12)


# --- decay_on_validation --------------------------------------------------------------------

def test_decay_on_validation_lowers_the_rate_when_the_statistic_gets_worse():
    policy = lr_policy({"type": "decay_on_validation", "base_lr": 0.1, "key": "accuracy"})
    assert (policy.gamma, policy.min_lr, policy.higher_better) == (0.5, 1e-8, True)
    steps = [(0.5, False, 0.1), (0.6, False, 0.1), (0.55, True, 0.05), (0.6, False, 0.05),
             (0.7, False, 0.05), (0.65, True, 0.025), (0.69, True, 0.0125), (0.71, False, 0.0125)]
    for value, reload, rate in steps:
        assert policy.observe(value) is reload, value
        assert policy.rate(0) == policy.rate(12345) == rate
    assert policy.state() == {"rate": 0.0125, "best": 0.71}


def test_decay_on_validation_for_a_loss_and_a_nan():
    policy = DecayOnValidation(base_lr=1.0, key="loss", higher_better=False, gamma=0.1)
    assert [policy.observe(v) for v in [2.0, 1.0, 1.5, 0.5, float("nan")]] == [False, False, True, False, True]
    assert policy.rate(0) == pytest.approx(0.01) and policy.state()["best"] == 0.5


def test_decay_on_validation_stops_at_min_lr():
    policy = DecayOnValidation(base_lr=1.0, key="accuracy", gamma=0.1, min_lr=0.05)
    assert policy.observe(0.9) is False
    assert policy.observe(0.8) is True and policy.rate(0) == pytest.approx(0.1)
    assert policy.observe(0.8) is True and policy.rate(0) == 0.05          # not below min_lr
    assert policy.observe(0.8) is False and policy.rate(0) == 0.05         # no more decay, no reload
    assert policy.observe(0.95) is False and policy.state()["best"] == 0.95


def test_decay_on_validation_state_round_trips_through_json():
    policy = DecayOnValidation(base_lr=0.2, key="accuracy")
    fresh = json.loads(json.dumps(policy.state()))
    assert fresh == {"rate": 0.2, "best": -math.inf}
    for value in [0.5, 0.7, 0.6]:
        policy.observe(value)
    resumed = DecayOnValidation(base_lr=0.2, key="accuracy")
    resumed.load_state(json.loads(json.dumps(policy.state())))
    assert resumed.state() == policy.state() == {"rate": 0.1, "best": 0.7}
    for value in [0.65, 0.8, 0.75]:
        assert resumed.observe(value) == policy.observe(value)
        assert resumed.rate(0) == policy.rate(0)
    resumed.load_state({})                                   # a snapshot of another policy
    assert resumed.state() == policy.state()


def test_stateless_policies_have_an_empty_state():
    for policy in [Fixed(base_lr=1), lr_policy(parse_yaml(STAGED, "<t>")), FixedMomentum(base=0.5)]:
        assert policy.state() == {}
        policy.load_state({})
        policy.load_state({"rate": 3.0})
        assert policy.state() == {}
    assert Fixed(base_lr=1).rate(5) == 1.0


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, words", [
    ({"type": "stpe", "base_lr": 0.1}, ["unknown lr_policy 'stpe'", "did you mean 'step'", "known: "]),
    ("invv", ["unknown lr_policy 'invv'", "did you mean 'inv'"]),
    ({"type": "step", "base_lr": 0.1, "gamma": 0.5, "stepsize": 0}, ["stepsize", "must be >= 1, got 0"]),
    ({"type": "step", "base_lr": 0.1, "gamma": 0.5}, ["stepsize", "required"]),
    ({"type": "step", "base_lr": 0.1, "gamma": 0.5, "stepsize": 10, "stepsizes": 3},
     ["stepsizes", "unknown field for lr_policy 'step'", "did you mean 'stepsize'"]),
    ({"type": "multistep", "base_lr": 0.1, "gamma": 0.5, "stepvalues": [10, 30, 20]},
     ["stepvalues must increase", "[10, 30, 20]"]),
    ({"type": "multistep", "base_lr": 0.1, "gamma": 0.5, "stepvalues": [10, 10]}, ["stepvalues must increase"]),
    ({"type": "multistep", "base_lr": 0.1, "gamma": 0.5, "stepvalues": []}, ["stepvalues", "at least 1"]),
    ({"type": "poly", "base_lr": 0.1, "power": 1, "max_iter": 0}, ["max_iter", "must be >= 1"]),
    ({"type": "inv", "base_lr": -0.01, "gamma": 1e-4, "power": 0.75}, ["base_lr", "must be >= 0, got -0.01"]),
    ({"type": "exp", "base_lr": 0.1, "gamma": "fast"}, ["gamma", "must be a number, got 'fast'"]),
    (-0.5, ["base_lr", "must be >= 0, got -0.5"]),
    (True, ["must be a number, a lr_policy name or a mapping"]),
    ([0.1], ["must be a number, a lr_policy name or a mapping with a type"]),
    ({"base_lr": 0.1}, ["mapping with a type"]),
    ({"type": "decay_on_validation", "base_lr": 0.1}, ["key", "required"]),
    ({"type": "decay_on_validation", "base_lr": 0.1, "key": "accuracy", "gamma": 1.5}, ["gamma", "must be < 1"]),
    ({"type": "staged", "stages": []}, ["stages", "at least 1"]),
    ({"type": "staged", "stages": [{"policy": 0.1}, {"policy": 0.2}]},
     ["stages: item 0: needs iters", "only the last stage"]),
    ({"type": "staged", "stages": [{"iters": 0, "policy": 0.1}, {"policy": 0.2}]},
     ["stages: item 0: iters: must be >= 1, got 0"]),
    ({"type": "staged", "stages": [{"iters": 5, "policy": 0.1}, {"policy": {"type": "step", "base_lr": 1}}]},
     ["stages: item 1: policy:", "gamma", "required"]),
    ({"type": "staged", "stages": [{"iter": 5, "policy": 0.1}]}, ["stages: item 0: unknown key 'iter'",
                                                                   "did you mean 'iters'"]),
    ({"type": "staged", "stages": [0.1]}, ["stages: item 0: must be a mapping {iters: N, policy: ...}"]),
    ({"type": "staged", "stages": [{"iters": 5, "policy": {"type": "decay_on_validation", "base_lr": 1,
                                                          "key": "loss"}}, {"policy": 0.1}]},
     ["stages: item 0: decay_on_validation cannot be a stage"]),
])
def test_bad_lr_policies_say_which_field(value, words):
    with pytest.raises(ValueError) as e:
        lr_policy(value)
    for word in words:
        assert word in str(e.value)


@pytest.mark.parametrize("value, words", [
    ({"type": "lineer", "base": 0.5, "gamma": 0.1, "stepsize": 5, "max": 0.9},
     ["unknown momentum policy 'lineer'", "did you mean 'linear'"]),
    ({"type": "linear", "base": 0.5, "gamma": 0.1, "stepsize": 5}, ["max", "required"]),
    ({"type": "step", "base": 0.5, "gamma": 1.1, "stepsize": -2, "max": 0.9}, ["stepsize", "must be >= 1"]),
    ({"type": "fixed", "momentum": 0.9}, ["momentum: unknown field for momentum policy 'fixed'"]),
    (-0.9, ["base", "must be >= 0"]),
    ({"type": "staged", "stages": [{"policy": {"type": "inv"}}]}, ["stages: item 0: policy:",
                                                                   "unknown momentum policy 'inv'"]),
])
def test_bad_momentum_policies_say_which_field(value, words):
    with pytest.raises(ValueError) as e:
        momentum_policy(value)
    for word in words:
        assert word in str(e.value)


def test_built_in_python_a_bad_policy_raises_a_graphnet_error():
    with pytest.raises(GraphnetError, match="stepsize: must be >= 1, got 0"):
        Step(base_lr=0.1, gamma=0.1, stepsize=0)
    with pytest.raises(GraphnetError, match=r"stepvalues must increase, got \[3, 2\]"):
        MultiStep(base_lr=0.1, gamma=0.1, stepvalues=[3, 2])


def test_a_solver_names_its_policy_field():
    with pytest.raises(GraphnetError) as e:
        Solver("sgd", lr_policy={"type": "step", "base_lr": 0.1, "gamma": 0.1, "stepsize": 0})
    assert str(e.value) == "solver: lr_policy: stepsize: must be >= 1, got 0"
    with pytest.raises(GraphnetError) as e:
        Solver("sgd", momentum={"type": "linaer"})
    assert "solver: momentum: unknown momentum policy 'linaer' (did you mean 'linear'?)" in str(e.value)
