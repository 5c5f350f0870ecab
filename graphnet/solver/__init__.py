"""Training: update methods, learning-rate and momentum policies, and the solver loop."""

from .methods import METHODS, method
from .policies import LR_POLICIES, MOMENTUM_POLICIES, lr_policy, momentum_policy
from .solver import Solver

__all__ = ["LR_POLICIES", "METHODS", "MOMENTUM_POLICIES", "Solver", "lr_policy", "method",
           "momentum_policy"]
