"""Where a run starts: the snapshot to resume from, weights to start from, a good snapshot to
go back to. Every file is read whole and checked before anything of it is used."""

from ..errors import GraphnetError
from ..io.run_dir import snapshots
from ..io.snapshot import Snapshot


def _usable(path):
    """The snapshot at `path`, checked: readable, its checksum right, its parameters finite."""
    snap = Snapshot(path)
    if not snap.finite():
        raise GraphnetError("holds parameters that are not finite numbers (the run had diverged)",
                            file=path)
    return snap


def snapshot_to_resume(run_dir, resume):
    """The Snapshot to resume from: the path given, or (resume=True) the newest usable one in
    the run directory; a damaged newest snapshot is named in a warning and the one before used."""
    if resume is not True:
        return _usable(resume)
    found = run_dir.snapshots()
    if not found:
        raise GraphnetError("has no snapshot to resume from (leave out --resume to start a run)",
                            file=run_dir.path)
    for _, path in found:
        try:
            return _usable(path)
        except GraphnetError as err:
            print(f"warning: {err}; trying the snapshot before it", flush=True)
    raise GraphnetError(f"has no usable snapshot to resume from: all {len(found)} are damaged "
                        "(see the warnings above)", file=run_dir.path)


def restore(solver, snap):
    """Put the run where `snap` left it: parameters, solver state, policies, generators and
    every data layer's position."""
    if snap.solver_attrs.get("method") != solver.method.type:
        raise GraphnetError(f"was written by method {snap.solver_attrs.get('method')}, "
                            f"but the solver now uses {solver.method.type}", file=snap.path)
    for line in describe_changes(snap.solver_attrs.get("netdef", {}), solver.netdef):
        print(f"resuming with a changed netdef: {line}", flush=True)
    net = solver.net
    snap.load_params(net)
    for name, array in solver.state.items():
        if name not in snap.solver_arrays or snap.solver_arrays[name].shape != array.shape:
            raise GraphnetError(f"has no solver state '{name}' for these parameters", file=snap.path)
        array[...] = net.backend.asarray(snap.solver_arrays[name])
    solver.iteration, solver.loss = snap.iteration, snap.loss
    solver.lr_policy.load_state(snap.solver_attrs.get("lr_policy", {}))
    solver.momentum.load_state(snap.solver_attrs.get("momentum", {}))
    net.backend.set_rng_state(snap.rng_state)
    nets = {"train": net}
    if solver.test_net is not None:
        nets["test"] = solver.test_net
    snap.load_positions(nets)


def load_weights(net, snap, partial=False):
    """Start `net` from the parameters of a snapshot (a Snapshot or its path), matched by key
    (layer/param). Every parameter must be there unless `partial`; returns a line saying what
    was loaded."""
    snap = snap if isinstance(snap, Snapshot) else Snapshot(snap)
    path = snap.path
    wanted = [p.key for p in net.owned_params]
    missing = [k for k in wanted if k not in snap.params]
    found = [k for k in wanted if k in snap.params]
    if not found:
        raise GraphnetError(f"shares no parameter with net '{net.name}' (it has "
                            f"{_some(sorted(snap.params))}; the net has {_some(wanted)})", file=path)
    if missing and not partial:
        raise GraphnetError(f"lacks {len(missing)} of the {len(wanted)} parameters of net "
                            f"'{net.name}' ({_some(missing)}): give --partial-weights to load the "
                            "others and start these from their fillers", file=path)
    snap.load_params(net, exact=False)
    unused = sorted(set(snap.params) - set(wanted))
    return (f"weights from {path}: loaded {_some(found)}"
            + (f"; kept as filled: {_some(missing)}" if missing else "")
            + (f"; not in this net: {_some(unused)}" if unused else ""))


def good_snapshot_line(directory):
    """Names the newest snapshot in `directory` whose parameters are all finite, for a run that
    diverged; says so when there is none."""
    for _, path in snapshots(directory):
        try:
            snap = _usable(path)
        except GraphnetError:
            continue
        return (f"the newest snapshot with finite parameters is {path} (iteration {snap.iteration}, "
                f"largest |parameter| {snap.largest():.3g})")
    return "no snapshot with finite parameters was written"


def describe_changes(old, new):
    """Lines saying what differs between two netdef records ({section: {name: {field: text}}})."""
    lines = []
    for section in sorted(set(old) | set(new)):
        a, b = old.get(section, {}), new.get(section, {})
        for name in sorted(set(a) | set(b)):
            if name not in b:
                lines.append(f"{section} '{name}' is gone")
            elif name not in a:
                lines.append(f"{section} '{name}' is new")
            else:
                for key in sorted(set(a[name]) | set(b[name])):
                    if a[name].get(key) != b[name].get(key):
                        lines.append(f"{section} '{name}': {key}: {a[name].get(key)} -> {b[name].get(key)}")
    return lines


def _some(keys, shown=4):
    keys = list(keys)
    return ", ".join(keys[:shown]) + (f" and {len(keys) - shown} more" if len(keys) > shown else "")
