"""The predictor: self-checks that refuse inconsistent artifacts, and the compiled NumPy path, which must
give scikit-learn's labels and probabilities (within 1e-6) for every supported pipeline, or step aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

from serving.errors import InvalidInput
from serving.predictor import ModelRefused, Predictor
from serving.schema import InputSchema
from tests.helpers.artifacts import build_artifact


def penguin_rows(schema: InputSchema) -> list[dict[str, Any]]:
    """All 344 penguins, as JSON-style rows (nulls for missing values)."""
    from palmerpenguins import load_penguins

    frame = load_penguins()[list(schema.names)]
    rows = []
    for record in frame.to_dict(orient="records"):
        row = {}
        for name, value in record.items():
            missing = value is None or (isinstance(value, float) and value != value)
            row[name] = None if missing else int(value) if schema.by_name[name].dtype == "int64" else value
        rows.append(row)
    return rows


def assert_same_as_sklearn(predictor: Predictor, rows: list[dict[str, Any]]) -> None:
    roomy = InputSchema(predictor.schema.features, predictor.schema.unknown_categories, max_rows=len(rows))
    batch = roomy.decode_records(rows)
    fast, slow = predictor.predict(batch), predictor.predict_sklearn(batch)
    assert fast.labels == slow.labels
    assert float(np.max(np.abs(fast.probabilities - slow.probabilities))) <= 1e-6
    np.testing.assert_allclose(fast.probabilities.sum(axis=1), 1.0, rtol=1e-12)


@pytest.fixture(scope="module")
def hgb_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_artifact(tmp_path_factory.mktemp("hgb"), "hist_gradient_boosting")


@pytest.mark.parametrize("which", ["logistic_regression", "hist_gradient_boosting"])
def test_compiled_path_matches_sklearn_on_the_whole_data_set(
    which: str, penguins_artifact: Path, hgb_artifact: Path
) -> None:
    predictor = Predictor.from_artifact(penguins_artifact if which == "logistic_regression" else hgb_artifact)
    assert predictor.backend == "compiled", predictor.fallback_reason
    rows = penguin_rows(predictor.schema)
    assert_same_as_sklearn(predictor, rows)
    # Batches of every size the two tree walks switch between, and rows far outside the data.
    for size in (1, 2, 7, 8, 9, 64):
        assert_same_as_sklearn(predictor, rows[:size])
    assert_same_as_sklearn(predictor, predictor.self_check_batch(n=300, seed=3).rows())


def _metadata(model: Any, frame: pd.DataFrame, features: list[dict[str, Any]], rule: str = "error") -> dict:
    return {
        "name": "toy",
        "version": "1",
        "digest": "sha256:" + "0" * 64,
        "classes": [str(c) for c in model.classes_],
        "input_schema": {"features": features, "unknown_categories": rule},
        "examples": {
            "rows": frame.head(3).astype(object).where(frame.head(3).notna(), None).to_dict(orient="records"),
            "labels": [str(x) for x in model.predict(frame.head(3))],
            "probabilities": model.predict_proba(frame.head(3)).round(6).tolist(),
        },
    }


@pytest.fixture(scope="module")
def toy() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.uniform(0, 10, size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n).astype(object),
            "size": rng.choice(["S", "M", "L"], size=n).astype(object),
        }
    )
    frame.loc[rng.random(n) < 0.1, "a"] = np.nan
    frame.loc[rng.random(n) < 0.1, "colour"] = np.nan
    y = pd.Series(np.where(frame["b"] + (frame["colour"] == "red") * 3 > 6, "yes", "no"))
    return frame, y


TOY_FEATURES = [
    {"name": "a", "dtype": "float64", "nullable": True, "min": -3.0, "max": 3.0},
    {"name": "b", "dtype": "float64", "nullable": False, "min": 0.0, "max": 10.0},
    {"name": "colour", "dtype": "category", "nullable": True, "categories": ["blue", "green", "red"]},
    {"name": "size", "dtype": "category", "nullable": False, "categories": ["L", "M", "S"]},
]


def _toy_rows(predictor: Predictor, n: int = 200) -> list[dict[str, Any]]:
    rows = predictor.self_check_batch(n=n, seed=11).rows()
    if predictor.schema.unknown_categories == "ignore":
        rows += [{"a": 0.5, "b": 5.0, "colour": "purple", "size": "XL"}]
    return rows


@pytest.mark.parametrize(
    ("name", "pipeline", "rule"),
    [
        (
            "binary logistic, min-max, ordinal with unknown value, constant imputer",
            lambda: Pipeline(
                [
                    (
                        "pre",
                        ColumnTransformer(
                            [
                                (
                                    "num",
                                    Pipeline(
                                        [
                                            ("imp", SimpleImputer(strategy="mean")),
                                            ("mm", MinMaxScaler(clip=True)),
                                        ]
                                    ),
                                    ["a", "b"],
                                ),
                                (
                                    "cat",
                                    Pipeline(
                                        [
                                            ("imp", SimpleImputer(strategy="constant", fill_value="none")),
                                            (
                                                "ord",
                                                OrdinalEncoder(
                                                    handle_unknown="use_encoded_value", unknown_value=-1
                                                ),
                                            ),
                                        ]
                                    ),
                                    ["colour", "size"],
                                ),
                            ]
                        ),
                    ),
                    ("clf", LogisticRegression(max_iter=500)),
                ]
            ),
            "ignore",
        ),
        (
            "binary boosting on raw NaNs, one-hot with a dropped column, passthrough",
            lambda: Pipeline(
                [
                    (
                        "pre",
                        ColumnTransformer(
                            [
                                ("num", "passthrough", ["a", "b"]),
                                (
                                    "cat",
                                    Pipeline(
                                        [
                                            ("imp", SimpleImputer(strategy="most_frequent")),
                                            (
                                                "oh",
                                                OneHotEncoder(
                                                    drop="first", handle_unknown="ignore", sparse_output=False
                                                ),
                                            ),
                                        ]
                                    ),
                                    ["colour", "size"],
                                ),
                            ]
                        ),
                    ),
                    ("clf", HistGradientBoostingClassifier(max_iter=30, random_state=0)),
                ]
            ),
            "ignore",
        ),
        (
            "sparse one-hot output into a scaled logistic regression",
            lambda: Pipeline(
                [
                    (
                        "pre",
                        ColumnTransformer(
                            [
                                (
                                    "num",
                                    Pipeline([("imp", SimpleImputer()), ("sc", StandardScaler())]),
                                    ["a", "b"],
                                ),
                                ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour", "size"]),
                            ],
                            sparse_threshold=1.0,
                        ),
                    ),
                    ("clf", LogisticRegression(max_iter=500)),
                ]
            ),
            "error",
        ),
    ],
)
def test_compiled_path_covers_more_pipelines(
    name: str, pipeline: Any, rule: str, toy: tuple[pd.DataFrame, pd.Series]
) -> None:
    frame, y = toy
    model = pipeline().fit(frame, y)
    predictor = Predictor(model, _metadata(model, frame, TOY_FEATURES, rule))
    assert predictor.backend == "compiled", predictor.fallback_reason
    assert_same_as_sklearn(predictor, _toy_rows(predictor))


def test_unsupported_estimators_fall_back_to_sklearn(toy: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, y = toy
    pre = ColumnTransformer(
        [
            ("num", SimpleImputer(), ["a", "b"]),
            (
                "cat",
                Pipeline([("imp", SimpleImputer(strategy="most_frequent")), ("oh", OneHotEncoder())]),
                ["colour", "size"],
            ),
        ]
    )
    model = Pipeline([("pre", pre), ("clf", RandomForestClassifier(n_estimators=5, random_state=0))]).fit(
        frame, y
    )
    predictor = Predictor(model, _metadata(model, frame, TOY_FEATURES))
    assert predictor.backend == "sklearn"
    assert "RandomForestClassifier" in str(predictor.fallback_reason)
    rows = _toy_rows(predictor, 20)
    result = predictor.predict(predictor.schema.decode_records(rows))
    assert result.labels == [str(v) for v in model.predict(pd.DataFrame(rows).fillna(value=np.nan))]


def test_compiled_path_can_be_switched_off(penguins_artifact: Path) -> None:
    predictor = Predictor.from_artifact(penguins_artifact, compiled=False)
    assert predictor.backend == "sklearn" and "MODEL_SERVER_COMPILED" in str(predictor.fallback_reason)


def test_encoder_refusing_unknowns_overrides_a_lenient_schema(toy: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, y = toy
    pre = ColumnTransformer(
        [("num", SimpleImputer(), ["a", "b"]), ("cat", OneHotEncoder(handle_unknown="error"), ["size"])]
    )
    model = Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(frame[["a", "b", "size"]], y)
    features = [f for f in TOY_FEATURES if f["name"] != "colour"]
    predictor = Predictor(model, _metadata(model, frame[["a", "b", "size"]], features, "ignore"))
    assert predictor.schema.unknown_categories == "error"
    with pytest.raises(InvalidInput, match="unknown category 'XL'"):
        predictor.predict(predictor.schema.decode_records([{"a": 1.0, "b": 2.0, "size": "XL"}]))


def test_inconsistent_artifacts_are_refused(penguins_artifact: Path) -> None:
    from training.artifact import load_artifact

    model, metadata = load_artifact(penguins_artifact)
    with pytest.raises(ModelRefused, match="differ from the model's classes"):
        Predictor(model, {**metadata, "classes": ["a", "b", "c"]})
    wrong_labels = {**metadata, "examples": {**metadata["examples"], "labels": ["Gentoo"] * 5}}
    with pytest.raises(ModelRefused, match="metadata says"):
        Predictor(model, wrong_labels)
    probabilities = np.asarray(metadata["examples"]["probabilities"])
    wrong_probabilities = {
        **metadata,
        "examples": {**metadata["examples"], "probabilities": (probabilities * 0.9).tolist()},
    }
    with pytest.raises(ModelRefused, match="differ from those recorded"):
        Predictor(model, wrong_probabilities)
    schema = metadata["input_schema"]
    renamed = {**schema, "features": [{**schema["features"][0], "name": "isle"}, *schema["features"][1:]]}
    with pytest.raises(ModelRefused, match="differ from the model's"):
        Predictor(model, {**metadata, "input_schema": renamed})
