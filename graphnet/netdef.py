"""Netdef files: YAML in, validated layer objects out, every mistake told with file and line.

    name: xor
    include: [base.yaml]          # optional: merged under this file
    seed: 1
    layers:
      - {name: data, type: MemoryData, tops: [x, y], batch_size: 64, source: parity}
      - {name: hid, type: InnerProduct, bottoms: [x], tops: [h], output_dim: 4}
    solver: {...}
    coffee_breaks: [...]

YAML is read with a safe loader that refuses duplicate keys and reads `1e-3` as a
number (YAML 1.2), not a string (PyYAML's YAML 1.1). An included file is merged first:
mappings merge key by key, and a layer of the same name merges into the included one.
Overrides ("layers.ip1.output_dim=10", "solver.max_iter=2000") address layers by name
and read their values as YAML.
"""

import os
import re
from dataclasses import dataclass, field

import yaml

from .errors import GraphnetError, did_you_mean, shown
from .layers import LAYERS

TOP_KEYS = ("name", "include", "seed", "backend", "dtype", "layers", "solver", "coffee_breaks")


class Located(dict):
    """A YAML mapping that remembers the line it starts on and the line of each key."""
    line = None
    key_lines = {}

    def copy(self):
        twin = Located(self)
        twin.line, twin.key_lines = self.line, self.key_lines
        return twin


class LocatedList(list):
    """A YAML sequence that remembers the line of each item."""
    item_lines = ()

    def copy(self):
        twin = LocatedList(self)
        twin.item_lines = self.item_lines
        return twin


MAX_DEPTH = 50  # far deeper than any netdef, far shallower than Python's recursion limit


