"""The coffee lounge: every statistic by iteration, kept in memory and in an HDF5 file.

The file holds one group per statistic with two datasets, `iteration` and `value`:

    stats = h5py.File("snapshots/xor/statistics.h5")
    stats["train/loss/iteration"][:], stats["train/loss/value"][:]

It is rewritten whole, to a temporary file renamed over the old one, before every
snapshot and every few seconds while training (never more than about 1% of the run's
time), so a reader always finds a complete file and a killed run loses no statistic up
to its newest snapshot.
"""

import os
import time

import h5py
import numpy as np

SAVE_EVERY_S = 10.0


class CoffeeLounge:
    def __init__(self, path=None):
        self.path = path
        self.stats = {}   # key -> {iteration: value}
        self._saved_at, self._save_every = time.monotonic(), SAVE_EVERY_S

    def record(self, iteration, key, value):
        self.stats.setdefault(key, {})[int(iteration)] = float(value)

    def history(self, key):
        """(iterations, values) of one statistic, in iteration order."""
        values = self.stats.get(key, {})
        iterations = np.fromiter(values.keys(), np.int64, len(values))
        values = np.fromiter(values.values(), np.float64, len(values))
        if len(iterations) > 1 and (np.diff(iterations) < 0).any():  # recorded out of order
            order = np.argsort(iterations, kind="stable")
            iterations, values = iterations[order], values[order]
        return iterations, values

    def load(self, up_to):
        """Merge the file's statistics up to iteration `up_to` (a resumed run rewrites the rest).

        A file that cannot be read is moved aside, not overwritten; returns a line saying so
        (None when all went well)."""
        if not self.path or not os.path.exists(self.path):
            return None
        found = {}
        try:
            with h5py.File(self.path, "r") as f:
                def visit(name, obj):
                    if isinstance(obj, h5py.Group) and "iteration" in obj and "value" in obj:
                        found[name] = dict(zip(obj["iteration"][()].tolist(), obj["value"][()].tolist()))
                f.visititems(visit)
        except Exception as err:  # HDF5 reports damage as OSError, RuntimeError, KeyError...
            kept = self._move_damaged()
            return (f"warning: {self.path} is damaged ({' '.join(str(err).split())[:100]}); kept it as "
                    f"{kept} and recording statistics anew from iteration {up_to}")
        for name, values in found.items():
            for i, v in values.items():
                if i <= up_to:
                    self.stats.setdefault(name, {}).setdefault(int(i), float(v))
        return None

    def _move_damaged(self):
        kept, n = f"{self.path}.damaged", 1
        while os.path.exists(kept):
            n += 1
            kept = f"{self.path}.damaged{n}"
        os.replace(self.path, kept)
        return kept

    def save_now_and_then(self):
        """Save when the last save is old enough; cheap to call every iteration."""
        if time.monotonic() - self._saved_at >= self._save_every:
            self.save()

    def save(self):
        if not self.path:
            return
        start = time.monotonic()
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = f"{self.path}.tmp{os.getpid()}"
        with h5py.File(tmp, "w") as f:
            for key in sorted(self.stats):
                iterations, values = self.history(key)
                f.create_dataset(f"{key}/iteration", data=iterations)
                f.create_dataset(f"{key}/value", data=values)
        with open(tmp, "rb") as done:
            os.fsync(done.fileno())
        os.replace(tmp, self.path)
        self._saved_at = time.monotonic()
        # A long run's file grows: space the saves so they never take over 1% of the time.
        self._save_every = max(SAVE_EVERY_S, 100 * (self._saved_at - start))
