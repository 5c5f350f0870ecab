"""Caffe layers (from a parsed prototxt) as graphnet netdef entries.

Both formats come in: V1 (`layers { type: CONVOLUTION blobs_lr: 1 }`) is first upgraded as
Caffe's upgrade_proto.cpp does it (enum to type name, blobs_lr and weight_decay to
`param`, old data fields to transform_param), and the legacy `input:` + `input_dim` /
`input_shape` become an Input layer named "input". Each field of a Caffe layer is either
mapped to graphnet's field of the same meaning, checked to hold Caffe's default, or
reported: a field graphnet has no equivalent for is an error naming its prototxt line,
or with `skip_unsupported` a warning, and the field is left out.
"""

from ..errors import GraphnetError
from ..layers import LAYERS
from .text_format import Enum, Message

V1_TYPES = {
    1: "Accuracy", 2: "BNLL", 3: "Concat", 4: "Convolution", 5: "Data", 6: "Dropout",
    7: "EuclideanLoss", 8: "Flatten", 9: "HDF5Data", 10: "HDF5Output", 11: "Im2col",
    12: "ImageData", 13: "InfogainLoss", 14: "InnerProduct", 15: "LRN",
    16: "MultinomialLogisticLoss", 17: "Pooling", 18: "ReLU", 19: "Sigmoid", 20: "Softmax",
    21: "SoftmaxWithLoss", 22: "Split", 23: "TanH", 24: "WindowData", 25: "Eltwise",
    26: "Power", 27: "SigmoidCrossEntropyLoss", 28: "HingeLoss", 29: "MemoryData",
    30: "ArgMax", 31: "Threshold", 32: "DummyData", 33: "Slice", 34: "MVN", 35: "AbsVal",
    36: "Silence", 37: "ContrastiveLoss", 38: "Exp", 39: "Deconvolution",
}
V1_NAMES = {"NONE": 0, "ACCURACY": 1, "BNLL": 2, "CONCAT": 3, "CONVOLUTION": 4, "DATA": 5,
            "DROPOUT": 6, "EUCLIDEAN_LOSS": 7, "FLATTEN": 8, "HDF5_DATA": 9, "HDF5_OUTPUT": 10,
            "IM2COL": 11, "IMAGE_DATA": 12, "INFOGAIN_LOSS": 13, "INNER_PRODUCT": 14, "LRN": 15,
            "MULTINOMIAL_LOGISTIC_LOSS": 16, "POOLING": 17, "RELU": 18, "SIGMOID": 19,
            "SOFTMAX": 20, "SOFTMAX_LOSS": 21, "SPLIT": 22, "TANH": 23, "WINDOW_DATA": 24,
            "ELTWISE": 25, "POWER": 26, "SIGMOID_CROSS_ENTROPY_LOSS": 27, "HINGE_LOSS": 28,
            "MEMORY_DATA": 29, "ARGMAX": 30, "THRESHOLD": 31, "DUMMY_DATA": 32, "SLICE": 33,
            "MVN": 34, "ABSVAL": 35, "SILENCE": 36, "CONTRASTIVE_LOSS": 37, "EXP": 38,
            "DECONVOLUTION": 39}
# The blobs of each layer type in Caffe's order, by graphnet's parameter names.
PARAM_NAMES = {"Convolution": ["weight", "bias"], "Deconvolution": ["weight", "bias"],
               "InnerProduct": ["weight", "bias"], "Scale": ["scale", "bias"], "Bias": ["bias"],
               "Embed": ["weight", "bias"], "BatchNorm": ["mean", "variance", "count"],
               "LSTM": ["weight", "bias", "recurrent"]}
# graphnet's own multipliers where they differ from Caffe's 1 and 1.
GRAPHNET_MULTS = {("Convolution", "bias"): (2.0, 0.0), ("Deconvolution", "bias"): (2.0, 0.0),
                  ("InnerProduct", "bias"): (2.0, 0.0), ("Embed", "bias"): (1.0, 0.0)}
DATA_TYPES = ("Data", "ImageData", "WindowData")
PHASES = {"TRAIN": "train", "TEST": "test", 0: "train", 1: "test"}


class Unsupported:
    """Collects what graphnet cannot express: an error at once, or warnings with skip."""

    def __init__(self, file, skip):
        self.file, self.skip, self.warnings = file, skip, []

    def __call__(self, what, line, layer=None):
        if not self.skip:
            raise GraphnetError(f"{what} (--skip-unsupported leaves it out with a warning)",
                                file=self.file, line=line, layer=layer)
        self.warnings.append(f"{self.file}:{line}: " + (f"layer '{layer}': " if layer else "") + what)


