"""Inference plans cached per model digest: round trip, use on the next start without scikit-learn,
refusal or fallback when anything does not match, and a separate (possibly read-only) PLAN_DIR."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from serving import store
from serving.app import create_app
from serving.plan import Plan, PlanError
from serving.predictor import Predictor
from serving.settings import Settings
from serving.store import load_predictor, plan_paths
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
    assert first.model is not None and plan_paths(settings, first.digest)[0].is_file()
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
    (path,) = plan_paths(settings, first.digest)
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


# --------------------------------------------------------------------------- PLAN_DIR
def read_only(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``directory`` read-only: mode bits for ordinary users, and (root ignores them) writes below it
    fail with EROFS as on the image's read-only root file system."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.iterdir():
        path.chmod(0o444)
    directory.chmod(0o555)
    real: Callable[[str | os.PathLike[str], bytes], None] = store.atomic_write_bytes

    def write(path: str | os.PathLike[str], data: bytes) -> None:
        if Path(path).resolve().is_relative_to(directory.resolve()):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        real(path, data)

    monkeypatch.setattr(store, "atomic_write_bytes", write)


@pytest.fixture
def plans(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "plans"
    yield directory
    if directory.is_dir():  # writable again, so the temporary directory can be removed
        directory.chmod(0o755)


def test_plan_dir_defaults_to_the_cache_dir(tmp_path: Path) -> None:
    digest = "sha256:" + "a" * 64
    default = Settings.from_env({"MODEL_SERVER_CACHE_DIR": str(tmp_path / "cache")})
    assert default.plan_dir == ""
    assert plan_paths(default, digest) == [tmp_path / "cache" / "plans" / ("a" * 64 + ".npz")]
    chosen = Settings.from_env(
        {"MODEL_SERVER_CACHE_DIR": str(tmp_path / "cache"), "MODEL_SERVER_PLAN_DIR": str(tmp_path / "baked")}
    )
    assert plan_paths(chosen, digest) == [
        tmp_path / "baked" / ("a" * 64 + ".npz"),
        tmp_path / "cache" / "plans" / ("a" * 64 + ".npz"),
    ]


def test_plans_are_written_to_and_read_from_plan_dir(artifact: Path, tmp_path: Path, plans: Path) -> None:
    settings = Settings(model_uri=str(artifact), cache_dir=str(tmp_path / "cache"), plan_dir=str(plans))
    first = load_predictor(settings)
    assert first.model is not None
    assert [p.name for p in plans.iterdir()] == [first.digest.split(":", 1)[1] + ".npz"]
    assert not (tmp_path / "cache" / "plans").exists()
    second = load_predictor(settings)
    assert second.model is None and second.backend == "compiled"


def test_check_bakes_a_plan_that_a_read_only_plan_dir_serves(
    artifact: Path,
    tmp_path: Path,
    plans: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What the Dockerfile does at build time: `python -m serving check` with PLAN_DIR set.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_SERVER_")}
    env.update(
        MODEL_SERVER_MODEL_URI=str(artifact),
        MODEL_SERVER_PLAN_DIR=str(plans),
        MODEL_SERVER_CACHE_DIR=str(tmp_path / "build-cache"),
    )
    out = subprocess.run(
        [sys.executable, "-m", "serving", "check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["inference_backend"] == "compiled"
    baked = sorted(plans.iterdir())
    assert len(baked) == 1 and baked[0].suffix == ".npz"
    read_only(plans, monkeypatch)
    caplog.set_level(logging.INFO, logger="serving.store")
    settings = Settings(model_uri=str(artifact), cache_dir=str(tmp_path / "cache"), plan_dir=str(plans))
    predictor = load_predictor(settings)
    assert predictor.model is None and predictor.backend == "compiled"
    assert "serving the inference plan cached for this digest" in caplog.text
    assert sorted(plans.iterdir()) == baked and not (tmp_path / "cache").exists()


def test_a_plan_that_cannot_be_written_to_plan_dir_is_cached_under_cache_dir(
    artifact: Path,
    tmp_path: Path,
    plans: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    read_only(plans, monkeypatch)  # empty: another model than the one baked in
    caplog.set_level(logging.INFO, logger="serving.store")
    settings = Settings(model_uri=str(artifact), cache_dir=str(tmp_path / "cache"), plan_dir=str(plans))
    first = load_predictor(settings)
    assert first.model is not None and first.backend == "compiled"
    assert list(plans.iterdir()) == []
    cached = tmp_path / "cache" / "plans" / (first.digest.split(":", 1)[1] + ".npz")
    assert cached.is_file() and "inference plan cached" in caplog.text
    second = load_predictor(settings)  # the next start is a cached-plan start
    assert second.model is None and second.backend == "compiled"


def test_a_plan_that_cannot_be_written_anywhere_does_not_stop_the_server(
    artifact: Path,
    tmp_path: Path,
    plans: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "plans").write_text("a file where the plans directory should be")
    read_only(plans, monkeypatch)
    caplog.set_level(logging.INFO, logger="serving.store")
    settings = Settings(model_uri=str(artifact), cache_dir=str(cache), plan_dir=str(plans))
    predictor = load_predictor(settings)
    assert predictor.model is not None and predictor.backend == "compiled"
    assert "inference plan not cached" in caplog.text
    assert list(plans.iterdir()) == []
    app = create_app(settings)
    assert app.test_client().get("/health/ready").status_code == 200
