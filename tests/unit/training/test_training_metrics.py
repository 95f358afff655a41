"""Metric and curve helpers on hand-made inputs, binary and multi-class."""

from __future__ import annotations

import numpy as np
import pytest

from training.errors import QualityGateError
from training.metrics import check_gate, classification_metrics, gate_failures, roc_points


def test_perfect_multiclass_predictions() -> None:
    y = ["a", "b", "c", "a"]
    proba = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.0, 0.1, 0.9], [0.7, 0.2, 0.1]])
    m = classification_metrics(y, proba, ["a", "b", "c"])
    assert m["accuracy"] == m["f1_macro"] == m["roc_auc_ovr"] == 1.0
    assert m["n_holdout"] == 4 and 0 < m["log_loss"] < 0.3


def test_binary_task_uses_the_positive_column() -> None:
    y = ["no", "yes", "yes", "no"]
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.4, 0.6]])
    m = classification_metrics(y, proba, ["no", "yes"])
    assert m["accuracy"] == 0.5 and m["roc_auc_ovr"] == 0.75
    assert {r["class"] for r in roc_points(y, proba, ["no", "yes"], 100)} == {"yes"}


def test_curves_are_thinned_to_the_limit() -> None:
    rng = np.random.default_rng(0)
    y = rng.choice(["a", "b"], 5000)
    proba = rng.random(5000)
    rows = roc_points(y, np.c_[1 - proba, proba], ["a", "b"], 25)
    assert len(rows) <= 25 and rows[0]["fpr"] == 0.0 and rows[-1]["fpr"] == 1.0


def test_gate() -> None:
    metrics = {"accuracy": 0.8, "log_loss": 0.2}
    assert gate_failures(metrics, {"accuracy": {"min": 0.8}, "log_loss": {"max": 0.2}}) == []
    with pytest.raises(QualityGateError, match=r"accuracy = 0.8000 is below the minimum 0.85"):
        check_gate(metrics, {"accuracy": {"min": 0.85}})
