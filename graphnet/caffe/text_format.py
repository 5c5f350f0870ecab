"""Protobuf text format (what .prototxt files are), read without a schema or the protobuf package.

    msg = parse(open("lenet.prototxt").read(), "lenet.prototxt")
    for layer in msg.all("layer"):
        layer.get("name"), layer.line, layer.get("convolution_param").get("num_output", 0)

A message is its fields in file order, each a (key, value, line) entry; a value is a
Message, a string (from a quoted literal), an Enum (a bare identifier: MAX, TRAIN, true),
or a number. Without the schema a field cannot be known to be repeated, so `get` takes
the last value (protobuf's rule for a singular field) and `all` every one.
Accepted: `#` comments, tabs, `key: value`, `key { }` and `key: { }` (or `< >`), `[a, b]`
lists, `;` or `,` after a field, adjacent quoted strings joined, escapes, `1e-4`, `10f`, `inf`.
"""

import re

from ..errors import GraphnetError

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n\f\v]+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?)(?![\w.]))
  | (?P<word>[-+]?[A-Za-z_][\w.]*)
  | (?P<punct>[{}<>\[\]:;,])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "?": "?"}


class Enum(str):
    """A bare identifier as a value: an enum name (MAX, TEST) or true/false."""


class Message:
    """Fields in file order; `line` is where the message (its key) is written."""

    def __init__(self, line, file=None):
        self.line = line
        self.file = file
        self.entries = []   # (key, value, line)

    def keys(self):
        return list(dict.fromkeys(key for key, _, _ in self.entries))

    def all(self, key):
        return [value for k, value, _ in self.entries if k == key]

    def get(self, key, default=None):
        values = self.all(key)
        return values[-1] if values else default

    def line_of(self, key):
        lines = [line for k, _, line in self.entries if k == key]
        return lines[-1] if lines else self.line

    def __contains__(self, key):
        return any(k == key for k, _, _ in self.entries)

    def __repr__(self):
        return f"Message(line {self.line}: {', '.join(self.keys())})"


def _unquote(token, file, line):
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "01234567":
            digits = re.match(r"[0-7]{1,3}", body[i + 1:]).group()
            out.append(chr(int(digits, 8)))
            i += 1 + len(digits)
        elif nxt in "xX":
            digits = re.match(r"[0-9a-fA-F]{1,2}", body[i + 2:])
            if not digits:
                raise GraphnetError(f"bad escape in string {token}", file=file, line=line)
            out.append(chr(int(digits.group(), 16)))
            i += 2 + len(digits.group())
        else:
            raise GraphnetError(f"bad escape '\\{nxt}' in string {token}", file=file, line=line)
    return "".join(out)


def _number(text):
    text = text.rstrip("fF") if not text.lower().startswith(("0x", "-0x", "+0x")) else text
    if re.fullmatch(r"[-+]?(0[xX][0-9a-fA-F]+|\d+)", text):
        return int(text, 0) if not re.fullmatch(r"[-+]?0\d+", text) else int(text, 8)
    return float(text)


def _tokens(text, file):
    """(kind, text, line) for every token; a character that starts none is one error line."""
    pos, line = 0, 1
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise GraphnetError(f"unexpected character {text[pos]!r}", file=file, line=line)
        kind = match.lastgroup
        if kind != "space":
            yield kind, match.group(), line
        line += match.group().count("\n")
        pos = match.end()


def parse(text, file=None):
    """The top-level Message of a text-format file; a syntax error is one line with its place."""
    tokens = list(_tokens(text, file))
    tokens.append(("end", "end of file", text.count("\n") + 1))
    pos = 0

    def error(message, at):
        kind, value, line = tokens[at]
        return GraphnetError(f"{message}, got {value if kind != 'end' else 'the end of the file'}",
                             file=file, line=line)

    def scalar(at):
        kind, value, line = tokens[at]
        if kind == "string":
            parts = [_unquote(value, file, line)]
            while tokens[at + 1][0] == "string":   # adjacent literals are one string
                at += 1
                parts.append(_unquote(tokens[at][1], file, tokens[at][2]))
            return "".join(parts), at + 1
        if kind == "number":
            return _number(value), at + 1
        if kind == "word":
            lowered = value.lower().lstrip("+")
            if lowered in ("inf", "infinity", "-inf", "-infinity", "nan", "-nan"):
                return float(lowered), at + 1
            return Enum(value), at + 1
        raise error("expected a value", at)

    def message(at, close, msg):
        while True:
            kind, value, line = tokens[at]
            if kind == "punct" and value == close:
                return at + 1
            if kind == "end" and close is None:
                return at
            if kind != "word":
                raise error("expected a field name" + (f" or '{close}'" if close else ""), at)
            key, at = value, at + 1
            colon = tokens[at][:2] == ("punct", ":")
            at += colon
            kind, value, _ = tokens[at]
            if kind == "punct" and value in "{<":
                sub = Message(line, file)
                at = message(at + 1, "}" if value == "{" else ">", sub)
                msg.entries.append((key, sub, line))
            elif not colon:
                raise error(f"expected ':' or '{{' after '{key}'", at)
            elif kind == "punct" and value == "[":
                at += 1
                while tokens[at][:2] != ("punct", "]"):
                    if tokens[at][0] == "punct" and tokens[at][1] in "{<":
                        sub = Message(tokens[at][2], file)
                        at = message(at + 1, "}" if tokens[at][1] == "{" else ">", sub)
                        msg.entries.append((key, sub, line))
                    else:
                        item, at = scalar(at)
                        msg.entries.append((key, item, line))
                    if tokens[at][:2] == ("punct", ","):
                        at += 1
                    elif tokens[at][:2] != ("punct", "]"):
                        raise error(f"expected ',' or ']' in the list of '{key}'", at)
                at += 1
            else:
                item, at = scalar(at)
                msg.entries.append((key, item, line))
            if tokens[at][0] == "punct" and tokens[at][1] in ";,":
                at += 1

    top = Message(1, file)
    message(pos, None, top)
    return top
