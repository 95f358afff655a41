"""A NumPy re-implementation of the fitted pipeline's ``predict_proba``, derived once at load time.

scikit-learn's per-call overhead (input validation, a pandas DataFrame for the ColumnTransformer, feature
name checks) dwarfs the arithmetic for the 1-64 rows of an online request. ``compile_pipeline`` walks the
fitted pipeline and turns each supported step into plain NumPy operations on its fitted attributes:

* preprocessing: ``Pipeline``, ``ColumnTransformer`` (named columns, ``drop``/``passthrough``),
  ``SimpleImputer`` (missing value NaN; any strategy), ``StandardScaler``, ``MinMaxScaler``,
  ``OneHotEncoder`` and ``OrdinalEncoder`` (no infrequent-category grouping);
* estimators: ``LogisticRegression`` (binary and multinomial) and ``HistGradientBoostingClassifier``
  (numeric splits; all trees are walked together, one level per NumPy step).

Anything else raises ``Unsupported`` and the predictor keeps using scikit-learn. The predictor also
compares this path with scikit-learn on the metadata examples and synthetic rows before trusting it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving.schema import Batch, InputSchema


class Unsupported(Exception):
    """The fitted pipeline contains something this module does not reimplement."""


class UnknownCategory(ValueError):
    """A category the fitted encoder refuses (handle_unknown='error'); the predictor maps it to a 400."""


# A branch value is either a float64 matrix (n_rows, n_cols) or, before encoding, a list of columns.
Columns = list[list[Any]]
Step = Callable[[Any], Any]


@dataclass
class _Kind:
    """What flows between compiled steps: 'array' (float64 matrix) or 'columns' (Python lists)."""

    form: str
    numeric: bool


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _to_array(cols: Columns) -> np.ndarray:
    return np.array(cols, dtype=np.float64).T.copy()


def _to_columns(x: np.ndarray) -> Columns:
    return [[math.nan if v != v else v for v in col] for col in x.T.tolist()]


# --------------------------------------------------------------------------- preprocessing steps
def _compile_imputer(step: Any, kind: _Kind) -> tuple[Step, _Kind]:
    missing = step.missing_values
    if not (isinstance(missing, float) and math.isnan(missing)):
        raise Unsupported(f"SimpleImputer(missing_values={missing!r}) (only NaN is supported)")
    if getattr(step, "add_indicator", False):
        raise Unsupported("SimpleImputer(add_indicator=True)")
    stats = step.statistics_
    if any(_is_missing(s) for s in stats.tolist()):
        raise Unsupported("SimpleImputer with an all-missing column at fit time")
    if kind.form == "array":
        fill = np.asarray(stats, dtype=np.float64)

        def impute_array(x: np.ndarray) -> np.ndarray:
            mask = np.isnan(x)
            return np.where(mask, fill, x) if mask.any() else x

        return impute_array, kind

    values = stats.tolist()

    def impute_columns(cols: Columns) -> Columns:
        return [[fill if _is_missing(v) else v for v in col] for col, fill in zip(cols, values, strict=True)]

    return impute_columns, kind


def _compile_standard_scaler(step: Any) -> Step:
    mean = None if step.mean_ is None or not step.with_mean else np.asarray(step.mean_, dtype=np.float64)
    scale = None if step.scale_ is None or not step.with_std else np.asarray(step.scale_, dtype=np.float64)

    def scale_array(x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64, copy=True)
        if mean is not None:
            x -= mean
        if scale is not None:
            x /= scale
        return x

    return scale_array


def _compile_min_max_scaler(step: Any) -> Step:
    scale, shift = np.asarray(step.scale_, dtype=np.float64), np.asarray(step.min_, dtype=np.float64)
    low, high = step.feature_range
    clip = bool(getattr(step, "clip", False))

    def min_max(x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64, copy=True)
        x *= scale
        x += shift
        if clip:
            np.clip(x, low, high, out=x)
        return x

    return min_max


def _category_index(categories: np.ndarray) -> tuple[dict[Any, int], int | None]:
    values = categories.tolist()
    index = {v: i for i, v in enumerate(values) if not _is_missing(v)}
    missing = next((i for i, v in enumerate(values) if _is_missing(v)), None)
    return index, missing


def _check_no_infrequent(step: Any) -> None:
    if getattr(step, "_infrequent_enabled", False):
        raise Unsupported(f"{type(step).__name__} with infrequent-category grouping")


def _compile_one_hot(step: Any, names: Sequence[str]) -> Step:
    _check_no_infrequent(step)
    if str(step.handle_unknown) not in ("ignore", "error", "infrequent_if_exist"):
        raise Unsupported(f"OneHotEncoder(handle_unknown={step.handle_unknown!r})")
    refuse_unknown = step.handle_unknown == "error"
    drop_idx = getattr(step, "drop_idx_", None)
    plans = []
    offset = 0
    for j, cats in enumerate(step.categories_):
        index, missing = _category_index(cats)
        dropped = None if drop_idx is None or drop_idx[j] is None else int(drop_idx[j])
        width = len(cats) - (dropped is not None)
        # Column of each category in the output, or -1 when it maps to "all zeros" (the dropped one).
        position = {}
        for value, i in index.items():
            position[value] = -1 if i == dropped else offset + i - (dropped is not None and i > dropped)
        missing_position = None
        if missing is not None:
            missing_position = (
                -1 if missing == dropped else offset + missing - (dropped is not None and missing > dropped)
            )
        plans.append((position, missing_position, names[j] if j < len(names) else str(j)))
        offset += width
    total = offset
    dtype = np.dtype(step.dtype)

    def one_hot(cols: Columns) -> np.ndarray:
        n = len(cols[0])
        out = np.zeros((n, total), dtype=dtype)
        for (position, missing_position, name), col in zip(plans, cols, strict=True):
            for i, value in enumerate(col):
                pos = missing_position if _is_missing(value) else position.get(value)
                if pos is None:
                    if refuse_unknown:
                        raise UnknownCategory(
                            f"feature {name!r}: category {value!r} was not seen in training"
                        )
                    continue
                if pos >= 0:
                    out[i, pos] = 1.0
        return out

    return one_hot


def _compile_ordinal(step: Any, names: Sequence[str]) -> Step:
    _check_no_infrequent(step)
    use_unknown = step.handle_unknown == "use_encoded_value"
    unknown_value = float(step.unknown_value) if use_unknown else math.nan
    encoded_missing = float(step.encoded_missing_value)
    plans = []
    for j, cats in enumerate(step.categories_):
        index, missing = _category_index(cats)
        plans.append((index, missing is not None, names[j] if j < len(names) else str(j)))
    dtype = np.dtype(step.dtype)

    def ordinal(cols: Columns) -> np.ndarray:
        n = len(cols[0])
        out = np.empty((n, len(cols)), dtype=dtype)
        for j, ((index, has_missing, name), col) in enumerate(zip(plans, cols, strict=True)):
            for i, value in enumerate(col):
                if _is_missing(value) and has_missing:
                    out[i, j] = encoded_missing
                    continue
                code = None if _is_missing(value) else index.get(value)
                if code is None:
                    if not use_unknown:
                        raise UnknownCategory(
                            f"feature {name!r}: category {value!r} was not seen in training"
                        )
                    out[i, j] = unknown_value
                else:
                    out[i, j] = code
        return out

    return ordinal


def _compile_transformer(step: Any, kind: _Kind, names: Sequence[str]) -> tuple[list[Step], _Kind]:
    """Compile one transformer (or a nested Pipeline) applied to a branch; return steps and output kind."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

    if isinstance(step, Pipeline):
        steps: list[Step] = []
        for _, sub in step.steps:
            if sub is None or sub == "passthrough":
                continue
            more, kind = _compile_transformer(sub, kind, names)
            steps.extend(more)
        return steps, kind
    if _is_identity(step):
        return [], kind
    if isinstance(step, SimpleImputer):
        fn, kind = _compile_imputer(step, kind)
        return [fn], kind
    if isinstance(step, (StandardScaler, MinMaxScaler)):
        if not kind.numeric:
            raise Unsupported(f"{type(step).__name__} on non-numeric columns")
        pre: list[Step] = [_to_array] if kind.form == "columns" else []
        fn = (
            _compile_standard_scaler(step)
            if isinstance(step, StandardScaler)
            else _compile_min_max_scaler(step)
        )
        return [*pre, fn], _Kind("array", True)
    if isinstance(step, (OneHotEncoder, OrdinalEncoder)):
        pre = [_to_columns] if kind.form == "array" else []
        fn = (
            _compile_one_hot(step, names)
            if isinstance(step, OneHotEncoder)
            else _compile_ordinal(step, names)
        )
        return [*pre, fn], _Kind("array", True)
    raise Unsupported(f"transformer {type(step).__name__}")


