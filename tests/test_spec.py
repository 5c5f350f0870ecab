"""Spec and its field converters: what a user may write for a field, and what they are told if not."""

import numpy as np
import pytest

from graphnet.errors import GraphnetError
from graphnet.spec import (Field, Spec, boolean, choice, integer, list_of, mapping, names, number,
                           optional, text)


class Pool(Spec):
    """A small spec with one field of each kind."""
    kernel = Field(integer(min=1), doc="window size")
    stride = Field(integer(min=1), 1)
    method = Field(choice("max", "mean"), "max")
    scale = Field(number(above=0), 1.0)
    pad = Field(optional(integer(min=0)), None)
    axes = Field(list_of(integer(), min_len=1, max_len=3), [1])


class Weighted(Spec):
    values = Field(None, None)
    weights = Field(list_of(lambda v: np.asarray(v, dtype=float)), [])


class Ranged(Spec):
    low = Field(number(), 0.0)
    high = Field(number(), 1.0)

    def validate(self):
        if self.high < self.low:
            raise ValueError(f"high must be >= low, got low={self.low}, high={self.high}")


class Padded(Pool):
    pad = Field(integer(min=0), 0)
    mode = Field(text, "zero")


def message(convert, value):
    with pytest.raises(ValueError) as e:
        convert(value)
    return str(e.value)


# --- converters --------------------------------------------------------------------------

def test_integer_accepts_integers_and_integral_floats():
    convert = integer()
    assert convert(4) == 4 and convert(-3) == -3
    assert convert(4.0) == 4 and type(convert(4.0)) is int
    assert convert(np.int64(7)) == 7 and type(convert(np.int64(7))) is int


@pytest.mark.parametrize("value", [True, False, 4.5, "4", None, [4], float("nan")])
def test_integer_rejects_what_is_not_an_integer(value):
    assert message(integer(), value) == f"must be an integer, got {value!r}"


def test_integer_bounds():
    assert message(integer(min=1), 0) == "must be >= 1, got 0"
    assert message(integer(max=3), 4.0) == "must be <= 3, got 4"
    assert integer(min=1, max=3)(3) == 3


def test_number_accepts_numbers_and_numeric_strings():
    convert = number()
    assert convert(1) == 1.0 and type(convert(1)) is float
    assert convert("1e-3") == 1e-3 and convert(" 2.5 ") == 2.5
    assert convert(np.float32(0.5)) == 0.5 and type(convert(np.float32(0.5))) is float


@pytest.mark.parametrize("value", [True, None, "fast", [1.0], "1e-3x"])
def test_number_rejects_what_is_not_a_number(value):
    assert message(number(), value) == f"must be a number, got {value!r}"


@pytest.mark.parametrize("value, shown", [(float("nan"), "nan"), (float("inf"), "inf"),
                                          ("-inf", "-inf"), (10 ** 400, "inf")])
def test_number_must_be_finite(value, shown):
    assert message(number(min=0), value) == f"must be a finite number, got {shown}"


def test_minus_zero_is_zero():
    # NumPy calls -0.0 negative (rng.normal(0, -0.0) refuses it): a field holds +0.0.
    assert str(number(min=0)(-0.0)) == "0.0"


def test_a_huge_value_is_shown_short():
    bomb = ["lol"] * 9
    for _ in range(6):
        bomb = [bomb] * 9  # 9**7 items, a repr of 34 MB (YAML aliases make such lists cheaply)
    assert message(text, bomb) == ("must be a non-empty string, got [[[...], [...], [...], ...], "
                                   "[[...], [...], [...], ...], [[...], [...], [...], ...], ...]")
    assert message(choice("max", "mean"), bomb).startswith("must be one of max, mean, got [[[...]")


def test_number_bounds():
    assert message(number(min=0), -1) == "must be >= 0, got -1.0"
    assert message(number(max=1), "2") == "must be <= 1, got 2.0"
    assert message(number(above=0), 0) == "must be > 0, got 0.0"
    assert message(number(below=1), 1) == "must be < 1, got 1.0"
    assert number(above=0, below=1)("0.5") == 0.5


