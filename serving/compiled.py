"""Derive an inference plan (``serving.plan``) from a fitted scikit-learn pipeline, once, at load time.

scikit-learn's per-call overhead (input validation, a pandas DataFrame for the ColumnTransformer, feature
name checks) dwarfs the arithmetic for the 1-64 rows of an online request. ``compile_pipeline`` walks the
fitted pipeline and records each supported step's fitted attributes as plain data:

* preprocessing: ``Pipeline``, ``ColumnTransformer`` (named columns, ``drop``/``passthrough``),
  ``SimpleImputer`` (missing value NaN; any strategy), ``StandardScaler``, ``MinMaxScaler``,
  ``OneHotEncoder`` and ``OrdinalEncoder`` (no infrequent-category grouping);
* estimators: ``LogisticRegression`` (binary and multinomial) and ``HistGradientBoostingClassifier``
  (numeric splits).

Anything else raises ``Unsupported`` and the predictor keeps using scikit-learn. The predictor also
compares the plan with scikit-learn on the metadata examples and synthetic rows before trusting it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving.plan import FORMAT, Plan, is_missing, pack_trees
from serving.schema import InputSchema


class Unsupported(Exception):
    """The fitted pipeline contains something the plan format does not cover."""


@dataclass
class _Kind:
    """What flows between steps: 'array' (float64 matrix) or 'columns' (Python lists); numeric or not."""

    form: str
    numeric: bool


def _json_value(value: Any) -> Any:
    """A category or fill value as a JSON scalar (NumPy scalars become Python ones)."""
    value = value.item() if isinstance(value, np.generic) else value
    if not isinstance(value, (str, int, float, bool)) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise Unsupported(f"value {value!r} cannot be stored in a plan")
    return value


# --------------------------------------------------------------------------- preprocessing steps
def _imputer(step: Any, kind: _Kind, plan: Plan) -> dict[str, Any]:
    missing = step.missing_values
    if not (isinstance(missing, float) and math.isnan(missing)):
        raise Unsupported(f"SimpleImputer(missing_values={missing!r}) (only NaN is supported)")
    if getattr(step, "add_indicator", False):
        raise Unsupported("SimpleImputer(add_indicator=True)")
    stats = step.statistics_.tolist()
    if any(is_missing(s) for s in stats):
        raise Unsupported("SimpleImputer with an all-missing column at fit time")
    if kind.form == "array":
        return {
            "op": "impute",
            "form": "array",
            "fill": plan.add("fill", np.asarray(stats, dtype=np.float64)),
        }
    return {"op": "impute", "form": "columns", "values": [_json_value(s) for s in stats]}


def _standard_scaler(step: Any, plan: Plan) -> dict[str, Any]:
    mean = step.mean_ if step.with_mean and step.mean_ is not None else None
    scale = step.scale_ if step.with_std and step.scale_ is not None else None
    return {
        "op": "standard_scale",
        "mean": plan.add("mean", np.asarray(mean, dtype=np.float64)) if mean is not None else None,
        "scale": plan.add("scale", np.asarray(scale, dtype=np.float64)) if scale is not None else None,
    }


def _min_max_scaler(step: Any, plan: Plan) -> dict[str, Any]:
    low, high = step.feature_range
    return {
        "op": "min_max",
        "scale": plan.add("scale", np.asarray(step.scale_, dtype=np.float64)),
        "shift": plan.add("shift", np.asarray(step.min_, dtype=np.float64)),
        "low": float(low),
        "high": float(high),
        "clip": bool(getattr(step, "clip", False)),
    }


def _categories(categories: np.ndarray) -> tuple[list[tuple[Any, int]], int | None]:
    values = categories.tolist()
    known = [(_json_value(v), i) for i, v in enumerate(values) if not is_missing(v)]
    missing = next((i for i, v in enumerate(values) if is_missing(v)), None)
    return known, missing


def _check_no_infrequent(step: Any) -> None:
    if getattr(step, "_infrequent_enabled", False):
        raise Unsupported(f"{type(step).__name__} with infrequent-category grouping")


def _one_hot(step: Any, names: Sequence[str]) -> dict[str, Any]:
    _check_no_infrequent(step)
    if str(step.handle_unknown) not in ("ignore", "error", "infrequent_if_exist"):
        raise Unsupported(f"OneHotEncoder(handle_unknown={step.handle_unknown!r})")
    drop_idx = getattr(step, "drop_idx_", None)
    columns, offset = [], 0
    for j, cats in enumerate(step.categories_):
        known, missing = _categories(cats)
        dropped = None if drop_idx is None or drop_idx[j] is None else int(drop_idx[j])

        def position(i: int, dropped: int | None = dropped, offset: int = offset) -> int:
            if i == dropped:
                return -1
            return offset + i - (dropped is not None and i > dropped)

        columns.append(
            {
                "name": names[j] if j < len(names) else str(j),
                "positions": [[value, position(i)] for value, i in known],
                "missing": None if missing is None else position(missing),
            }
        )
        offset += len(cats) - (dropped is not None)
    return {
        "op": "one_hot",
        "columns": columns,
        "width": offset,
        "refuse_unknown": step.handle_unknown == "error",
        "dtype": np.dtype(step.dtype).str,
    }


def _ordinal(step: Any, names: Sequence[str]) -> dict[str, Any]:
    _check_no_infrequent(step)
    columns = []
    for j, cats in enumerate(step.categories_):
        known, missing = _categories(cats)
        columns.append({"name": names[j] if j < len(names) else str(j), "codes": [[v, i] for v, i in known],
                        "has_missing": missing is not None})  # fmt: skip
    encoded_missing = float(step.encoded_missing_value)
    return {
        "op": "ordinal",
        "columns": columns,
        "unknown_value": float(step.unknown_value) if step.handle_unknown == "use_encoded_value" else None,
        "encoded_missing": None if math.isnan(encoded_missing) else encoded_missing,
        "dtype": np.dtype(step.dtype).str,
    }


def _is_identity(step: Any) -> bool:
    """A fitted ColumnTransformer stores "passthrough" as a FunctionTransformer without a function."""
    from sklearn.preprocessing import FunctionTransformer

    return isinstance(step, FunctionTransformer) and step.func is None


def _transformer(
    step: Any, kind: _Kind, names: Sequence[str], plan: Plan
) -> tuple[list[dict[str, Any]], _Kind]:
    """Steps for one transformer (or a nested Pipeline) applied to a branch, and its output kind."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

    if isinstance(step, Pipeline):
        steps: list[dict[str, Any]] = []
        for _, sub in step.steps:
            if sub is None or sub == "passthrough":
                continue
            more, kind = _transformer(sub, kind, names, plan)
            steps.extend(more)
        return steps, kind
    if _is_identity(step):
        return [], kind
    if isinstance(step, SimpleImputer):
        return [_imputer(step, kind, plan)], kind
    if isinstance(step, (StandardScaler, MinMaxScaler)):
        if not kind.numeric:
            raise Unsupported(f"{type(step).__name__} on non-numeric columns")
        pre = [{"op": "to_array"}] if kind.form == "columns" else []
        op = _standard_scaler(step, plan) if isinstance(step, StandardScaler) else _min_max_scaler(step, plan)
        return [*pre, op], _Kind("array", True)
    if isinstance(step, (OneHotEncoder, OrdinalEncoder)):
        pre = [{"op": "to_columns"}] if kind.form == "array" else []
        op = _one_hot(step, names) if isinstance(step, OneHotEncoder) else _ordinal(step, names)
        return [*pre, op], _Kind("array", True)
    raise Unsupported(f"transformer {type(step).__name__}")


