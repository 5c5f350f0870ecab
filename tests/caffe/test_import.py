"""import-caffe on nets written in Caffe's syntax: they build with Caffe's parameter counts and
blob shapes; fields map or are one-line errors naming the prototxt line; solvers map."""

import h5py
import numpy as np
import pytest
import yaml

from graphnet import GraphnetError, Net
from graphnet.caffe.command import import_caffe
from graphnet.cli import main
from graphnet.netdef import load_netdef
from tests.caffe import nets


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def imported(tmp_path, text, **kwargs):
    """(netdef path, printed lines) of a prototxt given as text."""
    out = str(tmp_path / "net.yaml")
    said = import_caffe(write(tmp_path, "net.prototxt", text), out, **kwargs)
    return out, said


def build(path, phase="train", **kwargs):
    netdef = load_netdef(path)
    return Net(netdef.name, netdef.layers, phase=phase, **kwargs)


def n_params(net):
    return sum(p.data.size for p in net.owned_params)


def layers_of(path):
    return {l["name"] + (f"/{l['phase']}" if "phase" in l else ""): l
            for l in yaml.safe_load(open(path))["layers"]}


def mnist_like(tmp_path, n=100):
    path = tmp_path / "digits.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.random.default_rng(0).integers(0, 256, (n, 1, 28, 28)).astype(np.float32)
        f["label"] = np.arange(n, dtype=np.float32).reshape(n, 1) % 10
    return str(path)


def test_lenet_train_test_with_its_solver(tmp_path):
    solver = write(tmp_path, "solver.prototxt", nets.LENET_SOLVER)
    out, said = imported(tmp_path, nets.LENET, solver_path=solver,
                         data={"mnist": mnist_like(tmp_path)})
    assert said[0].endswith(f"11 layers from {tmp_path}/net.prototxt, solver from {solver}")
    layers = layers_of(out)
    assert layers["mnist/train"] == {"name": "mnist", "type": "HDF5Data", "tops": ["data", "label"],
                                     "phase": "train", "source": str(tmp_path / "digits.h5"),
                                     "batch_size": 64, "scale": 0.00390625}
    assert layers["mnist/test"]["batch_size"] == 100
    # Caffe's multipliers where graphnet's own differ: the bias learns at 2 and decays at 1.
    assert layers["conv1"]["param"] == {"bias": {"lr_mult": 2.0, "decay_mult": 1.0}}
    assert layers["conv1"]["n_filter"] == 20 and layers["conv1"]["kernel"] == 5
    assert layers["loss"]["type"] == "SoftmaxLoss" and layers["accuracy/test"]["type"] == "Accuracy"
    text = open(out).read()
    assert f"# {tmp_path}/net.prototxt:3: mnist (Data)" in text
    train, test = build(out), build(out, "test")
    assert n_params(train) == 431_080
    assert train.blobs["ip2"].shape == (64, 10) and test.blobs["ip2"].shape == (100, 10)
    assert train.blobs["pool2"].shape == (64, 50, 4, 4)
    doc = yaml.safe_load(text)
    assert doc["solver"] == {"method": "sgd", "momentum": 0.9, "weight_decay": 0.0005,
                             "lr_policy": {"type": "inv", "base_lr": 0.01, "gamma": 0.0001,
                                           "power": 0.75},
                             "max_iter": 10000, "run_dir": "examples/mnist/lenet"}
    assert doc["coffee_breaks"] == [{"type": "TrainingSummary", "every_n_iter": 100},
                                    {"type": "ValidationPerformance", "every_n_iter": 500},
                                    {"type": "Snapshot", "every_n_iter": 5000}]


def test_data_paths_by_phase(tmp_path):
    data = mnist_like(tmp_path)
    out, _ = imported(tmp_path, nets.LENET, data={"mnist:train": data, "mnist:test": "x/{phase}.txt"})
    layers = layers_of(out)
    assert (layers["mnist/train"]["source"], layers["mnist/test"]["source"]) == (data, "x/test.txt")
    out, _ = imported(tmp_path, nets.LENET)
    assert layers_of(out)["mnist/test"]["source"] == "SET-ME/mnist.h5"
    assert "import with --data NAME=PATH, or --set" in open(out).read()
    with pytest.raises(GraphnetError, match=r"--data: names no data layer of the net: minst"):
        imported(tmp_path, nets.LENET, data={"minst": data})