def _is_identity(step: Any) -> bool:
    """A fitted ColumnTransformer stores "passthrough" as a FunctionTransformer without a function."""
    from sklearn.preprocessing import FunctionTransformer

    return isinstance(step, FunctionTransformer) and step.func is None


@dataclass
class _Branch:
    names: list[str]
    numeric: bool
    steps: list[Step]
    form: str


def _compile_column_transformer(ct: Any, schema: InputSchema) -> Callable[[Batch], np.ndarray]:
    branches: list[_Branch] = []
    for name, transformer, columns in ct.transformers_:
        if transformer == "drop":
            continue
        if isinstance(columns, str):
            columns = [columns]
        cols = list(columns) if not isinstance(columns, np.ndarray) else columns.tolist()
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
            steps: list[Step] = []
            kind = start
        else:
            steps, kind = _compile_transformer(transformer, start, cols)
        if kind.form != "array":
            if not kind.numeric:
                raise Unsupported(f"branch {name!r} leaves non-numeric values for the estimator")
            steps.append(_to_array)
        branches.append(_Branch(cols, numeric, steps, start.form))
    if not branches:
        raise Unsupported("ColumnTransformer selects no columns")

    def transform(batch: Batch) -> np.ndarray:
        parts = []
        columns = batch.columns
        for branch in branches:
            cols = [columns[c] for c in branch.names]
            value: Any = np.array(cols, dtype=np.float64).T if branch.form == "array" else cols
            for step in branch.steps:
                value = step(value)
            parts.append(value)
        return parts[0] if len(parts) == 1 else np.hstack(parts)

    return transform