class Params:
    """A Caffe *_param message whose fields are taken one by one; the rest are reported."""

    def __init__(self, msg, layer, label):
        self.msg = msg if msg is not None else Message(layer.line)
        self.layer, self.label, self.taken = layer, label, set()

    def __contains__(self, key):
        return key in self.msg

    def get(self, key, default=None):
        self.taken.add(key)
        return self.msg.get(key, default)

    def all(self, key):
        self.taken.add(key)
        return self.msg.all(key)

    def default(self, key, value, why=""):
        """Caffe's field must hold `value` (graphnet's only behaviour) if it is given."""
        got = self.get(key, value)
        if _plain(got) != _plain(value):
            self.layer.unsupported(f"{self.label}.{key}: {_show(got)} has no equivalent in "
                                   f"graphnet{why}", self.msg.line_of(key))

    def ignore(self, *keys):
        """Fields that only choose Caffe's implementation (engine...)."""
        self.taken.update(keys)

    def finish(self):
        for key in self.msg.keys():
            if key not in self.taken:
                self.layer.unsupported(f"{self.label}.{key}: no equivalent in graphnet",
                                       self.msg.line_of(key))


def _plain(value):
    return value.upper() if isinstance(value, Enum) else value


def _show(value):
    return str(value) if isinstance(value, (Enum, int, float)) else repr(value)


class CaffeLayer:
    """One Caffe layer, modern or upgraded from V1, as the converters read it."""

    def __init__(self, msg, v1, unsupported):
        self.msg, self.line, self.v1 = msg, msg.line, v1
        self.name = msg.get("name") or f"layer{msg.line}"
        self._unsupported = unsupported
        if v1:
            kind = msg.get("type")
            number = kind if isinstance(kind, int) else V1_NAMES.get(str(kind))
            if number not in V1_TYPES:
                raise GraphnetError(f"type: unknown V1 layer type {kind}", file=unsupported.file,
                                    line=msg.line_of("type"), layer=self.name)
            self.type = V1_TYPES[number]
        else:
            self.type = str(msg.get("type", ""))
        self.kind = self.type
        self.taken = {"name", "type", "bottom", "top"}

    def unsupported(self, what, line):
        self._unsupported(what, line, self.name)

    def get(self, key, default=None):
        self.taken.add(key)
        return self.msg.get(key, default)

    def all(self, key):
        self.taken.add(key)
        return self.msg.all(key)

    def params(self, key):
        """The layer's *_param message as Params (empty if absent)."""
        self.taken.add(key)
        return Params(self.msg.get(key), self, key)

    def param_specs(self):
        """[{name, lr_mult, decay_mult}] per blob: `param {}` or V1's blobs_lr/weight_decay/param."""
        if self.v1:
            names, lrs, decays = self.all("param"), self.all("blobs_lr"), self.all("weight_decay")
            specs = [{} for _ in range(max(len(names), len(lrs), len(decays)))]
            for key, values in (("name", names), ("lr_mult", lrs), ("decay_mult", decays)):
                for spec, value in zip(specs, values):
                    spec[key] = value
            self.taken.add("blob_share_mode")
            return specs
        specs = []
        for p in self.all("param"):
            spec = {k: p.get(k) for k in ("name", "lr_mult", "decay_mult") if k in p}
            for key in p.keys():
                if key not in ("name", "lr_mult", "decay_mult", "share_mode"):
                    self.unsupported(f"param.{key}: no equivalent in graphnet", p.line_of(key))
            specs.append(spec)
        return specs


def _phase_rule(rule, layer):
    out = {}
    for key in rule.keys():
        if key == "phase":
            out["phase"] = PHASES.get(rule.get("phase"))
        elif key in ("stage", "not_stage"):
            out[key] = [str(s) for s in rule.all(key)]
        elif key in ("min_level", "max_level"):
            out[key] = int(rule.get(key))
        else:
            layer.unsupported(f"include/exclude: unknown rule field '{key}'", rule.line_of(key))
    return out


def _filler(msg, layer):
    """A Caffe FillerParameter as graphnet's filler: a number for a constant, else a mapping."""
    p = Params(msg, layer, "filler")
    kind = str(p.get("type", "constant")).lower()
    if kind == "constant":
        out = float(p.get("value", 0.0))
    elif kind == "gaussian":
        out = {"type": "gaussian", "mean": float(p.get("mean", 0.0)), "std": float(p.get("std", 1.0))}
        p.default("sparse", -1, " (sparse gaussian fillers)")
    elif kind == "uniform":
        out = {"type": "uniform", "min": float(p.get("min", 0.0)), "max": float(p.get("max", 1.0))}
    elif kind in ("xavier", "msra"):
        norm = str(p.get("variance_norm", "FAN_IN")).lower()
        out = {"type": kind} if norm == "fan_in" else {"type": kind, "variance_norm": norm}
    elif kind == "bilinear":
        out = {"type": "bilinear"}
    else:
        layer.unsupported(f"filler type '{kind}' has no equivalent in graphnet", msg.line_of("type"))
        return None
    p.finish()
    return out["type"] if isinstance(out, dict) and len(out) == 1 else out


