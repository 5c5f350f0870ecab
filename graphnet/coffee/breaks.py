"""The coffee breaks a solver can take, registered under their class names.

    coffee_breaks:
      - {type: TrainingSummary, every_n_iter: 100}
      - {type: ValidationPerformance, every_n_iter: 1000, key: accuracy, keep_best: true, patience: 5}
      - {type: Snapshot, every_n_iter: 5000}

    solver.add_coffee_break(TrainingSummary(), every_n_iter=100)
"""

import sys
import time

from ..errors import GraphnetError, did_you_mean
from .console import bar_fits, gone, say, showing
from ..spec import Field, Kind, Registry, boolean, integer, optional, text

BREAKS = Registry("coffee break")


class CoffeeBreak(Kind):
    """Something the solver does every `every_n_iter` iterations and/or `every_n_epoch` epochs."""
    every_n_iter = Field(optional(integer(min=1)), None)
    every_n_epoch = Field(optional(integer(min=1)), None)

    family = "coffee break"

    def _error(self, message, values, field=None):
        return GraphnetError(message, field=f"coffee break {self.type}" + (f": {field}" if field else ""))

    def due(self, iteration, epoch, new_epoch):
        """Whether to run after the update that made `iteration` (and maybe began `epoch`)."""
        return bool((self.every_n_iter and iteration % self.every_n_iter == 0)
                    or (self.every_n_epoch and new_epoch and epoch % self.every_n_epoch == 0))

    def setup(self, solver):
        """Called once before the first iteration."""

    def run(self, solver):
        raise NotImplementedError

    def finish(self, solver):
        """Called once when solving ends, however it ends."""


@BREAKS.register("TrainingSummary")
class TrainingSummary(CoffeeBreak):
    """Loss, learning rate and speed: a tqdm bar on a terminal, a plain line otherwise (output
    to a file or pipe, TERM=dumb, a terminal of no width)."""
    every_n_iter = Field(optional(integer(min=1)), 100)

    def setup(self, solver):
        self.bar = None
        self.clock = (time.perf_counter(), solver.iteration)
        if bar_fits(sys.stderr):
            from tqdm import tqdm
            self.bar = showing(tqdm(total=solver.max_iter, initial=solver.iteration, unit="it",
                                    desc=solver.net.name, dynamic_ncols=True))

    def run(self, solver):
        now, before = time.perf_counter(), self.clock
        speed = (solver.iteration - before[1]) / max(now - before[0], 1e-9)
        self.clock = (now, solver.iteration)
        if self.bar is not None:
            self.bar.update(solver.iteration - self.bar.n)
            self.bar.set_postfix(loss=f"{solver.loss:.5g}", lr=f"{solver.learning_rate:.3g}")
        else:
            print(f"iter {solver.iteration:>7}/{solver.max_iter}  loss {solver.loss:.6g}  "
                  f"lr {solver.learning_rate:.4g}  {speed:,.0f} it/s", flush=True)

    def finish(self, solver):
        if self.bar is not None:
            gone(self.bar)
            self.bar.close()


@BREAKS.register("ValidationPerformance")
class ValidationPerformance(CoffeeBreak):
    """One full epoch of the test net (which shares the train net's parameters); every statistic
    is reported and recorded as `val/<top>`. In Python, as in Mocha:
    `solver.add_coffee_break(ValidationPerformance(net=test_net), every_n_iter=1000)`.

    With `key` (a statistic), `keep_best` writes `best.h5` in the run directory whenever it
    improves, and `patience` stops training after that many validations without improvement.
    """
    net = Field(None, None, "the test net (Python only); default: the solver's test net")
    key = Field(optional(text), None, "the statistic that decides 'better', e.g. accuracy")
    higher_better = Field(optional(boolean), None, "default: true unless the key names a loss")
    keep_best = Field(boolean, False)
    patience = Field(optional(integer(min=1)), None, "validations without improvement before stopping")

    def validate(self):
        if (self.keep_best or self.patience) and not self.key:
            raise ValueError("keep_best and patience need a key (the statistic to watch)")

    def setup(self, solver):
        self.test_net = self.net or solver.test_net
        if self.test_net is None:
            raise GraphnetError("ValidationPerformance needs a test net (layers of phase test)",
                                field="coffee_breaks")
        self.best, self.since_best = None, 0

    def run(self, solver):
        stats = solver.run_validation(self.test_net)
        say(f"validation at iter {solver.iteration}: "
            + ", ".join(f"{k} {v:.6g}" for k, v in stats.items()))
        if self.key is None:
            return
        if self.key not in stats:
            raise GraphnetError(f"key '{self.key}' is not a statistic of the test net"
                                f"{did_you_mean(self.key, stats)}; it has {', '.join(stats)}",
                                field="coffee break ValidationPerformance: key")
        higher = self.higher_better if self.higher_better is not None else "loss" not in self.key
        value = stats[self.key]
        if self.best is None or (value > self.best if higher else value < self.best):
            self.best, self.since_best = value, 0
            if self.keep_best:
                solver.snapshot("best.h5")
        else:
            self.since_best += 1
            if self.patience and self.since_best >= self.patience:
                solver.stop(f"early stop: no better {self.key} than {self.best:.6g} "
                            f"in {self.patience} validations")


@BREAKS.register("Snapshot")
class Snapshot(CoffeeBreak):
    """Writes <run_dir>/snapshot-<iteration>.h5: everything needed to resume exactly."""

    def run(self, solver):
        say(f"snapshot at iter {solver.iteration}: {solver.snapshot()}")


def coffee_break(value):
    """A CoffeeBreak from a netdef entry: {type: TrainingSummary, every_n_iter: 100, ...}."""
    if isinstance(value, CoffeeBreak):
        return value
    try:
        return BREAKS.convert(value)
    except ValueError as err:
        raise GraphnetError(str(err), field="coffee_breaks") from None
