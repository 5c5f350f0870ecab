"""Coffee breaks: what the solver does every N iterations or epochs (Mocha's word for hooks)."""

from .breaks import BREAKS, CoffeeBreak, Snapshot, TrainingSummary, ValidationPerformance, coffee_break
from .lounge import CoffeeLounge

__all__ = ["BREAKS", "CoffeeBreak", "CoffeeLounge", "Snapshot", "TrainingSummary",
           "ValidationPerformance", "coffee_break"]
