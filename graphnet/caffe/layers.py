"""Caffe layers as graphnet netdef entries: a converter per Caffe type.

Each field of a Caffe layer's *_param is mapped to graphnet's field of the same meaning,
checked to hold the only value graphnet has (Params.default), or left for the caller to
report (Params.finish). The blobs each type holds, in Caffe's order, are PARAM_NAMES.
"""

from .caffe_layer import Enum, Params, caffe_filler, is_true, spatial

# The blobs of each layer type in Caffe's order, by graphnet's parameter names.
PARAM_NAMES = {"Convolution": ["weight", "bias"], "Deconvolution": ["weight", "bias"],
               "InnerProduct": ["weight", "bias"], "Scale": ["scale", "bias"], "Bias": ["bias"],
               "Embed": ["weight", "bias"], "BatchNorm": ["mean", "variance", "count"],
               "LSTM": ["weight", "bias", "recurrent"]}
# graphnet's own multipliers where they differ from Caffe's 1 and 1.
GRAPHNET_MULTS = {("Convolution", "bias"): (2.0, 0.0), ("Deconvolution", "bias"): (2.0, 0.0),
                  ("InnerProduct", "bias"): (2.0, 0.0), ("Embed", "bias"): (1.0, 0.0)}
DATA_TYPES = ("Data", "ImageData", "WindowData")


def convolution(layer, out):
    p = layer.params("convolution_param")
    out["n_filter"] = int(p.get("num_output", 0))
    out["kernel"] = spatial(p, "kernel", None)
    if out["kernel"] is None:
        out.pop("kernel")
    for key in ("stride", "pad", "dilation"):
        value = spatial(p, key, 1 if key != "pad" else 0)
        if value != (1 if key != "pad" else 0):
            out[key] = value
    if int(p.get("group", 1)) != 1:
        out["n_group"] = int(p.get("group"))
    if not is_true(p.get("bias_term", True)):
        out["bias"] = False
    out["weight_filler"] = caffe_filler(p.get("weight_filler"), layer)
    if "bias_filler" in p:
        out["bias_filler"] = caffe_filler(p.get("bias_filler"), layer)
    p.default("axis", 1)
    p.ignore("engine", "force_nd_im2col")
    p.finish()


def inner_product(layer, out):
    p = layer.params("inner_product_param")
    out["output_dim"] = int(p.get("num_output", 0))
    if not is_true(p.get("bias_term", True)):
        out["bias"] = False
    if int(p.get("axis", 1)) != 1:
        out["axis"] = int(p.get("axis"))
    out["weight_filler"] = caffe_filler(p.get("weight_filler"), layer)
    if "bias_filler" in p:
        out["bias_filler"] = caffe_filler(p.get("bias_filler"), layer)
    p.default("transpose", Enum("false"), " (weights stored transposed)")
    p.finish()


def pooling(layer, out):
    p = layer.params("pooling_param")
    pool = str(p.get("pool", "MAX")).upper()
    if pool not in ("MAX", "AVE", "0", "1"):
        layer.unsupported(f"pooling_param.pool: {pool} has no equivalent in graphnet",
                          p.msg.line_of("pool"))
    out["pool"] = "mean" if pool in ("AVE", "1") else "max"
    if is_true(p.get("global_pooling", False)):
        out["global_pooling"] = True
    for key, default in (("kernel", 1), ("stride", 1), ("pad", 0)):
        value = spatial(p, key, default)
        if value != default:
            out[key] = value
    p.default("round_mode", Enum("CEIL"), " (graphnet rounds up, as Caffe's CEIL)")
    p.ignore("engine")
    p.finish()


def lrn(layer, out):
    p = layer.params("lrn_param")
    for key, default in (("local_size", 5), ("alpha", 1.0), ("beta", 0.75), ("k", 1.0)):
        value = p.get(key, default)
        if value != default:
            out[key] = type(default)(value)
    region = str(p.get("norm_region", "ACROSS_CHANNELS")).upper()
    if region in ("WITHIN_CHANNEL", "1"):
        out["norm_region"] = "within_channel"
    p.ignore("engine")
    p.finish()


