"""The model's inputs: which columns it takes, how each is encoded, and the input schema it publishes.

Numeric columns are imputed (and optionally standardised); category columns are one-hot encoded against
the categories declared in the schema. A missing or unknown category encodes as all zeros, so the fitted
model accepts ``None``/NaN and unseen values alike; whether the server rejects unknown categories
instead is the ``unknown_categories`` policy recorded in the input schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from training.schema import ColumnSpec, Schema

NUMERIC_IMPUTERS = ("mean", "median")
UNKNOWN_CATEGORY_POLICIES = ("error", "ignore")


@dataclass(frozen=True)
class FeatureParams:
    numeric_imputer: str = "median"
    scale_numeric: bool = True
    unknown_categories: str = "error"


def numeric_features(schema: Schema) -> list[ColumnSpec]:
    return [c for c in schema.features if c.numeric]


def categorical_features(schema: Schema) -> list[ColumnSpec]:
    return [c for c in schema.features if not c.numeric]


def model_columns(schema: Schema) -> list[str]:
    """Feature names in the order the model takes them (the schema's order, target left out)."""
    return [c.name for c in schema.features]


def model_inputs(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The feature table as a server would build it: numbers as float/int, categories as str or NaN."""
    out = {}
    for spec in schema.features:
        column = frame[spec.name]
        if spec.numeric:
            out[spec.name] = column
        else:
            out[spec.name] = column.astype("object").where(column.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index)


def labels(frame: pd.DataFrame, schema: Schema) -> pd.Series:
    return frame[schema.target].astype("object").astype(str)


def build_preprocessor(schema: Schema, params: FeatureParams) -> ColumnTransformer:
    numeric = [c.name for c in numeric_features(schema)]
    categorical = categorical_features(schema)
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy=params.numeric_imputer))]
    if params.scale_numeric:
        numeric_steps.append(("scale", StandardScaler()))
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), numeric))
    if categorical:
        encoder = OneHotEncoder(
            categories=[list(c.categories or ()) for c in categorical],
            handle_unknown="ignore",
            sparse_output=False,
            dtype=np.float64,
        )
        transformers.append(("categorical", encoder, [c.name for c in categorical]))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def _json_number(value: Any, integer: bool) -> int | float:
    return int(value) if integer else float(value)


def input_schema(train_frame: pd.DataFrame, schema: Schema, unknown_categories: str) -> dict[str, Any]:
    """The request contract published in metadata.json: features in model order, with observed ranges."""
    features: list[dict[str, Any]] = []
    for spec in schema.features:
        entry: dict[str, Any] = {"name": spec.name, "dtype": spec.dtype, "nullable": spec.nullable}
        if spec.numeric:
            values = train_frame[spec.name].dropna()
            integer = spec.dtype == "int64"
            entry["min"] = _json_number(values.min(), integer) if len(values) else None
            entry["max"] = _json_number(values.max(), integer) if len(values) else None
        else:
            entry["categories"] = list(spec.categories or ())
        features.append(entry)
    return {"features": features, "unknown_categories": unknown_categories}


def json_row(row: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """One input row with JSON types: NaN -> None, numpy scalars -> int/float/str."""
    out: dict[str, Any] = {}
    for spec in schema.features:
        value = row[spec.name]
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            out[spec.name] = None
        elif spec.numeric:
            out[spec.name] = _json_number(value, spec.dtype == "int64")
        else:
            out[spec.name] = str(value)
    return out
