"""data/schema.yaml: the shipped file loads, and a malformed schema is refused with the key at fault."""

from __future__ import annotations

import copy

import pytest

from training.errors import SchemaError
from training.schema import load_schema, schema_from_dict

GOOD = {
    "target": "label",
    "min_rows": 2,
    "columns": {
        "label": {"dtype": "category", "categories": ["a", "b"], "nullable": False},
        "x": {"dtype": "float64", "min": 0, "max": 1},
    },
}


def test_shipped_schema_describes_the_penguins(schema) -> None:
    assert schema.target == "species"
    assert schema.column("species").categories == ("Adelie", "Chinstrap", "Gentoo")
    assert [c.name for c in schema.features] == [
        "island",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "sex",
        "year",
    ]
    assert schema.column("year").dtype == "int64"


def test_minimal_schema_loads() -> None:
    s = schema_from_dict(GOOD)
    assert s.names == ["label", "x"] and s.extra_columns == "drop"


def _with(path: tuple[str, ...], value) -> dict:
    data = copy.deepcopy(GOOD)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(("target",), "nope"), "'target' must name one of the declared columns"),
        (_with(("columns", "label", "nullable"), True), "must be a category column with nullable: false"),
        (_with(("columns", "x", "dtype"), "float32"), "column 'x': dtype must be one of"),
        (_with(("columns", "x", "min"), 5), "min 5.0 is greater than max 1.0"),
        (_with(("columns", "x", "categories"), ["a"]), "categories apply to category columns only"),
        (_with(("columns", "x", "colour"), "red"), "unknown key"),
        (_with(("columns", "label", "categories"), []), "non-empty 'categories'"),
        (_with(("columns", "x", "max_null_fraction"), 2), "max_null_fraction must be between 0 and 1"),
        (_with(("min_rows",), 0), "min_rows must be a positive integer"),
        (_with(("extra_columns",), "keep"), "extra_columns must be drop or error"),
        (_with(("columns",), {}), "'columns' must map"),
    ],
)
def test_malformed_schema_is_refused(data, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        schema_from_dict(data, "schema.yaml")


def test_missing_schema_file(tmp_path) -> None:
    with pytest.raises(SchemaError, match="schema file not found"):
        load_schema(tmp_path / "schema.yaml")
