"""Hostile netdefs: seeded mutations of the example netdefs, each given to `graphnet info`.

Every case must end as the README promises: exit status 0, or 2 with one line on stderr;
never a traceback (any exception but GraphnetError), never a warning, never a hang. The
cases run in an empty folder, so the data files the MNIST and Shakespeare netdefs name are
missing (a one-line error after their layers were checked); the xor, regression and product
netdefs make their data, so their mutations reach the net builder and every layer's setup.
"""

import contextlib
import copy
import io
import math
import pathlib
import random
import signal
import traceback
import warnings

import pytest
import yaml

from graphnet.cli import main
from graphnet.layers import LAYERS

SEED = 13
CASES = 5000
LIMIT_S = 2.0   # per case; a healthy case takes milliseconds
MAX_LINE = 1000  # characters in the one line: a message is read, not scrolled
NETDEFS = pathlib.Path(__file__).parent.parent / "netdefs"
# Weights: the netdefs with generated data build whole nets, so they get most of the cases.
BASES = {"xor.yaml": 6, "regression.yaml": 5, "product.yaml": 5, "mnist.yaml": 2,
         "mnist_mlp.yaml": 1, "shakespeare.yaml": 2}

# Big enough that no machine holds the net (refused before anything is allocated), never
# merely big: a net of a few GiB would fit, and fill, and take the suite's time.
HUGE = [10 ** 13, 2 ** 40, 2 ** 63 - 1, 2 ** 63, 2 ** 64, 10 ** 100, 1e300, -1e300]
NUMBERS = [0, -1, -7, 1, 2, 3, 0.5, 2.5, -0.0, math.nan, math.inf, -math.inf, *HUGE]
JUNK = ["", " ", "x", "\x00", "a\nb", "日本語🙂", "\u202e\u0301", "'", "{", "*", "a" * 300, "../..", "/"]
VALUES = [*NUMBERS, *JUNK, True, False, None, [], {}, [1, 2], [[[]]], {"type": "x"},
          {"a": {"b": 1}}, [None], ["x", 1]]


# libyaml, where PyYAML has it, makes the cases faster; graphnet itself reads them.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise Hang(f"still running after {LIMIT_S} s")


# --- mutations of the parsed netdef ------------------------------------------------------

def _slots(node, out):
    """Every (container, key) pair in the tree, containers before their contents."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        out.append((node, key))
        _slots(value, out)
    return out


def _blobs(doc):
    layers = doc.get("layers") if isinstance(doc, dict) else None
    names = set()
    for layer in layers if isinstance(layers, list) else ():
        for key in ("bottoms", "tops"):
            value = layer.get(key) if isinstance(layer, dict) else None
            names.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
        kind = layer.get("type") if isinstance(layer, dict) else None
        if isinstance(kind, str) and kind.endswith(("Loss", "Accuracy")) and isinstance(layer.get("name"), str):
            names.add(layer["name"])  # its unnamed top: a single number
    return sorted(names) or ["x"]


def _retype(rng, doc):
    """A layer of a random type, with plausible fields, reading blobs of the net: in place of
    one layer (keeping its tops) or as a new one. The shortest way to every layer's setup."""
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        return
    i = rng.randrange(len(layers))
    old = layers[i] if isinstance(layers[i], dict) and rng.random() < 0.5 else None
    kind = rng.choice(sorted(LAYERS))
    cls, blobs = LAYERS[kind], _blobs(doc)
    layer = {"name": old.get("name", f"l{i}") if old else f"new{i}", "type": kind}
    layer["bottoms"] = [rng.choice(blobs) for _ in range(_count(rng, cls.n_bottoms))]
    tops = list(old.get("tops") or []) if old and isinstance(old.get("tops"), list) else []
    tops += [f"{kind.lower()}{i}_{k}" for k in range(3)]
    layer["tops"] = tops[:_count(rng, cls.n_tops)]
    for name, field in cls.fields.items():  # its own; the ones every layer has are mutated elsewhere
        if name not in LAYERS["ReLU"].fields and (field.required or rng.random() < 0.4):
            layer[name] = _plausible(rng, name, field) if rng.random() < 0.85 else rng.choice(VALUES)
    if old:
        layers[i] = layer
    else:
        layers.insert(i, layer)


