"""Stage 4, evaluate: score the artifact on the held-out rows, write metrics and plots, apply the gate.

    python -m training.evaluate [--params params.yaml] --model models \
        --holdout data/prepared/holdout.parquet --metrics reports/metrics.json --plots reports/plots

Reads params: evaluate.gate, evaluate.max_curve_points. Writes reports/metrics.json and, under
reports/plots/, roc.csv and precision_recall.csv (one-vs-rest, one curve per class) and confusion.csv
(one row per held-out example). Then the quality gate: any metric on the wrong side of its threshold
fails the stage with a message naming the metric, its value and the threshold. Metrics and plots are
written first, so a failing model can still be inspected.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.artifact import ArtifactError, atomic_write_bytes, atomic_write_json, load_artifact
from training.cli import log, run
from training.errors import TrainingError
from training.metrics import (
    check_gate,
    classification_metrics,
    confusion_rows,
    parse_gate,
    precision_recall_points,
    roc_points,
)
from training.params import DEFAULT_PARAMS_FILE, Params
from training.tables import read_table

PLOT_FILES = {"roc": "roc.csv", "precision_recall": "precision_recall.csv", "confusion": "confusion.csv"}


@dataclass(frozen=True)
class EvaluateParams:
    gate: dict[str, dict[str, float]]
    max_curve_points: int

    @classmethod
    def read(cls, params: Params) -> EvaluateParams:
        return cls(
            gate=parse_gate(params.mapping("evaluate.gate")),
            max_curve_points=params.integer("evaluate.max_curve_points", 2),
        )


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    plots: dict[str, list[dict[str, Any]]]


def evaluate(
    model: Any, metadata: dict[str, Any], holdout: pd.DataFrame, max_curve_points: int
) -> Evaluation:
    """Score ``model`` on ``holdout`` (pure). Feature columns and classes come from the metadata."""
    target = str(metadata["target"])
    features = [f["name"] for f in metadata["input_schema"]["features"]]
    missing = [c for c in [*features, target] if c not in holdout.columns]
    if missing:
        raise TrainingError(f"held-out table lacks column(s) the model needs: {', '.join(missing)}")
    inputs = pd.DataFrame(
        {
            name: holdout[name].astype("object").where(holdout[name].notna(), np.nan)
            if isinstance(holdout[name].dtype, pd.CategoricalDtype)
            else holdout[name]
            for name in features
        }
    )
    classes = [str(c) for c in metadata["classes"]]
    if [str(c) for c in model.classes_] != classes:
        raise TrainingError("the model's classes differ from metadata.json 'classes'")
    y_true = holdout[target].astype("object").astype(str).to_numpy()
    proba = model.predict_proba(inputs)
    y_pred = np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)]
    return Evaluation(
        metrics=classification_metrics(y_true, proba, classes),
        plots={
            "roc": roc_points(y_true, proba, classes, max_curve_points),
            "precision_recall": precision_recall_points(y_true, proba, classes, max_curve_points),
            "confusion": confusion_rows(y_true, y_pred),
        },
    )


def csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue().encode()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=DEFAULT_PARAMS_FILE, help="parameters file (params.yaml)")
    parser.add_argument("--model", required=True, help="artifact directory written by the train stage")
    parser.add_argument("--holdout", required=True, help="held-out Parquet table written by the train stage")
    parser.add_argument("--metrics", required=True, help="metrics JSON file to write")
    parser.add_argument("--plots", required=True, help="folder for the plot data files")
    args = parser.parse_args(argv)

    settings = EvaluateParams.read(Params.load(args.params))
    try:
        model, metadata = load_artifact(args.model)
    except ArtifactError as exc:
        raise TrainingError(f"cannot load the model artifact: {exc}") from exc
    result = evaluate(model, metadata, read_table(args.holdout), settings.max_curve_points)
    atomic_write_json(args.metrics, result.metrics)
    for name, rows in result.plots.items():
        atomic_write_bytes(Path(args.plots) / PLOT_FILES[name], csv_bytes(rows))
    if metadata.get("metrics") != result.metrics:
        raise TrainingError(
            f"{args.model}/metadata.json metrics differ from this evaluation of {args.holdout}: "
            "the model and the held-out table come from different train runs"
        )
    shown = ", ".join(f"{k}={result.metrics[k]}" for k in settings.gate or ("accuracy",))
    log("evaluate", f"{result.metrics['n_holdout']} held-out rows: {shown} -> {args.metrics}")
    check_gate(result.metrics, settings.gate)
    log("evaluate", "quality gate passed")


if __name__ == "__main__":
    raise SystemExit(run(main))
