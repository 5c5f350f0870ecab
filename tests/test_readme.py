"""The README's code runs: every Python block, every listing that says it is a file, every
one-line error example and every command line in README.md is executed or checked here,
so the README cannot drift from the code.

Everything runs in one sandbox folder (module scope): a copy of netdefs/ and examples/, and
a data/ of the same files and datasets as `graphnet data` writes, but small: 300 + 100 fake
digits, and three fake plays made into data/shakespeare by `graphnet data shakespeare
--from`. The Python blocks run in a folder of their own beside it. The README's
commands run in the README's order as real `graphnet` processes, so a command may use what
an earlier one wrote (`--resume` after `solve`), and expensive ones are cheapened as
COMMANDS says (e.g. `--set solver.max_iter=2`). A command, Python block or error example
that no rule here covers fails with a message saying where to add one."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
BIN = os.path.dirname(sys.executable)
# Open MPI refuses root unless told twice and more processes than cores unless told once.
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "TERM": "dumb",
       "MPLBACKEND": "Agg", "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "PRTE_MCA_rmaps_default_mapping_policy": ":oversubscribe",
       "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
LAUNCHERS = ("graphnet", "python", "python3", "pip", "mpiexec")


# ---------------------------------------------------------------------------------------
# Reading the README

def readme_items():
    """(kind, line number, text) in README order: ("python" | "yaml" | ..., n, block) for
    fenced blocks; ("command" | "error" | "comment" | "output", n, line) for indented lines."""
    with open(README) as f:
        lines = f.read().split("\n")
    items, fence, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        if fence is None and line.startswith("```"):
            fence, start, body = line[3:].strip(), i + 1, []
        elif fence is not None and line.startswith("```"):
            items.append((fence, start + 1, "\n".join(body) + "\n"))
            fence = None
        elif fence is not None:
            body.append(line)
        elif line.startswith("    ") and not line.startswith("     ") and (
                i == 0 or not lines[i - 1].strip() or lines[i - 1].startswith("    ")):
            text, n = line[4:], i + 1
            while text.endswith("\\"):
                i += 1
                text = text[:-1] + " " + lines[i].strip()
            if re.match(r"\S+\.(yaml|prototxt):\d+: ", text):
                items.append(("error", n, text))
            elif re.match(r"([A-Z_]+=\S+ )*(%s)\b" % "|".join(LAUNCHERS), text):
                items.append(("command", n, text))
            else:
                items.append(("comment" if text.startswith("#") else "output", n, text))
        i += 1
    return items


def commands():
    """Each README command, split at `&&`, comment cut off, `[--optional args]` opened."""
    out = []
    for _, n, line in (item for item in readme_items() if item[0] == "command"):
        line = re.sub(r"\s+#.*$", "", line)
        for part in line.split("&&"):
            part = re.sub(r"\[([^\]]*)\]", r"\1", part.strip()) if not part.strip().startswith("pip") \
                else part.strip()
            out.append((n, re.sub(r"\s+", " ", part)))
    return out


def blocks(kind):
    return [(n, text) for k, n, text in readme_items() if k == kind]


FENCES = {"python": "test_python_block", "yaml": "test_yaml_blocks_are_the_files_they_name_or_parse"}
# Indented lines that are neither a command nor an error example: a command's output, shown
# for a full run, whose form test_stats_table_has_the_readme_form checks.
OUTPUT = [r"snapshots/mnist/statistics\.h5: up to iteration", r"statistic +points", r"-{20,}$",
          r"(train|val)/\w+ "]


def test_every_block_and_indented_line_is_covered():
    """A fenced block of another language, or an indented line that is not a command (whose
    first word is one of LAUNCHERS), an error example or known output, has no test here."""
    for kind, n, text in readme_items():
        if kind in ("command", "error", "comment") or kind in FENCES:
            continue
        assert kind == "output", (f"README.md:{n}: a ```{kind} block: no test here runs it; use "
                                  f"```python or ```yaml, or add its kind to FENCES in "
                                  f"tests/test_readme.py with a test")
        assert any(re.match(p, text) for p in OUTPUT), (
            f"README.md:{n}: an indented line that tests/test_readme.py does not know: {text!r}; "
            f"a command must start with one of {LAUNCHERS}, an error example with FILE:LINE:, "
            "and shown output needs a pattern in OUTPUT and a test of its form")


# ---------------------------------------------------------------------------------------
# The sandbox: netdefs, examples and small data made by graphnet's own converters

def graphnet_cmd(args, cwd, env=None, timeout=120):
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**ENV, **(env or {})})
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A folder as a user's checkout would be after `graphnet data mnist` and `graphnet data
    shakespeare`: 300 + 100 fake digits, and three short fake plays made into data/shakespeare
    by `graphnet data shakespeare --from`."""
    root = tmp_path_factory.mktemp("readme")
    for folder in ("netdefs", "examples"):
        shutil.copytree(os.path.join(ROOT, folder), root / folder)
    rng = np.random.default_rng(0)
    # data/mnist as `graphnet data mnist` writes it (its converter insists on 60,000 + 10,000
    # digits, so the files are written here): bytes (N, 1, 28, 28), float32 labels (N, 1).
    (root / "data" / "mnist").mkdir(parents=True)
    for split, n in (("train", 300), ("test", 100)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 40, (n, 1, 28, 28), dtype=np.uint8)
        for digit in range(10):      # a bright bar per class, so the fake digits can be learnt
            images[labels == digit, 0, 2 + 2 * digit:4 + 2 * digit, 4:24] = 250
        with h5py.File(root / "data" / "mnist" / f"{split}.h5", "w") as f:
            f["data"] = images
            f["label"] = labels.astype(np.float32)[:, None]
        (root / "data" / "mnist" / f"{split}.txt").write_text(f"{split}.h5\n")
    plays = root / "plays"
    plays.mkdir()
    # Every character of the real data's alphabet (netdefs/shakespeare.yaml scores 84), and
    # enough text that the held-out 5% of each play fills the test net's 128 windows of 51.
    alphabet = list("\n !\"&'()*,-./0123456789:;?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_"
                    "abcdefghijklmnopqrstuvwxyz{}")
    assert len(alphabet) == 84
    for play in ("a", "b", "c"):
        (plays / f"{play}.txt").write_text("".join(alphabet + list(rng.choice(alphabet, 50000))))
    code, out, err = graphnet_cmd([os.path.join(BIN, "graphnet"), "data", "shakespeare", "--from",
                                   str(plays)], root)
    assert code == 0, err
    return root