def test_lenet_v1_with_legacy_input(tmp_path):
    out, _ = imported(tmp_path, nets.LENET_V1)
    layers = layers_of(out)
    assert layers["input"] == {"name": "input", "type": "Input", "tops": ["data"],
                               "shapes": [[64, 1, 28, 28]]}
    assert layers["conv1"]["param"] == {"bias": {"lr_mult": 2.0, "decay_mult": 1.0}}
    assert "param" not in layers["ip1"]        # blobs_lr 1 2, weight_decay 1 0: graphnet's own
    assert layers["relu1"]["type"] == "ReLU" and layers["relu1"]["tops"] == ["ip1"]
    net = build(out)
    assert n_params(net) == 431_080 and net.blobs["prob"].shape == (64, 10)


def test_cifar10_quick(tmp_path):
    out, _ = imported(tmp_path, nets.CIFAR_QUICK)
    layers = layers_of(out)
    assert layers["conv1"]["weight_filler"] == {"type": "gaussian", "mean": 0.0, "std": 0.0001}
    assert layers["pool2"]["pool"] == "mean" and layers["conv1"]["pad"] == 2
    net = build(out)
    assert n_params(net) == 145_578
    shapes = {b: net.blobs[b].shape for b in ("pool1", "pool2", "pool3", "prob")}
    assert shapes == {"pool1": (1, 32, 16, 16), "pool2": (1, 32, 8, 8), "pool3": (1, 64, 4, 4),
                      "prob": (1, 10)}


def test_alexnet_in_both_formats(tmp_path, capsys):
    modern, _ = imported(tmp_path, nets.ALEXNET)
    old = str(tmp_path / "v1.yaml")
    import_caffe(write(tmp_path, "v1.prototxt", nets.ALEXNET_V1), old)
    a, b = layers_of(modern), layers_of(old)
    b["input"]["name"] = "data"   # the legacy input layer is named "input", as Caffe names it
    assert [l for k, l in b.items()] == [a["data"]] + [l for k, l in a.items() if k != "data"] or \
        list(b.values())[1:] == list(a.values())[1:]
    assert a["conv2"]["n_group"] == 2 and a["norm1"] == {
        "name": "norm1", "type": "LRN", "bottoms": ["conv1"], "tops": ["norm1"], "alpha": 0.0001}
    assert a["drop6"]["tops"] == ["fc6"]      # in place, as in Caffe
    assert main(["info", modern]) == 0
    printed = capsys.readouterr().out
    assert "60,965,224" in printed
    for blob, shape in (("conv1", "(10, 96, 55, 55)"), ("pool5", "(10, 256, 6, 6)"),
                        ("prob", "(10, 1000)")):
        assert any(blob in line and shape in line for line in printed.splitlines()), blob


def test_inception_block_with_concat(tmp_path):
    out, _ = imported(tmp_path, nets.INCEPTION)
    net = build(out)
    assert n_params(net) == 163_696
    assert net.blobs["inception_3a/output"].shape == (2, 256, 28, 28)
    assert layers_of(out)["inception_3a/pool"]["pad"] == 1


def test_residual_block_with_batch_norm_scale_eltwise(tmp_path):
    out, _ = imported(tmp_path, nets.RESIDUAL)
    layers = layers_of(out)
    # graphnet's BatchNorm cannot run in place: its top is named after it, and readers follow.
    assert layers["bn2a_branch2a"]["tops"] == ["bn2a_branch2a"]
    assert layers["scale2a_branch2a"]["bottoms"] == layers["scale2a_branch2a"]["tops"] == ["bn2a_branch2a"]
    assert layers["res2a"]["bottoms"] == ["data", "bn2a_branch2b"]
    assert layers["bn2a_branch2b"]["eps"] == 0.001 and layers["bn2a_branch2a"]["use_global_stats"]
    assert "param" not in layers["bn2a_branch2a"]
    net = build(out)
    assert n_params(net) == 4_738                   # as Caffe counts: BatchNorm's 3 blobs too
    assert net.blobs["res2a"].shape == (2, 16, 8, 8)


LAYER = 'layer {{ name: "x" type: "Input" top: "x" input_param {{ shape {{ dim: 2 dim: 3 dim: 8 dim: 8 }} }} }}\n{}'


