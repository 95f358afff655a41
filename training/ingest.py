"""Stage 1, ingest: read the source named in params.yaml and store it unchanged as Parquet.

    python -m training.ingest [--params params.yaml] --out data/raw/data.parquet

Reads params: data.source, data.format. Values are kept as read (no type coercion): checking them
against the schema is the validate stage's job.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from training.cli import log, run
from training.errors import IngestError
from training.params import DEFAULT_PARAMS_FILE, Params
from training.sources import FORMATS, read_source
from training.tables import write_table


@dataclass(frozen=True)
class IngestParams:
    source: str
    format: str

    @classmethod
    def read(cls, params: Params) -> IngestParams:
        return cls(source=params.string("data.source"), format=params.string("data.format", FORMATS))


def ingest(settings: IngestParams) -> pd.DataFrame:
    """Read the configured source; column names become strings, the index is dropped."""
    frame = read_source(settings.source, settings.format)
    if frame.shape[1] == 0:
        raise IngestError(f"{settings.source}: the table has no columns")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise IngestError(f"{settings.source}: duplicate column name(s): {', '.join(duplicated)}")
    return frame


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=DEFAULT_PARAMS_FILE, help="parameters file (params.yaml)")
    parser.add_argument("--out", required=True, help="Parquet file to write, e.g. data/raw/data.parquet")
    args = parser.parse_args(argv)

    settings = IngestParams.read(Params.load(args.params))
    frame = ingest(settings)
    try:
        write_table(frame, args.out)
    except (ValueError, TypeError) as exc:  # pyarrow cannot store a column of mixed Python objects
        raise IngestError(f"{settings.source}: cannot store the table as Parquet: {exc}") from exc
    log("ingest", f"{len(frame)} rows x {frame.shape[1]} columns from {settings.source} -> {args.out}")


if __name__ == "__main__":
    raise SystemExit(run(main))
