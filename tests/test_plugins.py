"""Layers of one's own: the README's PReLU as a plugin file, a layer of an installed package's
entry point, the example Huber loss; real `python -m graphnet` commands and their one-line errors."""

import os
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest

from graphnet import Net
from graphnet.layers import LAYERS, InnerProduct, Input, MemoryData, SquareLoss
from graphnet.testing import check_layer
from tests.parallel import mpi
from tests.parallel.mpi import needs_mpi
from tests.runs import run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NETDEF = """\
name: plug
seed: 3
layers:
  - {{name: data, type: MemoryData, tops: [x, y], batch_size: 16, shuffle: true,
     source: {{type: linear, n: 64, dim: 6, noise: 0.1, seed: 2}}}}
  - {{name: hid, type: InnerProduct, bottoms: [x], tops: [h], output_dim: 8}}
  - {{name: act, type: {kind}, bottoms: [h], tops: [a]}}
  - {{name: out, type: InnerProduct, bottoms: [a], tops: [p], output_dim: 1}}
  - {{name: loss, type: SquareLoss, bottoms: [p, y]}}
solver: {{method: sgd, lr_policy: 0.05, momentum: 0.9, max_iter: 20, run_dir: {run_dir}}}
coffee_breaks:
  - {{type: Snapshot, every_n_iter: 10}}
"""

GAIN = '''\
from graphnet.fillers import filler
from graphnet.layers import Layer, register
from graphnet.spec import Field


@register
class Gain(Layer):
    """y = x * g, one learned g per feature of (N, C)."""
    gain_filler = Field(filler, 1.0)

    def setup(self, bottom_shapes):
        self.add_param("gain", (bottom_shapes[0][1],), self.gain_filler)
        return [tuple(bottom_shapes[0])]

    def forward(self, bottoms, tops):
        tops[0].data[...] = bottoms[0].data * self.params["gain"].data

    def backward(self, tops, propagate_down, bottoms):
        gain = self.params["gain"]
        if gain.needs_grad:
            gain.diff += (tops[0].diff * bottoms[0].data).sum(axis=0)
        if propagate_down[0]:
            bottoms[0].diff[...] = tops[0].diff * gain.data
'''


def readme_blocks():
    """The Python blocks of README.md's section 'Writing a layer'."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    section = text.split("## Writing a layer\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.fixture
def plugin_file(tmp_path):
    """The README's PReLU, written out as a plugin file."""
    path = tmp_path / "prelu.py"
    path.write_text(readme_blocks()[0])
    return str(path)


@pytest.fixture
def site(tmp_path):
    """A folder on PYTHONPATH holding an 'installed' package whose entry point, in the
    group graphnet.layers, is its module eplayers (layer type Gain)."""
    folder = tmp_path / "site"
    (folder / "eplayers").mkdir(parents=True)
    (folder / "eplayers" / "__init__.py").write_text(GAIN)
    info = folder / "eplayers-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: eplayers\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[graphnet.layers]\ngain = eplayers\n")
    return {"PYTHONPATH": os.pathsep.join([str(folder), ROOT])}


def netdef(tmp_path, kind, name="net.yaml", run_dir="run"):
    path = tmp_path / name
    path.write_text(NETDEF.format(kind=kind, run_dir=tmp_path / run_dir))
    return str(path)


def params(snapshot):
    with h5py.File(snapshot) as f:
        return {f"{layer}/{p}": f["params"][layer][p][...] for layer in f["params"]
                for p in f["params"][layer]}


def one_line_error(code, out, err):
    assert code == 2, (out, err)
    assert err.count("\n") == 1, err
    return err.strip()


@pytest.fixture
def readme_prelu():
    """The README's code run here, as a reader would paste it; the type is removed after."""
    scope = {"__name__": "readme_prelu"}
    for block in readme_blocks():
        exec(compile(block, "README.md", "exec"), scope)
    yield scope["PReLU"]
    LAYERS.pop("PReLU")


def test_readme_layer_passes_check_layer(readme_prelu):
    # The README's second block already asserted it; here also through a 2-D input and
    # against a plain NumPy forward.
    layer = readme_prelu(name="act", bottoms=["x"], tops=["y"], slope_filler=0.3)
    x = np.random.default_rng(1).normal(size=(5, 4))
    report = check_layer(layer, [x])
    assert report.max_error < 1e-6, report
    np.testing.assert_allclose(report.net.blobs["y"].data, np.where(x > 0, x, 0.3 * x))
    assert report.checked["param 'act/slope'"] == 4