def test_boolean_and_text():
    assert boolean(True) is True and boolean(np.bool_(False)) is False
    assert message(boolean, 1) == "must be true or false, got 1"
    assert message(boolean, "yes") == "must be true or false, got 'yes'"
    assert text("conv1") == "conv1"
    assert message(text, "") == "must be a non-empty string, got ''"
    assert message(text, 3) == "must be a non-empty string, got 3"


def test_choice_lower_cases():
    convert = choice("fan_in", "fan_out", "average")
    assert convert("AVERAGE") == "average" and convert("Fan_In") == "fan_in"


def test_choice_suggests_the_nearest_option():
    convert = choice("fan_in", "fan_out", "average")
    assert message(convert, "averge") == ("must be one of fan_in, fan_out, average, got 'averge'"
                                          " (did you mean 'average'?)")
    assert "(did you mean 'fan_in'?)" in message(convert, "FAN_INN")       # Caffe's enum spelling
    assert message(convert, "xyz") == "must be one of fan_in, fan_out, average, got 'xyz'"
    assert message(convert, 3) == "must be one of fan_in, fan_out, average, got 3"


def test_list_of_turns_a_lone_value_into_a_list():
    assert list_of(integer())(3) == [3]
    assert names("data") == ["data"]
    assert names(["a", "b"]) == ["a", "b"] and names(("a",)) == ["a"]
    assert list_of(integer())(None) == []
    assert list_of(number())(np.float64(2)) == [2.0]
    assert list_of(integer())(np.array([1, 2])) == [1, 2]


def test_list_of_names_the_bad_item():
    assert message(list_of(integer()), [1, 2, "three"]) == "item 2: must be an integer, got 'three'"
    assert message(names, ["a", ""]) == "item 1: must be a non-empty string, got ''"


def test_list_of_lengths():
    convert = list_of(integer(), min_len=1, max_len=2)
    assert message(convert, []) == "needs at least 1 item, got 0"
    assert message(convert, [1, 2, 3]) == "takes at most 2 items, got 3"
    assert message(list_of(integer(), min_len=2), [1]) == "needs at least 2 items, got 1"


def test_optional_keeps_none_and_converts_the_rest():
    convert = optional(integer(min=0))
    assert convert(None) is None and convert(2.0) == 2
    assert message(convert, -1) == "must be >= 0, got -1"


def test_mapping():
    given = {"a": 1}
    assert mapping(given) == given and mapping(given) is not given
    assert message(mapping, [1]) == "must be a mapping (key: value), got [1]"


# --- Spec --------------------------------------------------------------------------------

def test_fields_are_collected_in_order_with_inherited_ones_first():
    assert list(Pool.fields) == ["kernel", "stride", "method", "scale", "pad", "axes"]
    assert list(Padded.fields) == ["kernel", "stride", "method", "scale", "pad", "axes", "mode"]
    assert Padded.fields["pad"].default == 0 and Pool.fields["pad"].default is None
    assert Pool.fields["kernel"].required and not Pool.fields["stride"].required
    assert Pool.fields["kernel"].name == "kernel" and Pool.fields["kernel"].doc == "window size"


def test_spec_converts_and_fills_defaults():
    p = Pool(kernel=3.0, method="MEAN", scale="2e-1", axes=2)
    assert p.spec == {"kernel": 3, "stride": 1, "method": "mean", "scale": 0.2, "pad": None,
                      "axes": [2]}
    assert Pool(kernel=2, pad=None).pad is None


def test_a_default_of_none_skips_the_converter_but_a_given_value_does_not():
    assert Weighted().values is None and Weighted(values="anything").values == "anything"
    assert Padded(kernel=2).pad == 0
    with pytest.raises(GraphnetError) as e:
        Padded(kernel=2, pad=None)
    assert str(e.value) == "pad: must be an integer, got None"


