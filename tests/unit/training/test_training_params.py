"""params.yaml access: typed getters, clear errors naming the key, and the record of keys read."""

from __future__ import annotations

import pytest

from training.errors import ParamsError
from training.params import Params


def test_typed_getters_return_values_and_record_keys() -> None:
    p = Params({"a": {"b": 3, "c": 0.5, "d": "x", "e": True, "f": {"k": 1}}})
    assert p.integer("a.b") == 3
    assert p.number("a.c", 0, 1) == 0.5
    assert p.string("a.d", ["x", "y"]) == "x"
    assert p.boolean("a.e") is True
    assert p.mapping("a.f") == {"k": 1}
    assert p.read == ["a.b", "a.c", "a.d", "a.e", "a.f"]
    assert p.used() == {"a": {"b": 3, "c": 0.5, "d": "x", "e": True, "f": {"k": 1}}}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: p.integer("a.missing"), "missing key 'a.missing'"),
        (lambda p: p.integer("a.s"), "'a.s' must be an integer"),
        (lambda p: p.integer("a.t"), "'a.t' must be an integer"),  # booleans are not integers
        (lambda p: p.integer("a.i", minimum=5), "'a.i' must be an integer >= 5"),
        (lambda p: p.number("a.i", 0, 1), "strictly between 0 and 1"),
        (lambda p: p.string("a.s", ["x"]), "'a.s' must be one of x"),
        (lambda p: p.boolean("a.i"), "'a.i' must be true or false"),
        (lambda p: p.mapping("a.s"), "'a.s' must be a mapping"),
    ],
)
def test_bad_values_name_the_key(call, message: str) -> None:
    p = Params({"a": {"s": "text", "t": True, "i": 2}}, source="params.yaml")
    with pytest.raises(ParamsError, match=message) as info:
        call(p)
    assert str(info.value).startswith("params.yaml: ")


def test_load_reports_missing_and_malformed_files(tmp_path) -> None:
    with pytest.raises(ParamsError, match="parameters file not found"):
        Params.load(tmp_path / "nope.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ParamsError, match="YAML mapping"):
        Params.load(bad)
    bad.write_text("a: [unclosed\n")
    with pytest.raises(ParamsError, match="unreadable"):
        Params.load(bad)