@pytest.mark.parametrize("body, fields", [
    ('layer { name: "s" type: "Slice" bottom: "x" top: "a" top: "b" slice_param { axis: 1 slice_point: 1 } }',
     {"slice_points": [1]}),
    ('layer { name: "e" type: "Eltwise" bottom: "x" bottom: "x" top: "y" '
     'eltwise_param { operation: SUM coeff: 1.5 coeff: -0.5 } }', {"operation": "add", "coeff": [1.5, -0.5]}),
    ('layer { name: "e" type: "Eltwise" bottom: "x" bottom: "x" top: "y" eltwise_param { operation: MAX } }',
     {"operation": "max"}),
    ('layer { name: "r" type: "ReLU" bottom: "x" top: "y" relu_param { negative_slope: 0.1 } }',
     {"type": "LeakyReLU", "slope": 0.1}),
    ('layer { name: "p" type: "Pooling" bottom: "x" top: "y" pooling_param { pool: AVE global_pooling: true } }',
     {"pool": "mean", "global_pooling": True}),
    ('layer { name: "c" type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 4 '
     'kernel_h: 3 kernel_w: 1 pad_h: 1 stride: 2 dilation: 1 engine: CUDNN } }',
     {"kernel": [3, 1], "pad": [1, 0], "stride": 2, "n_filter": 4, "weight_filler": 0.0}),
    ('layer { name: "f" type: "Flatten" bottom: "x" top: "y" flatten_param { axis: 2 } }', {"axis": 2}),
    ('layer { name: "d" type: "Dropout" bottom: "x" top: "x" dropout_param { dropout_ratio: 0.3 } }',
     {"ratio": 0.3, "tops": ["x"]}),
    ('layer { name: "l" type: "SigmoidCrossEntropyLoss" bottom: "x" bottom: "x" top: "l" loss_weight: 2 '
     'propagate_down: true propagate_down: false }',
     {"loss_weight": [2.0], "propagate_down": [True, False]}),
    ('layer { name: "l" type: "SoftmaxWithLoss" bottom: "x" bottom: "x" top: "l" '
     'loss_param { ignore_label: 255 normalize: false } }',
     {"ignore_label": 255, "normalization": "batch_size"}),
    ('layer { name: "s" type: "Scale" bottom: "x" bottom: "x" top: "y" scale_param { axis: 0 } }',
     {"axis": 0}),
    ('layer { name: "b" type: "Bias" bottom: "x" top: "y" bias_param { filler { type: "constant" value: 1 } } }',
     {"bias_filler": 1.0}),
    ('layer { name: "r" type: "Reshape" bottom: "x" top: "y" reshape_param { shape { dim: 0 dim: -1 } } }',
     {"shape": [0, -1]}),
    ('layer { name: "t" type: "TanH" bottom: "x" top: "y" tanh_param { engine: CAFFE } '
     'include { phase: TRAIN stage: "big" } }',
     {"type": "Tanh", "include": [{"phase": "train", "stage": ["big"]}]}),
    ('layer { name: "d" type: "Deconvolution" bottom: "x" top: "y" convolution_param { num_output: 2 '
     'kernel_size: 4 stride: 2 group: 1 bias_term: false weight_filler { type: "bilinear" } } }',
     {"type": "Deconvolution", "kernel": 4, "stride": 2, "bias": False, "weight_filler": "bilinear"}),
    ('layer { name: "c" type: "Crop" bottom: "x" bottom: "x" top: "y" crop_param { axis: 2 offset: 0 } }',
     {"offset": [0]}),
    ('layer { name: "a" type: "ArgMax" bottom: "x" top: "y" argmax_param { top_k: 2 axis: 1 } }',
     {"top_k": 2, "axis": 1}),
    ('layer { name: "p" type: "Power" bottom: "x" top: "y" power_param { power: 2 shift: 1 } }',
     {"power": 2.0, "shift": 1.0}),
    ('layer { name: "e" type: "Exp" bottom: "x" top: "y" exp_param { base: -1 } exclude { phase: TEST } }',
     {"type": "Exponential", "exclude": [{"phase": "test"}]}),
    ('layer { name: "s" type: "Softmax" bottom: "x" top: "y" softmax_param { axis: -1 } }', {"axis": -1}),
    ('layer { name: "n" type: "LRN" bottom: "x" top: "y" lrn_param { local_size: 3 norm_region: WITHIN_CHANNEL } }',
     {"local_size": 3, "norm_region": "within_channel"}),
])
def test_fields_map(tmp_path, body, fields):
    out, _ = imported(tmp_path, LAYER.format(body))
    entry = yaml.safe_load(open(out))["layers"][1]
    assert {k: entry[k] for k in fields} == fields
    if "SoftmaxWithLoss" not in body:    # (x is no label)
        build(out)


