"""The solver: the training loop, regularization, clipping, snapshots and exact resume.

    solver = Solver("sgd", lr_policy={"type": "inv", "base_lr": 0.01, "gamma": 1e-4, "power": 0.75},
                    momentum=0.9, weight_decay=5e-4, max_iter=10000)
    solver.add_coffee_break(TrainingSummary(), every_n_iter=100)
    solver.solve(train_net, test_net)

One iteration, in Caffe's order: clear the gradients; `iter_size` forward/backward passes
(their gradients add up, then are averaged); clip by global norm; add weight decay
(L2: lambda*w, as Caffe, not Mocha's 2*lambda*w; or L1: lambda*sign(w)), each scaled
by the parameter's decay_mult; take the method's step with rate*lr_mult; apply max-norm
constraints; count the iteration; take the coffee breaks that are due.
"""

import contextlib
import math
import os
import signal

import numpy as np

from ..coffee.breaks import coffee_break
from ..coffee.console import say
from ..coffee.lounge import CoffeeLounge
from ..errors import GraphnetError
from ..io.run_dir import RunDirectory, snapshot_name
from ..io.snapshot import Snapshot, save_snapshot
from ..spec import Field, Spec, choice, integer, number, optional, short, text
from .methods import method
from .policies import lr_policy, momentum_policy
from .resume import good_snapshot_line, load_weights, restore, snapshot_to_resume
from .update import Update


