"""caffemodel weights: files written by the protobuf package from a schema with Caffe's field
numbers (built here, no protoc), in both formats, read by graphnet's own wire-format reader."""

import numpy as np
import pytest

import graphnet
from graphnet import GraphnetError
from graphnet.caffe.command import import_caffe
from graphnet.caffe.weights import read_caffemodel
from graphnet.io.snapshot import Snapshot
from graphnet.solver.resume import load_weights
from tests.caffe import nets
from tests.caffe.test_import import build, write

descriptor_pb2 = pytest.importorskip("google.protobuf.descriptor_pb2")
from google.protobuf import descriptor_pool, message_factory  # noqa: E402

F = descriptor_pb2.FieldDescriptorProto


def caffe_schema(packed):
    """NetParameter and what weights need of it, with Caffe's field numbers; `packed` as
    caffe.proto declares BlobProto.data (True), or the unpacked form a reader must also take."""
    pool = descriptor_pool.DescriptorPool()
    proto = descriptor_pb2.FileDescriptorProto(name=f"caffe_{packed}.proto", package="caffe",
                                               syntax="proto2")

    def message(name, *fields):
        m = proto.message_type.add(name=name)
        for fname, number, kind, label, type_name, pack in fields:
            f = m.field.add(name=fname, number=number, type=kind, label=label)
            if type_name:
                f.type_name = f".caffe.{type_name}"
            if pack:
                f.options.packed = True

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("BlobShape", ("dim", 1, F.TYPE_INT64, rep, None, True))
    message("BlobProto", ("num", 1, F.TYPE_INT32, opt, None, False),
            ("channels", 2, F.TYPE_INT32, opt, None, False),
            ("height", 3, F.TYPE_INT32, opt, None, False),
            ("width", 4, F.TYPE_INT32, opt, None, False),
            ("data", 5, F.TYPE_FLOAT, rep, None, packed),
            ("diff", 6, F.TYPE_FLOAT, rep, None, packed),
            ("shape", 7, F.TYPE_MESSAGE, opt, "BlobShape", False),
            ("double_data", 8, F.TYPE_DOUBLE, rep, None, packed))
    message("ParamSpec", ("name", 1, F.TYPE_STRING, opt, None, False),
            ("lr_mult", 3, F.TYPE_FLOAT, opt, None, False))
    message("ConvolutionParameter", ("num_output", 1, F.TYPE_UINT32, opt, None, False),
            ("pad", 3, F.TYPE_UINT32, rep, None, False))
    message("LayerParameter", ("name", 1, F.TYPE_STRING, opt, None, False),
            ("type", 2, F.TYPE_STRING, opt, None, False),
            ("bottom", 3, F.TYPE_STRING, rep, None, False),
            ("top", 4, F.TYPE_STRING, rep, None, False),
            ("param", 6, F.TYPE_MESSAGE, rep, "ParamSpec", False),
            ("blobs", 7, F.TYPE_MESSAGE, rep, "BlobProto", False),
            ("convolution_param", 106, F.TYPE_MESSAGE, opt, "ConvolutionParameter", False))
    message("V1LayerParameter", ("bottom", 2, F.TYPE_STRING, rep, None, False),
            ("top", 3, F.TYPE_STRING, rep, None, False),
            ("name", 4, F.TYPE_STRING, opt, None, False),
            ("type", 5, F.TYPE_INT32, opt, None, False),     # the LayerType enum, a varint
            ("blobs", 6, F.TYPE_MESSAGE, rep, "BlobProto", False),
            ("blobs_lr", 7, F.TYPE_FLOAT, rep, None, False),
            ("convolution_param", 10, F.TYPE_MESSAGE, opt, "ConvolutionParameter", False))
    message("NetParameter", ("name", 1, F.TYPE_STRING, opt, None, False),
            ("layers", 2, F.TYPE_MESSAGE, rep, "V1LayerParameter", False),
            ("input", 3, F.TYPE_STRING, rep, None, False),
            ("input_dim", 4, F.TYPE_INT32, rep, None, False),
            ("layer", 100, F.TYPE_MESSAGE, rep, "LayerParameter", False))
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("caffe.NetParameter"))