def _column_transformer(ct: Any, schema: InputSchema, plan: Plan) -> dict[str, Any]:
    branches = []
    for name, transformer, columns in ct.transformers_:
        if transformer == "drop":
            continue
        cols = [columns] if isinstance(columns, str) else list(np.asarray(columns).tolist())
        if not cols:
            continue
        if not all(isinstance(c, str) for c in cols):
            raise Unsupported(f"ColumnTransformer branch {name!r} selects columns by position or mask")
        unknown = [c for c in cols if c not in schema.by_name]
        if unknown:
            raise Unsupported(
                f"ColumnTransformer branch {name!r} uses columns not in input_schema: {unknown}"
            )
        numeric = all(schema.by_name[c].is_numeric for c in cols)
        start = _Kind("array" if numeric else "columns", numeric)
        if transformer == "passthrough" or _is_identity(transformer):
            if not numeric:
                raise Unsupported(f"passthrough of non-numeric columns in branch {name!r}")
            steps: list[dict[str, Any]] = []
            kind = start
        else:
            steps, kind = _transformer(transformer, start, cols, plan)
        if kind.form != "array":
            if not kind.numeric:
                raise Unsupported(f"branch {name!r} leaves non-numeric values for the estimator")
            steps.append({"op": "to_array"})
        branches.append({"columns": cols, "form": start.form, "steps": steps})
    if not branches:
        raise Unsupported("ColumnTransformer selects no columns")
    return {"kind": "columns", "branches": branches}


