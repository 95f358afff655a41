"""The data schema (data/schema.yaml): what the validate stage enforces and the model is built around.

File layout::

    target: species              # the label column; must be declared below as a non-nullable category
    min_rows: 100                # fewer rows than this fails validation
    extra_columns: drop          # columns not declared below: drop (with a note) or error
    columns:                     # in the order the model takes them
      bill_length_mm: {dtype: float64, nullable: true, min: 25, max: 70, max_null_fraction: 0.05}
      island: {dtype: category, categories: [Biscoe, Dream, Torgersen], nullable: false}

dtype is one of float64, int64, category. min/max apply to numbers, categories to category columns.
A nullable column may hold nulls, but never only nulls.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from training.errors import SchemaError

DTYPES = ("float64", "int64", "category")
_COLUMN_KEYS = {"dtype", "nullable", "min", "max", "categories", "max_null_fraction", "description"}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    dtype: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None
    max_null_fraction: float | None = None

    @property
    def numeric(self) -> bool:
        return self.dtype in ("float64", "int64")


@dataclass(frozen=True)
class Schema:
    target: str
    min_rows: int
    columns: tuple[ColumnSpec, ...]
    extra_columns: str = "drop"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def features(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.name != self.target)

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)


def load_schema(path: str | os.PathLike[str]) -> Schema:
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SchemaError(f"{file}: schema file not found") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SchemaError(f"{file}: unreadable schema file: {exc}") from exc
    return schema_from_dict(data, str(file))


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SchemaError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _column(name: str, raw: Any, source: str) -> ColumnSpec:
    where = f"{source}: column '{name}'"
    if not isinstance(raw, Mapping):
        raise SchemaError(f"{where} must be a mapping with at least 'dtype'")
    unknown = sorted(set(raw) - _COLUMN_KEYS)
    if unknown:
        raise SchemaError(f"{where}: unknown key(s) {', '.join(unknown)}")
    dtype = raw.get("dtype")
    if dtype not in DTYPES:
        raise SchemaError(f"{where}: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    nullable = raw.get("nullable", True)
    if not isinstance(nullable, bool):
        raise SchemaError(f"{where}: nullable must be true or false, got {nullable!r}")
    low, high = _number(raw.get("min"), f"{where}: min"), _number(raw.get("max"), f"{where}: max")
    fraction = _number(raw.get("max_null_fraction"), f"{where}: max_null_fraction")
    if fraction is not None and not 0 <= fraction <= 1:
        raise SchemaError(f"{where}: max_null_fraction must be between 0 and 1, got {fraction}")
    categories = raw.get("categories")
    if dtype == "category":
        if not isinstance(categories, list) or not categories:
            raise SchemaError(f"{where}: a category column needs a non-empty 'categories' list")
        if len({str(c) for c in categories}) != len(categories):
            raise SchemaError(f"{where}: categories contain duplicates")
        if low is not None or high is not None:
            raise SchemaError(f"{where}: min/max apply to numeric columns only")
        cats: tuple[str, ...] | None = tuple(str(c) for c in categories)
    else:
        if categories is not None:
            raise SchemaError(f"{where}: categories apply to category columns only")
        if low is not None and high is not None and low > high:
            raise SchemaError(f"{where}: min {low} is greater than max {high}")
        cats = None
    return ColumnSpec(str(name), dtype, nullable, low, high, cats, fraction)


def schema_from_dict(data: Any, source: str = "schema") -> Schema:
    if not isinstance(data, Mapping):
        raise SchemaError(f"{source}: must hold a YAML mapping with target, min_rows and columns")
    columns = data.get("columns")
    if not isinstance(columns, Mapping) or not columns:
        raise SchemaError(f"{source}: 'columns' must map column names to their rules")
    specs = tuple(_column(str(name), raw, source) for name, raw in columns.items())
    target = data.get("target")
    if not isinstance(target, str) or target not in {s.name for s in specs}:
        raise SchemaError(f"{source}: 'target' must name one of the declared columns, got {target!r}")
    target_spec = next(s for s in specs if s.name == target)
    if target_spec.dtype != "category" or target_spec.nullable:
        raise SchemaError(
            f"{source}: target column '{target}' must be a category column with nullable: false"
        )
    if len(specs) < 2:
        raise SchemaError(f"{source}: declare at least one feature column besides the target")
    min_rows = data.get("min_rows", 1)
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise SchemaError(f"{source}: min_rows must be a positive integer, got {min_rows!r}")
    extra = data.get("extra_columns", "drop")
    if extra not in ("drop", "error"):
        raise SchemaError(f"{source}: extra_columns must be drop or error, got {extra!r}")
    return Schema(target=target, min_rows=min_rows, columns=specs, extra_columns=extra)