def test_shared_parameters_by_name(tmp_path):
    body = "".join(f'layer {{ name: "ip{i}" type: "InnerProduct" bottom: "x" top: "y{i}" '
                   f'param {{ name: "w" }} param {{ name: "b" lr_mult: 2 decay_mult: 0 }} '
                   f'inner_product_param {{ num_output: 5 }} }}\n' for i in (1, 2))
    out, _ = imported(tmp_path, LAYER.format(body))
    layers = layers_of(out)
    assert "param_key" not in layers["ip1"] and layers["ip2"]["param_key"] == "ip1"
    net = build(out)
    assert net.params["ip1"][0] is net.params["ip2"][0] and n_params(net) == 193 * 5
    partial = body.replace('param { name: "b" lr_mult: 2 decay_mult: 0 }', "param { lr_mult: 2 }", 1)
    with pytest.raises(GraphnetError, match=r"net.prototxt:3: layer 'ip2': param.name: shares only "
                                            r"some of the layer's parameters"):
        imported(tmp_path, LAYER.format(partial))


@pytest.mark.parametrize("body, message", [
    ('layer { name: "c" type: "Convolution" bottom: "x" top: "y"\n convolution_param { num_output: 4 kernel_size: 3\n'
     ' axis: 2 } }', "net.prototxt:4: layer 'c': convolution_param.axis: 2 has no equivalent in graphnet"),
    ('layer { name: "p" type: "PReLU" bottom: "x" top: "y" }',
     "net.prototxt:2: layer 'p': type: Caffe layer type 'PReLU' has no equivalent in graphnet"),
    ('layer { name: "p" type: "Pooling" bottom: "x" top: "y"\n pooling_param { pool: STOCHASTIC } }',
     "net.prototxt:3: layer 'p': pooling_param.pool: STOCHASTIC has no equivalent in graphnet"),
    ('layer { name: "r" type: "ReLU" bottom: "x" top: "y"\n\n  threshold_param { threshold: 1 } }',
     "net.prototxt:4: layer 'r': threshold_param: no equivalent in graphnet"),
    ('layer { name: "d" type: "Data" top: "d" data_param { batch_size: 4 }\n'
     ' transform_param { crop_size: 227 mirror: true force_gray: true } }',
     "net.prototxt:3: layer 'd': transform_param.force_gray: true has no equivalent in graphnet"),
])
def test_unsupported_is_one_line_or_a_warning(tmp_path, body, message):
    with pytest.raises(GraphnetError) as err:
        imported(tmp_path, LAYER.format(body))
    assert str(err.value).startswith(f"{tmp_path}/{message}")
    assert str(err.value).endswith("(--skip-unsupported leaves it out with a warning)")
    out, said = imported(tmp_path, LAYER.format(body), skip_unsupported=True)
    assert said[1] == f"warning: {tmp_path}/{message}"
    assert f"# left out: {tmp_path}/{message}" in open(out).read()


def test_both_formats_in_one_file_is_an_error(tmp_path):
    with pytest.raises(GraphnetError, match=r"net.prototxt:2: has both 'layer' and V1 'layers'"):
        imported(tmp_path, 'layer { name: "a" type: "ReLU" }\nlayers { name: "b" type: RELU }')


