"""The fitted models every server in the benchmark serves, written once per run.

For each estimator, ``build_artifact`` writes the project's artifact (model.skops + metadata.json, what our
server loads). The very estimator ``load_artifact`` returns is then dumped with joblib into the folders
KServe and MLServer read, so all three serve one fitted object. This runs in the project's .venv; the
competitors' environments pin the same scikit-learn, numpy and pandas (requirements/bench-*.in), and
``check_versions`` below refuses to go on if they ever drift apart.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

ESTIMATORS = {"logistic": "logistic_regression", "hgb": "hist_gradient_boosting"}
PINNED = ("scikit-learn", "numpy", "pandas", "joblib")


@dataclass(frozen=True)
class ModelDirs:
    key: str  # short name used in results: "logistic" | "hgb"
    estimator: str  # the artifact's estimator name
    artifact: Path  # our server's MODEL_URI (model.skops + metadata.json)
    kserve: Path  # model.joblib + features.json
    mlserver: Path  # model-settings.json + model.joblib
    metadata: dict


def build_models(root: Path, model_name: str) -> list[ModelDirs]:
    import joblib

    from tests.helpers.artifacts import build_artifact
    from training.artifact import load_artifact

    out = []
    for key, estimator in ESTIMATORS.items():
        base = root / key
        artifact = build_artifact(base / "artifact", estimator=estimator)
        model, meta = load_artifact(artifact)
        features = [f["name"] for f in meta["input_schema"]["features"]]
        kserve, mlserver = base / "kserve", base / "mlserver" / model_name
        for folder in (kserve, mlserver):
            folder.mkdir(parents=True, exist_ok=True)
            joblib.dump(model, folder / "model.joblib")
        (kserve / "features.json").write_text(json.dumps({"features": features, "classes": meta["classes"]}))
        (mlserver / "model-settings.json").write_text(
            json.dumps(
                {
                    "name": model_name,
                    "implementation": "mlserver_sklearn.SKLearnModel",
                    "parameters": {"uri": "./model.joblib", "version": meta["version"]},
                }
            )
        )
        out.append(ModelDirs(key, estimator, artifact, kserve, mlserver, meta))
    return out


def library_versions(python: str) -> dict[str, str]:
    """Versions of the pinned libraries as seen by another environment's interpreter."""
    code = f"import json, importlib.metadata as m; print(json.dumps({{n: m.version(n) for n in {PINNED!r}}}))"
    return json.loads(subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout)


def check_versions(pythons: dict[str, str]) -> dict[str, dict[str, str]]:
    """Every environment must run the same numeric stack, or the joblib copies would not be the same model."""
    seen = {name: library_versions(py) for name, py in pythons.items()}
    reference_name, reference = next(iter(seen.items()))
    for name, versions in seen.items():
        if versions != reference:
            raise SystemExit(
                f"error: {name} runs {versions} but {reference_name} runs {reference}; "
                "pin the same versions in requirements/bench-*.in (make bench-lock bench-envs)"
            )
    return seen
