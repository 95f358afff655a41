"""The ingest stage CLI: writes the source as Parquet, or fails naming the source and writes nothing."""

from __future__ import annotations

from pathlib import Path

import boto3
import pandas as pd

from training.cli import run
from training.ingest import main


def test_builtin_source_is_written_unchanged(tmp_path: Path, make_params, raw_penguins, capsys) -> None:
    params = make_params()
    out = tmp_path / "raw" / "data.parquet"
    assert run(main, ["--params", str(params), "--out", str(out)]) == 0
    got = pd.read_parquet(out)
    assert got.dtypes.equals(raw_penguins.dtypes) and got.equals(raw_penguins)  # None and NaN both null
    assert "344 rows x 8 columns from builtin:penguins" in capsys.readouterr().err
    assert [p.name for p in out.parent.iterdir()] == ["data.parquet"]  # no temporary file left behind


def test_local_csv_with_explicit_format(tmp_path: Path, make_params, raw_penguins) -> None:
    source = tmp_path / "export.data"
    raw_penguins.to_csv(source, index=False)
    params = make_params(**{"data.source": str(source), "data.format": "csv"})
    out = tmp_path / "out.parquet"
    assert run(main, ["--params", str(params), "--out", str(out)]) == 0
    assert pd.read_parquet(out).shape == (344, 8)


def _fails(tmp_path: Path, make_params, source: str, capsys) -> str:
    params = make_params(**{"data.source": source})
    out = tmp_path / "raw" / "data.parquet"
    assert run(main, ["--params", str(params), "--out", str(out)]) == 1
    assert not out.exists(), "a failed ingest must leave no output"
    assert not out.parent.exists() or not any(out.parent.iterdir())
    return capsys.readouterr().err


def test_empty_file(tmp_path: Path, make_params, capsys) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    err = _fails(tmp_path, make_params, str(tmp_path / "empty.csv"), capsys)
    assert f"error: {tmp_path / 'empty.csv'}: file is empty" in err


def test_unreadable_file(tmp_path: Path, make_params, capsys) -> None:
    (tmp_path / "data.parquet").write_bytes(b"\x89PNG\r\n\x1a\n not a table at all")
    err = _fails(tmp_path, make_params, str(tmp_path / "data.parquet"), capsys)
    assert "data.parquet: unreadable Parquet file" in err


def test_missing_local_file(tmp_path: Path, make_params, capsys) -> None:
    err = _fails(tmp_path, make_params, str(tmp_path / "nope.csv"), capsys)
    assert "nope.csv: file not found" in err


def test_nonexistent_s3_key(tmp_path: Path, make_params, aws_env: str, capsys) -> None:
    boto3.client("s3", endpoint_url=aws_env).create_bucket(Bucket="ingest-stage-bucket")
    err = _fails(tmp_path, make_params, "s3://ingest-stage-bucket/raw/penguins.csv", capsys)
    assert (
        "error: s3://ingest-stage-bucket/raw/penguins.csv: no such key in bucket 'ingest-stage-bucket'" in err
    )


def test_bad_format_param(tmp_path: Path, make_params, capsys) -> None:
    params = make_params(**{"data.format": "xlsx"})
    assert run(main, ["--params", str(params), "--out", str(tmp_path / "o.parquet")]) == 1
    assert "'data.format' must be one of auto, csv, parquet" in capsys.readouterr().err
