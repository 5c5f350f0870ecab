"""The table both benchmarks print: median, min and max per contender, and graphnet's ratios."""

import statistics


def print_medians(samples, fmt, note=""):
    """samples: {contender: [one figure per round]}; returns {contender: median}."""
    width = max(len(name) for name in samples) + 2
    print(f"  {'contender':<{width}} {'median':>9} {'min':>9} {'max':>9}")
    medians = {}
    for name, values in samples.items():
        medians[name] = statistics.median(values)
        print(f"  {name:<{width}} {medians[name]:>9{fmt}} {min(values):>9{fmt}} {max(values):>9{fmt}}")
    for name in medians:
        if name != "graphnet":
            print(f"  ratio graphnet / {name}: {medians['graphnet'] / medians[name]:.2f}{note}")
    return medians
