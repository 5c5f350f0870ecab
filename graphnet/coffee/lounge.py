"""The coffee lounge: every statistic by iteration, kept in memory and in an HDF5 file.

The file holds one group per statistic with two datasets, `iteration` and `value`:

    stats = h5py.File("snapshots/xor/statistics.h5")
    stats["train/loss/iteration"][:], stats["train/loss/value"][:]
"""

import os

import h5py
import numpy as np


class CoffeeLounge:
    def __init__(self, path=None):
        self.path = path
        self.stats = {}   # key -> {iteration: value}

    def record(self, iteration, key, value):
        self.stats.setdefault(key, {})[int(iteration)] = float(value)

    def history(self, key):
        """(iterations, values) of one statistic, in iteration order."""
        items = sorted(self.stats.get(key, {}).items())
        return np.array([i for i, _ in items], dtype=np.int64), np.array([v for _, v in items])

    def load(self, up_to):
        """Merge the file's statistics up to iteration `up_to` (a resumed run rewrites the rest)."""
        if not self.path or not os.path.exists(self.path):
            return
        with h5py.File(self.path, "r") as f:
            def visit(name, obj):
                if isinstance(obj, h5py.Group) and "iteration" in obj and "value" in obj:
                    for i, v in zip(obj["iteration"][()], obj["value"][()]):
                        if i <= up_to:
                            self.stats.setdefault(name, {}).setdefault(int(i), float(v))
            f.visititems(visit)

    def save(self):
        if not self.path:
            return
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = f"{self.path}.tmp{os.getpid()}"
        with h5py.File(tmp, "w") as f:
            for key in sorted(self.stats):
                iterations, values = self.history(key)
                f.create_dataset(f"{key}/iteration", data=iterations)
                f.create_dataset(f"{key}/value", data=values)
        os.replace(tmp, self.path)