# --------------------------------------------------------------------------- estimators
def _logistic(clf: Any, plan: Plan) -> dict[str, Any]:
    binary = clf.coef_.shape[0] == 1
    if binary and len(clf.classes_) != 2:
        raise Unsupported("LogisticRegression with one coefficient row but not two classes")
    return {
        "kind": "logistic",
        "binary": binary,
        "coef_t": plan.add("coef_t", np.asarray(clf.coef_.T, dtype=np.float64)),
        "intercept": plan.add("intercept", np.asarray(clf.intercept_, dtype=np.float64)),
    }


def _hist_gradient_boosting(clf: Any, plan: Plan) -> dict[str, Any]:
    if getattr(clf, "_preprocessor", None) is not None:
        raise Unsupported("HistGradientBoostingClassifier with its own categorical preprocessor")
    if clf.is_categorical_ is not None and bool(np.any(clf.is_categorical_)):
        raise Unsupported("HistGradientBoostingClassifier with native categorical splits")
    k = int(clf.n_trees_per_iteration_)
    if k == 1 and len(clf.classes_) != 2:
        raise Unsupported("HistGradientBoostingClassifier with one tree per iteration but not two classes")
    trees = []
    for iteration in clf._predictors:
        if len(iteration) != k:
            raise Unsupported("HistGradientBoostingClassifier with a ragged iteration")
        for predictor in iteration:
            nodes = predictor.nodes
            if bool(np.any(nodes["is_categorical"])):
                raise Unsupported("HistGradientBoostingClassifier with categorical splits")
            trees.append(
                {
                    "left": nodes["left"].astype(np.int64),
                    "right": nodes["right"].astype(np.int64),
                    "is_leaf": nodes["is_leaf"].astype(bool),
                    "feature": nodes["feature_idx"],
                    "threshold": nodes["num_threshold"],
                    "missing_go_to_left": nodes["missing_go_to_left"],
                    "value": nodes["value"],
                }
            )
    spec = {
        "kind": "trees",
        "binary": k == 1,
        "k": k,
        "n_iter": len(clf._predictors),
        "baseline": plan.add("baseline", np.asarray(clf._baseline_prediction, dtype=np.float64).reshape(-1)),
    }
    if trees:
        spec.update(pack_trees(plan, trees))
    return spec


def _estimator(clf: Any, plan: Plan) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if type(clf) is LogisticRegression:
        return _logistic(clf, plan)
    if type(clf) is HistGradientBoostingClassifier:
        return _hist_gradient_boosting(clf, plan)
    raise Unsupported(f"estimator {type(clf).__name__}")


# --------------------------------------------------------------------------- entry point
def compile_pipeline(model: Any, schema: InputSchema) -> Plan:
    """The fitted ``model`` as a plan, or raise ``Unsupported``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in model.steps] if isinstance(model, Pipeline) else [model]
    steps = [s for s in steps if s is not None and s != "passthrough"]
    *transformers, estimator = steps
    if len(transformers) > 1 or (transformers and not isinstance(transformers[0], ColumnTransformer)):
        raise Unsupported("pipelines other than [ColumnTransformer,] estimator")
    plan = Plan({"format": FORMAT})
    if transformers:
        plan.spec["transform"] = _column_transformer(transformers[0], schema, plan)
    else:
        if not schema.all_numeric:
            raise Unsupported("a bare estimator with categorical inputs")
        names = [str(n) for n in getattr(estimator, "feature_names_in_", schema.names)]
        if sorted(names) != sorted(schema.names):
            raise Unsupported("the estimator's feature names differ from input_schema")
        plan.spec["transform"] = {"kind": "select", "columns": names}
    plan.spec["estimator"] = _estimator(estimator, plan)
    return plan