SOLVERS = [
    ("base_lr: 0.1 lr_policy: 'step' gamma: 0.1 stepsize: 1000 max_iter: 3000 type: 'Nesterov' momentum: 0.9",
     {"method": "nesterov", "momentum": 0.9,
      "lr_policy": {"type": "step", "base_lr": 0.1, "gamma": 0.1, "stepsize": 1000}, "max_iter": 3000}),
    ("base_lr: 0.001 lr_policy: 'multistep' gamma: 0.5 stepvalue: 100 stepvalue: 200 max_iter: 300 "
     "solver_type: ADAM momentum: 0.9 momentum2: 0.99 regularization_type: 'L1' weight_decay: 0.01 "
     "iter_size: 2 clip_gradients: 10",
     {"method": {"type": "adam", "beta1": 0.9, "beta2": 0.99, "delta": 1e-8},
      "lr_policy": {"type": "multistep", "base_lr": 0.001, "gamma": 0.5, "stepvalues": [100, 200]},
      "weight_decay": 0.01, "regularization": "l1", "max_iter": 300, "iter_size": 2,
      "clip_gradients": 10.0}),
    ("base_lr: 0.01 lr_policy: 'poly' power: 2 max_iter: 50 type: 'RMSProp' rms_decay: 0.9",
     {"method": {"type": "rmsprop", "rho": 0.9, "delta": 1e-8},
      "lr_policy": {"type": "poly", "base_lr": 0.01, "power": 2.0, "max_iter": 50}, "max_iter": 50}),
]


@pytest.mark.parametrize("text, expected", SOLVERS)
def test_solvers(tmp_path, text, expected):
    out, _ = imported(tmp_path, nets.LENET_V1,
                      solver_path=write(tmp_path, "s.prototxt", text + " random_seed: 7"))
    doc = yaml.safe_load(open(out))
    assert doc["solver"] == expected and doc["seed"] == 7
    netdef = load_netdef(out)
    from graphnet.solver import Solver
    Solver.from_netdef(netdef)


def test_solver_field_without_equivalent(tmp_path):
    solver = write(tmp_path, "s.prototxt", "base_lr: 0.1\nmax_iter: 10\nlr_policy: 'fixed'\n\n"
                                           "weights: 'a.caffemodel'\n")
    with pytest.raises(GraphnetError, match=r"s.prototxt:5: weights: no equivalent in graphnet's solver"):
        imported(tmp_path, nets.LENET_V1, solver_path=solver)


def test_command_line(tmp_path, capsys):
    net = write(tmp_path, "n.prototxt", nets.CIFAR_QUICK)
    out = str(tmp_path / "c.yaml")
    assert main(["import-caffe", net, "-o", out]) == 0
    assert capsys.readouterr().out == f"{out}: 13 layers from {net}\n"
    assert main(["import-caffe", str(tmp_path / "missing.prototxt"), "-o", out]) == 2
    assert capsys.readouterr().err == f"{tmp_path}/missing.prototxt: no such file\n"
    assert main(["import-caffe", net, "-o", out, "--data", "nonsense"]) == 2
    assert capsys.readouterr().err == "--data: must be NAME=PATH, got 'nonsense'\n"


def as_v1(text):
    """A modern prototxt written the V1 way, as old files are (the types Inception uses)."""
    for new, old in (('"Convolution"', "CONVOLUTION"), ('"ReLU"', "RELU"), ('"Pooling"', "POOLING"),
                     ('"Concat"', "CONCAT")):
        text = text.replace(f"type: {new}", f"type: {old}")
    return text.replace("layer {", "layers {")


def test_inception_block_in_v1(tmp_path):
    modern, _ = imported(tmp_path, nets.INCEPTION)
    old = str(tmp_path / "v1.yaml")
    import_caffe(write(tmp_path, "v1.prototxt", as_v1(nets.INCEPTION)), old)
    assert list(layers_of(old).values()) == list(layers_of(modern).values())
    assert n_params(build(old)) == 163_696


def test_lstm(tmp_path):
    text = ('input: "x" input_shape { dim: 5 dim: 2 dim: 3 } input: "cont" input_shape { dim: 5 dim: 2 }\n'
            'layer { name: "lstm1" type: "LSTM" bottom: "x" bottom: "cont" top: "h"\n'
            '  recurrent_param { num_output: 4 weight_filler { type: "uniform" min: -0.1 max: 0.1 } } }\n')
    out, _ = imported(tmp_path, text)
    entry = layers_of(out)["lstm1"]
    assert entry["forget_bias"] is None and entry["output_dim"] == 4
    assert entry["weight_filler"] == entry["recurrent_filler"] == {"type": "uniform", "min": -0.1, "max": 0.1}
    net = build(out)
    # Caffe's blobs: W_xc (4H, I), b_c (4H), W_hc (4H, H): 48 + 16 + 64
    assert n_params(net) == 128 and net.blobs["h"].shape == (5, 2, 4)