def test_unknown_keyword_is_refused_with_a_suggestion():
    with pytest.raises(GraphnetError) as e:
        Pool(kernel=2, strid=2)
    assert e.value.field == "strid"
    assert str(e.value) == "strid: unknown field for Pool (did you mean 'stride'?)"
    with pytest.raises(GraphnetError) as e:
        Pool(kernel=2, colour="red")
    assert str(e.value) == "colour: unknown field for Pool"


def test_missing_required_field():
    with pytest.raises(GraphnetError) as e:
        Pool(stride=2)
    assert e.value.field == "kernel" and str(e.value) == "kernel: required field is missing"


def test_bad_value_names_the_field():
    with pytest.raises(GraphnetError) as e:
        Pool(kernel=2, axes=[0, 1.5])
    assert str(e.value) == "axes: item 1: must be an integer, got 1.5"
    with pytest.raises(GraphnetError) as e:
        Pool(kernel=0)
    assert e.value.field == "kernel" and "must be >= 1, got 0" in str(e.value)


def test_validate_checks_fields_together():
    assert Ranged(low=-1, high=1).high == 1.0
    with pytest.raises(GraphnetError) as e:
        Ranged(low=2)
    assert str(e.value) == "high must be >= low, got low=2.0, high=1.0"


def test_equality_compares_field_values():
    assert Pool(kernel=2) == Pool(kernel=2.0, stride=1, method="MAX", axes=1)
    assert Pool(kernel=2) != Pool(kernel=3)
    assert Padded(kernel=2) != Pool(kernel=2)
    assert Pool(kernel=2) != {"kernel": 2}
    with pytest.raises(TypeError):
        hash(Pool(kernel=2))


def test_equality_with_numpy_arrays():
    a = Weighted(values=np.arange(6.0).reshape(2, 3), weights=[[1, 2], np.ones(3)])
    b = Weighted(values=np.arange(6.0).reshape(2, 3), weights=[np.array([1.0, 2.0]), [1, 1, 1]])
    assert a == b and not (a != b)
    assert a != b.replace(values=np.arange(6.0).reshape(3, 2))           # same values, other shape
    assert a != b.replace(weights=[[1, 2], [1, 1, 2]])
    assert a != b.replace(weights=[[1, 2]])
    assert a != Weighted(values=[[0, 1, 2], [3, 4, 5]], weights=a.weights)  # a list is not an array
    assert Weighted(values={"w": np.ones(2)}) == Weighted(values={"w": np.ones(2)})
    assert Weighted(values={"w": np.ones(2)}) != Weighted(values={"v": np.ones(2)})


def test_replace_makes_a_changed_copy():
    p = Pool(kernel=3, method="mean", axes=[1, 2])
    q = p.replace(stride=2)
    assert q == Pool(kernel=3, stride=2, method="mean", axes=[1, 2]) and type(q) is Pool
    assert p.stride == 1 and q.replace(stride=1) == p
    assert p.replace() == p and p.replace() is not p
    q.axes.append(3)
    assert p.axes == [1, 2]


def test_replace_checks_like_the_constructor():
    p = Pool(kernel=3)
    with pytest.raises(GraphnetError) as e:
        p.replace(stride=0)
    assert str(e.value) == "stride: must be >= 1, got 0"
    with pytest.raises(GraphnetError) as e:
        p.replace(kernal=2)
    assert "did you mean 'kernel'" in str(e.value)
    assert Ranged(low=0, high=1).replace(high="5").high == 5.0


def test_repr_shows_required_fields_and_non_defaults_only():
    assert repr(Pool(kernel=3)) == "Pool(kernel=3)"
    assert repr(Pool(kernel=3, stride=1, method="mean")) == "Pool(kernel=3, method='mean')"
    assert repr(Pool(kernel=3, axes=[1, 2], pad=0)) == "Pool(kernel=3, pad=0, axes=[1, 2])"
    assert repr(Ranged()) == "Ranged()"


def test_repr_shortens_arrays():
    w = Weighted(values=np.zeros((2, 3)), weights=[np.ones(4), [1, 2]])
    assert repr(w) == "Weighted(values=array(2, 3), weights=[array(4,), array(2,)])"