GUESSES = {"source": ["parity", {"type": "linear", "n": 8, "dim": 3}, "missing.h5"],
           "shape": [[0, -1], [2, 2], [-1], [1, 0, 3]], "shapes": [[[4, 3]], [[2, 3, 5, 5], [2]]],
           "file_name": ["out.h5"], "kernel": [1, 2, 3, 5, [2, 3]], "data": [[[1, 2], [3, 4]]]}


def _plausible(rng, name, field):
    """A value a user might write for this field: right in kind, maybe wrong for the net."""
    default = None if field.required else field.default
    if name in GUESSES:
        return copy.deepcopy(rng.choice(GUESSES[name]))
    if isinstance(default, bool):
        return rng.choice([True, False])
    if isinstance(default, float):
        return rng.choice([default, 0.0, 0.5, 2.0, -1.0])
    if isinstance(default, int) or default is None:
        return rng.choice([default, 0, 1, 2, 3, 4, 5, 10, -1, -2])
    return default  # a choice's default, a filler...


def _count(rng, arity):
    """A number of blobs a layer takes: `arity` is n or (low, high or None)."""
    low, high = (arity, arity) if isinstance(arity, int) else arity
    return rng.randint(low, 3 if high is None else min(high, 3))


def _alias_bomb(rng, doc):
    """A value that YAML writes in a few lines with aliases, and that is 9**7 items long:
    a repr of it is 34 MB (big enough to see, small enough not to take the machine down)."""
    value = ["lol"] * 9
    for _ in range(6):
        value = [value] * 9
    slots = _slots(doc, [])
    container, key = rng.choice(slots) if slots else (doc, "name")
    container[key] = value


def mutate_tree(rng, doc):
    slots = _slots(doc, [])
    if not slots:
        return
    container, key = rng.choice(slots)
    value = container[key]
    kind = rng.randrange(10)
    if kind == 0:
        del container[key]
    elif kind in (1, 2):
        container[key] = copy.deepcopy(rng.choice(VALUES))
    elif kind == 3 and isinstance(value, (int, float)) and not isinstance(value, bool):
        container[key] = rng.choice([-value, 0, value * 2 ** 40, value + 0.5, math.nan, math.inf])
    elif kind == 3 or kind == 4:  # the same thing, shaped wrong
        wrapped = {"value": value} if isinstance(value, list) else [value]
        container[key] = rng.choice([wrapped, str(value), list(value.values())
                                     if isinstance(value, dict) else wrapped])
    elif kind == 5:  # another part of the netdef, here
        container[key] = copy.deepcopy(rng.choice(slots)[0])
    elif kind == 6 and isinstance(container, dict):
        container[rng.choice(["outputdim", "Type", "bottom", "x", "日本", "layers"])] = rng.choice(VALUES)
    elif kind == 6 or kind == 7:
        _retype(rng, doc)
    elif kind == 8 and isinstance(doc.get("layers"), list) and doc["layers"]:
        doc["layers"].insert(rng.randrange(len(doc["layers"]) + 1),
                             copy.deepcopy(rng.choice(doc["layers"])))
    elif kind == 8 or kind == 9:
        if isinstance(value, str) or (isinstance(value, list) and value and isinstance(value[0], str)):
            container[key] = rng.choice(_blobs(doc))  # a blob name where any name was
        elif rng.random() < 0.05:
            _alias_bomb(rng, doc)


# --- mutations of the text ---------------------------------------------------------------

