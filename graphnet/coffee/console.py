"""The lines a run prints while a progress bar may be on the screen.

A plain print under a tqdm bar lands in the middle of the bar's line and leaves a broken
bar behind; tqdm's own write clears the bar, prints the line and draws the bar again below
it. Where no bar can be drawn (output to a file or a pipe, TERM=dumb, a terminal that
reports no width) the run prints plain lines instead.
"""

import os

_bars = []  # the progress bars on the screen now, newest last


def say(line):
    """Print a line on stdout, above the progress bar when one is shown."""
    if _bars:
        _bars[-1].write(line)
    else:
        print(line, flush=True)


def showing(bar):
    """`bar` is on the screen: lines go above it until `gone(bar)`."""
    _bars.append(bar)
    return bar


def gone(bar):
    if bar in _bars:
        _bars.remove(bar)


def bar_fits(stream):
    """Whether a progress bar can be drawn on `stream`: a terminal, not a dumb one, that
    reports a width (some, such as a pty nobody sized, say 0 columns)."""
    if os.environ.get("TERM") == "dumb" or not stream.isatty():
        return False
    try:
        return os.get_terminal_size(stream.fileno()).columns > 0
    except (OSError, ValueError):
        return False
