"""Held-out metrics, curve points for the plots, and the quality gate. Pure functions over arrays.

Train uses ``classification_metrics`` to put the held-out metrics into metadata.json; evaluate uses the
same function for reports/metrics.json, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm

from training.errors import ParamsError, QualityGateError

DECIMALS = 6
# Which way is better for each metric; the gate accepts `min` for the first kind and `max` for the second.
HIGHER_IS_BETTER = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "precision_macro",
    "recall_macro",
    "roc_auc_ovr",
    "average_precision_macro",
)
LOWER_IS_BETTER = ("log_loss",)


def _round(value: float) -> float:
    return round(float(value), DECIMALS)


def classification_metrics(
    y_true: Sequence[Any], proba: np.ndarray, classes: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro F1/precision/recall, one-vs-rest ROC AUC, macro average
    precision and log loss on a held-out set. ``proba`` columns follow ``classes``."""
    y = np.asarray(y_true, dtype=object)
    labels = list(classes)
    pred = np.asarray(labels, dtype=object)[np.argmax(proba, axis=1)]
    onehot = (y[:, None] == np.asarray(labels, dtype=object)[None, :]).astype(int)
    present = onehot.sum(axis=0) > 0
    if len(labels) == 2:
        auc = skm.roc_auc_score(onehot[:, 1], proba[:, 1])
    else:
        auc = skm.roc_auc_score(onehot[:, present], proba[:, present], average="macro")
    values = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "f1_macro": skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0),
        "precision_macro": skm.precision_score(y, pred, labels=labels, average="macro", zero_division=0),
        "recall_macro": skm.recall_score(y, pred, labels=labels, average="macro", zero_division=0),
        "roc_auc_ovr": auc,
        "average_precision_macro": skm.average_precision_score(
            onehot[:, present], proba[:, present], average="macro"
        ),
        "log_loss": skm.log_loss(y, proba, labels=labels),
    }
    out: dict[str, Any] = {name: _round(value) for name, value in values.items()}
    out["n_holdout"] = len(y)
    return out


def _thin(points: np.ndarray, limit: int) -> np.ndarray:
    """Keep at most ``limit`` evenly spaced indices, always the first and the last."""
    if len(points) <= limit:
        return np.arange(len(points))
    return np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))


def roc_points(
    y_true: Sequence[Any], proba: np.ndarray, classes: Sequence[str], limit: int
) -> list[dict[str, Any]]:
    """One-vs-rest ROC curve per class (a single curve for a binary task) as rows {class, fpr, tpr}."""
    y = np.asarray(y_true, dtype=object)
    rows: list[dict[str, Any]] = []
    targets = [1] if len(classes) == 2 else range(len(classes))
    for i in targets:
        positive = y == classes[i]
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = skm.roc_curve(positive, proba[:, i])
        for j in _thin(fpr, limit):
            rows.append({"class": classes[i], "fpr": _round(fpr[j]), "tpr": _round(tpr[j])})
    return rows


def precision_recall_points(
    y_true: Sequence[Any], proba: np.ndarray, classes: Sequence[str], limit: int
) -> list[dict[str, Any]]:
    """One-vs-rest precision-recall curve per class as rows {class, recall, precision}."""
    y = np.asarray(y_true, dtype=object)
    rows: list[dict[str, Any]] = []
    targets = [1] if len(classes) == 2 else range(len(classes))
    for i in targets:
        positive = y == classes[i]
        if not positive.any():
            continue
        precision, recall, _ = skm.precision_recall_curve(positive, proba[:, i])
        for j in _thin(recall, limit):
            rows.append({"class": classes[i], "recall": _round(recall[j]), "precision": _round(precision[j])})
    return rows


def confusion_rows(y_true: Sequence[Any], y_pred: Sequence[Any]) -> list[dict[str, str]]:
    """One row per held-out example, {actual, predicted}: the input DVC's confusion template expects."""
    return [{"actual": str(a), "predicted": str(p)} for a, p in zip(y_true, y_pred, strict=True)]


def parse_gate(gate: Mapping[str, Any], source: str = "evaluate.gate") -> dict[str, dict[str, float]]:
    """Check the gate's shape: {metric: {min: x}} for higher-is-better metrics, {max: x} for the others."""
    parsed: dict[str, dict[str, float]] = {}
    for name, rule in gate.items():
        where = f"{source}.{name}"
        if name not in HIGHER_IS_BETTER + LOWER_IS_BETTER:
            known = ", ".join(HIGHER_IS_BETTER + LOWER_IS_BETTER)
            raise ParamsError(
                f"params.yaml: '{where}' is not a metric this pipeline computes (known: {known})"
            )
        if not isinstance(rule, Mapping) or not rule:
            raise ParamsError(f"params.yaml: '{where}' must be a mapping like {{min: 0.9}} or {{max: 0.5}}")
        bounds: dict[str, float] = {}
        for bound, value in rule.items():
            if bound not in ("min", "max"):
                raise ParamsError(f"params.yaml: '{where}.{bound}' must be min or max")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamsError(f"params.yaml: '{where}.{bound}' must be a number, got {value!r}")
            bounds[bound] = float(value)
        parsed[name] = bounds
    return parsed


def gate_failures(metrics: Mapping[str, Any], gate: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Every gate rule the metrics break, as readable sentences; empty when the model passes."""
    failures = []
    for name, bounds in gate.items():
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name} was not computed")
            continue
        if "min" in bounds and value < bounds["min"]:
            failures.append(f"{name} = {value:.4f} is below the minimum {bounds['min']:g}")
        if "max" in bounds and value > bounds["max"]:
            failures.append(f"{name} = {value:.4f} is above the maximum {bounds['max']:g}")
    return failures


def check_gate(metrics: Mapping[str, Any], gate: Mapping[str, Mapping[str, float]]) -> None:
    failures = gate_failures(metrics, gate)
    if failures:
        raise QualityGateError(
            "quality gate failed (thresholds in params.yaml evaluate.gate): " + "; ".join(failures)
        )
