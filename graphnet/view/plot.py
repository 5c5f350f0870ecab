"""`graphnet plot RUN_DIR...`: learning curves from each run's statistics.h5, one panel per
statistic, the runs overlaid; PNG, SVG or PDF by the file's extension (matplotlib, the
`plot` extra).

    graphnet plot snapshots/mnist                                 # snapshots/mnist/curves.png
    graphnet plot snapshots/mnist snapshots/mnist-adam -o compare.svg --keys train/loss,val/accuracy
    graphnet plot snapshots/mnist --follow                        # redrawn as the run trains

Training scores are noisy per batch: they are drawn faint, with a moving average over
`--smooth` iterations on top. The best point of each validation statistic is marked.
"""

import os
import sys
import time

import numpy as np

from ..errors import GraphnetError, did_you_mean
from .run_statistics import (default_window, higher_is_better, in_order, is_training_score,
                             read_statistics, run_label, smooth, statistics_path)

FORMATS = ("png", "svg", "pdf")
PANEL_HEIGHT, WIDTH = 2.5, 9.0


def _epoch_scale(stats):
    """(iteration -> epoch, epoch -> iteration) from train/epoch, straight lines between the
    iterations where epochs began and past the last one; None without epochs."""
    if "train/epoch" not in stats:
        return None
    iterations, epochs = stats["train/epoch"]
    x = np.concatenate([[0.0], iterations.astype(float)])
    y = np.concatenate([[0.0], epochs.astype(float)])
    keep = np.concatenate([[True], (np.diff(x) > 0) & (np.diff(y) > 0)])
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return None

    def through(xs, ys):
        # Straight on past both ends too: matplotlib maps the axis margins (iteration -150)
        # through it, and a clamped end would squeeze every epoch tick out of place.
        first, last = (ys[1] - ys[0]) / (xs[1] - xs[0]), (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])

        def f(v):
            v = np.asarray(v, dtype=float)
            return np.where(v > xs[-1], ys[-1] + (v - xs[-1]) * last,
                            np.where(v < xs[0], ys[0] + (v - xs[0]) * first, np.interp(v, xs, ys)))
        return f
    return through(x, y), through(y, x)


def _keys(all_stats, asked):
    present = in_order({k for stats in all_stats for k in stats})
    if not asked:
        return [k for k in present if k != "train/epoch"]
    keys = [k for part in asked for k in part.split(",") if k]
    for key in keys:
        if key not in present:
            raise GraphnetError(f"no statistic '{key}' in the run{'s' if len(all_stats) > 1 else ''}"
                                f"{did_you_mean(key, present)}; there are {', '.join(present)}",
                                field="--keys")
    return keys


def figure(runs, all_stats, keys, window=None, log_y=False):
    """The matplotlib Figure of the curves (no pyplot: nothing global is touched)."""
    from matplotlib.figure import Figure
    labels = run_label(runs)
    fig = Figure(figsize=(WIDTH, 0.7 + PANEL_HEIGHT * len(keys)), layout="constrained")
    axes = fig.subplots(len(keys), 1, sharex=True, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys):
        positive, windows = True, []
        for r, stats in enumerate(all_stats):
            if key not in stats:
                continue
            colour = f"C{r % 10}"
            iterations, values = stats[key]
            positive &= bool((values > 0).all())
            if is_training_score(key):
                w = window or default_window(len(values))
                if w > 1:
                    ax.plot(iterations, values, color=colour, alpha=0.2, linewidth=0.6)
                    windows.append(f"{w:,}")
                ax.plot(iterations, smooth(values, w), color=colour, linewidth=1.4, label=labels[r])
            elif key.startswith("val/"):
                ax.plot(iterations, values, color=colour, linewidth=1.4, marker="o", markersize=3,
                        label=labels[r])
            else:
                ax.plot(iterations, values, color=colour, linewidth=1.4, label=labels[r])
            if key.startswith("val/") and higher_is_better(key) is not None:
                _mark_best(ax, iterations, values, higher_is_better(key), colour,
                           labels[r] if len(runs) > 1 else None)
        title = key
        if windows:
            title += (f"  (faint: each iteration; line: mean of the last "
                      f"{'/'.join(dict.fromkeys(windows))} iterations)")
        ax.set_title(title, loc="left", fontsize=10)
        # Accuracies crowd below 1, where a log scale only makes the labels unreadable.
        if log_y and positive and not higher_is_better(key):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if ax is not axes[0] and key.startswith("val/"):
            ax.legend(loc="best", fontsize=9)
    axes[-1].set_xlabel("iteration")
    axes[0].legend(loc="best", fontsize=9)
    scales = [_epoch_scale(s) for s in all_stats]
    if scales[0] is not None and all(_same_scale(scales[0], s) for s in scales[1:]):
        axes[0].secondary_xaxis("top", functions=scales[0]).set_xlabel("epoch")
    last = ", ".join(f"{label} (iteration {max(int(i[-1]) for i, _ in s.values()):,})"
                     for label, s in zip(labels, all_stats))
    fig.suptitle(last, fontsize=11)
    return fig