class Solver(Spec):
    """A training recipe (fields) and, while solving, the run's state."""
    method = Field(method, "sgd", "sgd, nesterov, adam, adagrad, adadelta, rmsprop, or {type: ..., ...}")
    lr_policy = Field(lr_policy, 0.01, "a number (fixed) or {type: inv, base_lr: ..., ...}")
    momentum = Field(momentum_policy, 0.0, "a number (fixed) or {type: linear, ...}; sgd and nesterov")
    weight_decay = Field(number(min=0), 0.0)
    regularization = Field(choice("l2", "l1"), "l2")
    max_iter = Field(integer(min=0), 1000)
    iter_size = Field(integer(min=1), 1, "forward/backward passes whose gradients make one update")
    clip_gradients = Field(optional(number(above=0)), None, "largest global L2 norm of the gradient")
    run_dir = Field(optional(text), None, "snapshots and statistics; default snapshots/<net name>")

    def __init__(self, method="sgd", params=None, **fields):
        super().__init__(method=method, **{**(params or {}), **fields})
        self.breaks = []
        self.net = self.test_net = None
        self.comm, self.writer = None, True   # solve(comm=...) for one of several processes

    def _error(self, message, values, field=None):
        return GraphnetError(message, field=f"solver: {field}" if field else "solver")

    @classmethod
    def from_netdef(cls, netdef):
        """The solver and coffee breaks a netdef's `solver:` and `coffee_breaks:` describe."""
        section = dict(netdef.solver)
        lines = getattr(netdef.solver, "key_lines", {})
        try:
            solver = cls(**section)
        except GraphnetError as err:
            key = (err.field or "").split(": ")[-1]
            raise err.locate(file=netdef.path, line=lines.get(key)) from None
        for i, entry in enumerate(netdef.coffee_breaks):
            try:
                solver.add_coffee_break(entry)
            except GraphnetError as err:
                line = getattr(netdef.coffee_breaks, "item_lines", [None] * (i + 1))[i]
                raise err.locate(file=netdef.path, line=line) from None
        return solver

    def add_coffee_break(self, coffee, every_n_iter=None, every_n_epoch=None):
        """Take `coffee` every N iterations and/or epochs (Mocha's add_coffee_break)."""
        changes = {k: v for k, v in (("every_n_iter", every_n_iter), ("every_n_epoch", every_n_epoch))
                   if v is not None}
        coffee = coffee_break(coffee)
        self.breaks.append(coffee.replace(**changes) if changes else coffee)
        if not (self.breaks[-1].every_n_iter or self.breaks[-1].every_n_epoch):
            raise GraphnetError("needs every_n_iter or every_n_epoch",
                                field=f"coffee break {type(coffee).__name__}")
        return self.breaks[-1]

    # --- solving ------------------------------------------------------------------------

    def solve(self, net, test_net=None, *, resume=None, weights=None, netdef=None, fresh=False,
              partial_weights=False, comm=None):
        """Train `net` up to max_iter. resume: a snapshot path, or True for the newest one in
        run_dir; weights: a snapshot whose parameters start the run (fine-tuning; with
        partial_weights, the ones it lacks start from their fillers). A fresh run into a run
        directory that holds a run is refused unless `fresh`, which moves that run aside.
        comm: a graphnet.parallel.DataParallel, for one process of a data-parallel run."""
        self.comm, self.writer = comm, comm is None or comm.writer
        given = [b.net for b in self.breaks if getattr(b, "net", None) is not None]
        self.net, self.test_net, self.netdef = net, test_net or (given or [None])[0], netdef or {}
        self.directory = self.run_dir or os.path.join("snapshots", net.name)
        self.iteration, self.loss, self.stopped, self.iterations_run = 0, float("nan"), None, 0
        self.saved_on_signal = None  # the snapshot a Ctrl-C or SIGTERM made, once it is written
        if resume and fresh:
            raise GraphnetError("give --resume to continue the run or --fresh to start a new "
                                "one, not both", field="--fresh")
        kept = list(self.method.state_names)
        if hasattr(self.lr_policy, "observe"):  # the last good point, to go back to when validation worsens
            kept += ["best_params"] + [f"best_{n}" for n in self.method.state_names]
        self.state = {n: net.backend.zeros(net.param_data.shape) for n in kept}
        lr_mult, decay_mult = self._multipliers()
        self._update = Update(net.backend, self.method, self.state, net.param_data, net.param_diff,
                              lr_mult, self.weight_decay * decay_mult if self.weight_decay else None,
                              self.regularization)
        self._max_norms = [p for p in net.owned_params if p.max_norm]
        # Only the writer (the one process, or rank 0 of several) takes the run directory.
        with RunDirectory(self.directory) if self.writer else contextlib.nullcontext() as run_dir:
            snap = None
            if self.writer:
                run_dir.remove_partial_files()
                # Read whole before --fresh may move the file aside (it may be of the old run).
                weights = Snapshot(weights) if weights else None
                if not resume:
                    self._start_fresh(run_dir, fresh)
                if weights:
                    print(load_weights(net, weights, partial_weights), flush=True)
                if resume:
                    snap = self._resume(run_dir, resume)
            if comm is not None:
                comm.start(self, snap)
            if resume and self.iteration >= self.max_iter:
                self.stop(f"{self.directory}: nothing to do: the run already reached iteration "
                          f"{self.iteration} (max_iter {self.max_iter}, loss {self.loss:.6g}); raise "
                          f"solver.max_iter to train on, e.g. --set solver.max_iter={2 * self.max_iter}")
                print(self.stopped, flush=True)
                return self
            with np.errstate(all="ignore"):  # a blow-up is reported once, by the loss check
                self._train()
        if self.stopped:
            print(self.stopped, flush=True)
        return self

    def _train(self):
        self.learning_rate = self.lr_policy.rate(self.iteration)
        self.lounge = CoffeeLounge(os.path.join(self.directory, "statistics.h5") if self.writer else None)
        warning = self.lounge.load(up_to=self.iteration)
        if warning:
            print(warning, flush=True)
        epoch, start = self.epoch, self.iteration
        for coffee in self.breaks:
            coffee.setup(self)
        self._signal = self._pending = None
        previous = self._catch_signals()
        try:
            while self.iteration < self.max_iter and self.stopped is None:
                self.step()
                self.iteration += 1
                self.iterations_run = self.iteration - start
                self.lounge.record(self.iteration, "train/loss", self.loss)
                self.lounge.record(self.iteration, "train/learning_rate", self.learning_rate)
                new_epoch, epoch = self.epoch != epoch, self.epoch
                if new_epoch:  # where epochs begin: the second x axis of `graphnet plot`
                    self.lounge.record(self.iteration, "train/epoch", epoch)
                for coffee in self.breaks:
                    if coffee.due(self.iteration, epoch, new_epoch):
                        coffee.run(self)
                if self._signal:
                    path = self.snapshot()
                    self.saved_on_signal = path
                    self.stop(f"{self._signal} at iteration {self.iteration}: wrote {path}")
                self.lounge.save_now_and_then()
            if any(type(b).__name__ == "Snapshot" for b in self.breaks) and not os.path.exists(
                    os.path.join(self.directory, snapshot_name(self.iteration))):
                self.snapshot()
        finally:
            for coffee in self.breaks:
                coffee.finish(self)
            self.lounge.save()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _resume(self, run_dir, resume):
        snap = snapshot_to_resume(run_dir, resume)
        written, now = snap.solver_attrs.get("processes", 1), self.comm.size if self.comm else 1
        if written != now:
            raise GraphnetError(f"was written by a run of {written} process(es) and this one has "
                                f"{now}: its global batches of {written} x batch_size rows would "
                                f"change; resume it with {written} (mpiexec -n {written}, or --procs "
                                f"{written}), or start a new run from its parameters with --weights",
                                file=snap.path)
        restore(self, snap)
        print(f"resumed from {snap.path} at iteration {self.iteration}", flush=True)
        # Snapshots after the one resumed from belong to a run that is being abandoned (or are
        # damaged): kept aside, so that a later --resume cannot pick one of them.
        later = [os.path.basename(p) for i, p in run_dir.snapshots() if i > snap.iteration]
        if later:
            folder = run_dir.move_aside(later)
            print(f"moved the {len(later)} later snapshot(s) ({', '.join(later)}) aside into {folder}",
                  flush=True)
        return snap

    def _start_fresh(self, run_dir, fresh):
        found = run_dir.run_files()
        if not found:
            return
        listing = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        if not fresh:
            raise GraphnetError(f"already holds a run ({listing}): give --resume to continue it, "
                                "--fresh to move it aside and start anew, or set solver.run_dir "
                                "to another folder", file=self.directory)
        folder = run_dir.move_aside(found)
        print(f"moved the previous run ({listing}) aside into {folder}", flush=True)

    def step(self):
        """One update: gradients from iter_size passes, then regularize, clip and step."""
        net, xp = self.net, self.net.backend.xp
        net.clear_param_diffs()
        total = 0.0
        for _ in range(self.iter_size):
            loss = net.forward()
            if not math.isfinite(loss):
                raise self._non_finite(loss)
            net.backward()
            total += loss
        self.loss = total / self.iter_size
        g = net.param_diff
        if self.iter_size > 1:
            g *= 1.0 / self.iter_size
        if self.comm is not None:
            self.loss = self.comm.reduce_gradients(self)
        if self.clip_gradients:
            norm = float(xp.sqrt(xp.dot(g, g)))
            if norm > self.clip_gradients:
                g *= self.clip_gradients / norm
        self.learning_rate = self.lr_policy.rate(self.iteration)
        self._update(self.learning_rate, self.momentum.momentum(self.iteration), self.iteration)
        for param in self._max_norms:
            rows = param.data.reshape(param.shape[0], -1)
            norms = xp.sqrt((rows * rows).sum(axis=1, keepdims=True))
            rows *= xp.minimum(1, param.max_norm / xp.maximum(norms, 1e-12))

    def _multipliers(self):
        """Per-element lr and decay multipliers of the flat parameters; scalars where uniform."""
        params = self.net.owned_params
        lrs = [0.0 if p.frozen else p.lr_mult for p in params]
        decays = [p.decay_mult for p in params]

        def flat(values):
            if len(set(values)) <= 1:
                return values[0] if values else 1.0
            return self.net.backend.asarray(np.concatenate(
                [np.full(math.prod(p.shape), v) for p, v in zip(params, values)]))
        return flat(lrs), flat(decays)

    def _non_finite(self, loss):
        where = "no layer output is non-finite (a loss weight?)"
        for layer in self.net.layers:
            bad = [t for t in layer.tops
                   if not bool(self.net.backend.xp.isfinite(self.net.blobs[t].data).all())]
            if bad:
                where = f"the first non-finite output is top '{bad[0]}' of layer '{layer.name}'"
                break
        return GraphnetError(f"loss is {loss} at iteration {self.iteration + 1}: {where}; "
                             + good_snapshot_line(self.directory), net=self.net.name)

    # --- coffee-break services ----------------------------------------------------------

    @property
    def epoch(self):
        """The epoch of the train net's first data layer that counts epochs (0 if none does)."""
        for layer in self.net.layers:
            if hasattr(layer, "epoch"):
                return layer.epoch
        return 0

    def stop(self, reason):
        """End solving after this iteration, saying why."""
        self.stopped = reason

    def run_validation(self, test_net=None):
        """One epoch of the test net; returns {statistic: value} and records val/<statistic>."""
        stats = (test_net or self.test_net).forward_epoch()
        if self.comm is not None:
            stats = self.comm.mean_statistics(stats)
        for key, value in stats.items():
            self.lounge.record(self.iteration, f"val/{key}", value)
        observe = getattr(self.lr_policy, "observe", None)
        if observe is not None:
            key = self.lr_policy.key
            if key not in stats:
                raise GraphnetError(f"key '{key}' is not a statistic of the test net; it has "
                                    f"{', '.join(stats)}", field="solver: lr_policy: key")
            worse = observe(stats[key])
            pairs = [("best_params", self.net.param_data)] + [
                (f"best_{n}", self.state[n]) for n in self.method.state_names]
            for name, live in pairs:
                if worse:
                    live[...] = self.state[name]
                else:
                    self.state[name][...] = live
            if worse:
                say(f"validation {key} got worse: back to the parameters of the best validation, "
                    f"learning rate now {self.lr_policy.rate(self.iteration):.4g}")
        return stats

    def snapshot(self, name=None):
        """Write a snapshot into the run directory, and the statistics so far before it;
        returns its path. Parameters that are not finite are never written: the run stops."""
        xp = self.net.backend.xp
        if not bool(xp.isfinite(self.net.param_data).all()):
            bad = next(p for p in self.net.owned_params if not bool(xp.isfinite(p.data).all()))
            raise GraphnetError(f"parameter '{bad.key}' is not finite after iteration "
                                f"{self.iteration}, so no snapshot is written; "
                                + good_snapshot_line(self.directory), net=self.net.name)
        path = os.path.join(self.directory, name or snapshot_name(self.iteration))
        if not self.writer:
            return path
        self.lounge.save()
        nets = {"test": self.test_net} if self.test_net is not None else {}
        # Several processes keep their data positions in global batches: one copy is every one's.
        processes = {"processes": self.comm.size} if self.comm is not None else {}
        save_snapshot(path, self.net, iteration=self.iteration, epoch=self.epoch,
                      solver_attrs={"method": self.method.type, "lr_policy": self.lr_policy.state(),
                                    "momentum": self.momentum.state(), "netdef": self.netdef,
                                    **processes},
                      solver_arrays=self.state, nets=nets, netdef=self.netdef, loss=self.loss)
        return path

    def _catch_signals(self):
        """SIGINT and SIGTERM end the run after this iteration, with a snapshot; twice aborts."""
        def handler(signum, frame):
            if self.saved_on_signal:  # the work is saved and the run ends: nothing left to abort
                return
            if self._signal or self._pending:
                raise KeyboardInterrupt
            if self.comm is not None:  # every process stops after the same iteration: the
                self._pending = signal.Signals(signum).name  # next reduction tells them all
            else:
                self._signal = signal.Signals(signum).name
        previous = {}
        try:
            for signum in (signal.SIGINT, signal.SIGTERM) + ((signal.SIGUSR1,) if self.comm else ()):
                previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return previous


def netdef_record(net, solver):
    """What a snapshot remembers of the netdef, to tell a resumed run what changed."""
    layers = {l.name: {k: short(v) for k, v in l.spec.items()} for l in net.layers}
    return {"layer": layers, "solver": {"solver": {k: short(v) for k, v in solver.spec.items()}}}
