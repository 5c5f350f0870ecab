"""The protobuf text-format reader: every form prototxt files use, and one-line mistakes."""

import math

import pytest

from graphnet import GraphnetError
from graphnet.caffe.text_format import Enum, Message, parse


def test_fields_messages_and_lines():
    msg = parse('name: "net"\n\nlayer {\n  name: "conv1/3x3"  # a comment\n'
                '  param { lr_mult: 1 } param: { lr_mult: 2 }\n}\n', "n.prototxt")
    assert msg.get("name") == "net"
    (layer,) = msg.all("layer")
    assert isinstance(layer, Message) and layer.line == 3
    assert layer.get("name") == "conv1/3x3"
    assert [p.get("lr_mult") for p in layer.all("param")] == [1, 2]
    assert layer.line_of("param") == 5


def test_values():
    msg = parse("a: 1 b: -2.5e-3 c: 10f d: .5 e: inf f: -inf g: MAX h: true i: 'it''s' j: \"x\\ty\" "
                "k: [1, 2, 3] k: 4 l: 0x10 m: nan")
    assert msg.get("a") == 1 and isinstance(msg.get("a"), int)
    assert msg.get("b") == -2.5e-3 and msg.get("c") == 10 and msg.get("d") == 0.5
    assert msg.get("e") == math.inf and msg.get("f") == -math.inf and math.isnan(msg.get("m"))
    assert msg.get("g") == "MAX" and isinstance(msg.get("g"), Enum)
    assert isinstance(msg.get("i"), str) and not isinstance(msg.get("i"), Enum)
    assert msg.get("i") == "its" and msg.get("j") == "x\ty"
    assert msg.all("k") == [1, 2, 3, 4] and msg.get("k") == 4
    assert msg.get("l") == 16


def test_tabs_separators_and_angle_brackets():
    msg = parse("layers\t{\tname:\t\"a\";\ttype: RELU,\n}\nshape < dim: 1 dim: 2 >\n")
    assert msg.get("layers").get("type") == "RELU"
    assert msg.get("shape").all("dim") == [1, 2]


def test_a_list_of_messages():
    msg = parse("shape: [{dim: 1}, {dim: 2}]")
    assert [s.get("dim") for s in msg.all("shape")] == [1, 2]


@pytest.mark.parametrize("text, message", [
    ("layer {\n name: 'a'\n", "n.prototxt:3: expected a field name or '}', got the end of the file"),
    ("a 1", "n.prototxt:1: expected ':' or '{' after 'a', got 1"),
    ("a: }", "n.prototxt:1: expected a value, got }"),
    ("a: 1\n}", "n.prototxt:2: expected a field name, got }"),
    ("a: [1 2]", "n.prototxt:1: expected ',' or ']' in the list of 'a', got 2"),
    ("a: 1\n b: $", "n.prototxt:2: unexpected character '$'"),
    ("a: 'x\\q'", "n.prototxt:1: bad escape '\\q'"),
])
def test_mistakes_are_one_line(text, message):
    with pytest.raises(GraphnetError) as err:
        parse(text, "n.prototxt")
    assert str(err.value).startswith(message)
