"""Inference plans cached per model digest: round trip, use on the next start without scikit-learn, and
refusal or fallback when anything does not match."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from serving.plan import Plan, PlanError
from serving.predictor import Predictor
from serving.settings import Settings
from serving.store import load_predictor, plan_path
from tests.conftest import REPO
from training.artifact import DigestMismatchError, LibraryVersionError


@pytest.fixture
def artifact(penguins_artifact: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(penguins_artifact, tmp_path / "artifact"))


def settings_for(artifact: Path, tmp_path: Path) -> Settings:
    return Settings(model_uri=str(artifact), cache_dir=str(tmp_path / "cache"))


def test_plan_round_trips_through_bytes(artifact: Path) -> None:
    predictor = Predictor.from_artifact(artifact)
    assert predictor.plan is not None
    again = Plan.from_bytes(predictor.plan.to_bytes())
    batch = predictor.self_check_batch(n=50)
    np.testing.assert_array_equal(again.build()(batch), predictor.plan.build()(batch))
    with pytest.raises(PlanError):
        Plan.from_bytes(b"not a plan")


def test_second_start_serves_the_cached_plan(artifact: Path, tmp_path: Path) -> None:
    settings = settings_for(artifact, tmp_path)
    first = load_predictor(settings)
    assert first.model is not None and plan_path(settings, first.digest).is_file()
    second = load_predictor(settings)
    assert second.model is None and second.backend == "compiled"
    batch = first.self_check_batch(n=30)
    np.testing.assert_array_equal(second.predict(batch).probabilities, first.predict(batch).probabilities)


def test_cached_plan_start_does_not_import_sklearn(artifact: Path, tmp_path: Path) -> None:
    settings = settings_for(artifact, tmp_path)
    load_predictor(settings)
    script = (
        "import sys\n"
        "from serving.settings import Settings\n"
        "from serving.app import create_app\n"
        f"app = create_app(Settings(model_uri={str(artifact)!r}, cache_dir={settings.cache_dir!r}))\n"
        "heavy = sorted(m for m in ('sklearn', 'pandas', 'scipy', 'skops') if m in sys.modules)\n"
        "assert heavy == [], heavy\n"
        "print(app.extensions['model_server'].predictor.backend)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "compiled"


def test_tampered_model_is_refused_even_with_a_cached_plan(artifact: Path, tmp_path: Path) -> None:
    settings = settings_for(artifact, tmp_path)
    load_predictor(settings)
    model = artifact / "model.skops"
    data = bytearray(model.read_bytes())
    data[-30] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(DigestMismatchError, match="does not match metadata"):
        load_predictor(settings)


def test_library_versions_are_checked_on_the_plan_path(artifact: Path, tmp_path: Path) -> None:
    settings = settings_for(artifact, tmp_path)
    load_predictor(settings)
    meta_path = artifact / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["library_versions"]["scikit-learn"] = "0.0.1"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(LibraryVersionError, match=r"scikit-learn: trained with 0\.0\.1"):
        load_predictor(settings)


def test_unusable_plan_falls_back_to_the_full_load(
    artifact: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(artifact, tmp_path)
    first = load_predictor(settings)
    path = plan_path(settings, first.digest)
    path.write_bytes(b"garbage")
    again = load_predictor(settings)
    assert again.model is not None and again.backend == "compiled"
    assert "cached inference plan not used" in caplog.text
    # A plan that no longer reproduces the examples is not used either.
    plan = Plan.from_bytes(path.read_bytes())
    key = plan.spec["estimator"]["intercept"]
    plan.arrays[key] = plan.arrays[key] + np.eye(len(plan.arrays[key]))[0] * 5.0  # one class only
    path.write_bytes(plan.to_bytes())
    assert load_predictor(settings).model is not None
