"""Tools for testing layers and nets, for graphnet's tests and for people writing layers."""

from .gradient_check import GradientReport, check_gradients, check_layer

__all__ = ["GradientReport", "check_gradients", "check_layer"]
