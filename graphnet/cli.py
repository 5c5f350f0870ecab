"""The `graphnet` command. A user mistake prints one line and exits with status 2."""

import argparse
import sys

from .errors import GraphnetError


def _net_arguments(parser):
    parser.add_argument("netdef", help="the netdef YAML file")
    parser.add_argument("--phase", choices=("train", "test"), default="train")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a netdef value, e.g. layers.ip1.output_dim=10 (repeatable)")
    parser.add_argument("--backend", choices=("numpy", "cupy"), default=None)
    parser.add_argument("--dtype", choices=("float32", "float64"), default=None)


def info(args):
    from .net import Net
    from .summary import describe
    net = Net.from_yaml(args.netdef, phase=args.phase, backend=args.backend, dtype=args.dtype,
                        overrides=args.overrides)
    print(describe(net))


def parser():
    top = argparse.ArgumentParser(prog="graphnet", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmd = commands.add_parser("info", help="print the layers, blob shapes, parameters and memory of a net")
    _net_arguments(cmd)
    cmd.set_defaults(run=info)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except GraphnetError as err:
        print(err, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def run():
    """Console-script entry point."""
    sys.exit(main())