@pytest.fixture(scope="module")
def snapshot(sandbox):
    """A LeNet trained for a few iterations on the fake digits: the README's `S`."""
    run_dir = sandbox / "snapshots" / "lenet-s"
    code, out, err = graphnet_cmd([os.path.join(BIN, "graphnet"), "solve", "netdefs/mnist.yaml",
                                   "--set", "solver.max_iter=3", "--set", f"solver.run_dir={run_dir}"],
                                  sandbox)
    assert code == 0, err
    return str(run_dir / "snapshot-00000003.h5")


# ---------------------------------------------------------------------------------------
# Python blocks

def _images(scope):
    with h5py.File("data/mnist/test.h5") as f:
        scope["images"] = f["data"][:5] * np.float32(1 / 256)


def _mnist_snapshot(scope):
    os.makedirs("snapshots/mnist", exist_ok=True)
    if not os.path.exists("snapshots/mnist/snapshot-00010000.h5"):
        shutil.copy(scope["S"], "snapshots/mnist/snapshot-00010000.h5")
    _images(scope)


def _prelu(scope):
    block = next(text for _, text in blocks("python") if "class PReLU" in text)
    exec(compile(block, "README.md", "exec"), scope)


# A block whose text holds the key gets the setup: what a reader has from the text around
# it (a trained snapshot, the images, the class of the block before). A block that names
# nothing it lacks needs no entry.
PYTHON_SETUP = {
    'graphnet.load("netdefs/mnist.yaml"': _mnist_snapshot,
    "graphnet.chain(": lambda s: s.update(x=np.random.default_rng(0).normal(size=(3, 784))),
    "export_onnx(graphnet.load(netdef, snapshot)":
        lambda s: s.update(netdef="netdefs/mnist.yaml", snapshot=s["S"]),
    "layer = PReLU(": _prelu,
}


def _same_as_the_yaml(scope):
    """'Its train net in Python, with the same words': the same parameters and loss."""
    import graphnet
    yaml = graphnet.Net.from_yaml("netdefs/xor.yaml", phase="train", backend="numpy")
    net = scope["net"]
    assert list(net.params) == list(yaml.params)
    np.testing.assert_array_equal(net.param_data, yaml.param_data)
    yaml.forward()
    np.testing.assert_array_equal(net.blobs["p"].data, yaml.blobs["p"].data)