def batch_norm(layer, out):
    p = layer.params("batch_norm_param")
    if "use_global_stats" in p:
        out["use_global_stats"] = is_true(p.get("use_global_stats"))
    for key, default in (("moving_average_fraction", 0.999), ("eps", 1e-5)):
        if float(p.get(key, default)) != default:
            out[key] = float(p.get(key))
    p.finish()


def scale(layer, out):
    p = layer.params("scale_param")
    _axes(p, out)
    if "filler" in p:
        out["scale_filler"] = caffe_filler(p.get("filler"), layer)
    if is_true(p.get("bias_term", False)):
        out["bias"] = True
        if "bias_filler" in p:
            out["bias_filler"] = caffe_filler(p.get("bias_filler"), layer)
    p.finish()


def bias(layer, out):
    p = layer.params("bias_param")
    _axes(p, out)
    if "filler" in p:
        out["bias_filler"] = caffe_filler(p.get("filler"), layer)
    p.finish()


def _axes(p, out):
    for key in ("axis", "num_axes"):
        if int(p.get(key, 1)) != 1:
            out[key] = int(p.get(key))


def eltwise(layer, out):
    p = layer.params("eltwise_param")
    op = str(p.get("operation", "SUM")).upper()
    out["operation"] = {"SUM": "add", "1": "add", "PROD": "mul", "0": "mul", "MAX": "max", "2": "max"}[op]
    coeff = [float(c) for c in p.all("coeff")]
    if coeff and any(c != 1 for c in coeff):
        out["coeff"] = coeff
    p.ignore("stable_prod_grad")   # graphnet's product gradient never divides: always stable
    p.finish()


def concat(layer, out):
    p = layer.params("concat_param")
    axis = int(p.get("axis", p.get("concat_dim", 1)))
    if axis != 1:
        out["axis"] = axis


def slice_(layer, out):
    p = layer.params("slice_param")
    axis = int(p.get("axis", p.get("slice_dim", 1)))
    if axis != 1:
        out["axis"] = axis
    points = [int(v) for v in p.all("slice_point")]
    if points:
        out["slice_points"] = points
    p.finish()


def softmax(layer, out):
    p = layer.params("softmax_param")
    if int(p.get("axis", 1)) != 1:
        out["axis"] = int(p.get("axis"))
    p.ignore("engine")
    p.finish()


def loss_fields(layer, out, default_normalization="valid", axis=True):
    p = layer.params("loss_param")
    if "ignore_label" in p:
        out["ignore_label"] = int(p.get("ignore_label"))
    if "normalization" in p:
        norm = str(p.get("normalization")).lower()
        norm = {"0": "full", "1": "valid", "2": "batch_size", "3": "none"}.get(norm, norm)
    elif "normalize" in p:
        norm = "valid" if is_true(p.get("normalize")) else "batch_size"
    else:
        norm = default_normalization
    if norm != default_normalization or "normalization" in p or "normalize" in p:
        out["normalization"] = norm
    p.finish()
    if axis:
        softmax(layer, out)


def relu(layer, out):
    p = layer.params("relu_param")
    slope = float(p.get("negative_slope", 0.0))
    if slope:
        out["type"], out["slope"] = "LeakyReLU", slope
    p.ignore("engine")
    p.finish()


def dropout(layer, out):
    p = layer.params("dropout_param")
    ratio = float(p.get("dropout_ratio", 0.5))
    if ratio != 0.5:
        out["ratio"] = ratio
    p.finish()


def power(layer, out):
    p = layer.params("power_param")
    for key, default in (("power", 1.0), ("scale", 1.0), ("shift", 0.0)):
        if float(p.get(key, default)) != default:
            out[key] = float(p.get(key))
    p.finish()


def exp(layer, out):
    p = layer.params("exp_param")
    p.default("base", -1.0, " (only base e)")
    p.default("scale", 1.0, " (only scale 1)")
    p.default("shift", 0.0, " (only shift 0)")
    p.finish()


