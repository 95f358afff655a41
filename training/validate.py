"""Stage 2, validate: check the raw table against data/schema.yaml and write it back typed.

    python -m training.validate --schema data/schema.yaml --in data/raw/data.parquet \
        --out data/prepared/validated.parquet --report reports/validation.json

Reads no params.yaml keys: every rule lives in the schema file. On any problem the stage writes the
report (every problem, each naming its column and rule), prints the same list, writes no validated table
and exits 1. On success the validated table holds the schema's columns in order, typed: float64, int64
(float64 when it has nulls), and categoricals with exactly the declared categories.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from training.artifact import atomic_write_json, file_digest
from training.cli import log, run
from training.errors import DataValidationError
from training.schema import ColumnSpec, Schema, load_schema
from training.tables import read_table, remove_stale, write_table

_EXAMPLES = 3


@dataclass(frozen=True)
class Issue:
    """One broken rule. ``column`` is None for table-wide rules (min_rows)."""

    column: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"column '{self.column}'" if self.column is not None else "table"
        return f"{where}: rule '{self.rule}': {self.message}"


@dataclass
class ValidationResult:
    rows: int
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    frame: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return not self.issues


def _examples(values: pd.Series) -> str:
    shown = [repr(v.item() if hasattr(v, "item") else v) for v in values.unique()[:_EXAMPLES]]
    return ", ".join(shown)


def _coerce_numeric(spec: ColumnSpec, raw: pd.Series, issues: list[Issue]) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(raw):
        issues.append(Issue(spec.name, "dtype", f"expected {spec.dtype}, found booleans"))
        return None
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
    elif pd.api.types.is_object_dtype(raw) or pd.api.types.is_string_dtype(raw):
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = raw.notna() & values.isna()
        if bad.any():
            issues.append(
                Issue(
                    spec.name,
                    "dtype",
                    f"expected {spec.dtype}, found {int(bad.sum())} non-numeric value(s), "
                    f"e.g. {_examples(raw[bad])}",
                )
            )
            return None
    else:
        issues.append(Issue(spec.name, "dtype", f"expected {spec.dtype}, found {raw.dtype}"))
        return None
    if np.isinf(values).any():
        issues.append(Issue(spec.name, "dtype", "found infinite value(s)"))
        return None
    if spec.dtype == "int64":
        fractional = values.notna() & (values != np.floor(values))
        if fractional.any():
            issues.append(
                Issue(
                    spec.name,
                    "dtype",
                    f"expected int64, found {int(fractional.sum())} non-integer value(s), "
                    f"e.g. {_examples(values[fractional])}",
                )
            )
            return None
    return values


def _coerce_category(spec: ColumnSpec, raw: pd.Series, issues: list[Issue]) -> pd.Series | None:
    assert spec.categories is not None
    if not (
        pd.api.types.is_object_dtype(raw)
        or pd.api.types.is_string_dtype(raw)
        or isinstance(raw.dtype, pd.CategoricalDtype)
    ):
        issues.append(Issue(spec.name, "dtype", f"expected category (text), found {raw.dtype}"))
        return None
    text = raw.astype("object").where(raw.notna(), None).map(lambda v: v if v is None else str(v))
    unknown = text.notna() & ~text.isin(spec.categories)
    if unknown.any():
        issues.append(
            Issue(
                spec.name,
                "categories",
                f"{int(unknown.sum())} value(s) outside the allowed categories "
                f"[{', '.join(spec.categories)}], e.g. {_examples(text[unknown])}",
            )
        )
        return None
    return pd.Series(pd.Categorical(text, categories=list(spec.categories)), index=raw.index, name=spec.name)


def _check_nulls(spec: ColumnSpec, raw: pd.Series, rows: int, issues: list[Issue]) -> None:
    nulls = int(raw.isna().sum())
    if rows and nulls == rows:
        issues.append(Issue(spec.name, "all_null", f"all {rows} values are null"))
    elif nulls and not spec.nullable:
        issues.append(Issue(spec.name, "nullable", f"{nulls} null value(s), but the column is not nullable"))
    elif spec.max_null_fraction is not None and rows and nulls / rows > spec.max_null_fraction:
        issues.append(
            Issue(
                spec.name,
                "max_null_fraction",
                f"{nulls}/{rows} values are null ({nulls / rows:.1%}), "
                f"more than the allowed {spec.max_null_fraction:.1%}",
            )
        )


def _check_range(spec: ColumnSpec, values: pd.Series, issues: list[Issue]) -> None:
    if spec.min is not None:
        low = values < spec.min
        if low.any():
            issues.append(
                Issue(
                    spec.name,
                    "min",
                    f"{int(low.sum())} value(s) below the minimum {spec.min:g}, e.g. {_examples(values[low])}",
                )
            )
    if spec.max is not None:
        high = values > spec.max
        if high.any():
            issues.append(
                Issue(
                    spec.name,
                    "max",
                    f"{int(high.sum())} value(s) above the maximum {spec.max:g}, e.g. {_examples(values[high])}",
                )
            )


def validate_frame(frame: pd.DataFrame, schema: Schema) -> ValidationResult:
    """Check ``frame`` against ``schema``; return every issue and, when there is none, the typed table."""
    rows = len(frame)
    result = ValidationResult(rows=rows)
    issues = result.issues
    present = set(frame.columns)
    if schema.target not in present:
        issues.append(
            Issue(
                schema.target, "target_present", "the target column is missing, so there is nothing to learn"
            )
        )
    for spec in schema.columns:
        if spec.name not in present and spec.name != schema.target:
            issues.append(
                Issue(spec.name, "present", f"column is missing (found: {', '.join(frame.columns)})")
            )
    extra = [c for c in frame.columns if c not in {s.name for s in schema.columns}]
    if extra and schema.extra_columns == "error":
        issues.extend(Issue(c, "unexpected", "column is not declared in the schema") for c in extra)
    elif extra:
        result.notes.append(f"dropped undeclared column(s): {', '.join(extra)}")

    typed: dict[str, pd.Series] = {}
    for spec in schema.columns:
        if spec.name not in present:
            continue
        raw = frame[spec.name]
        _check_nulls(spec, raw, rows, issues)
        if rows and raw.isna().all():
            continue  # reported as all_null; its dtype cannot be judged
        if spec.numeric:
            values = _coerce_numeric(spec, raw, issues)
            if values is not None:
                _check_range(spec, values, issues)
                if spec.dtype == "int64" and not values.isna().any():
                    values = values.astype("int64")
        else:
            values = _coerce_category(spec, raw, issues)
        if values is not None:
            typed[spec.name] = values.reset_index(drop=True)

    target = typed.get(schema.target)
    if target is not None and rows and target.nunique() < 2:
        issues.append(
            Issue(schema.target, "target_classes", "fewer than 2 classes present; nothing to tell apart")
        )
    if rows < schema.min_rows:
        issues.append(
            Issue(None, "min_rows", f"{rows} row(s), the schema requires at least {schema.min_rows}")
        )
    if not issues:
        result.frame = pd.DataFrame({name: typed[name] for name in schema.names})
    return result


def report(result: ValidationResult, source: str, digest: str | None) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "source": source,
        "source_digest": digest,
        "rows": result.rows,
        "issues": [asdict(i) | {"text": str(i)} for i in result.issues],
        "notes": result.notes,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.validate", description=__doc__.splitlines()[0])
    parser.add_argument("--schema", required=True, help="schema file, e.g. data/schema.yaml")
    parser.add_argument("--in", dest="source", required=True, help="raw Parquet table from the ingest stage")
    parser.add_argument("--out", required=True, help="validated Parquet table to write")
    parser.add_argument("--report", required=True, help="JSON report to write, pass or fail")
    args = parser.parse_args(argv)

    remove_stale(args.out)  # a failed validation must leave no table for the next stage
    schema = load_schema(args.schema)
    frame = read_table(args.source)
    result = validate_frame(frame, schema)
    atomic_write_json(args.report, report(result, args.source, file_digest(args.source)))
    for note in result.notes:
        log("validate", note)
    if not result.ok:
        lines = "\n".join(f"  - {issue}" for issue in result.issues)
        print(f"validate: {len(result.issues)} problem(s) in {args.source}:\n{lines}", file=sys.stderr)
        raise DataValidationError(
            f"{args.source}: data does not match {args.schema} "
            f"({len(result.issues)} problem(s); first: {result.issues[0]}); report: {args.report}",
            result.issues,
        )
    assert result.frame is not None
    write_table(result.frame, args.out)
    log("validate", f"{result.rows} rows pass {args.schema} -> {args.out} (report {args.report})")


if __name__ == "__main__":
    raise SystemExit(run(main))