def mutate_text(rng, raw):
    lines = raw.split(b"\n")
    at = rng.randrange(len(lines))
    kind = rng.randrange(9)
    if kind == 0:  # random bytes, which may not be UTF-8
        pos = rng.randrange(len(raw) + 1)
        return raw[:pos] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + raw[pos:]
    if kind == 1:
        return raw[:rng.randrange(len(raw) + 1)]
    if kind == 2:  # duplicated keys, or a layer twice
        lines.insert(at, lines[at])
    elif kind == 3:
        del lines[at]
    elif kind == 4:  # deep nesting, as a flow value or as block indentation
        # 500 is past Python's recursion limit for PyYAML; far deeper only costs time (the
        # scanner's look-ahead for a key is quadratic in the depth up to 1,000).
        depth = rng.choice([60, 100, 300, 500])
        nest = rng.choice([b"[" * depth + b"]" * depth, b"{a: " * depth + b"1" + b"}" * depth,
                           b"\n".join(b"  " * d + b"- " for d in range(min(depth, 3000)))])
        key = rng.choice([b"name", b"solver", b"layers", b"seed", b"  - {name: n, type: ReLU, bottoms: x, tops"])
        lines.insert(at, key + b": " + nest)
    elif kind == 5:
        lines[at] = b" " * rng.randint(1, 5) + lines[at]
    elif kind == 6:
        junk = "".join(chr(rng.choice([0, 9, 0x7f, 0x85, 0xa0, 0xfeff, 0x2028, 0xd800, 0x1f600,
                                       rng.randrange(0x10ffff)])) for _ in range(rng.randint(1, 4)))
        lines[at] += junk.encode("utf-8", "surrogatepass")
    elif kind == 7:  # a tag, an anchor or an alias where a value starts
        mark = rng.choice([b"!!binary ", b"!!set ", b"!!omap ", b"!!timestamp ", b"!!float ", b"!!int ",
                           b"!!bool ", b"!!str ", b"!!python/object:os.system ", b"!x ", b"&a ", b"*a ",
                           b"<<: ", b"? "])
        lines[at] = lines[at].replace(b": ", b": " + mark, 1) if b": " in lines[at] else mark + lines[at]
    else:
        other = rng.randrange(len(lines))
        lines[at], lines[other] = lines[other], lines[at]
    return b"\n".join(lines)


def make_case(rng, bases):
    name = rng.choices(list(bases), weights=[BASES[n] for n in bases])[0]
    raw = bases[name]
    for _ in range(rng.choice([1, 1, 2, 3])):
        # A tree with aliases may be huge when walked (the alias bomb): change its text only.
        if rng.random() < 0.65 and b"&id" not in raw:
            try:
                doc = yaml.load(raw, Loader=LOADER)
                if isinstance(doc, dict):
                    mutate_tree(rng, doc)
                    raw = yaml.dump(doc, Dumper=DUMPER, allow_unicode=True, sort_keys=False,
                                    default_flow_style=rng.choice([None, True, False])).encode()
                    continue
            except Exception:  # noqa: BLE001 - not YAML any more, or too deep: change the text
                pass
        raw = mutate_text(rng, raw)
    return name, raw


# --- running one case --------------------------------------------------------------------

def run_info(path):
    """(exit status, stdout, stderr, problem): problem names what went wrong, or is None."""
    out, err = io.StringIO(), io.StringIO()
    signal.setitimer(signal.ITIMER_REAL, LIMIT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings():
            warnings.simplefilter("error")
            status = main(["info", str(path)])
    except BaseException as exc:  # anything but GraphnetError is one of our bugs
        return None, out.getvalue(), err.getvalue(), _signature(exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    problem = None
    if status not in (0, 2):
        problem = f"exit status {status}"
    elif status == 2 and (err.getvalue().count("\n") != 1 or not err.getvalue().strip()):
        problem = f"status 2 with stderr {err.getvalue()[:200]!r}"
    elif len(err.getvalue()) > MAX_LINE:
        problem = f"a line of {len(err.getvalue())} characters: {err.getvalue()[:200]!r}"
    elif status == 0 and err.getvalue():
        problem = f"status 0 with stderr {err.getvalue()[:200]!r}"
    return status, out.getvalue(), err.getvalue(), problem


def _signature(exc):
    """Where an exception came from: its type and the deepest graphnet frame."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/graphnet/" in f.filename]
    where = f"{frames[-1].filename.split('/graphnet/')[-1]}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at graphnet/{where}: {str(exc)[:120]}"


@pytest.fixture
def in_empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    yield tmp_path
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_mutated_netdefs_exit_cleanly(in_empty_folder):
    bases = {name: (NETDEFS / name).read_bytes() for name in BASES}
    rng = random.Random(SEED)
    path = in_empty_folder / "case.yaml"
    problems, statuses = {}, {0: 0, 2: 0}
    for case in range(CASES):
        name, raw = make_case(rng, bases)
        path.write_bytes(raw)
        status, _, err, problem = run_info(path)
        if problem:
            problems.setdefault(problem.split(": ")[0] if " at " in problem else problem,
                                (case, name, problem, raw))
        else:
            statuses[status] += 1
    report = "\n".join(f"case {case} ({name}): {problem}\n    {raw[:300]!r}"
                       for case, name, problem, raw in problems.values())
    assert not problems, f"{len(problems)} distinct problems:\n{report}"
    # The mutations must not all die in the YAML parser: many reach a built net.
    assert statuses[0] > CASES // 20, statuses
