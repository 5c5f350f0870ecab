"""Weights from a .caffemodel (a binary NetParameter), read with a small protobuf wire-format
reader: no protobuf package, no caffe.proto.

Only what weights need is decoded: each layer's name, type and blobs (modern `layer` #100
with name #1, type #2, blobs #7; V1 `layers` #2 with name #4, type enum #5, blobs #6),
and each blob's shape (#7, or the legacy num/channels/height/width #1-#4) and values
(float #5 or double #8, packed or not). Everything else is skipped by its wire type.
"""

import numpy as np

from ..errors import GraphnetError
from .caffe_layer import V1_TYPES
from .layers import PARAM_NAMES


def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("a number runs past the end")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("a number is longer than 10 bytes")


def fields(buf):
    """(field number, wire type, value) of each record of one message: a varint as an int,
    a LEN record as a memoryview, fixed 32/64-bit records as their bytes."""
    pos, end = 0, len(buf)
    while pos < end:
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise ValueError(f"field {number} runs past the end")
            value, pos = buf[pos:pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > end:
                raise ValueError(f"field {number} runs past the end")
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise ValueError(f"field {number} has wire type {wire}, which caffe.proto never uses")
        yield number, wire, value


def _packed_varints(buf):
    pos, out = 0, []
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        out.append(value - (1 << 64) if value >= 1 << 63 else value)
    return out


def read_blob(buf):
    """A BlobProto as a float32 or float64 array of its shape."""
    dims, legacy, floats, doubles = [], {}, [], []
    for number, wire, value in fields(buf):
        if number == 7 and wire == 2:
            for n, w, v in fields(value):
                if n == 1:
                    dims += _packed_varints(v) if w == 2 else [v - (1 << 64) if v >= 1 << 63 else v]
        elif number in (1, 2, 3, 4) and wire == 0:
            legacy[number] = value
        elif number == 5:
            floats.append(np.frombuffer(value, "<f4"))
        elif number == 8:
            doubles.append(np.frombuffer(value, "<f8"))
    data = np.concatenate(doubles) if doubles else (
        np.concatenate(floats) if floats else np.zeros(0, np.float32))
    shape = dims if dims else [legacy.get(i, 1) for i in (1, 2, 3, 4)] if legacy else [data.size]
    if int(np.prod(shape)) != data.size:
        raise ValueError(f"a blob of shape {tuple(shape)} holds {data.size} values")
    return data.reshape(shape)


def read_caffemodel(path):
    """[(layer name, layer type, [blob arrays])] of every layer that has blobs."""
    try:
        with open(path, "rb") as f:
            buf = memoryview(f.read())
    except OSError as err:
        raise GraphnetError(f"cannot be read ({err.strerror})", file=path) from None
    layers = []
    try:
        for number, wire, value in fields(buf):
            if wire != 2 or number not in (2, 100):
                continue
            v1 = number == 2
            name, kind, blobs = None, None, []
            for n, w, v in fields(value):
                if n == (4 if v1 else 1) and w == 2:
                    name = bytes(v).decode("utf-8")
                elif n == (5 if v1 else 2):
                    kind = V1_TYPES.get(v) if v1 else bytes(v).decode("utf-8")
                elif n == (6 if v1 else 7) and w == 2:
                    blobs.append(read_blob(v))
                elif v1 and n == 1 and w == 2:
                    raise ValueError("a V0 layer; upgrade the model with Caffe's "
                                     "upgrade_net_proto_binary first")
            if blobs:
                layers.append((name, kind, blobs))
    except (ValueError, UnicodeDecodeError) as err:
        raise GraphnetError(f"is not a Caffe model or is damaged: {err}", file=path) from None
    return layers


def map_weights(caffe_layers, net, path):
    """{param key: array} for `net` (a graphnet Net) from the caffemodel's layers, matched by
    layer name as Caffe's CopyTrainedLayersFrom does; legacy 4-D blob shapes are compared
    from the last axis back. BatchNorm's sums and factor become the running mean/variance.
    Returns (params, [layers of the model not in the net])."""
    by_name = {}
    for layer in net.layers:
        by_name.setdefault(layer.name, layer)
    out, unused = {}, []
    for name, kind, blobs in caffe_layers:
        layer = by_name.get(name)
        if layer is None or layer.name not in net.params:
            unused.append(name)
            continue
        params = {p.key.split("/")[-1]: p for p in net.params[layer.name]}
        gtype = type(layer).__name__
        if gtype == "BatchNorm":
            blobs = _batch_norm(blobs, name, path)
        names = PARAM_NAMES.get(gtype, list(params))
        if gtype == "Scale" and "scale" not in params:
            names = ["bias"]
        if len(blobs) != len([n for n in names if n in params]):
            raise GraphnetError(f"layer '{name}' ({kind}) has {len(blobs)} blobs, graphnet's "
                                f"{gtype} has {len(params)} parameters ({', '.join(params)})",
                                file=path)
        for pname, blob in zip([n for n in names if n in params], blobs):
            param = params[pname]
            if blob.shape != param.shape:
                squeezed = blob.reshape([d for d in blob.shape if d != 1] or [1])
                want = [d for d in param.shape if d != 1] or [1]
                if list(squeezed.shape) != want:
                    raise GraphnetError(f"layer '{name}' blob '{pname}' has shape {blob.shape}, "
                                        f"graphnet's needs {param.shape}", file=path)
                blob = squeezed.reshape(param.shape)
            out[param.key] = blob
    return out, unused


def _batch_norm(blobs, name, path):
    if len(blobs) != 3:
        raise GraphnetError(f"BatchNorm layer '{name}' has {len(blobs)} blobs, not Caffe's 3",
                            file=path)
    mean_sum, var_sum, factor = blobs
    f = float(factor.reshape(-1)[0])
    scale = 0.0 if f == 0 else 1.0 / f   # Caffe's rule: a zero factor gives zero statistics
    return [mean_sum.reshape(-1) * scale, var_sum.reshape(-1) * scale, np.array([f])]