def test_readme_layer_shares_and_freezes_parameters(readme_prelu):
    layers = [Input(name="in", tops=["x1", "x2"], shapes=[[4, 3], [4, 3]]),
              readme_prelu(name="a", bottoms=["x1"], tops=["y1"], param_key="tied", loss_weight=[1.0]),
              readme_prelu(name="b", bottoms=["x2"], tops=["y2"], param_key="tied", loss_weight=[1.0])]
    net = Net("tied", layers, dtype="float64")
    assert net.params["a"][0] is net.params["b"][0]
    assert net.param_data.size == 3
    layers[1].frozen = layers[2].frozen = True
    frozen = Net("frozen", layers, dtype="float64")
    assert not frozen.params["a"][0].needs_grad


def test_example_huber_loss(tmp_path):
    scope = {"__name__": "huber_example"}
    with open(os.path.join(ROOT, "examples", "plugins", "huber.py")) as f:
        exec(compile(f.read(), "huber.py", "exec"), scope)
    try:
        loss = scope["HuberLoss"](name="loss", bottoms=["p", "y"], delta=0.5)
        rng = np.random.default_rng(2)
        p, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
        report = check_layer(loss, [p, y])
        assert report.max_error < 1e-6, report
        r = p - y
        h = np.where(abs(r) <= 0.5, r * r / 2, 0.5 * (abs(r) - 0.25))
        assert float(report.net.blobs["loss"].data) == pytest.approx(h.sum() / 6, rel=1e-12)
    finally:
        LAYERS.pop("HuberLoss")
    code, out, err = run("solve", "examples/plugins/huber.yaml", "--plugin",
                         "examples/plugins/huber.py", "--set", f"solver.run_dir={tmp_path / 'run'}",
                         cwd=ROOT)
    assert code == 0, err
    assert float(out.split("loss ")[-1].split(";")[0]) < 0.01   # noise 0.1: h(r) ~ 0.005


def test_plugin_file_info_time_and_resume_bit_identical(tmp_path, plugin_file):
    whole = netdef(tmp_path, "PReLU", "whole.yaml", "whole")
    code, out, err = run("info", whole, "--plugin", plugin_file)
    assert code == 0, err
    assert re.search(r"act\s+PReLU\s+h\s+a\s+\(16, 8\)\s+8 ", out), out   # 8 slopes
    code, out, err = run("time", whole, "--plugin", plugin_file, "--iterations", "2")
    assert code == 0, err
    assert "act" in out

    assert run("solve", whole, "--plugin", plugin_file)[0] == 0
    parts = netdef(tmp_path, "PReLU", "parts.yaml", "parts")
    code, _, err = run("solve", parts, "--plugin", plugin_file, "--set", "solver.max_iter=10")
    assert code == 0, err
    code, _, err = run("solve", parts, "--plugin", plugin_file, "--resume")
    assert code == 0, err
    uninterrupted = params(tmp_path / "whole" / "snapshot-00000020.h5")
    resumed = params(tmp_path / "parts" / "snapshot-00000020.h5")
    assert uninterrupted.keys() == resumed.keys() and "act/slope" in resumed
    for key in uninterrupted:
        assert uninterrupted[key].tobytes() == resumed[key].tobytes(), key
    assert not np.all(resumed["act/slope"] == np.float32(0.25))   # the slope did learn

    code, _, err = run("solve", netdef(tmp_path, "PReLU", "frozen.yaml", "frozen"), "--plugin",
                       plugin_file, "--set", "layers.act.frozen=true")
    assert code == 0, err
    assert np.all(params(tmp_path / "frozen" / "snapshot-00000020.h5")["act/slope"] == np.float32(0.25))


def test_entry_point_info_solve_and_resume(tmp_path, site):
    whole = netdef(tmp_path, "Gain", "whole.yaml", "whole")
    code, out, err = run("info", whole, env=site)
    assert code == 0, err
    assert re.search(r"act\s+Gain\s+h\s+a\s+\(16, 8\)\s+8 ", out), out
    assert run("solve", whole, env=site)[0] == 0
    parts = netdef(tmp_path, "Gain", "parts.yaml", "parts")
    assert run("solve", parts, "--set", "solver.max_iter=10", env=site)[0] == 0
    code, _, err = run("solve", parts, "--resume", env=site)
    assert code == 0, err
    uninterrupted = params(tmp_path / "whole" / "snapshot-00000020.h5")
    resumed = params(tmp_path / "parts" / "snapshot-00000020.h5")
    for key in uninterrupted:
        assert uninterrupted[key].tobytes() == resumed[key].tobytes(), key
    assert not np.all(resumed["act/gain"] == 1)


