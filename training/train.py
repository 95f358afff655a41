"""Stage 3, train: fit the scikit-learn Pipeline on the validated table and write the model artifact.

    python -m training.train [--params params.yaml] --schema data/schema.yaml \
        --in data/prepared/validated.parquet --out models --holdout data/prepared/holdout.parquet

Reads params: model.name, split.*, features.*, train.estimator, train.seed, train.n_threads and the
hyperparameter section of the chosen estimator (train.logistic_regression or
train.hist_gradient_boosting). A stratified, seeded split keeps a held-out part aside (written for the
evaluate stage); the model is fitted on the rest with a fixed thread count, so the same inputs give a
byte-identical model file. The held-out metrics go into metadata.json.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from training.artifact import file_digest, write_artifact
from training.cli import log, run
from training.errors import ParamsError, TrainingError
from training.features import (
    NUMERIC_IMPUTERS,
    UNKNOWN_CATEGORY_POLICIES,
    FeatureParams,
    build_preprocessor,
    input_schema,
    json_row,
    labels,
    model_inputs,
)
from training.metrics import classification_metrics
from training.params import DEFAULT_PARAMS_FILE, Params
from training.schema import Schema, load_schema
from training.tables import read_table, write_table

# Estimator name in params.yaml -> scikit-learn class, imported only when chosen (sklearn.ensemble alone
# adds about a second to the stage's start-up).
ESTIMATORS: dict[str, str] = {
    "logistic_regression": "sklearn.linear_model:LogisticRegression",
    "hist_gradient_boosting": "sklearn.ensemble:HistGradientBoostingClassifier",
}
# Keys an estimator section may not set: the seed comes from train.seed, threads from train.n_threads, and
# verbose/warm_start would change output or results between runs.
_RESERVED = {"random_state", "n_jobs", "verbose", "warm_start"}
N_EXAMPLES = 5


@dataclass(frozen=True)
class TrainParams:
    model_name: str
    test_size: float
    split_seed: int
    features: FeatureParams
    estimator: str
    seed: int
    n_threads: int
    hyperparameters: dict[str, Any]
    used: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def read(cls, params: Params) -> TrainParams:
        estimator = params.string("train.estimator", ESTIMATORS)
        settings = cls(
            model_name=params.string("model.name"),
            test_size=params.number("split.test_size", 0.0, 1.0),
            split_seed=params.integer("split.seed", 0),
            features=FeatureParams(
                numeric_imputer=params.string("features.numeric_imputer", NUMERIC_IMPUTERS),
                scale_numeric=params.boolean("features.scale_numeric"),
                unknown_categories=params.string("features.unknown_categories", UNKNOWN_CATEGORY_POLICIES),
            ),
            estimator=estimator,
            seed=params.integer("train.seed", 0),
            n_threads=params.integer("train.n_threads", 1),
            hyperparameters=params.mapping(f"train.{estimator}"),
        )
        return replace(settings, used=params.used())


def estimator_class(name: str) -> type[BaseEstimator]:
    module, _, attribute = ESTIMATORS[name].partition(":")
    cls: type[BaseEstimator] = getattr(importlib.import_module(module), attribute)
    return cls


def build_estimator(name: str, hyperparameters: dict[str, Any], seed: int) -> BaseEstimator:
    cls = estimator_class(name)
    allowed = set(cls().get_params()) - _RESERVED
    unknown = sorted(set(hyperparameters) - allowed)
    if unknown:
        raise ParamsError(
            f"params.yaml: train.{name} has key(s) {cls.__name__} does not take: {', '.join(unknown)} "
            f"(random_state comes from train.seed; allowed: {', '.join(sorted(allowed))})"
        )
    try:
        estimator = cls(**hyperparameters, random_state=seed)
        check = getattr(estimator, "_validate_params", None)  # scikit-learn's own checks, run before fit
        if check is not None:
            check()
    except (TypeError, ValueError) as exc:
        raise ParamsError(f"params.yaml: train.{name}: {exc}") from exc
    return estimator


def build_model(schema: Schema, settings: TrainParams) -> Pipeline:
    return Pipeline(
        [
            ("preprocess", build_preprocessor(schema, settings.features)),
            ("classifier", build_estimator(settings.estimator, settings.hyperparameters, settings.seed)),
        ]
    )


def split_holdout(
    frame: pd.DataFrame, schema: Schema, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified, seeded split into (fit part, held-out part), each keeping its original row order."""
    try:
        fit_part, holdout = train_test_split(
            frame, test_size=test_size, random_state=seed, stratify=frame[schema.target]
        )
    except ValueError as exc:
        raise TrainingError(f"cannot split {len(frame)} rows into train/held-out parts: {exc}") from exc
    return fit_part.sort_index(), holdout.sort_index()