def accuracy(layer, out):
    p = layer.params("accuracy_param")
    for key, default in (("top_k", 1), ("axis", 1)):
        if int(p.get(key, default)) != default:
            out[key] = int(p.get(key))
    if "ignore_label" in p:
        out["ignore_label"] = int(p.get("ignore_label"))
    p.finish()


def argmax(layer, out):
    p = layer.params("argmax_param")
    if int(p.get("top_k", 1)) != 1:
        out["top_k"] = int(p.get("top_k"))
    if is_true(p.get("out_max_val", False)):
        out["out_max_val"] = True
    if "axis" in p:
        out["axis"] = int(p.get("axis"))
    else:   # Caffe without an axis takes each sample's whole (flattened) blob
        layer.comments.append("Caffe's ArgMax without an axis searches each sample whole; "
                              "axis 1 is the same for (N, C) inputs")
    p.finish()


def flatten(layer, out):
    p = layer.params("flatten_param")
    for key, default in (("axis", 1), ("end_axis", -1)):
        if int(p.get(key, default)) != default:
            out[key] = int(p.get(key))
    p.finish()


def reshape(layer, out):
    p = layer.params("reshape_param")
    shape = p.get("shape")
    out["shape"] = [int(d) for d in shape.all("dim")] if shape is not None else []
    p.default("axis", 0, " (Reshape of part of the axes)")
    p.default("num_axes", -1, " (Reshape of part of the axes)")
    p.finish()


def crop(layer, out):
    p = layer.params("crop_param")
    if int(p.get("axis", 2)) != 2:
        out["axis"] = int(p.get("axis"))
    offsets = [int(v) for v in p.all("offset")]
    if offsets:
        out["offset"] = offsets
    p.finish()


def embed(layer, out):
    p = layer.params("embed_param")
    out["output_dim"], out["input_dim"] = int(p.get("num_output", 0)), int(p.get("input_dim", 0))
    out["bias"] = is_true(p.get("bias_term", True))
    out["weight_filler"] = caffe_filler(p.get("weight_filler"), layer)
    if "bias_filler" in p:
        out["bias_filler"] = caffe_filler(p.get("bias_filler"), layer)
    p.finish()


def hinge_loss(layer, out):
    p = layer.params("hinge_loss_param")
    if str(p.get("norm", "L1")).upper() in ("L2", "2"):
        out["norm"] = "l2"
    p.finish()


def input_(layer, out):
    p = layer.params("input_param")
    shapes = [[int(d) for d in s.all("dim")] for s in p.all("shape")]
    if len(shapes) == 1 and len(layer.tops) > 1:
        shapes = shapes * len(layer.tops)
    out["shapes"] = shapes
    p.finish()


def hdf5_data(layer, out, ctx):
    p = layer.params("hdf5_data_param")
    out["source"] = ctx.source(layer, str(p.get("source", "")))
    out["batch_size"] = int(p.get("batch_size", 0))
    if is_true(p.get("shuffle", False)):
        out["shuffle"] = True
    p.finish()


def data_layer(layer, out, ctx):
    """Data, ImageData: their LMDB/LevelDB or image lists become an HDF5Data the user points."""
    key = {"Data": "data_param", "ImageData": "image_data_param",
           "WindowData": "window_data_param"}[layer.type]
    p = layer.params(key)
    original = str(p.get("source", ""))
    out["type"] = "HDF5Data"
    out["source"] = ctx.source(layer, None)
    out["batch_size"] = int(p.get("batch_size", 0))
    if is_true(p.get("shuffle", False)):
        out["shuffle"] = True
    p.ignore("backend", "rand_skip", "prefetch", "root_folder", "new_height", "new_width",
             "is_color", "force_encoded_color")
    transform = Params(layer.msg.get("transform_param"), layer, "transform_param")
    layer.taken.add("transform_param")
    # V1 kept the transform in data_param; Caffe's upgrader moves it.
    for key in ("scale", "mean_file", "crop_size", "mirror"):
        if key in p and key not in transform:
            transform.msg.entries.append((key, p.get(key), p.msg.line_of(key)))
    _transform(transform, out)
    read = f"Caffe's {layer.type} read {original or 'a database'}"
    layer.comments.append(f"{read}; here HDF5Data reads datasets {', '.join(layer.tops)} from "
                          f"the source given with --data" if ctx.given(layer) else
                          f"{read}: set `source` to an .h5 file (or a .txt list of them) holding "
                          f"datasets {', '.join(layer.tops)} (import with --data NAME=PATH, or --set)")
    p.finish()