def blob(msg, array, legacy=False, double=False):
    if legacy:   # old files: num, channels, height, width, padded with 1s in front
        shape = (1,) * (4 - array.ndim) + array.shape
        msg.num, msg.channels, msg.height, msg.width = shape
    else:
        msg.shape.dim.extend(array.shape)
    (msg.double_data if double else msg.data).extend(array.ravel().tolist())


def lenet_shapes(hidden):
    return {"conv1": [(20, 1, 5, 5), (20,)], "conv2": [(50, 20, 5, 5), (50,)],
            "ip1": [(hidden, 800), (hidden,)], "ip2": [(10, hidden), (10,)]}
V1_ENUM = {"conv": 4, "ip": 14}


def lenet_model(tmp_path, v1, packed, rng, hidden=500):
    NetParameter = caffe_schema(packed)
    net = NetParameter(name="LeNet")
    arrays = {}
    for name, shapes in lenet_shapes(hidden).items():
        layer = net.layers.add() if v1 else net.layer.add()
        layer.name = name
        values = [rng.normal(size=s).astype(np.float32) for s in shapes]
        arrays[name] = values
        if v1:
            layer.type = V1_ENUM[name.rstrip("12")]
            layer.blobs_lr.extend([1, 2])
        else:
            layer.type = "Convolution" if name.startswith("conv") else "InnerProduct"
            layer.param.add(lr_mult=1)
        if name.startswith("conv"):
            layer.convolution_param.num_output = shapes[0][0]
        for value in values:
            blob(layer.blobs.add(), value, legacy=v1)
        layer.bottom.append("x")
    relu = net.layers.add(name="relu1", type=18) if v1 else net.layer.add(name="relu1", type="ReLU")
    relu.top.append("ip1")
    path = tmp_path / "lenet.caffemodel"
    path.write_bytes(net.SerializeToString())
    return str(path), arrays


@pytest.mark.parametrize("v1, packed", [(True, False), (False, True), (False, False)])
def test_lenet_weights_load_and_predict(tmp_path, rng, v1, packed):
    hidden = 500 if packed else 20   # protobuf's Python writes unpacked floats slowly
    model, arrays = lenet_model(tmp_path, v1, packed, rng, hidden)
    read = read_caffemodel(model)
    assert [(name, kind) for name, kind, _ in read] == [
        ("conv1", "Convolution"), ("conv2", "Convolution"), ("ip1", "InnerProduct"),
        ("ip2", "InnerProduct")]
    out = str(tmp_path / "lenet.yaml")
    said = import_caffe(write(tmp_path, "lenet.prototxt",
                              nets.LENET_V1.replace("num_output: 500", f"num_output: {hidden}")),
                        out, weights_path=model)
    assert said[-1] == f"{tmp_path}/lenet.h5: 8 parameters from 4 layers of {model}"
    snap = Snapshot(tmp_path / "lenet.h5")
    for name, values in arrays.items():
        np.testing.assert_array_equal(snap.params[f"{name}/weight"], values[0])
        np.testing.assert_array_equal(snap.params[f"{name}/bias"], values[1])
    net = graphnet.load(out, str(tmp_path / "lenet.h5"))
    x = rng.normal(size=(3, 1, 28, 28)).astype(np.float32)
    probs = net.predict(x)
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    # and as --weights for training, which reads it as any snapshot
    assert load_weights(build(out), str(tmp_path / "lenet.h5")).startswith("weights from")


