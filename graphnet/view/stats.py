"""`graphnet stats RUN_DIR [--csv FILE]`: a run's statistics as a table (last value, best
value, and at which iteration each), or all of them as CSV."""

import csv
import math

from ..errors import GraphnetError
from .run_statistics import (default_window, higher_is_better, is_training_score, read_statistics,
                             smooth, statistics_path)


def summary_rows(stats):
    """[statistic, points, last, at, best, at] for each statistic, as text. A training score
    (one batch's) is the mean of the last 1% of the run, the line `graphnet plot` draws: the
    best single batch says nothing."""
    rows = []
    for key, (iterations, values) in stats.items():
        if key == "train/epoch":
            continue  # an axis, not a statistic: the table's title says the epoch
        if is_training_score(key):
            window = default_window(len(values))
            values = smooth(values, window)
            key += f" (mean of {window})" if window > 1 else ""
        row = [key, f"{len(values):,}", _number(values[-1]), str(iterations[-1])]
        higher = higher_is_better(key.split(" ")[0])
        finite = [(v, i) for v, i in zip(values.tolist(), iterations.tolist()) if math.isfinite(v)]
        if higher is None or not finite:
            row += ["", ""]
        else:
            # The first of equal best values: when the run first got there.
            value, at = max(finite, key=lambda p: (p[0], -p[1])) if higher else \
                min(finite, key=lambda p: (p[0], p[1]))
            row += [_number(value), str(at)]
        rows.append(row)
    return rows


def _number(value):
    return f"{value:.6g}"


def table(run, stats):
    header = ["statistic", "points", "last", "at iter", "best", "at iter"]
    rows = summary_rows(stats)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()
    last = max(int(it[-1]) for it, _ in stats.values())
    title = f"{statistics_path(run)}: up to iteration {last:,}"
    if "train/epoch" in stats:
        title += f", epoch {int(stats['train/epoch'][1][-1])}"
    return "\n".join([title, line(header), "-" * len(line(header)), *map(line, rows)])


def write_csv(stats, path):
    """Every value: a row per iteration, a column per statistic, empty where it was not
    recorded. Values are written in full (Python's repr), so they read back exactly."""
    keys = list(stats)
    by_iteration = {}
    for k, (iterations, values) in enumerate(stats.values()):
        for i, v in zip(iterations.tolist(), values.tolist()):
            by_iteration.setdefault(i, [""] * len(keys))[k] = repr(v)
    try:
        with open(path, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["iteration", *keys])
            for i in sorted(by_iteration):
                out.writerow([i, *by_iteration[i]])
    except OSError as err:
        raise GraphnetError(f"cannot write it: {err.strerror}", file=path) from None


def command(args):
    stats = read_statistics(args.run_dir)
    print(table(args.run_dir, stats))
    if args.csv:
        write_csv(stats, args.csv)
        print(f"wrote {args.csv}")
