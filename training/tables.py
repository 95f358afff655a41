"""Reading and writing the pipeline's intermediate tables (Parquet), atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from training.errors import TrainingError


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``, else delete it.

    Readers see the old file or the complete new one, never a part: an interrupted stage leaves nothing.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


_PARQUET = {"index": False, "engine": "pyarrow", "compression": "snappy"}


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``frame`` (index dropped) as Parquet, atomically. Same frame and libraries -> same bytes."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, **_PARQUET)


def table_bytes(frame: pd.DataFrame) -> bytes:
    """The bytes ``write_table`` would write, for digests of tables kept in memory."""
    data = frame.to_parquet(None, **_PARQUET)
    assert isinstance(data, bytes)
    return data


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Parquet table written by an earlier stage; a missing or broken file is a TrainingError."""
    source = Path(path)
    if not source.is_file():
        raise TrainingError(f"{source}: file not found (run the earlier pipeline stages first)")
    try:
        return pd.read_parquet(source, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise TrainingError(f"{source}: not a readable Parquet file: {exc}") from exc


def remove_stale(*paths: str | os.PathLike[str]) -> None:
    """Delete outputs of an earlier run so a failing stage leaves no downstream output behind."""
    for path in paths:
        Path(path).unlink(missing_ok=True)