class _Loader(yaml.SafeLoader):

    def compose_node(self, parent, index):
        # PyYAML builds nested nodes by recursion: refuse deep nesting before Python does.
        self.depth = getattr(self, "depth", 0) + 1
        try:
            if self.depth > MAX_DEPTH:
                raise GraphnetError(f"nests more than {MAX_DEPTH} levels deep", file=self.name,
                                    line=self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                   |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)
                   |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def _construct_mapping(loader, node):
    seen = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node)
        if not isinstance(key, str):
            raise GraphnetError(f"keys must be names, got {shown(key)}", file=loader.name,
                                line=key_node.start_mark.line + 1)
        if key in seen:
            raise GraphnetError(f"key '{key}' appears twice in one mapping (first on line {seen[key]})",
                                file=loader.name, line=key_node.start_mark.line + 1)
        seen[key] = key_node.start_mark.line + 1
    mapping = Located(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = seen
    return mapping


def _construct_sequence(loader, node):
    sequence = LocatedList(loader.construct_sequence(node, deep=True))
    sequence.item_lines = [item.start_mark.line + 1 for item in node.value]
    return sequence


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def parse_yaml(text, file):
    """The value a YAML text holds; a syntax error names the file and line."""
    loader = None
    try:
        loader = _Loader(text)
        loader.name = str(file)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise GraphnetError(f"not valid YAML: {err.problem or err.context}", file=file,
                            line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as err:
        raise GraphnetError("not valid YAML: " + " ".join(str(err).split()), file=file) from None
    except RecursionError:  # only when parsing starts from an already deep stack
        raise GraphnetError("nests too deeply", file=file) from None
    except (ValueError, OverflowError, KeyError, TypeError, AttributeError, IndexError) as err:
        # a tagged value PyYAML fails to build (!!timestamp 2001-13-45, !!bool maybe), 5000 digits
        raise GraphnetError(f"not valid YAML: cannot read a value ({type(err).__name__}: {err})",
                            file=file) from None
    finally:
        if loader is not None:
            loader.dispose()


def _read(path, seen=()):
    """The top-level mapping of a netdef file, with its includes merged in."""
    if path in seen:
        raise GraphnetError("includes itself (through " + " -> ".join(seen) + ")", file=path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise GraphnetError(f"cannot read netdef: {err.strerror}", file=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise GraphnetError(f"is not a UTF-8 text file (byte {raw[err.start]:#04x} at offset {err.start})",
                            file=path, line=raw.count(b"\n", 0, err.start) + 1) from None
    if not text.strip():
        raise GraphnetError("file is empty; a netdef is a mapping with 'layers:'", file=path)
    doc = parse_yaml(text, path)
    if doc is None:
        raise GraphnetError("file is empty; a netdef is a mapping with 'layers:'", file=path)
    if not isinstance(doc, dict):
        kind = "list" if isinstance(doc, list) else type(doc).__name__
        raise GraphnetError(f"must be a mapping with 'layers:', got {kind} "
                            f"{shown(doc)}", file=path, line=1)
    for key in doc:
        if key not in TOP_KEYS:
            raise GraphnetError(f"unknown top-level key '{key}'{did_you_mean(key, TOP_KEYS)}",
                                file=path, line=doc.key_lines.get(key))
    merged = {}
    includes = doc.get("include") or []
    includes = [includes] if isinstance(includes, str) else includes
    if not isinstance(includes, list) or not all(isinstance(i, str) and i for i in includes):
        raise GraphnetError(f"include: must be a file name or a list of them, got {shown(includes)}",
                            file=path, line=doc.key_lines.get("include"))
    for include in includes:
        base = os.path.join(os.path.dirname(path), str(include))
        merged = _merge(merged, _read(base, (*seen, path)))
    body = {k: v for k, v in doc.items() if k != "include"}
    return _merge(merged, body) if merged else doc


def _merge(base, over):
    if isinstance(base, dict) and isinstance(over, dict):
        out = Located({**base})
        out.line, out.key_lines = getattr(over, "line", None), getattr(over, "key_lines", {})
        for key, value in over.items():
            out[key] = _merge_layers(base[key], value) if key == "layers" and key in base else (
                _merge(base[key], value) if key in base else value)
        return out
    return over


def _merge_layers(base, over):
    if not isinstance(base, list) or not isinstance(over, list):
        return over
    layers = list(base)
    names = [e.get("name") if isinstance(e, dict) else None for e in layers]
    for entry in over:
        name = entry.get("name") if isinstance(entry, dict) else None
        if name is not None and name in names:
            layers[names.index(name)] = _merge(layers[names.index(name)], entry)
        else:
            layers.append(entry)
    return layers


def layer_from_entry(entry, file=None, index=None, line=None):
    """The layer one netdef entry describes: {type: ..., name: ..., other fields}."""
    where = f"#{index + 1}" if index is not None else "#?"
    line = getattr(entry, "line", None) or line
    if not isinstance(entry, dict):
        raise GraphnetError(f"must be a mapping with name and type, got {shown(entry)}",
                            file=file, line=line, layer=where)
    fields = dict(entry)
    name = fields.get("name") if isinstance(fields.get("name"), str) else None
    kind = fields.pop("type", None)
    if kind is None:
        raise GraphnetError("required field is missing", file=file, line=line,
                            layer=name or where, field="type")
    if not isinstance(kind, str):
        raise GraphnetError(f"must be a layer type name, got {shown(kind)}", layer=name or where,
                            file=file, line=getattr(entry, "key_lines", {}).get("type", line), field="type")
    if kind not in LAYERS:
        from .plugins import unknown_type_hint
        near = "" if "." in kind else did_you_mean(kind, LAYERS)
        raise GraphnetError(f"unknown layer type '{kind}'{near}{unknown_type_hint(kind)}",
                            file=file, line=getattr(entry, "key_lines", {}).get("type", line),
                            layer=name or where, field="type")
    field_lines = getattr(entry, "key_lines", {})
    try:
        layer = LAYERS[kind](**fields)
    except GraphnetError as err:
        raise err.locate(file=file, line=field_lines.get(err.field, line), layer=name or where) from None
    if layer.name is None:
        raise GraphnetError("required field is missing", file=file, line=line, layer=where, field="name")
    layer._where = (file, line)
    layer._field_lines = field_lines  # so that the net builder's errors name the field's line
    return layer


@dataclass
class NetDef:
    """A netdef file, read and checked: its layers as objects, the rest as plain data."""
    path: str
    name: str
    layers: list
    seed: int = 0
    backend: str = None
    dtype: str = "float32"
    solver: dict = field(default_factory=dict)
    coffee_breaks: list = field(default_factory=list)


def load_netdef(path, overrides=()):
    """Read, merge, override and check the netdef at `path`."""
    path = str(path)
    doc = _read(path)
    for override in overrides:
        doc = apply_override(doc, override, path)
    lines = getattr(doc, "key_lines", {})

    def fail(key, message):
        return GraphnetError(message, file=path, line=lines.get(key), field=key)

    if "layers" not in doc:
        raise fail("layers", "required key is missing: a netdef lists its layers under 'layers:'")
    entries = doc["layers"]
    if not isinstance(entries, list) or not entries:
        raise fail("layers", f"must be a non-empty list of layers, got {shown(entries)}")
    name = doc.get("name", os.path.splitext(os.path.basename(path))[0])
    if not isinstance(name, str) or not name:
        raise fail("name", f"must be a non-empty string, got {shown(name)}")
    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise fail("seed", f"must be an integer >= 0, got {shown(seed)}")
    backend = doc.get("backend")
    if backend not in (None, "numpy", "cupy"):
        raise fail("backend", f"must be numpy or cupy, got {shown(backend)}")
    dtype = doc.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise fail("dtype", f"must be float32 or float64, got {shown(dtype)}")
    for key, kind in (("solver", dict), ("coffee_breaks", list)):
        if doc.get(key) is not None and not isinstance(doc[key], kind):
            raise fail(key, f"must be a {'mapping' if kind is dict else 'list'}, got {shown(doc[key])}")
    lines = list(getattr(entries, "item_lines", ())) + [None] * len(entries)
    layers = [layer_from_entry(entry, path, i, lines[i]) for i, entry in enumerate(entries)]
    return NetDef(path, name, layers, seed, backend, dtype, doc.get("solver") or {},
                  doc.get("coffee_breaks") or [])


def apply_override(doc, override, path=None):
    """doc with one "dotted.key=value" set; layers are addressed by name."""
    where = f"--set {override}"
    key, sep, text = str(override).partition("=")
    if not sep or not key.strip():
        raise GraphnetError("expected key=value, e.g. solver.max_iter=2000", file=where)
    value = parse_yaml(text, where)
    parts = key.strip().split(".")
    if parts[0] not in TOP_KEYS:
        raise GraphnetError(f"unknown top-level key '{parts[0]}'{did_you_mean(parts[0], TOP_KEYS)}",
                            file=where)
    doc = _merge(doc, {})  # a copy of the top level; nested values are replaced, not mutated
    node, trail = doc, []
    for i, part in enumerate(parts[:-1]):
        trail.append(part)
        if isinstance(node, list) and trail[-2:-1] == ["layers"]:
            names = [e.get("name") for e in node if isinstance(e, dict)]
            if part not in names:
                raise GraphnetError(f"no layer '{part}'{did_you_mean(part, names)}", file=where)
            position = names.index(part)
            node[position] = node[position].copy()
            node = node[position]
            continue
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise GraphnetError(f"'{'.'.join(trail)}': no item {part} in a list of {len(node)}",
                                    file=where)
            if isinstance(node[int(part)], dict):
                node[int(part)] = node[int(part)].copy()
            node = node[int(part)]
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif isinstance(child, (list, dict)):
            child = node[part] = child.copy()
        else:
            raise GraphnetError(f"'{'.'.join(trail)}' is {shown(child)}, not a mapping", file=where)
        node = child
    if isinstance(node, list):
        raise GraphnetError(f"'{key}': a list item is addressed by name or number", file=where)
    node[parts[-1]] = value
    return doc
