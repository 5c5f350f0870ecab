"""A run's statistics as `graphnet plot` and `graphnet stats` read them: from
`<run_dir>/statistics.h5`, also while the run is still writing it.

The solver rewrites that file whole and renames it over the old one, so an open always
finds a complete file; it is opened read-only, only for as long as it takes to copy it into
memory, and read again once if a rename or a --fresh took it away in between.
"""

import os
import time

import numpy as np

from ..errors import GraphnetError

STATISTICS = "statistics.h5"
# Recorded alongside the scores, but not scores: no best value, no smoothing.
SETTINGS = ("train/learning_rate", "train/epoch")


def higher_is_better(key):
    """Whether a larger value of statistic `key` is better (the rule of ValidationPerformance);
    None for what is not a score (learning rate, epoch)."""
    if key in SETTINGS:
        return None
    return "loss" not in key


def is_training_score(key):
    """A statistic of each training batch: noisy, so shown as a moving mean."""
    return key.startswith("train/") and key not in SETTINGS


def smooth(values, window):
    """The mean of each value and the window-1 before it (fewer at the start)."""
    if window <= 1 or len(values) < 2:
        return values
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def default_window(n):
    """A window that leaves about a hundred independent points of a curve of n."""
    return max(1, n // 100)


def in_order(keys):
    """Training scores, then validation ones, then the settings (learning rate, epoch)."""
    return sorted(keys, key=lambda k: (k in SETTINGS, not k.startswith("train/"), k != "train/loss", k))


def statistics_path(run):
    """The statistics file of a run directory (or a statistics file given as it is)."""
    if os.path.isfile(run):
        if not run.endswith(".h5"):
            raise GraphnetError("is a file, not a run directory (the folder a run writes, e.g. "
                                "snapshots/mnist)", file=run)
        return run
    path = os.path.join(run, STATISTICS)
    if os.path.isfile(path):
        return path
    if not os.path.isdir(run):
        raise GraphnetError("no such run directory (the folder a run writes, e.g. snapshots/mnist)",
                            file=run)
    previous = sorted(n for n in os.listdir(run)
                      if n.startswith("previous-") and os.path.isfile(os.path.join(run, n, STATISTICS)))
    if previous:
        hint = f"; runs moved aside are in {', '.join(os.path.join(run, p) for p in previous[-3:])}"
    else:
        hint = " yet (a run writes it in its first seconds and before every snapshot)"
    raise GraphnetError(f"no {STATISTICS}{hint}", file=run)


def read_statistics(run):
    """{key: (iterations, values)} of a run, NumPy arrays in iteration order, keys `in_order`."""
    path = statistics_path(run)
    for attempt in (1, 2):
        try:
            stats = _read(path)
            break
        except (OSError, KeyError, RuntimeError, ValueError) as err:
            if attempt == 2:
                raise GraphnetError(f"cannot read it: {' '.join(str(err).split())[:120]}",
                                    file=path) from None
            time.sleep(0.2)
    if not stats:
        raise GraphnetError("holds no statistics yet", file=path)
    return stats


def _read(path):
    import h5py
    found = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Group) and "iteration" in obj and "value" in obj:
                found[name] = (obj["iteration"][()], obj["value"][()])
        f.visititems(visit)
    return {k: found[k] for k in in_order(found)}


def run_label(runs):
    """A short name for each run that still tells them apart: the folder's name, or more of
    its path where two runs share a name."""
    parts = [os.path.normpath(os.path.abspath(r)).split(os.sep) for r in runs]
    for depth in range(1, max(map(len, parts)) + 1):
        labels = [os.sep.join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return list(runs)
