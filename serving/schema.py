"""Decode request rows against the model's input schema (``metadata.json`` -> ``input_schema``).

Every protocol ends up here: rows as objects keyed by feature name, rows as positional lists, columns
(one list per feature) or CSV text all become a ``Batch`` of plain Python columns:

* numeric features (``float64``/``int64``) -> ``float`` values, ``nan`` for a missing value;
* categorical features -> ``str`` values, ``None`` for a missing value.

Problems raise ``InvalidInput`` (or ``PayloadTooLarge`` for too many rows) with a message that says
where (row and feature) and what is wrong. No pandas here: this runs on every request.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from serving.errors import InvalidInput, PayloadTooLarge

NUMERIC_DTYPES = ("float64", "int64")
CATEGORY = "category"
_INT64_LIMIT = 2**63


class SchemaError(ValueError):
    """metadata.json's input_schema itself is unusable (a broken artifact, not a bad request)."""


class BadValue(ValueError):
    """One value does not fit its feature. The caller adds where it was."""


def describe(value: Any) -> str:
    """A short, type-first description of a JSON value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str
    nullable: bool
    categories: tuple[Any, ...] = ()

    @property
    def is_numeric(self) -> bool:
        return self.dtype in NUMERIC_DTYPES

    def missing(self, what: str) -> Any:
        if not self.nullable:
            raise BadValue(f"{what} is not allowed: the feature is not nullable")
        return math.nan if self.is_numeric else None


@dataclass
class Batch:
    """Decoded rows, column-wise: ``columns[name]`` holds one Python value per row."""

    columns: dict[str, list[Any]]
    n_rows: int

    def rows(self) -> list[dict[str, Any]]:
        """Row dicts with JSON-style nulls (for logs, tests and the scikit-learn fallback)."""
        out = []
        for i in range(self.n_rows):
            row = {}
            for name, col in self.columns.items():
                value = col[i]
                row[name] = None if value is None or (isinstance(value, float) and value != value) else value
            out.append(row)
        return out


Converter = Callable[[Any], Any]


class InputSchema:
    """The features a model takes, in model column order, and how to decode values for each."""

    def __init__(self, features: Sequence[Feature], unknown_categories: str = "error", max_rows: int = 1000):
        if not features:
            raise SchemaError("input_schema lists no features")
        names = [f.name for f in features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(f"input_schema lists feature(s) more than once: {', '.join(dupes)}")
        if unknown_categories not in ("error", "ignore"):
            raise SchemaError(
                f"input_schema.unknown_categories must be 'error' or 'ignore', got {unknown_categories!r}"
            )
        self.features = tuple(features)
        self.names = tuple(names)
        self.name_set = frozenset(names)
        self.by_name = {f.name: f for f in features}
        self.unknown_categories = unknown_categories
        self.max_rows = max_rows
        self.all_numeric = all(f.is_numeric for f in features)
        self._json = [(f.name, self._json_converter(f)) for f in features]
        self._text = [(f.name, self._text_converter(f)) for f in features]

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_metadata(cls, input_schema: Mapping[str, Any], max_rows: int = 1000) -> InputSchema:
        if not isinstance(input_schema, Mapping) or not isinstance(input_schema.get("features"), list):
            raise SchemaError("input_schema must be an object with a 'features' list")
        features = []
        for i, spec in enumerate(input_schema["features"]):
            if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
                raise SchemaError(f"input_schema.features[{i}] must be an object with a string 'name'")
            dtype = spec.get("dtype")
            if dtype not in (*NUMERIC_DTYPES, CATEGORY):
                raise SchemaError(f"input_schema feature {spec['name']!r}: unsupported dtype {dtype!r}")
            categories: tuple[Any, ...] = ()
            if dtype == CATEGORY:
                raw = spec.get("categories")
                if not isinstance(raw, list) or not raw:
                    raise SchemaError(
                        f"input_schema feature {spec['name']!r}: 'categories' must be a non-empty list"
                    )
                categories = tuple(raw)
            features.append(Feature(spec["name"], dtype, bool(spec.get("nullable", False)), categories))
        return cls(features, str(input_schema.get("unknown_categories", "error")), max_rows)

    # ------------------------------------------------------------------ converters
    def _json_converter(self, f: Feature) -> Converter:
        if f.dtype == "float64":
            return _float_converter(f, integer=False)
        if f.dtype == "int64":
            return _float_converter(f, integer=True)
        return self._category_converter(f)

    def _category_converter(self, f: Feature) -> Converter:
        known = frozenset(f.categories)
        strings = all(isinstance(c, str) for c in f.categories)
        reject_unknown = self.unknown_categories == "error"
        shown = ", ".join(repr(c) for c in f.categories[:20]) + (", ..." if len(f.categories) > 20 else "")

        def convert(value: Any) -> Any:
            if value is None:
                return f.missing("null")
            if isinstance(value, float) and value != value:
                return f.missing("NaN")
            if strings and not isinstance(value, str):
                raise BadValue(f"expected a string (one of {shown}), got {describe(value)}")
            if not strings and (isinstance(value, (bool, list, dict)) or value is None):
                raise BadValue(f"expected one of {shown}, got {describe(value)}")
            if value not in known and reject_unknown:
                raise BadValue(f"unknown category {value!r}; expected one of {shown}")
            return value

        return convert

    def _text_converter(self, f: Feature) -> Converter:
        """Converters for CSV fields (always strings): empty means missing."""
        as_json = self._json[self.names.index(f.name)][1]
        if f.is_numeric:

            def convert_number(text: str) -> Any:
                text = text.strip()
                if text == "":
                    return f.missing("an empty value")
                try:
                    value = float(text)
                except ValueError:
                    raise BadValue(f"expected a number, got {text!r}") from None
                return as_json(value)

            return convert_number

        def convert_text(text: str) -> Any:
            return f.missing("an empty value") if text == "" else as_json(text)

        return convert_text

    # ------------------------------------------------------------------ decoding
    def check_count(self, n: int, label: str) -> None:
        if n == 0:
            raise InvalidInput(f"{label} is empty: send at least one row")
        if n > self.max_rows:
            raise PayloadTooLarge(f"{label} has {n} rows; at most {self.max_rows} are accepted per request")

    def decode_records(self, rows: Any, label: str = "rows") -> Batch:
        """Rows as JSON objects keyed by feature name (every feature present, nothing else)."""
        if not isinstance(rows, list):
            raise InvalidInput(
                f"'{label}' must be an array of objects keyed by feature name, got {describe(rows)}"
            )
        self.check_count(len(rows), f"'{label}'")
        columns: dict[str, list[Any]] = {name: [] for name in self.names}
        appenders = [(name, conv, columns[name].append) for name, conv in self._json]
        name_set = self.name_set
        for i, row in enumerate(rows):
            if type(row) is not dict:
                raise InvalidInput(
                    f"{label}[{i}] must be an object keyed by feature name, got {describe(row)}"
                )
            if row.keys() != name_set:
                raise InvalidInput(f"{label}[{i}]: {self.key_problem(row.keys())}")
            for name, conv, append in appenders:
                try:
                    append(conv(row[name]))
                except BadValue as exc:
                    raise InvalidInput(f"{label}[{i}].{name}: {exc}") from None
        return Batch(columns, len(rows))

    def decode_positional(self, rows: Any, label: str = "instances") -> Batch:
        """Rows as JSON arrays of values in the schema's feature order."""
        if not isinstance(rows, list):
            raise InvalidInput(f"'{label}' must be an array of rows, got {describe(rows)}")
        self.check_count(len(rows), f"'{label}'")
        width = len(self.names)
        columns: dict[str, list[Any]] = {name: [] for name in self.names}
        appenders = [(name, conv, columns[name].append) for name, conv in self._json]
        for i, row in enumerate(rows):
            if type(row) is not list:
                raise InvalidInput(f"{label}[{i}] must be an array of {width} values, got {describe(row)}")
            if len(row) != width:
                raise InvalidInput(
                    f"{label}[{i}] has {len(row)} values; expected {width} in this order: {', '.join(self.names)}"
                )
            for (name, conv, append), value in zip(appenders, row, strict=True):
                try:
                    append(conv(value))
                except BadValue as exc:
                    raise InvalidInput(f"{label}[{i}][{self.names.index(name)}] ({name}): {exc}") from None
        return Batch(columns, len(rows))

    def decode_mixed(self, rows: Any, label: str = "instances") -> Batch:
        """Rows that are all objects or all arrays (KServe V1 and SageMaker JSON accept both)."""
        if isinstance(rows, list) and rows and all(type(r) is list for r in rows):
            return self.decode_positional(rows, label)
        if isinstance(rows, list) and rows and any(type(r) is list for r in rows):
            raise InvalidInput(f"'{label}' mixes arrays and objects: use one form for every row")
        return self.decode_records(rows, label)

    def decode_columns(self, columns: Mapping[str, Sequence[Any]], where: Callable[[str, int], str]) -> Batch:
        """One flat list of values per feature (all features present, equal lengths already checked)."""
        out: dict[str, list[Any]] = {}
        n = -1
        for name, conv in self._json:
            values = columns[name]
            n = len(values)
            converted = []
            for i, value in enumerate(values):
                try:
                    converted.append(conv(value))
                except BadValue as exc:
                    raise InvalidInput(f"{where(name, i)}: {exc}") from None
            out[name] = converted
        return Batch(out, n)

    def decode_csv(self, text: str) -> Batch:
        """CSV text, one row per line in the schema's feature order; an optional header row of the exact
        feature names is skipped. Empty fields are missing values."""
        try:
            records = [r for r in csv.reader(io.StringIO(text), strict=True) if r]
        except csv.Error as exc:
            raise InvalidInput(f"malformed CSV: {exc}") from None
        if records and [c.strip() for c in records[0]] == list(self.names):
            records = records[1:]
        self.check_count(len(records), "the CSV body")
        width = len(self.names)
        columns: dict[str, list[Any]] = {name: [] for name in self.names}
        appenders = [(name, conv, columns[name].append) for name, conv in self._text]
        for line, record in enumerate(records, start=1):
            if len(record) != width:
                raise InvalidInput(
                    f"CSV row {line} has {len(record)} fields; expected {width} in this order: {', '.join(self.names)}"
                )
            for col, ((name, conv, append), value) in enumerate(zip(appenders, record, strict=True), start=1):
                try:
                    append(conv(value))
                except BadValue as exc:
                    raise InvalidInput(f"CSV row {line}, column {col} ({name}): {exc}") from None
        return Batch(columns, len(records))

    def key_problem(self, keys: Any) -> str:
        """Explain how a row's keys differ from the schema: missing, unknown (with a suggestion)."""
        keys = set(keys)
        parts = []
        missing = [n for n in self.names if n not in keys]
        unknown = sorted(str(k) for k in keys - self.name_set)
        for name in unknown:
            close = difflib.get_close_matches(name, missing or self.names, n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"unknown feature {name!r}{hint}")
        if missing:
            parts.append("missing feature(s) " + ", ".join(repr(n) for n in missing))
        return "; ".join(parts) + f"; expected exactly: {', '.join(self.names)}"


def _float_converter(f: Feature, integer: bool) -> Converter:
    kind = "an integer" if integer else "a number"

    def convert(value: Any) -> Any:
        t = type(value)
        if t is float:
            if value != value:
                return f.missing("NaN")
            if value in (math.inf, -math.inf):
                raise BadValue(
                    f"{'Infinity' if value > 0 else '-Infinity'} is not allowed: values must be finite"
                )
            if integer and not value.is_integer():
                raise BadValue(f"expected an integer, got {value!r}")
            return value
        if t is int:
            if integer and not -_INT64_LIMIT <= value < _INT64_LIMIT:
                raise BadValue(f"integer {value} is outside the int64 range")
            try:
                return float(value)
            except OverflowError:
                raise BadValue(f"number {value} is too large") from None
        if value is None:
            return f.missing("null")
        raise BadValue(f"expected {kind}, got {describe(value)}")

    return convert
