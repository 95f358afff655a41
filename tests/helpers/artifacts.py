"""Build a real artifact for tests that need one (serving, image, promotion).

It runs the training package's own functions on the built-in penguins data with the repository's
params.yaml and data/schema.yaml, in memory: ingest -> validate -> train -> write_artifact. With the
default estimator the model file is byte-identical to what `dvc repro` writes to models/.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from training.artifact import sha256_digest, write_artifact
from training.ingest import IngestParams, ingest
from training.params import Params
from training.schema import load_schema
from training.tables import table_bytes
from training.train import TrainParams, git_commit, train
from training.validate import validate_frame

REPO = Path(__file__).resolve().parents[2]


def build_artifact(out_dir: Path, estimator: str = "logistic_regression") -> Path:
    params = Params.load(REPO / "params.yaml")
    schema = load_schema(REPO / "data" / "schema.yaml")
    raw = ingest(IngestParams(source="builtin:penguins", format="auto"))
    result = validate_frame(raw, schema)
    if result.frame is None:
        raise AssertionError(
            "the built-in data fails data/schema.yaml: " + "; ".join(map(str, result.issues))
        )
    settings = TrainParams.read(params)
    if estimator != settings.estimator:
        hyper = params.mapping(f"train.{estimator}")
        used = {**settings.used, "train": {**settings.used["train"], "estimator": estimator}}
        used["train"].pop(f"{settings.estimator}", None)
        used["train"][estimator] = hyper
        settings = replace(settings, estimator=estimator, hyperparameters=hyper, used=used)
    trained = train(
        result.frame,
        schema,
        settings,
        data_digest=sha256_digest(table_bytes(result.frame)),
        git_commit=git_commit(REPO),
    )
    write_artifact(trained.model, trained.metadata, out_dir)
    return out_dir