def conv3x3(x, w):
    """A plain 3x3 convolution, pad 1, stride 1: y[n, o] = sum over c, i, j of w[o, c, i, j] x."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", windows, w)


def test_residual_block_batch_norm_statistics(tmp_path, rng):
    NetParameter = caffe_schema(True)
    net = NetParameter(name="residual")
    values = {}

    def add(name, kind, arrays, double=False):
        layer = net.layer.add(name=name, type=kind)
        for a in arrays:
            blob(layer.blobs.add(), a, double=double)
        values[name] = arrays

    c = 16
    for branch in ("2a", "2b"):
        add(f"res2a_branch{branch}", "Convolution", [rng.normal(size=(c, c, 3, 3)) * 0.1],
            double=branch == "2b")
        factor = np.array([5.0])   # the sums of 5 batches' statistics, Caffe's moving average
        add(f"bn2a_branch{branch}", "BatchNorm",
            [rng.normal(size=c) * 5, rng.uniform(1, 2, size=c) * 5, factor])
        add(f"scale2a_branch{branch}", "Scale", [rng.uniform(0.5, 1.5, size=c), rng.normal(size=c)])
    model = tmp_path / "res.caffemodel"
    model.write_bytes(net.SerializeToString())
    out = str(tmp_path / "res.yaml")
    import_caffe(write(tmp_path, "res.prototxt", nets.RESIDUAL), out, weights_path=str(model))
    snap = Snapshot(tmp_path / "res.h5")
    mean_sum, var_sum, _ = values["bn2a_branch2a"]
    np.testing.assert_allclose(snap.params["bn2a_branch2a/mean"], mean_sum / 5, rtol=1e-6)
    np.testing.assert_allclose(snap.params["bn2a_branch2a/variance"], var_sum / 5, rtol=1e-6)
    assert snap.params["bn2a_branch2a/count"].tolist() == [5.0]
    loaded = graphnet.load(out, str(tmp_path / "res.h5"))
    x = rng.normal(size=(2, c, 8, 8))
    got = loaded.predict(x.astype(np.float32))

    def branch(h, b):
        (w,) = values[f"res2a_branch{b}"]
        mean, var, factor = values[f"bn2a_branch{b}"]
        gamma, beta = values[f"scale2a_branch{b}"]
        h = conv3x3(h, w)
        h = (h - (mean / factor)[:, None, None]) / np.sqrt((var / factor)[:, None, None] + (
            1e-5 if b == "2a" else 1e-3))
        return h * gamma[:, None, None] + beta[:, None, None]

    expected = np.maximum(x + branch(np.maximum(branch(x, "2a"), 0), "2b"), 0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_mistakes_are_one_line(tmp_path, rng):
    model, _ = lenet_model(tmp_path, False, True, rng)
    data = open(model, "rb").read()
    cut = tmp_path / "cut.caffemodel"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(GraphnetError, match=r"cut.caffemodel: is not a Caffe model or is damaged: "
                                            r"field \d+ runs past the end"):
        read_caffemodel(str(cut))
    other = nets.LENET_V1.replace("num_output: 500", "num_output: 400")
    with pytest.raises(GraphnetError, match=r"lenet.caffemodel: layer 'ip1' blob 'weight' has shape "
                                            r"\(500, 800\), graphnet's needs \(400, 800\)"):
        import_caffe(write(tmp_path, "n.prototxt", other), str(tmp_path / "n.yaml"), weights_path=model)


def test_lstm_and_scale_blob_order(tmp_path, rng):
    from graphnet.caffe.weights import map_weights
    text = ('input: "x" input_shape { dim: 5 dim: 2 dim: 3 } input: "cont" input_shape { dim: 5 dim: 2 }\n'
            'layer { name: "lstm1" type: "LSTM" bottom: "x" bottom: "cont" top: "h"\n'
            '  recurrent_param { num_output: 4 } }\n'
            'layer { name: "sc" type: "Scale" bottom: "h" bottom: "cont" top: "y" axis: 0 '
            'scale_param { axis: 0 bias_term: true } }\n').replace(" axis: 0 scale", " scale")
    out = str(tmp_path / "l.yaml")
    import_caffe(write(tmp_path, "l.prototxt", text), out)
    w_xc, b_c, w_hc, beta = (rng.normal(size=s) for s in ((16, 3), (16,), (16, 4), (5, 2)))
    params, unused = map_weights([("lstm1", "LSTM", [w_xc, b_c, w_hc]), ("sc", "Scale", [beta]),
                                  ("gone", "ReLU", [beta])], build(out), "l.caffemodel")
    assert unused == ["gone"]
    assert params["lstm1/weight"] is w_xc and params["lstm1/bias"] is b_c
    assert params["lstm1/recurrent"] is w_hc and params["sc/bias"] is beta