def test_environment_variable_loads_plugins(tmp_path, plugin_file):
    code, out, err = run("info", netdef(tmp_path, "PReLU"),
                         env={"GRAPHNET_PLUGINS": f" {plugin_file} ,", "PYTHONPATH": ROOT})
    assert code == 0, err
    assert "PReLU" in out


def test_field_typo_suggests_the_field(tmp_path, plugin_file):
    path = netdef(tmp_path, "PReLU")
    text = open(path).read().replace("tops: [a]}", "tops: [a], slope_filer: 0.1}")
    open(path, "w").write(text)
    line = one_line_error(*run("info", path, "--plugin", plugin_file))
    assert line == (f"{path}:7: layer 'act': slope_filer: unknown field for layer type PReLU "
                    f"(did you mean 'slope_filler'?)")


def test_netdef_never_imports_a_dotted_type(tmp_path, plugin_file):
    path = netdef(tmp_path, "prelu.PReLU")
    line = one_line_error(*run("info", path, cwd=tmp_path))
    assert line == (f"{path}:7: layer 'act': type: unknown layer type 'prelu.PReLU': a netdef "
                    f"never imports code; load the module with --plugin prelu (or "
                    f"GRAPHNET_PLUGINS=prelu) and write type: PReLU")
    line = one_line_error(*run("info", path, "--plugin", plugin_file))
    assert line == (f"{path}:7: layer 'act': type: unknown layer type 'prelu.PReLU': a type is "
                    f"its class name, without the module: write type: PReLU")


def test_unknown_type_with_plugins_loaded_names_the_flag(tmp_path, plugin_file, site):
    path = netdef(tmp_path, "PReLu")
    line = one_line_error(*run("info", path, "--plugin", plugin_file, env=site))
    assert line == (f"{path}:7: layer 'act': type: unknown layer type 'PReLu' (did you mean "
                    f"'PReLU'?); plugins loaded: eplayers, {plugin_file}; another module's layers "
                    f"load with --plugin MODULE_OR_FILE")


