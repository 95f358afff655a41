"""Row decoding against the input schema: every accepted form, and refusals that name row and feature."""

from __future__ import annotations

import math

import pytest

from serving.errors import InvalidInput, PayloadTooLarge
from serving.schema import Feature, InputSchema, SchemaError

FEATURES = [
    Feature("island", "category", False, ("Biscoe", "Dream")),
    Feature("mass", "float64", True),
    Feature("year", "int64", False),
    Feature("sex", "category", True, ("female", "male")),
]
SCHEMA = InputSchema(FEATURES, "error", max_rows=3)
ROW = {"island": "Dream", "mass": 3750, "year": 2007, "sex": None}


def test_records_become_typed_columns() -> None:
    batch = SCHEMA.decode_records([ROW, {**ROW, "mass": None, "sex": "male", "year": 2008.0}])
    assert batch.n_rows == 2
    assert batch.columns["island"] == ["Dream", "Dream"]
    assert batch.columns["mass"][0] == 3750.0 and math.isnan(batch.columns["mass"][1])
    assert batch.columns["year"] == [2007.0, 2008.0]
    assert batch.columns["sex"] == [None, "male"]
    assert batch.rows()[1] == {"island": "Dream", "mass": None, "year": 2008.0, "sex": "male"}


def test_positional_and_csv_give_the_same_batch() -> None:
    records = SCHEMA.decode_records([ROW])
    positional = SCHEMA.decode_positional([["Dream", 3750, 2007, None]])
    text = SCHEMA.decode_csv("island,mass,year,sex\nDream,3750,2007,\n")
    assert records.rows() == positional.rows() == text.rows()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {**ROW, "island": "Atlantis"},
            "rows[0].island: unknown category 'Atlantis'; expected one of 'Biscoe', 'Dream'",
        ),
        ({**ROW, "island": None}, "rows[0].island: null is not allowed: the feature is not nullable"),
        ({**ROW, "mass": "heavy"}, "rows[0].mass: expected a number, got string 'heavy'"),
        ({**ROW, "mass": True}, "rows[0].mass: expected a number, got boolean true"),
        ({**ROW, "mass": math.inf}, "rows[0].mass: Infinity is not allowed"),
        ({**ROW, "year": math.nan}, "rows[0].year: NaN is not allowed: the feature is not nullable"),
        ({**ROW, "year": 2007.5}, "rows[0].year: expected an integer, got 2007.5"),
        ({**ROW, "year": 2**70}, "outside the int64 range"),
        ({**ROW, "sex": 1}, "rows[0].sex: expected a string"),
        ({k: v for k, v in ROW.items() if k != "sex"}, "rows[0]: missing feature(s) 'sex'"),
        ({**ROW, "yaer": 1}, "unknown feature 'yaer' (did you mean 'year'?)"),
    ],
)
def test_bad_values_are_named(row: dict, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        SCHEMA.decode_records([row])
    assert message in str(info.value)


def test_nan_is_a_missing_value_where_allowed() -> None:
    assert math.isnan(SCHEMA.decode_records([{**ROW, "mass": math.nan}]).columns["mass"][0])


def test_row_limits() -> None:
    with pytest.raises(InvalidInput, match="'rows' is empty"):
        SCHEMA.decode_records([])
    with pytest.raises(PayloadTooLarge, match="4 rows; at most 3"):
        SCHEMA.decode_records([ROW] * 4)


def test_unknown_categories_pass_when_the_schema_ignores_them() -> None:
    lenient = InputSchema(FEATURES, "ignore")
    assert lenient.decode_records([{**ROW, "island": "Atlantis"}]).columns["island"] == ["Atlantis"]


def test_csv_errors_name_line_and_column() -> None:
    with pytest.raises(InvalidInput, match=r"CSV row 2, column 2 \(mass\): expected a number, got 'x'"):
        SCHEMA.decode_csv("Dream,1,2007,\nDream,x,2007,\n")
    with pytest.raises(InvalidInput, match="CSV row 1 has 3 fields; expected 4"):
        SCHEMA.decode_csv("Dream,1,2007\n")
    with pytest.raises(InvalidInput, match="malformed CSV"):
        SCHEMA.decode_csv('"Dream,1,2007,\n')


def test_mixed_forms_are_refused() -> None:
    with pytest.raises(InvalidInput, match="mixes arrays and objects"):
        SCHEMA.decode_mixed([ROW, ["Dream", 1, 2007, None]])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"features": []}, "lists no features"),
        ({"features": [{"name": "a", "dtype": "complex"}]}, "unsupported dtype 'complex'"),
        ({"features": [{"name": "a", "dtype": "category"}]}, "'categories' must be a non-empty list"),
        ({"features": [{"name": "a", "dtype": "int64"}] * 2}, "more than once: a"),
        (
            {"features": [{"name": "a", "dtype": "int64"}], "unknown_categories": "maybe"},
            "must be 'error' or 'ignore'",
        ),
    ],
)
def test_broken_schemas_are_refused(spec: dict, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        InputSchema.from_metadata(spec)