# Checks after a block has run, keyed the same way: what the text around it claims.
PYTHON_CHECK = {
    '# or: net = graphnet.Net.from_yaml("netdefs/xor.yaml"': _same_as_the_yaml,
}


@pytest.fixture(scope="module")
def python_folder(sandbox):
    """The blocks' working folder: the sandbox's netdefs and data, snapshots of its own."""
    folder = sandbox / "python"
    folder.mkdir()
    for name in ("netdefs", "data", "examples"):
        os.symlink(sandbox / name, folder / name)
    return folder


@pytest.mark.parametrize("line, block", blocks("python"), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_python_block(line, block, python_folder, snapshot, monkeypatch):
    if why := _missing_extra(block):
        pytest.skip(f"README.md:{line}: {why}")
    from graphnet.layers import LAYERS
    monkeypatch.chdir(python_folder)
    known = set(LAYERS)
    scope = {"__name__": f"readme_line_{line}", "S": snapshot}
    try:
        for key, setup in PYTHON_SETUP.items():
            if key in block:
                setup(scope)
        try:
            exec(compile("\n" * (line - 1) + block, README, "exec"), scope)
        except Exception as err:
            raise AssertionError(
                f"README.md:{line}: the Python block fails ({type(err).__name__}: {err}); fix the "
                "README, or, if the block needs something the text around it provides, give it "
                "in PYTHON_SETUP in tests/test_readme.py") from err
        for key, check in PYTHON_CHECK.items():
            if key in block:
                check(scope)
    finally:
        for name in set(LAYERS) - known:      # a block's own layer types go with it
            LAYERS.pop(name)


# ---------------------------------------------------------------------------------------
# YAML listings

def test_yaml_blocks_are_the_files_they_name_or_parse():
    from graphnet.netdef import parse_yaml
    for line, text in blocks("yaml"):
        first = text.split("\n", 1)[0]
        named = re.fullmatch(r"# (\S+\.yaml)", first)
        if named:       # the file's name, then the file
            with open(os.path.join(ROOT, named.group(1))) as f:
                assert text.split("\n", 1)[1] == f.read(), \
                    f"README.md:{line}: the listing differs from {named.group(1)}"
        else:
            assert isinstance(parse_yaml(text, f"README.md:{line}"), dict)


def test_solver_listing_builds_a_solver(tmp_path):
    """The `solver:`/`coffee_breaks:` listing is a part of a netdef: with the xor layers it is
    one that `graphnet info` takes."""
    listing = next(text for _, text in blocks("yaml") if text.startswith("solver:"))
    with open(os.path.join(ROOT, "netdefs", "xor.yaml")) as f:
        xor = f.read().split("solver:")[0]
    (tmp_path / "net.yaml").write_text(xor + listing)
    code, out, err = graphnet_cmd([os.path.join(BIN, "graphnet"), "info", "net.yaml"], tmp_path)
    assert code == 0, err


# ---------------------------------------------------------------------------------------
# The one-line error examples: each the netdef its line implies, and the exact message

PROTOTXT = """name: "net"
layer {
  name: "data"
  type: "Input"
  top: "data"
  input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } }
}
layer {
  name: "conv1"
  type: "Convolution"
  bottom: "data"
  top: "conv1"
  convolution_param {
    axis: 2
    num_output: 4
    kernel_size: 3
  }
}
"""


def _xor_edit(layer, old, new):
    """netdefs/xor.yaml with the layer's `old` text replaced by `new`, and `graphnet info` on it."""
    def make(folder):
        with open(os.path.join(ROOT, "netdefs", "xor.yaml")) as f:
            text = f.read()
        entry = f"{{name: {layer},"
        start = text.index(entry)
        end = text.index("\n", start)
        line = text[start:end]
        assert old in line, (layer, old)
        (folder / "netdefs").mkdir(exist_ok=True)
        (folder / "netdefs" / "xor.yaml").write_text(text[:start] + line.replace(old, new) + text[end:])
        return ["info", "netdefs/xor.yaml"]
    return make


def _mnist_elsewhere(folder):
    (folder / "netdefs").mkdir(exist_ok=True)
    shutil.copy(os.path.join(ROOT, "netdefs", "mnist.yaml"), folder / "netdefs")
    return ["info", "netdefs/mnist.yaml"]


def _prototxt(folder):
    (folder / "net.prototxt").write_text(PROTOTXT)
    return ["import-caffe", "net.prototxt", "-o", "net.yaml"]


# (pattern of the README line, the mistake it implies, what of the line varies by machine)
ERRORS = [
    (r"output_dim: must be >= 1", _xor_edit("hid", "output_dim: 4", "output_dim: -4"), None),
    (r"bottom 'hh' is not produced", _xor_edit("out", "bottoms: [h]", "bottoms: [hh]"), None),
    (r"outputdim: unknown field", _xor_edit("hid", "output_dim: 4", "outputdim: 4"), None),
    (r"source: data/mnist/train.txt: no such file", _mnist_elsewhere,
     r"looked up from (\S+);"),
    (r"needs at least [\d.]+ PiB", _xor_edit("hid", "output_dim: 4", "output_dim: 10000000000000"),
     r"and there is ([\d.]+ \w+)$"),
    (r"convolution_param.axis: 2 has no equivalent", _prototxt, None),
]


@pytest.mark.parametrize("line, example", blocks("error"))
def test_error_example(line, example, tmp_path):
    cases = [case for case in ERRORS if re.search(case[0], example)]
    assert len(cases) == 1, (f"README.md:{line}: no case (or several) in ERRORS of "
                             f"tests/test_readme.py reproduces this error line: {example}")
    _, make, varying = cases[0]
    code, out, err = graphnet_cmd([os.path.join(BIN, "graphnet"), *make(tmp_path)], tmp_path)
    assert code == 2 and err.count("\n") == 1, (code, out, err)
    got = err.strip()
    if varying:       # the machine's part of the line (a folder, the memory there is)
        want, mine = re.search(varying, example), re.search(varying, got)
        assert mine, got
        example = example[:want.start(1)] + mine.group(1) + example[want.end(1):]
    assert got == example, f"README.md:{line}"


# ---------------------------------------------------------------------------------------
# Commands

def extras_named(command):
    return set(re.findall(r"\[([\w,]+)\]", command)[0].split(",")) if "[" in command else set()


def declared_extras():
    # read by hand: tomllib is Python 3.11's, and graphnet runs on 3.10
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        section = f.read().split("[project.optional-dependencies]\n", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([\w-]+)\s*=", section, re.M))


def test_install_hints_name_declared_extras():
    """Every `pip install` in the README and every install hint graphnet prints names extras
    that pyproject.toml declares."""
    declared = declared_extras()
    hints = [f"README.md:{n}: {c}" for n, c in commands() if c.startswith("pip install")]
    hint = r"pip install (?:-e )?['\"]?(?:graphnet|\.)\[[\w,]+\]"
    with open(README) as f:
        hints += re.findall(hint, f.read())
    for folder, _, files in os.walk(os.path.join(ROOT, "graphnet")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name)) as f:
                    hints += re.findall(hint, f.read())
    assert hints
    for hint in hints:
        if "torch" in hint:
            continue
        assert extras_named(hint) and extras_named(hint) <= declared, hint


def _have(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


def _mpi():
    return _have("mpi4py") and (shutil.which("mpiexec", path=ENV["PATH"]) is not None)


# What needs an optional extra skips cleanly without it, as the extra's own tests do: the
# README's first line installs graphnet[fast,test] only, and its second runs this suite.
EXTRAS = [(r"^graphnet plot", "matplotlib", "plot"), (r"^graphnet export|export_onnx", "onnx", "onnx"),
          (r"^graphnet export|export_onnx", "onnxruntime", "onnx"),
          (r"\.(png|jpe?g)\b.*--|--input [^-]*\.(png|jpe?g)", "PIL", "images")]


def _missing_extra(text):
    """Why `text` (a command or a block) cannot run here, or None."""
    for pattern, module, extra in EXTRAS:
        if re.search(pattern, text, re.M) and not _have(module):
            return f"needs the {extra} extra (pip install graphnet[{extra}])"
    return None


def _copy(source, target):
    def setup(folder, s):
        shutil.copy(folder / source if not source.startswith("S") else s, folder / target)
    return setup


def _files_for_predict(folder, s):
    from PIL import Image
    with h5py.File(folder / "data" / "mnist" / "test.h5") as f:
        digits = f["data"][:8]
    shutil.copy(folder / "data" / "mnist" / "test.h5", folder / "test.h5")
    np.save(folder / "digits.npy", digits)
    for name, digit in (("7.png", digits[0]), ("2.png", digits[1])):
        Image.fromarray(digit[0]).save(folder / name)


def _lenet_prototxt(folder, s):
    from tests.caffe.nets import LENET, LENET_SOLVER
    (folder / "lenet_train_test.prototxt").write_text(LENET)
    (folder / "lenet_solver.prototxt").write_text(LENET_SOLVER)


def _plugin(folder, s):
    prelu = next(text for _, text in blocks("python") if "class PReLU" in text)
    (folder / "prelu.py").write_text(prelu)
    (folder / "otherpkg").mkdir(exist_ok=True)
    (folder / "otherpkg" / "__init__.py").write_text("")
    (folder / "otherpkg" / "layers.py").write_text("")
    with open(os.path.join(ROOT, "netdefs", "xor.yaml")) as f:
        text = f.read().replace("tops: [h],", "tops: [h0],")
    text = text.replace("  - {name: out,", "  - {name: act, type: PReLU, bottoms: [h0], tops: [h]}\n"
                        "  - {name: out,")
    (folder / "net.yaml").write_text(text.replace("name: xor", "name: plugged", 1))


def _adam_run(folder, s):
    code, _, err = graphnet_cmd([os.path.join(BIN, "graphnet"), "solve", "netdefs/mnist.yaml",
                                 *MNIST_SHORT, "--set", "solver.method=adam",
                                 "--set", "solver.run_dir=snapshots/mnist-adam"], folder)
    assert code == 0, err


SHORT = ["--set", "solver.max_iter=2"]
# LeNet validates at its second iteration too, so the run has a val/accuracy to plot
MNIST_SHORT = SHORT + ["--set", "coffee_breaks.1.every_n_iter=2"]
NETWORK = ("fetches its data from the package index; the sandbox holds small fake data instead "
           "(data/shakespeare made by this command with --from)")

# The first rule whose pattern matches (re.search) a command decides: ("skip", why) or
# ("run", arguments added, setup(folder, S) or None, environment); ("until Ctrl-C", text)
# runs a command that goes on until interrupted, sends it SIGINT once it has printed a line
# holding the text, and wants status 0. `S` in a command is the
# module's trained snapshot. A `graphnet` command that no rule names runs as it is.
COMMANDS = [
    (r"^python3 -m venv|^\. \.venv", ("skip", "sets up a virtual environment")),
    (r"^python -m pytest", ("skip", "the test suite itself")),
    (r"^pip install", ("skip", "checked by test_install_hints_name_declared_extras")),
    (r"^graphnet data (mnist|shakespeare)$", ("skip", NETWORK)),
    (r"--backend cupy", ("skip", "needs CuPy and an NVIDIA GPU") if not _have("cupy") else
     ("run", SHORT + ["--set", "solver.run_dir=snapshots/xor-cupy"], None, {})),
    (r"^mpiexec", ("skip", "needs the mpi extra") if not _mpi() else
     ("run", SHORT + ["--set", "solver.run_dir=snapshots/mnist-mpi"], None, {})),
    (r"--procs", ("skip", "needs the mpi extra") if not _mpi() else
     ("run", SHORT + ["--set", "solver.run_dir=snapshots/mnist-procs"], None, {})),
    (r"--weights other\.h5 --partial", ("run", ["--set", "solver.run_dir=snapshots/xor-partial"],
                                         _copy("snapshots/xor/snapshot-00001000.h5", "other.h5"), {})),
    (r"--weights other\.h5", ("run", ["--set", "solver.run_dir=snapshots/xor-weights"],
                               _copy("snapshots/xor/snapshot-00001000.h5", "other.h5"), {})),
    (r"^graphnet solve netdefs/mnist\.yaml$", ("run", MNIST_SHORT, None, {})),
    (r"^graphnet solve netdefs/shakespeare\.yaml$", ("run", SHORT, None, {})),
    (r"snapshots/mnist-adam", ("run", [], _adam_run, {})),
    (r"--follow", ("until Ctrl-C", "drew ")),
    (r"^graphnet (predict|export)", ("run", [], _files_for_predict, {})),
    (r"import-caffe lenet", ("run", [], _lenet_prototxt, {})),
    (r"bvlc_alexnet|alexnet\.yaml", ("skip", "needs Caffe's AlexNet caffemodel (233 MB, a download); "
                                            "tests/caffe imports an AlexNet written here")),
    (r"--plugin prelu\.py", ("run", SHORT, _plugin, {})),
    # a module plugin is found on sys.path, where the user's PYTHONPATH puts it
    (r"GRAPHNET_PLUGINS=prelu", ("run", SHORT + ["--set", "solver.run_dir=snapshots/plugged-env"],
                                 _plugin, {"PYTHONPATH": "."})),
]


def rule_for(command):
    for pattern, rule in COMMANDS:
        if re.search(pattern, command):
            return rule
    if command.startswith("graphnet "):
        return ("run", [], None, {})
    return ("unknown", None)


def test_every_command_has_a_rule():
    unknown = [f"README.md:{n}: {c}" for n, c in commands() if rule_for(c)[0] == "unknown"]
    assert not unknown, ("add a rule to COMMANDS in tests/test_readme.py (run it cheaply, or skip "
                         "it with the reason) for: " + "; ".join(unknown))


@pytest.mark.parametrize("line, command", commands(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_command(line, command, sandbox, snapshot):
    if why := _missing_extra(command):
        pytest.skip(f"README.md:{line}: {why}")
    rule = rule_for(command)
    if rule[0] == "skip":
        pytest.skip(f"README.md:{line}: {rule[1]}")
    assert rule[0] in ("run", "until Ctrl-C"), f"README.md:{line}: no rule in COMMANDS of tests/test_readme.py: {command}"
    _, extra, setup, env = rule if rule[0] == "run" else ("", [], None, {})
    if setup:
        setup(sandbox, snapshot)
    words = shlex.split(command.replace(" S ", f" {snapshot} "))
    assigned = {}
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        assigned[key] = value
    if words[0] == "mpiexec":
        words[words.index("graphnet")] = os.path.join(BIN, "graphnet")
        words[0] = shutil.which("mpiexec", path=ENV["PATH"])
    else:
        assert words[0] == "graphnet", command
        words[0] = os.path.join(BIN, "graphnet")
    if rule[0] == "until Ctrl-C":
        process = subprocess.Popen(words + extra, cwd=sandbox, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env={**ENV, **env, **assigned})
        seen = ""
        while rule[1] not in seen and process.poll() is None:
            seen += process.stdout.readline()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        code, out = process.returncode, seen + out
    else:
        code, out, err = graphnet_cmd(words + extra, sandbox, {**env, **assigned})
    assert code == 0, (f"README.md:{line}: `{command}` (run as {words + extra}) ended with status "
                       f"{code}: {err}; fix the README, or cheapen or set it up in COMMANDS of "
                       "tests/test_readme.py")


def stats_form(lines):
    """(statistic names, whether each row's numbers end under the header's words) of a
    `graphnet stats` table."""
    assert re.fullmatch(r"\S+/statistics\.h5: up to iteration [\d,]+", lines[0]), lines[0]
    header, rule, rows = lines[1], lines[2], lines[3:]
    assert header.split() == ["statistic", "points", "last", "at", "iter", "best", "at", "iter"]
    assert set(rule) == {"-"} and len(rule) == len(header)
    ends = [m.end() for m in re.finditer(r"points|last|at iter|best|at iter", header)]
    names, aligned = [], True
    for row in rows:
        name = re.match(r"\S+( \(mean of [\d,]+\))?", row)
        names.append(name.group().split(" (")[0])
        numbers = [m.end() for m in re.finditer(r"\S+", row[name.end():])]
        aligned &= [name.end() + e for e in numbers] == ends[:len(numbers)]
    return names, aligned


def test_stats_table_has_the_readme_form(sandbox):
    """The table the README shows (for a full run) is the table `graphnet stats` prints: the
    same title line, header, rule, statistics in the same order and columns aligned alike."""
    with open(README) as f:
        text = f.read()
    shown = []
    for line in text[text.index("\n    snapshots/mnist/statistics.h5: up to") + 1:].split("\n"):
        if not line.startswith("    "):
            break
        shown.append(line[4:])
    run_dir = sandbox / "snapshots" / "mnist"
    if not (run_dir / "statistics.h5").exists():     # when run alone, without the commands
        code, _, err = graphnet_cmd([os.path.join(BIN, "graphnet"), "solve", "netdefs/mnist.yaml",
                                     *MNIST_SHORT], sandbox)
        assert code == 0, err
    code, out, err = graphnet_cmd([os.path.join(BIN, "graphnet"), "stats", "snapshots/mnist"], sandbox)
    assert code == 0, err
    readme_names, readme_aligned = stats_form(shown)
    names, aligned = stats_form(out.rstrip("\n").split("\n"))
    assert readme_aligned and aligned, (shown, out)
    assert readme_names == names, (shown, out)