def test_data_layers(tmp_path):
    text = ('layer { name: "h" type: "HDF5Data" top: "data" top: "label" include { phase: TRAIN }\n'
            '  hdf5_data_param { source: "train.txt" batch_size: 32 shuffle: true } }\n'
            'layer { name: "m" type: "MemoryData" top: "data" top: "label" include { phase: TEST }\n'
            '  memory_data_param { batch_size: 5 channels: 1 height: 28 width: 28 } }\n'
            'layers { name: "old" type: IMAGE_DATA top: "img" top: "l"\n'
            '  image_data_param { source: "list.txt" batch_size: 8 scale: 0.5 }\n'
            '  transform_param { mean_value: 104 mean_value: 104 } }\n')
    with pytest.raises(GraphnetError, match=r"has both 'layer' and V1 'layers'"):
        imported(tmp_path, text)
    out, _ = imported(tmp_path, text.rsplit("layers {", 1)[0])
    layers = layers_of(out)
    assert layers["h/train"] == {"name": "h", "type": "HDF5Data", "tops": ["data", "label"], "phase": "train",
                                 "source": "train.txt", "batch_size": 32, "shuffle": True}
    assert layers["m/test"]["type"] == "Input" and layers["m/test"]["shapes"] == [[5, 1, 28, 28], [5]]
    v1 = "layers {" + text.rsplit("layers {", 1)[1]
    out, _ = imported(tmp_path, v1, data={"old": "imgs.h5"})
    assert layers_of(out)["old"] == {"name": "old", "type": "HDF5Data", "tops": ["img", "l"],
                                     "source": "imgs.h5", "batch_size": 8, "scale": 0.5, "mean": 104.0}


TRANSFORMED = """name: "T"
layer { name: "d" type: "Data" top: "data" top: "label" include { phase: TRAIN }
  transform_param { mirror: true crop_size: 6 mean_value: 104 mean_value: 117 mean_value: 123 scale: 0.5 }
  data_param { source: "train_lmdb" batch_size: 4 backend: LMDB } }
layer { name: "d" type: "Data" top: "data" top: "label" include { phase: TEST }
  transform_param { crop_size: 6 mean_value: 104 mean_value: 117 mean_value: 123 scale: 0.5 }
  data_param { source: "test_lmdb" batch_size: 2 backend: LMDB } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 3 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
"""


def test_transform_param_maps_to_the_data_layers_transforms(tmp_path):
    """crop_size, mirror and a mean per channel become HDF5Data's crop, mirror and mean, and
    the net serves Caffe's (N, C, crop, crop): a random crop in training, the centre in test."""
    x = np.random.default_rng(0).integers(0, 256, size=(10, 3, 8, 8), dtype=np.uint8)
    with h5py.File(tmp_path / "images.h5", "w") as f:
        f.create_dataset("data", data=x)
        f.create_dataset("label", data=np.arange(10) % 3)
    out, _ = imported(tmp_path, TRANSFORMED, data={"d": str(tmp_path / "images.h5")})
    layers = layers_of(out)
    assert {k: layers["d/train"][k] for k in ("scale", "mean", "crop", "mirror")} == \
        {"scale": 0.5, "mean": [104.0, 117.0, 123.0], "crop": 6, "mirror": True}
    assert "mirror" not in layers["d/test"] and layers["d/test"]["crop"] == 6
    train = build(out, dtype="float64")
    assert train.blobs["data"].shape == (4, 3, 6, 6) and n_params(train) == 3 * 108 + 3
    train.forward()
    test = build(out, phase="test", dtype="float64")
    test.forward()
    mean = np.array([104.0, 117.0, 123.0])[:, None, None]
    np.testing.assert_array_equal(test.blobs["data"].data, (x[:2, :, 1:7, 1:7] - mean) * 0.5)


def test_a_v1_transform_in_data_param_maps_too(tmp_path):
    text = ('layers { name: "old" type: DATA top: "img" top: "l"\n'
            '  data_param { source: "lmdb" batch_size: 8 scale: 0.00390625 crop_size: 24 mirror: true } }\n')
    out, _ = imported(tmp_path, text, data={"old": "imgs.h5"})
    assert layers_of(out)["old"] == {"name": "old", "type": "HDF5Data", "tops": ["img", "l"], "source": "imgs.h5",
                                     "batch_size": 8, "scale": 0.00390625, "crop": 24, "mirror": True}