def _same_scale(a, b):
    if b is None:
        return False
    probe = np.linspace(0, 1e6, 50)
    return np.allclose(a[0](probe), b[0](probe))


def _mark_best(ax, iterations, values, higher, colour, run):
    """A star on the best value (the first of equal ones), told in the panel's legend."""
    finite = np.isfinite(values)
    if not finite.any():
        return
    masked = np.where(finite, values, -np.inf if higher else np.inf)
    i = int(np.argmax(masked) if higher else np.argmin(masked))
    ax.plot([iterations[i]], [values[i]], marker="*", markersize=14, color=colour,
            markeredgecolor="black", markeredgewidth=0.6, linestyle="none", zorder=5,
            label=f"{run + ': ' if run else ''}best {values[i]:.4g} at iteration {int(iterations[i]):,}")


def save(fig, path):
    """Write the figure whole, then rename it into place: a viewer never sees half a file."""
    from matplotlib import rc_context
    fmt = os.path.splitext(path)[1][1:].lower()
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp{os.getpid()}")
    try:
        with rc_context({"svg.fonttype": "none"}):  # SVG text stays text: searchable, selectable
            fig.savefig(tmp, format=fmt, dpi=110)
        os.replace(tmp, path)
    except OSError as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise GraphnetError(f"cannot write it: {err.strerror}", file=path) from None


def draw(args):
    """Read every run and write the file; returns the last iteration drawn."""
    all_stats = [read_statistics(run) for run in args.run_dirs]
    keys = _keys(all_stats, args.keys)
    save(figure(args.run_dirs, all_stats, keys, args.smooth, args.log_y), args.output)
    return max(int(i[-1]) for s in all_stats for i, _ in s.values())


def command(args):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise GraphnetError("needs matplotlib: pip install 'graphnet[plot]'", field="graphnet plot") from None
    args.output = args.output or os.path.join(args.run_dirs[0], "curves.png")
    fmt = os.path.splitext(args.output)[1][1:].lower()
    if fmt not in FORMATS:
        raise GraphnetError(f"writes {', '.join('.' + f for f in FORMATS)} files, not '.{fmt}'",
                            field="-o", path=args.output)
    if args.smooth is not None and args.smooth < 1:
        raise GraphnetError(f"must be 1 (no smoothing) or more iterations, got {args.smooth}",
                            field="--smooth")
    if args.follow:
        return follow(args)
    print(f"wrote {args.output} (up to iteration {draw(args):,})")


def follow(args, poll_s=1.0):
    """Redraw whenever a statistics file changes, until Ctrl-C."""
    for run in args.run_dirs:
        if not os.path.exists(run):
            raise GraphnetError("no such run directory (the folder a run writes, e.g. snapshots/mnist)",
                                file=run)
    print(f"following {', '.join(args.run_dirs)}: {args.output} is redrawn as the statistics "
          "change; Ctrl-C to stop", flush=True)
    seen, waiting = None, None
    try:
        while True:
            stamp = [_stamp(run) for run in args.run_dirs]
            if stamp != seen:
                try:
                    iteration = draw(args)
                    seen, waiting = stamp, None
                    print(f"{time.strftime('%H:%M:%S')} drew {args.output} (up to iteration "
                          f"{iteration:,})", flush=True)
                except GraphnetError as err:
                    if "--keys" == err.field:
                        raise
                    if str(err) != waiting:  # a run that has not written statistics yet
                        waiting = str(err)
                        print(f"waiting: {err}", file=sys.stderr, flush=True)
            time.sleep(poll_s)
    except KeyboardInterrupt:
        print("stopped following", flush=True)


def _stamp(run):
    try:
        st = os.stat(statistics_path(run))
        return st.st_mtime_ns, st.st_ino, st.st_size
    except (GraphnetError, OSError):
        return None
