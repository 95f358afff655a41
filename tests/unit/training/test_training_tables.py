"""Atomic outputs: a stage interrupted mid-write leaves the old file or nothing, never a part."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from training.errors import TrainingError
from training.tables import atomic_path, read_table, write_table


def test_interrupted_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "table.parquet"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a tab")
        raise KeyboardInterrupt
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_interrupted_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "table.parquet"
    write_table(pd.DataFrame({"a": [1, 2]}), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("disk full")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]


def test_same_frame_gives_same_bytes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.5, None], "b": pd.Categorical(["x", None], categories=["x", "y"])})
    write_table(frame, tmp_path / "one.parquet")
    write_table(frame, tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
    assert list(read_table(tmp_path / "one.parquet")["b"].cat.categories) == ["x", "y"]


def test_reading_a_missing_or_broken_table(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="file not found"):
        read_table(tmp_path / "absent.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"nope")
    with pytest.raises(TrainingError, match="not a readable Parquet file"):
        read_table(tmp_path / "bad.parquet")