def _transform(p, out):
    """transform_param onto HDF5Data's fields of the same meaning (Caffe's DataTransformer)."""
    scale = float(p.get("scale", 1.0))
    if scale != 1:
        out["scale"] = scale
    means = [float(v) for v in p.all("mean_value")]
    if len(set(means)) == 1:
        out["mean"] = means[0]
    elif means:
        out["mean"] = means
    crop = int(p.get("crop_size", 0))
    if crop:
        out["crop"] = crop
    if is_true(p.get("mirror", False)):
        out["mirror"] = True
    p.default("force_color", Enum("false"))
    p.default("force_gray", Enum("false"))
    if "mean_file" in p:
        p.default("mean_file", "", " (a .binaryproto mean: make it an .h5 file with a "
                  "dataset 'mean' and give `mean`)")
    p.finish()


def memory_data(layer, out):
    p = layer.params("memory_data_param")
    n = int(p.get("batch_size", 1))
    sample = [int(p.get(k, 1)) for k in ("channels", "height", "width")]
    out["type"] = "Input"
    out["shapes"] = [[n, *sample], [n]][:len(layer.tops)]
    layer.comments.append("Caffe's MemoryData, fed from a program: here an Input of its shapes")
    p.finish()


def recurrent(layer, out):
    p = layer.params("recurrent_param")
    out["output_dim"] = int(p.get("num_output", 0))
    out["weight_filler"] = out["recurrent_filler"] = caffe_filler(p.get("weight_filler"), layer)
    if "bias_filler" in p:
        out["bias_filler"] = caffe_filler(p.get("bias_filler"), layer)
    out["forget_bias"] = None   # Caffe's LSTM starts its forget gate at the bias filler
    p.default("expose_hidden", Enum("false"), " (the state is carried inside the layer)")
    p.default("debug_info", Enum("false"))
    p.finish()


CONVERTERS = {
    "Convolution": ("Convolution", convolution), "Deconvolution": ("Deconvolution", convolution),
    "InnerProduct": ("InnerProduct", inner_product), "Pooling": ("Pooling", pooling),
    "LRN": ("LRN", lrn), "BatchNorm": ("BatchNorm", batch_norm), "Scale": ("Scale", scale),
    "Bias": ("Bias", bias), "Eltwise": ("ElementWise", eltwise), "Concat": ("Concat", concat),
    "Slice": ("Slice", slice_), "Softmax": ("Softmax", softmax),
    "SoftmaxWithLoss": ("SoftmaxLoss", loss_fields),
    "MultinomialLogisticLoss": ("MultinomialLogisticLoss", lambda l, o: loss_fields(l, o, axis=False)),
    "SigmoidCrossEntropyLoss": ("SigmoidCrossEntropyLoss",
                                lambda l, o: loss_fields(l, o, "batch_size", axis=False)),
    "EuclideanLoss": ("SquareLoss", None),
    "HingeLoss": ("HingeLoss", hinge_loss), "ReLU": ("ReLU", relu), "Dropout": ("Dropout", dropout),
    "Power": ("Power", power), "Exp": ("Exponential", exp), "Accuracy": ("Accuracy", accuracy),
    "ArgMax": ("ArgMax", argmax), "Flatten": ("Flatten", flatten), "Reshape": ("Reshape", reshape),
    "Crop": ("Crop", crop), "Embed": ("Embed", embed), "Input": ("Input", input_),
    "MemoryData": ("MemoryData", memory_data), "LSTM": ("LSTM", recurrent),
    "Sigmoid": ("Sigmoid", None), "TanH": ("Tanh", None), "Split": ("Split", None),
}
SOURCES = {"HDF5Data": hdf5_data, **{t: data_layer for t in DATA_TYPES}}
