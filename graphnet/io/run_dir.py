"""A run directory: one training run's snapshots and statistics, held by one process at a time.

    snapshots/mnist/
        .lock                     held (flock) by the solve writing here; holds its PID
        snapshot-00005000.h5      every snapshot, each written whole or not at all
        best.h5                   the best validation so far (keep_best)
        statistics.h5             every statistic by iteration, rewritten whole
        previous-20261130-101500/ a run moved aside by --fresh, or snapshots a resume passed over

The lock is an OS file lock: it goes when its process does, however it dies, so a killed
run never leaves a stale lock behind.
"""

import fcntl
import os
import re
import time

from ..errors import GraphnetError

SNAPSHOT = re.compile(r"^snapshot-(\d+)\.h5$")
PARTIAL = re.compile(r"\.tmp\d+$")
RUN_FILES = ("best.h5", "statistics.h5")
LOCK = ".lock"


def snapshot_name(iteration):
    return f"snapshot-{iteration:08d}.h5"


def snapshots(path):
    """The snapshot files in a run directory as [(iteration, path)], newest first."""
    try:
        names = os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = [(int(m.group(1)), os.path.join(path, name)) for name in names if (m := SNAPSHOT.match(name))]
    return sorted(found, reverse=True)


class RunDirectory:
    """The folder of one run. `lock()` before writing anything into it."""

    def __init__(self, path):
        self.path = str(path)
        self._lock = None

    def lock(self):
        """Hold the directory for this process, or fail with one line naming the holder."""
        try:
            os.makedirs(self.path, exist_ok=True)
            handle = open(os.path.join(self.path, LOCK), "a+")
        except OSError as err:
            raise GraphnetError(f"cannot use this run directory: {err.strerror}", file=self.path) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise GraphnetError(f"is in use by another graphnet solve (PID {holder}); wait for it to "
                                "end, or give this run another solver.run_dir", file=self.path) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle
        return self

    def unlock(self):
        if self._lock is not None:
            self._lock.close()  # closing the file releases the flock
            self._lock = None

    def __enter__(self):
        return self.lock()

    def __exit__(self, *exc):
        self.unlock()

    def snapshots(self):
        return snapshots(self.path)

    def run_files(self):
        """What a run left here: its snapshots, best.h5 and statistics.h5 (names, sorted)."""
        return sorted(os.path.basename(p) for _, p in self.snapshots()) + [
            name for name in RUN_FILES if os.path.exists(os.path.join(self.path, name))]

    def move_aside(self, names=None):
        """Move `names` (default: every run file) into a new previous-<time>/ folder; returns it."""
        names = self.run_files() if names is None else names
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder, n = os.path.join(self.path, f"previous-{stamp}"), 1
        while os.path.exists(folder):
            n += 1
            folder = os.path.join(self.path, f"previous-{stamp}-{n}")
        os.makedirs(folder)
        for name in names:
            os.replace(os.path.join(self.path, name), os.path.join(folder, name))
        return folder

    def remove_partial_files(self):
        """Delete what an interrupted write left behind (files named *.tmp<pid>). Only the
        holder of the lock may: the files of a live writer would go too."""
        assert self._lock is not None, "lock the run directory first"
        for name in os.listdir(self.path):
            if PARTIAL.search(name):
                os.remove(os.path.join(self.path, name))