def _pair(p, key, default):
    """Caffe's `key` (repeated, one value or one per axis) or key_h/key_w, as n or [h, w]."""
    base = {"kernel": "kernel_size"}.get(key, key)
    values = [int(v) for v in p.all(base)]
    h, w = p.get(f"{key}_h"), p.get(f"{key}_w")
    if h is not None or w is not None:
        values = [int(h if h is not None else default), int(w if w is not None else default)]
    if not values:
        return default
    if len(values) > 2:
        p.layer.unsupported(f"{p.label}.{base}: {len(values)} spatial axes (graphnet has 2)",
                            p.msg.line_of(base))
    return values[0] if len(values) == 1 or values[0] == values[1] else values[:2]


def convolution(layer, out):
    p = layer.params("convolution_param")
    out["n_filter"] = int(p.get("num_output", 0))
    out["kernel"] = _pair(p, "kernel", None)
    if out["kernel"] is None:
        out.pop("kernel")
    for key in ("stride", "pad", "dilation"):
        value = _pair(p, key, 1 if key != "pad" else 0)
        if value != (1 if key != "pad" else 0):
            out[key] = value
    if int(p.get("group", 1)) != 1:
        out["n_group"] = int(p.get("group"))
    if not _true(p.get("bias_term", True)):
        out["bias"] = False
    out["weight_filler"] = _filler(p.get("weight_filler"), layer)
    if "bias_filler" in p:
        out["bias_filler"] = _filler(p.get("bias_filler"), layer)
    p.default("axis", 1)
    p.ignore("engine", "force_nd_im2col")
    p.finish()


def _true(value):
    return value is True or (isinstance(value, str) and value.lower() in ("true", "t", "1")) or value == 1


def inner_product(layer, out):
    p = layer.params("inner_product_param")
    out["output_dim"] = int(p.get("num_output", 0))
    if not _true(p.get("bias_term", True)):
        out["bias"] = False
    if int(p.get("axis", 1)) != 1:
        out["axis"] = int(p.get("axis"))
    out["weight_filler"] = _filler(p.get("weight_filler"), layer)
    if "bias_filler" in p:
        out["bias_filler"] = _filler(p.get("bias_filler"), layer)
    p.default("transpose", Enum("false"), " (weights stored transposed)")
    p.finish()


def pooling(layer, out):
    p = layer.params("pooling_param")
    pool = str(p.get("pool", "MAX")).upper()
    if pool not in ("MAX", "AVE", "0", "1"):
        layer.unsupported(f"pooling_param.pool: {pool} has no equivalent in graphnet",
                          p.msg.line_of("pool"))
    out["pool"] = "mean" if pool in ("AVE", "1") else "max"
    if _true(p.get("global_pooling", False)):
        out["global_pooling"] = True
    for key, default in (("kernel", 1), ("stride", 1), ("pad", 0)):
        value = _pair(p, key, default)
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
        out["use_global_stats"] = _true(p.get("use_global_stats"))
    for key, default in (("moving_average_fraction", 0.999), ("eps", 1e-5)):
        if float(p.get(key, default)) != default:
            out[key] = float(p.get(key))
    p.finish()


def scale(layer, out):
    p = layer.params("scale_param")
    _axes(p, out)
    if "filler" in p:
        out["scale_filler"] = _filler(p.get("filler"), layer)
    if _true(p.get("bias_term", False)):
        out["bias"] = True
        if "bias_filler" in p:
            out["bias_filler"] = _filler(p.get("bias_filler"), layer)
    p.finish()


def bias(layer, out):
    p = layer.params("bias_param")
    _axes(p, out)
    if "filler" in p:
        out["bias_filler"] = _filler(p.get("filler"), layer)
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
        norm = "valid" if _true(p.get("normalize")) else "batch_size"
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
    if _true(p.get("out_max_val", False)):
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
    out["bias"] = _true(p.get("bias_term", True))
    out["weight_filler"] = _filler(p.get("weight_filler"), layer)
    if "bias_filler" in p:
        out["bias_filler"] = _filler(p.get("bias_filler"), layer)
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
    if _true(p.get("shuffle", False)):
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
    if _true(p.get("shuffle", False)):
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
    scale = float(p.get("scale", 1.0))
    if scale != 1:
        out["scale"] = scale
    means = [float(v) for v in p.all("mean_value")]
    if len(set(means)) == 1:
        out["mean"] = means[0]
    elif means:
        p.layer.unsupported("transform_param.mean_value: one value per channel has no "
                            "equivalent in graphnet (HDF5Data takes one number or an .h5 file)",
                            p.msg.line_of("mean_value"))
    p.default("crop_size", 0, " (HDF5Data does not crop)")
    p.default("mirror", Enum("false"), " (HDF5Data does not mirror)")
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
    out["weight_filler"] = out["recurrent_filler"] = _filler(p.get("weight_filler"), layer)
    if "bias_filler" in p:
        out["bias_filler"] = _filler(p.get("bias_filler"), layer)
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
