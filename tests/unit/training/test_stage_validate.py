"""The validate stage: each kind of bad data is reported with its column and rule, and no table is written."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.cli import run
from training.validate import main, validate_frame


def test_penguins_pass_and_come_back_typed(raw, schema) -> None:
    result = validate_frame(raw, schema)
    assert result.ok and result.issues == [] and result.rows == 344
    frame = result.frame
    assert list(frame.columns) == schema.names
    assert frame["bill_length_mm"].dtype == "float64"
    assert frame["year"].dtype == "int64"
    assert isinstance(frame["species"].dtype, pd.CategoricalDtype)
    assert list(frame["island"].cat.categories) == ["Biscoe", "Dream", "Torgersen"]
    assert frame["sex"].isna().sum() == 11


def _issues(raw, schema) -> list[tuple[str | None, str]]:
    result = validate_frame(raw, schema)
    assert not result.ok and result.frame is None
    return [(i.column, i.rule) for i in result.issues]


def test_missing_column(raw, schema) -> None:
    assert _issues(raw.drop(columns=["flipper_length_mm"]), schema) == [("flipper_length_mm", "present")]


def test_missing_target(raw, schema) -> None:
    assert _issues(raw.drop(columns=["species"]), schema) == [("species", "target_present")]


def test_wrong_dtype_text_in_a_number_column(raw, schema) -> None:
    raw["body_mass_g"] = raw["body_mass_g"].astype(object)
    raw.loc[5, "body_mass_g"] = "heavy"
    result = validate_frame(raw, schema)
    assert [(i.column, i.rule) for i in result.issues] == [("body_mass_g", "dtype")]
    assert "expected float64, found 1 non-numeric value(s), e.g. 'heavy'" in str(result.issues[0])


def test_wrong_dtype_fraction_in_an_integer_column(raw, schema) -> None:
    raw["year"] = raw["year"].astype(float)
    raw.loc[0, "year"] = 2007.5
    assert _issues(raw, schema) == [("year", "dtype")]


def test_wrong_dtype_numbers_in_a_category_column(raw, schema) -> None:
    raw["island"] = np.arange(len(raw), dtype=float)
    assert _issues(raw, schema) == [("island", "dtype")]


def test_unknown_category(raw, schema) -> None:
    raw.loc[[3, 7], "island"] = "Atlantis"
    result = validate_frame(raw, schema)
    assert [(i.column, i.rule) for i in result.issues] == [("island", "categories")]
    assert "2 value(s) outside the allowed categories [Biscoe, Dream, Torgersen], e.g. 'Atlantis'" in str(
        result.issues[0]
    )


@pytest.mark.parametrize("column", ["sex", "bill_depth_mm", "island"])
def test_all_null_column(raw, schema, column: str) -> None:
    raw[column] = np.nan
    assert _issues(raw, schema) == [(column, "all_null")]


def test_nulls_in_a_non_nullable_column(raw, schema) -> None:
    raw.loc[0, "island"] = None
    assert _issues(raw, schema) == [("island", "nullable")]


def test_too_many_nulls(raw, schema) -> None:
    raw.loc[:100, "sex"] = None
    assert _issues(raw, schema) == [("sex", "max_null_fraction")]


def test_out_of_range(raw, schema) -> None:
    raw.loc[0, "flipper_length_mm"] = 1000.0
    raw.loc[1, "bill_depth_mm"] = -1.0
    assert _issues(raw, schema) == [("bill_depth_mm", "min"), ("flipper_length_mm", "max")]


def test_too_few_rows_and_single_class(raw, schema) -> None:
    assert _issues(raw.dropna().head(10), schema) == [("species", "target_classes"), (None, "min_rows")]


def test_empty_table(raw, schema) -> None:
    assert (None, "min_rows") in _issues(raw.head(0), schema)


def test_extra_columns_are_dropped_or_refused(raw, schema) -> None:
    raw["comment"] = "x"
    result = validate_frame(raw, schema)
    assert result.ok and "comment" not in result.frame.columns
    assert result.notes == ["dropped undeclared column(s): comment"]
    strict = replace(schema, extra_columns="error")
    assert ("comment", "unexpected") in _issues(raw, strict)


# --------------------------------------------------------------------------------------------- CLI
@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    here = Path(__file__).resolve().parents[3]
    return {
        "schema": here / "data" / "schema.yaml",
        "in": tmp_path / "raw.parquet",
        "out": tmp_path / "prepared" / "validated.parquet",
        "report": tmp_path / "reports" / "validation.json",
    }


def _cli(paths: dict[str, Path]) -> int:
    args = [
        "--schema",
        paths["schema"],
        "--in",
        paths["in"],
        "--out",
        paths["out"],
        "--report",
        paths["report"],
    ]
    return run(main, [str(a) for a in args])


def test_cli_writes_table_and_passing_report(raw, paths, capsys) -> None:
    raw.to_parquet(paths["in"], index=False)
    assert _cli(paths) == 0
    assert pd.read_parquet(paths["out"]).shape == (344, 8)
    report = json.loads(paths["report"].read_text())
    assert report["ok"] is True and report["issues"] == [] and report["rows"] == 344
    assert report["source_digest"].startswith("sha256:")


def test_cli_failure_leaves_report_and_no_table(raw, paths, capsys) -> None:
    paths["out"].parent.mkdir(parents=True)
    paths["out"].write_bytes(b"stale output of an earlier run")
    raw.drop(columns=["bill_length_mm"]).assign(island="Atlantis").to_parquet(paths["in"], index=False)
    assert _cli(paths) == 1
    assert not paths["out"].exists(), "the stale validated table must be gone"
    err = capsys.readouterr().err
    assert "column 'bill_length_mm': rule 'present'" in err
    assert "column 'island': rule 'categories'" in err
    assert err.strip().splitlines()[-1].startswith("error: ")
    report = json.loads(paths["report"].read_text())
    assert report["ok"] is False
    assert {(i["column"], i["rule"]) for i in report["issues"]} == {
        ("bill_length_mm", "present"),
        ("island", "categories"),
    }