def test_plugin_that_fails_to_import(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import graphnet\n\nimport no_such_dependency\n")
    path = netdef(tmp_path, "ReLU")
    line = one_line_error(*run("info", path, "--plugin", str(broken)))
    assert line == (f"--plugin {broken}: cannot load: ModuleNotFoundError: No module named "
                    f"'no_such_dependency' ({broken}:3)")
    line = one_line_error(*run("info", path, "--plugin", "no_such_module"))
    assert line == ("--plugin no_such_module: cannot load: ModuleNotFoundError: No module named "
                    "'no_such_module'")
    line = one_line_error(*run("solve", path, "--plugin", str(tmp_path / "missing.py")))
    assert line == (f"--plugin {tmp_path / 'missing.py'}: cannot load: FileNotFoundError: no such "
                    f"file {tmp_path / 'missing.py'}")
    line = one_line_error(*run("info", path, env={"GRAPHNET_PLUGINS": "no_such_module"}))
    assert line == ("GRAPHNET_PLUGINS: no_such_module: cannot load: ModuleNotFoundError: No "
                    "module named 'no_such_module'")


def test_plugin_may_not_redefine_a_type(tmp_path, site):
    clash = tmp_path / "clash.py"
    clash.write_text("from graphnet.layers import Layer, register\n\n\n"
                     "@register\nclass Scale(Layer):\n    pass\n")
    path = netdef(tmp_path, "ReLU")
    line = one_line_error(*run("info", path, "--plugin", str(clash)))
    assert line == (f"--plugin {clash}: layer type 'Scale' of module clash is already defined by "
                    f"module graphnet.layers.scale; give the class another name")
    twin = tmp_path / "twin.py"
    twin.write_text(GAIN)
    line = one_line_error(*run("info", path, "--plugin", str(twin), env=site))
    assert line == (f"--plugin {twin}: layer type 'Gain' of module twin is already defined by "
                    f"module eplayers; give the class another name")


def test_site_entry_point_that_fails(tmp_path, site):
    (tmp_path / "site" / "eplayers" / "__init__.py").write_text("raise RuntimeError('half done')\n")
    line = one_line_error(*run("info", netdef(tmp_path, "ReLU"), env=site))
    init = tmp_path / "site" / "eplayers" / "__init__.py"
    assert line == (f"entry point 'gain' (eplayers) of group graphnet.layers: cannot load: "
                    f"RuntimeError: half done ({init}:1)")


def test_every_net_command_takes_plugin():
    from graphnet.cli import parser
    commands = parser()._subparsers._group_actions[0].choices
    takes = {name for name, cmd in commands.items()
             if any(a.dest == "plugins" for a in cmd._actions)}
    assert takes == {"info", "solve", "train", "time", "test", "predict", "export", "sample", "draw"}


def test_procs_passes_plugins_to_the_processes():
    from graphnet.parallel.launch import without_procs
    assert without_procs(["solve", "n.yaml", "--procs", "2", "--plugin", "p.py"]) == [
        "solve", "n.yaml", "--plugin", "p.py"]


def test_export_names_a_plugin_layer_without_hook_and_uses_the_hook(tmp_path, plugin_file, site):
    pytest.importorskip("onnx")
    for kind, plugin in (("Gain", []), ("PReLU", ["--plugin", plugin_file])):
        path = netdef(tmp_path, kind, f"{kind}.yaml", kind)
        code, _, err = run("solve", path, *plugin, "--set", "solver.max_iter=10", env=site)
        assert code == 0, err
        weights = str(tmp_path / kind / "snapshot-00000010.h5")
        result = run("export", path, "--weights", weights, "-o", str(tmp_path / f"{kind}.onnx"),
                     *plugin, env=site)
        if kind == "Gain":
            assert one_line_error(*result) == (f"{path}:7: layer 'act': Gain cannot be exported "
                                               f"to ONNX: it comes from eplayers, and its class has "
                                               f"no to_onnx(self, graph, x, y) method")
        else:
            assert result[0] == 0, result[2]


def test_to_onnx_hook_computes_what_the_layer_computes(readme_prelu):
    pytest.importorskip("onnx")
    from tests.export.compare import deploy_net, graphnet_outputs, randomize, session
    net = deploy_net([readme_prelu(name="act", bottoms=["x"], tops=["y"])], {"x": ["N", 3, 4, 5]})
    rng = np.random.default_rng(4)
    randomize(net, rng)
    feeds = {"x": rng.normal(size=(3, 3, 4, 5)).astype(np.float32)}
    model, runtime = session(net)
    assert [n.op_type for n in model.graph.node] == ["PRelu"]
    np.testing.assert_allclose(runtime.run(None, feeds)[0], graphnet_outputs(net, feeds)["y"],
                               rtol=1e-6)


@needs_mpi
def test_every_process_of_a_job_loads_the_plugins(tmp_path, plugin_file):
    # --procs relaunches the command with its --plugin; plain mpiexec passes the environment.
    alone = netdef(tmp_path, "PReLU", "alone.yaml", "alone")
    assert run("solve", alone, "--plugin", plugin_file, "--set", "solver.max_iter=10")[0] == 0
    launched = netdef(tmp_path, "PReLU", "launched.yaml", "launched")
    process = mpi.start("solve", launched, "--plugin", plugin_file, "--set", "solver.max_iter=10",
                        launcher=True)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    plain = netdef(tmp_path, "PReLU", "plain.yaml", "plain")
    env = {**mpi.ENV, "GRAPHNET_PLUGINS": plugin_file}
    done = subprocess.run([mpi.MPIEXEC, "-n", "2", sys.executable, "-m", "graphnet", "solve", plain,
                           "--set", "solver.max_iter=10"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    for run_dir in ("launched", "plain"):
        assert "act/slope" in params(tmp_path / run_dir / "snapshot-00000010.h5")
    # A plugin that fails is said once for the job, by process 0, as a netdef mistake is.
    done = subprocess.run([mpi.MPIEXEC, "-n", "2", sys.executable, "-m", "graphnet", "solve", plain,
                           "--plugin", "no_such_module"], capture_output=True, text=True,
                          env=mpi.ENV, timeout=120)
    line = "--plugin no_such_module: cannot load: ModuleNotFoundError: No module named 'no_such_module'"
    assert done.returncode != 0 and done.stderr.count(line) == 1, done.stderr


def test_load_plugins_from_python(plugin_file, monkeypatch):
    import graphnet
    from graphnet import plugins
    monkeypatch.setattr(plugins, "LOADED", {})
    monkeypatch.setenv("GRAPHNET_PLUGINS", plugin_file)
    try:
        assert graphnet.load_plugins() == [plugin_file]
        assert LAYERS["PReLU"].__module__ == "prelu"
        assert graphnet.load_plugins([plugin_file]) == [plugin_file]   # once only
    finally:
        LAYERS.pop("PReLU", None)
        sys.modules.pop("prelu", None)
