"""Build a real artifact for tests that need one (serving, image, promotion).

Interim version: fits the default pipeline directly. The training package's own functions replace this
body once they exist, so tests exercise exactly what `dvc repro` produces.
"""

from __future__ import annotations

from pathlib import Path

from training.artifact import write_artifact

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
CATEGORICAL = ["island", "sex"]


def build_artifact(out_dir: Path, estimator: str = "logistic_regression") -> Path:
    import numpy as np
    from palmerpenguins import load_penguins
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df = load_penguins()
    X, y = df[NUMERIC + CATEGORICAL], df["species"]
    pre = ColumnTransformer(
        [
            (
                "num",
                Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
                NUMERIC,
            ),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                CATEGORICAL,
            ),
        ]
    )
    clf = (
        LogisticRegression(max_iter=1000, random_state=0)
        if estimator == "logistic_regression"
        else HistGradientBoostingClassifier(random_state=0)
    )
    model = Pipeline([("preprocess", pre), ("classifier", clf)]).fit(X, y)
    features = []
    for name in NUMERIC:
        features.append(
            {
                "name": name,
                "dtype": "int64" if name == "year" else "float64",
                "nullable": bool(X[name].isna().any()),
                "min": float(np.nanmin(X[name])),
                "max": float(np.nanmax(X[name])),
            }
        )
    for name in CATEGORICAL:
        features.append(
            {
                "name": name,
                "dtype": "category",
                "nullable": bool(X[name].isna().any()),
                "categories": sorted(X[name].dropna().unique().tolist()),
            }
        )
    sample = X.iloc[[0, 3, 150, 300, 340]]
    rows = [{k: (None if v != v else v) for k, v in r.items()} for r in sample.to_dict(orient="records")]
    write_artifact(
        model,
        {
            "name": "penguins",
            "task": "classification",
            "estimator": estimator,
            "target": "species",
            "git_commit": "test",
            "data_digest": "sha256:" + "0" * 64,
            "params": {},
            "metrics": {},
            "input_schema": {"features": features, "unknown_categories": "error"},
            "classes": [str(c) for c in model.classes_],
            "examples": {
                "rows": rows,
                "labels": [str(v) for v in model.predict(sample)],
                "probabilities": model.predict_proba(sample).round(6).tolist(),
            },
        },
        out_dir,
    )
    return out_dir
