"""Inference plans: a fitted pipeline's ``predict_proba`` as data (JSON structure + NumPy arrays) and the
NumPy interpreter that runs it. ``serving.compiled`` derives a plan from scikit-learn objects; this module
never imports scikit-learn, so a server holding a cached, verified plan starts without it.

A plan is ``{"format": 1, "transform": ..., "estimator": ...}`` where arrays are named by string keys
into ``Plan.arrays``:

* transform ``{"kind": "columns", "branches": [{"columns": [...], "form": "array"|"columns",
  "steps": [step, ...]}, ...]}``, the branch outputs stacked side by side (a ColumnTransformer), or
  ``{"kind": "select", "columns": [...]}`` (numeric features straight into the estimator);
* steps ``impute`` (array fill or column values), ``to_array``, ``to_columns``, ``standard_scale``,
  ``min_max``, ``one_hot`` and ``ordinal`` (category -> output position tables);
* estimator ``{"kind": "logistic", ...}`` (linear scores, sigmoid or softmax) or
  ``{"kind": "trees", ...}`` (a boosted tree ensemble walked level by level).

``Plan.to_bytes`` stores it as an ``.npz`` (no pickles); ``Plan.from_bytes`` reads it back.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serving.schema import Batch

FORMAT = 1
_SPEC_KEY = "__plan__"

Columns = list[list[Any]]
Op = Callable[[Any], Any]


class PlanError(ValueError):
    """A stored plan is unreadable or of another format."""


class UnknownCategory(ValueError):
    """A category the fitted encoder refuses (handle_unknown='error'); the predictor maps it to a 400."""


@dataclass
class Plan:
    spec: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, name: str, array: Any) -> str:
        """Register an array under a fresh key and return the key."""
        key = f"{name}_{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(array)
        return key

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        spec = np.frombuffer(json.dumps(self.spec, sort_keys=True).encode(), dtype=np.uint8)
        entries: dict[str, Any] = {_SPEC_KEY: spec, **self.arrays}
        np.savez(buffer, **entries)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Plan:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            spec = json.loads(arrays.pop(_SPEC_KEY).tobytes().decode())
        except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
            raise PlanError(f"unreadable plan: {exc}") from None
        if not isinstance(spec, dict) or spec.get("format") != FORMAT:
            raise PlanError(
                f"plan format {spec.get('format') if isinstance(spec, dict) else '?'} is not {FORMAT}"
            )
        return cls(spec, arrays)

    def build(self) -> Callable[[Batch], np.ndarray]:
        """The plan as ``predict_proba(batch) -> (n_rows, n_classes)`` float64."""
        transform = _build_transform(self.spec["transform"], self.arrays)
        estimator = _build_estimator(self.spec["estimator"], self.arrays)

        def predict_proba(batch: Batch) -> np.ndarray:
            return estimator(np.ascontiguousarray(transform(batch), dtype=np.float64))

        return predict_proba


# --------------------------------------------------------------------------- transforms
def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _to_array(cols: Columns) -> np.ndarray:
    return np.array(cols, dtype=np.float64).T.copy()


def _to_columns(x: np.ndarray) -> Columns:
    return [[math.nan if v != v else v for v in col] for col in x.T.tolist()]


def _impute(step: dict[str, Any], arrays: dict[str, np.ndarray]) -> Op:
    if step["form"] == "array":
        fill = arrays[step["fill"]]

        def impute_array(x: np.ndarray) -> np.ndarray:
            mask = np.isnan(x)
            return np.where(mask, fill, x) if mask.any() else x

        return impute_array
    values = step["values"]

    def impute_columns(cols: Columns) -> Columns:
        return [[fill if is_missing(v) else v for v in col] for col, fill in zip(cols, values, strict=True)]

    return impute_columns


def _standard_scale(step: dict[str, Any], arrays: dict[str, np.ndarray]) -> Op:
    mean = arrays[step["mean"]] if step.get("mean") else None
    scale = arrays[step["scale"]] if step.get("scale") else None

    def standard_scale(x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64, copy=True)
        if mean is not None:
            x -= mean
        if scale is not None:
            x /= scale
        return x

    return standard_scale


def _min_max(step: dict[str, Any], arrays: dict[str, np.ndarray]) -> Op:
    scale, shift = arrays[step["scale"]], arrays[step["shift"]]
    low, high, clip = float(step["low"]), float(step["high"]), bool(step["clip"])

    def min_max(x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64, copy=True)
        x *= scale
        x += shift
        if clip:
            np.clip(x, low, high, out=x)
        return x

    return min_max


def _one_hot(step: dict[str, Any], arrays: dict[str, np.ndarray]) -> Op:
    tables = [({v: p for v, p in col["positions"]}, col["missing"], col["name"]) for col in step["columns"]]
    total, refuse_unknown, dtype = int(step["width"]), bool(step["refuse_unknown"]), np.dtype(step["dtype"])

    def one_hot(cols: Columns) -> np.ndarray:
        out = np.zeros((len(cols[0]), total), dtype=dtype)
        for (positions, missing, name), col in zip(tables, cols, strict=True):
            for i, value in enumerate(col):
                pos = missing if is_missing(value) else positions.get(value)
                if pos is None:
                    if refuse_unknown:
                        raise UnknownCategory(
                            f"feature {name!r}: category {value!r} was not seen in training"
                        )
                    continue
                if pos >= 0:  # -1: the dropped category, all zeros
                    out[i, pos] = 1.0
        return out

    return one_hot


def _ordinal(step: dict[str, Any], arrays: dict[str, np.ndarray]) -> Op:
    tables = [({v: c for v, c in col["codes"]}, col["has_missing"], col["name"]) for col in step["columns"]]
    unknown = step["unknown_value"]  # None: refuse unknown categories
    encoded_missing = float(step["encoded_missing"]) if step["encoded_missing"] is not None else math.nan
    dtype = np.dtype(step["dtype"])

    def ordinal(cols: Columns) -> np.ndarray:
        out = np.empty((len(cols[0]), len(cols)), dtype=dtype)
        for j, ((codes, has_missing, name), col) in enumerate(zip(tables, cols, strict=True)):
            for i, value in enumerate(col):
                if is_missing(value) and has_missing:
                    out[i, j] = encoded_missing
                    continue
                code = None if is_missing(value) else codes.get(value)
                if code is None:
                    if unknown is None:
                        raise UnknownCategory(
                            f"feature {name!r}: category {value!r} was not seen in training"
                        )
                    out[i, j] = unknown
                else:
                    out[i, j] = code
        return out

    return ordinal


_OPS: dict[str, Callable[[dict[str, Any], dict[str, np.ndarray]], Op]] = {
    "impute": _impute,
    "to_array": lambda step, arrays: _to_array,
    "to_columns": lambda step, arrays: _to_columns,
    "standard_scale": _standard_scale,
    "min_max": _min_max,
    "one_hot": _one_hot,
    "ordinal": _ordinal,
}


def _build_transform(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Callable[[Batch], np.ndarray]:
    if spec["kind"] == "select":
        names = list(spec["columns"])

        def select(batch: Batch) -> np.ndarray:
            return np.array([batch.columns[c] for c in names], dtype=np.float64).T

        return select
    if spec["kind"] != "columns":
        raise PlanError(f"unknown transform kind {spec['kind']!r}")
    branches = []
    for branch in spec["branches"]:
        try:
            ops = [_OPS[step["op"]](step, arrays) for step in branch["steps"]]
        except KeyError as exc:
            raise PlanError(f"unknown step {exc}") from None
        branches.append((list(branch["columns"]), branch["form"] == "array", ops))

    def transform(batch: Batch) -> np.ndarray:
        parts = []
        columns = batch.columns
        for names, as_array, ops in branches:
            cols = [columns[c] for c in names]
            value: Any = np.array(cols, dtype=np.float64).T if as_array else cols
            for op in ops:
                value = op(value)
            parts.append(value)
        return parts[0] if len(parts) == 1 else np.hstack(parts)

    return transform


# --------------------------------------------------------------------------- estimators
def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def expit_pair(z: np.ndarray) -> np.ndarray:
    """[1 - p, p] with p = 1 / (1 + exp(-z)), computed without overflow."""
    z = z.reshape(-1)
    p = np.empty_like(z)
    positive = z >= 0
    p[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    e = np.exp(z[~positive])
    p[~positive] = e / (1.0 + e)
    return np.stack([1.0 - p, p], axis=1)


class TreeWalker:
    """All trees of an ensemble, numbered so a node's children sit side by side (right = left + 1) and a
    leaf is its own child, walked together: one gather-compare-step per tree level for every
    (row, tree) pair at once."""

    def __init__(self, arrays: dict[str, np.ndarray], spec: dict[str, Any]):
        self.feature = arrays[spec["feature"]]
        self.threshold = arrays[spec["threshold"]]
        self.child = arrays[spec["child"]]
        self.missing_right = arrays[spec["missing_right"]]
        self.value = arrays[spec["value"]]
        self.roots = arrays[spec["roots"]]
        self.depth = int(spec["depth"])
        self.precompute_rows = int(spec.get("precompute_rows", 8))

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


def pack_trees(plan: Plan, trees: Sequence[dict[str, np.ndarray]]) -> dict[str, Any]:
    """Renumber and concatenate trees (left/right/is_leaf/feature/threshold/missing_go_to_left/value
    arrays each) into the arrays TreeWalker reads; return their spec entries."""
    feature, threshold, child, missing_left, value, roots = [], [], [], [], [], []
    depth = base = 0
    for tree in trees:
        order, tree_depth = _pair_order(tree["left"], tree["right"], tree["is_leaf"])
        depth = max(depth, tree_depth)
        new_id = np.empty(len(order), dtype=np.int64)
        new_id[order] = np.arange(len(order)) + base
        is_leaf = tree["is_leaf"][order]
        f = tree["feature"][order].astype(np.int64)
        t = tree["threshold"][order].astype(np.float64)
        c = new_id[np.where(is_leaf, order, tree["left"][order])]  # a leaf "goes left" to itself
        f[is_leaf], t[is_leaf] = 0, np.inf
        feature.append(f)
        threshold.append(t)
        child.append(c)
        missing_left.append(tree["missing_go_to_left"][order].astype(bool) | is_leaf)
        value.append(tree["value"][order].astype(np.float64))
        roots.append(base)
        base += len(order)
    if not trees:
        return {}
    return {
        "feature": plan.add("feature", np.concatenate(feature)),
        "threshold": plan.add("threshold", np.concatenate(threshold)),
        "child": plan.add("child", np.concatenate(child)),
        "missing_right": plan.add("missing_right", ~np.concatenate(missing_left)),
        "value": plan.add("value", np.concatenate(value)),
        "roots": plan.add("roots", np.asarray(roots, dtype=np.int64)),
        "depth": depth,
        "precompute_rows": 8,  # up to this many rows, testing every node once is cheaper
    }


def _pair_order(left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray) -> tuple[np.ndarray, int]:
    """Breadth-first order in which each internal node's two children are adjacent (left, right)."""
    order, level, depth = [0], [0], 0
    while True:
        nxt: list[int] = []
        for node in level:
            if not is_leaf[node]:
                nxt.extend((int(left[node]), int(right[node])))
        if not nxt:
            return np.asarray(order, dtype=np.int64), depth
        depth += 1
        order.extend(nxt)
        level = nxt


def _build_estimator(
    spec: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Callable[[np.ndarray], np.ndarray]:
    binary = bool(spec["binary"])
    if spec["kind"] == "logistic":
        coef_t, intercept = arrays[spec["coef_t"]], arrays[spec["intercept"]]

        def linear(x: np.ndarray) -> np.ndarray:
            z = x @ coef_t + intercept
            return expit_pair(z) if binary else softmax(z)

        return linear
    if spec["kind"] == "trees":
        walker = TreeWalker(arrays, spec) if spec.get("feature") else None
        baseline = arrays[spec["baseline"]].reshape(1, -1)
        n_iter, k = int(spec["n_iter"]), int(spec["k"])

        def boosted(x: np.ndarray) -> np.ndarray:
            raw = np.repeat(baseline, x.shape[0], axis=0)
            if walker is not None:
                raw = raw + walker.leaf_values(x).reshape(x.shape[0], n_iter, k).sum(axis=1)
            return expit_pair(raw) if binary else softmax(raw)

        return boosted
    raise PlanError(f"unknown estimator kind {spec['kind']!r}")
