"""The train stage: params to estimator, the seeded split, byte-identical models and complete metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.artifact import dumps_model, load_artifact
from training.cli import run
from training.errors import ParamsError
from training.features import model_inputs
from training.train import TrainParams, build_estimator, main, split_holdout, train

DIGEST = "sha256:" + "1" * 64


def test_params_select_estimator_and_hyperparameters(params_from) -> None:
    settings = TrainParams.read(params_from(**{"train.estimator": "hist_gradient_boosting", "train.seed": 7}))
    model = build_estimator(settings.estimator, settings.hyperparameters, settings.seed)
    assert type(model).__name__ == "HistGradientBoostingClassifier"
    assert model.get_params()["random_state"] == 7
    assert model.get_params()["max_iter"] == settings.hyperparameters["max_iter"]
    assert settings.used["train"]["hist_gradient_boosting"] == settings.hyperparameters
    assert "logistic_regression" not in settings.used["train"]


@pytest.mark.parametrize(
    ("dotted", "message"),
    [
        ({"train.estimator": "svm"}, "'train.estimator' must be one of"),
        (
            {"train.logistic_regression.gamma": 1},
            "train.logistic_regression has key.*LogisticRegression does not take: gamma",
        ),
        ({"train.logistic_regression.random_state": 1}, "does not take: random_state"),
        ({"train.logistic_regression.C": -1.0}, "train.logistic_regression: .*'C'"),
        ({"split.test_size": 1.5}, "'split.test_size' must be a number strictly between 0.0 and 1.0"),
        ({"features.numeric_imputer": "mode"}, "'features.numeric_imputer' must be one of mean, median"),
        ({"train.n_threads": 0}, "'train.n_threads' must be an integer >= 1"),
    ],
)
def test_bad_params_are_named(params_from, dotted, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        settings = TrainParams.read(params_from(**dotted))
        build_estimator(settings.estimator, settings.hyperparameters, settings.seed)


def test_split_is_stratified_seeded_and_disjoint(validated, schema) -> None:
    fit_a, hold_a = split_holdout(validated, schema, 0.25, 42)
    fit_b, hold_b = split_holdout(validated, schema, 0.25, 42)
    assert hold_a.index.equals(hold_b.index) and fit_a.index.equals(fit_b.index)
    assert not set(fit_a.index) & set(hold_a.index) and len(fit_a) + len(hold_a) == len(validated)
    share = hold_a["species"].value_counts(normalize=True).sort_index()
    overall = validated["species"].value_counts(normalize=True).sort_index()
    assert np.allclose(share, overall, atol=0.02)
    _, other = split_holdout(validated, schema, 0.25, 43)
    assert not other.index.equals(hold_a.index)


@pytest.mark.parametrize("estimator", ["logistic_regression", "hist_gradient_boosting"])
def test_same_inputs_give_byte_identical_models(validated, schema, params_from, estimator: str) -> None:
    small = {"train.estimator": estimator, "train.hist_gradient_boosting.max_iter": 30}
    settings = TrainParams.read(params_from(**small))
    first = train(validated, schema, settings, data_digest=DIGEST, git_commit="x")
    second = train(validated, schema, settings, data_digest=DIGEST, git_commit="x")
    assert dumps_model(first.model) == dumps_model(second.model)
    assert first.metadata == second.metadata
    other_seed = TrainParams.read(params_from(**small, **{"split.seed": 1}))
    third = train(validated, schema, other_seed, data_digest=DIGEST, git_commit="x")
    assert dumps_model(third.model) != dumps_model(first.model), "the seed must matter"


def test_metadata_follows_the_artifact_contract(trained, schema, validated) -> None:
    meta = trained.metadata
    assert meta["name"] == "penguins" and meta["task"] == "classification" and meta["target"] == "species"
    assert meta["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert meta["git_commit"] == "abc123" and meta["data_digest"] == DIGEST
    assert meta["metrics"] == trained.metrics and meta["metrics"]["accuracy"] >= 0.9
    assert meta["params"]["train"]["estimator"] == "logistic_regression"
    features = meta["input_schema"]["features"]
    assert [f["name"] for f in features] == [c.name for c in schema.features]
    assert meta["input_schema"]["unknown_categories"] == "error"
    year = next(f for f in features if f["name"] == "year")
    assert year == {"name": "year", "dtype": "int64", "nullable": False, "min": 2007, "max": 2009}
    sex = next(f for f in features if f["name"] == "sex")
    assert sex["categories"] == ["female", "male"] and sex["nullable"] is True
    rows, expected = meta["examples"]["rows"], meta["examples"]["labels"]
    assert len(rows) == 5 and set(expected) == set(meta["classes"])
    assert any(v is None for row in rows for v in row.values()), "one example exercises missing values"
    json.dumps(meta, allow_nan=False)  # plain JSON, no NaN


def test_examples_replay_through_a_json_built_frame(trained) -> None:
    """A server builds the frame from JSON (None for missing); predictions must match the metadata."""
    meta = trained.metadata
    frame = pd.DataFrame(meta["examples"]["rows"])
    proba = trained.model.predict_proba(frame)
    assert trained.model.predict(frame).tolist() == meta["examples"]["labels"]
    assert np.allclose(proba, meta["examples"]["probabilities"], atol=1e-6)


def test_missing_and_unknown_categories_encode_alike(trained, validated, schema) -> None:
    row = model_inputs(validated.head(1), schema)
    # category columns reach the model as object columns (str, None or NaN), as a JSON-built frame has them
    variants = [
        row.assign(sex=pd.Series([v], dtype=object, index=row.index)) for v in (None, np.nan, "unknown")
    ]
    probas = [trained.model.predict_proba(v) for v in variants]
    assert np.allclose(probas[0], probas[1]) and np.allclose(probas[0], probas[2])


def test_cli_writes_a_loadable_artifact_and_the_holdout(
    tmp_path: Path, validated, schema, make_params, capsys
) -> None:
    source = tmp_path / "validated.parquet"
    validated.to_parquet(source, index=False)
    schema_file = Path(__file__).resolve().parents[3] / "data" / "schema.yaml"
    argv = ["--params", str(make_params()), "--schema", str(schema_file), "--in", str(source)]
    argv += ["--out", str(tmp_path / "models"), "--holdout", str(tmp_path / "holdout.parquet")]
    assert run(main, argv) == 0
    model, meta = load_artifact(tmp_path / "models")
    holdout = pd.read_parquet(tmp_path / "holdout.parquet")
    assert len(holdout) == meta["metrics"]["n_holdout"] == 86
    hits = model.predict(model_inputs(holdout, schema)) == holdout["species"].astype(str)
    assert round(hits.mean(), 6) == meta["metrics"]["accuracy"]
    assert meta["training_rows"] == 258
    assert meta["data_digest"].startswith("sha256:") and len(meta["git_commit"]) > 0
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["metadata.json", "model.skops"]
    assert f"model {meta['digest']}" in capsys.readouterr().err