# --------------------------------------------------------------------------- estimators
def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _expit_pair(z: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    p = expit(z.reshape(-1))
    return np.stack([1.0 - p, p], axis=1)


def _compile_logistic(clf: Any) -> Callable[[np.ndarray], np.ndarray]:
    coef_t = np.ascontiguousarray(clf.coef_.T, dtype=np.float64)
    intercept = np.asarray(clf.intercept_, dtype=np.float64)
    binary = coef_t.shape[1] == 1
    if binary and len(clf.classes_) != 2:
        raise Unsupported("LogisticRegression with one coefficient row but not two classes")

    def predict_proba(x: np.ndarray) -> np.ndarray:
        z = x @ coef_t + intercept
        return _expit_pair(z) if binary else _softmax(z)

    return predict_proba


class _TreeWalker:
    """All trees of an ensemble, renumbered so a node's children sit side by side (right = left + 1),
    walked together: one gather-compare-step per tree level for every (row, tree) pair at once."""

    def __init__(self, trees: Sequence[dict[str, np.ndarray]]):
        feature, threshold, child, missing_left, value, roots = [], [], [], [], [], []
        depth = 0
        base = 0
        for tree in trees:
            order, tree_depth = _pair_order(tree["left"], tree["right"], tree["is_leaf"])
            depth = max(depth, tree_depth)
            new_id = np.empty(len(order), dtype=np.int64)
            new_id[order] = np.arange(len(order)) + base
            is_leaf = tree["is_leaf"][order]
            f = tree["feature"][order].astype(np.int64)
            t = tree["threshold"][order].astype(np.float64)
            left = np.where(is_leaf, order, tree["left"][order])
            c = new_id[left]
            f[is_leaf], t[is_leaf] = 0, np.inf  # a leaf steps to itself: "go left" to its own id
            c[is_leaf] = new_id[order][is_leaf]
            ml = tree["missing_go_to_left"][order].astype(bool) | is_leaf
            feature.append(f)
            threshold.append(t)
            child.append(c)
            missing_left.append(ml)
            value.append(tree["value"][order].astype(np.float64))
            roots.append(base + 0)
            base += len(order)
        self.feature = np.concatenate(feature)
        self.threshold = np.concatenate(threshold)
        self.child = np.concatenate(child)
        self.missing_right = ~np.concatenate(missing_left)
        self.value = np.concatenate(value)
        self.roots = np.asarray(roots, dtype=np.int64)
        self.depth = depth
        self.precompute_rows = 8  # up to this many rows, testing every node once is cheaper

    def leaf_values(self, x: np.ndarray) -> np.ndarray:
        """(n_rows, n_trees) leaf values for rows ``x`` (float64, n_rows x n_features)."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape[0] <= self.precompute_rows:
            return self._walk_precomputed(x)
        return self._walk_levels(x)

    def _walk_precomputed(self, x: np.ndarray) -> np.ndarray:
        """Few rows: evaluate every node's test once up front (one gather, one comparison over all nodes);
        each level down is then two gathers and two additions over (rows x trees)."""
        n, width = x.shape
        n_nodes = len(self.feature)
        flat = x.reshape(-1)
        values = flat.take((np.arange(n, dtype=np.int64) * width)[:, None] + self.feature)
        go_right = values > self.threshold
        if np.isnan(flat).any():
            go_right |= np.isnan(values) & self.missing_right
        decisions = go_right.reshape(-1).view(np.uint8)
        row_base = (np.arange(n, dtype=np.int64) * n_nodes)[:, None]
        node = np.broadcast_to(self.roots, (n, len(self.roots)))
        for _ in range(self.depth):
            node = self.child.take(node) + decisions.take(row_base + node)
        return self.value.take(node)

    def _walk_levels(self, x: np.ndarray) -> np.ndarray:
        """Many rows: test only the nodes on each (row, tree) path, one level per step."""
        n, width = x.shape
        flat = x.reshape(-1)
        offsets = (np.arange(n, dtype=np.int64) * width)[:, None]
        node = np.broadcast_to(self.roots, (n, len(self.roots)))
        has_nan = bool(np.isnan(flat).any())
        for _ in range(self.depth):
            values = flat.take(offsets + self.feature.take(node))
            go_right = values > self.threshold.take(node)
            if has_nan:
                go_right |= np.isnan(values) & self.missing_right.take(node)
            node = self.child.take(node) + go_right
        return self.value.take(node)


def _pair_order(left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray) -> tuple[np.ndarray, int]:
    """Breadth-first order in which each internal node's two children are adjacent (left, right)."""
    order = [0]
    level = [0]
    depth = 0
    while True:
        nxt: list[int] = []
        for node in level:
            if not is_leaf[node]:
                nxt.extend((int(left[node]), int(right[node])))
        if not nxt:
            break
        depth += 1
        order.extend(nxt)
        level = nxt
    return np.asarray(order, dtype=np.int64), depth


def _compile_hist_gradient_boosting(clf: Any) -> Callable[[np.ndarray], np.ndarray]:
    if getattr(clf, "_preprocessor", None) is not None:
        raise Unsupported("HistGradientBoostingClassifier with its own categorical preprocessor")
    if clf.is_categorical_ is not None and bool(np.any(clf.is_categorical_)):
        raise Unsupported("HistGradientBoostingClassifier with native categorical splits")
    k = int(clf.n_trees_per_iteration_)
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
    baseline = np.asarray(clf._baseline_prediction, dtype=np.float64).reshape(1, k)
    n_iter = len(clf._predictors)
    walker = _TreeWalker(trees) if trees else None
    binary = k == 1
    if binary and len(clf.classes_) != 2:
        raise Unsupported("HistGradientBoostingClassifier with one tree per iteration but not two classes")

    def predict_proba(x: np.ndarray) -> np.ndarray:
        raw = np.repeat(baseline, x.shape[0], axis=0)
        if walker is not None:
            raw = raw + walker.leaf_values(x).reshape(x.shape[0], n_iter, k).sum(axis=1)
        return _expit_pair(raw) if binary else _softmax(raw)

    return predict_proba


def _compile_estimator(clf: Any) -> Callable[[np.ndarray], np.ndarray]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if type(clf) is LogisticRegression:
        return _compile_logistic(clf)
    if type(clf) is HistGradientBoostingClassifier:
        return _compile_hist_gradient_boosting(clf)
    raise Unsupported(f"estimator {type(clf).__name__}")


# --------------------------------------------------------------------------- entry point
def compile_pipeline(model: Any, schema: InputSchema) -> Callable[[Batch], np.ndarray]:
    """Return ``predict_proba(batch) -> (n_rows, n_classes) float64`` or raise ``Unsupported``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in model.steps] if isinstance(model, Pipeline) else [model]
    steps = [s for s in steps if s is not None and s != "passthrough"]
    *transformers, estimator = steps
    if len(transformers) > 1 or (transformers and not isinstance(transformers[0], ColumnTransformer)):
        raise Unsupported("pipelines other than [ColumnTransformer,] estimator")
    if transformers:
        transform = _compile_column_transformer(transformers[0], schema)
    else:
        if not schema.all_numeric:
            raise Unsupported("a bare estimator with categorical inputs")
        names = list(getattr(estimator, "feature_names_in_", schema.names))
        if sorted(names) != sorted(schema.names):
            raise Unsupported("the estimator's feature names differ from input_schema")

        def transform(batch: Batch) -> np.ndarray:
            return np.array([batch.columns[c] for c in names], dtype=np.float64).T

    proba = _compile_estimator(estimator)

    def predict_proba(batch: Batch) -> np.ndarray:
        return proba(np.ascontiguousarray(transform(batch), dtype=np.float64))

    return predict_proba