def pick_examples(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Up to five rows for smoke tests: the first of each class, the first with a missing feature value
    (so null handling is exercised), then rows from the top."""
    chosen: list[Any] = []
    for _, group in frame.groupby(schema.target, observed=True, sort=True):
        chosen.append(group.index[0])
    with_null = frame.index[frame[[c.name for c in schema.features]].isna().any(axis=1)]
    chosen.extend(with_null[:1])
    chosen.extend(frame.index[:N_EXAMPLES])
    unique = list(dict.fromkeys(chosen))[:N_EXAMPLES]
    return frame.loc[unique]


@dataclass
class TrainResult:
    model: Pipeline
    holdout: pd.DataFrame
    metrics: dict[str, Any]
    metadata: dict[str, Any]


def train(
    frame: pd.DataFrame,
    schema: Schema,
    settings: TrainParams,
    *,
    data_digest: str,
    git_commit: str,
) -> TrainResult:
    """Split, fit, score on the held-out part, and assemble the artifact metadata (pure: writes nothing)."""
    fit_part, holdout = split_holdout(frame, schema, settings.test_size, settings.split_seed)
    model = build_model(schema, settings)
    with threadpool_limits(limits=settings.n_threads):
        model.fit(model_inputs(fit_part, schema), labels(fit_part, schema))
        classes = [str(c) for c in model.classes_]
        proba = model.predict_proba(model_inputs(holdout, schema))
        examples = pick_examples(frame, schema)
        example_inputs = model_inputs(examples, schema)
        example_labels = [str(v) for v in model.predict(example_inputs)]
        example_proba = np.round(model.predict_proba(example_inputs), 6)
    metrics = classification_metrics(labels(holdout, schema), proba, classes)
    metadata = {
        "name": settings.model_name,
        "task": "classification",
        "estimator": settings.estimator,
        "target": schema.target,
        "git_commit": git_commit,
        "data_digest": data_digest,
        "params": settings.used,
        "metrics": metrics,
        "classes": classes,
        "input_schema": input_schema(fit_part, schema, settings.features.unknown_categories),
        "examples": {
            "rows": [json_row(r, schema) for r in examples.to_dict(orient="records")],
            "labels": example_labels,
            "probabilities": example_proba.tolist(),
        },
        "training_rows": len(fit_part),
    }
    return TrainResult(model=model, holdout=holdout, metrics=metrics, metadata=metadata)


def git_commit(cwd: str | os.PathLike[str] = ".") -> str:
    """The commit the working tree is at, or "unknown" outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=DEFAULT_PARAMS_FILE, help="parameters file (params.yaml)")
    parser.add_argument("--schema", required=True, help="schema file, e.g. data/schema.yaml")
    parser.add_argument("--in", dest="source", required=True, help="validated Parquet table")
    parser.add_argument("--out", required=True, help="artifact directory to write (models)")
    parser.add_argument("--holdout", required=True, help="Parquet file for the held-out rows")
    args = parser.parse_args(argv)

    settings = TrainParams.read(Params.load(args.params))
    schema = load_schema(args.schema)
    frame = read_table(args.source)
    result = train(frame, schema, settings, data_digest=file_digest(args.source), git_commit=git_commit())
    write_table(result.holdout, args.holdout)
    meta = write_artifact(result.model, result.metadata, Path(args.out))
    summary = ", ".join(f"{k}={result.metrics[k]}" for k in ("accuracy", "f1_macro"))
    log("train", f"{settings.estimator} on {meta['training_rows']} rows; held-out {summary}")
    log("train", f"model {meta['digest']} -> {args.out}/")


if __name__ == "__main__":
    raise SystemExit(run(main))
