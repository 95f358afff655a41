"""The DVC pipeline end to end in a throwaway copy of the repository: `dvc repro` from nothing, the
determinism check, a params change rerunning only what depends on it, bad data stopping at validate,
and `dvc push`/`dvc pull` through the default local remote."""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.artifacts import build_artifact
from tests.helpers.pipeline_repo import copy_pipeline_repo, dvc, git, set_params
from training.artifact import file_digest, load_artifact

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A copy of the repository after one full `dvc repro`, built once for the whole test run.

    pytest-xdist may spread this module over several workers, so the copy lives in the run's shared
    temporary folder and an exclusive file lock lets the first worker build it while the others wait.
    Treat it as read-only: tests that run DVC commands work on their own copy (``_clone_state``).
    """
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent  # the folder all workers of this run share
    repo, done = root / "training-pipeline" / "repo", root / "training-pipeline.done"
    with open(root / "training-pipeline.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(repo.parent, ignore_errors=True)
            copy_pipeline_repo(repo)
            dvc(repo, "repro")
            done.touch()
    return repo


def _clone_state(reproduced: Path, tmp_path: Path) -> Path:
    """An independent copy of the reproduced repository, cache and outputs included."""
    return Path(shutil.copytree(reproduced, tmp_path / "repo", symlinks=True))


def test_repro_writes_artifact_metrics_and_plots(reproduced: Path, tmp_path: Path) -> None:
    model, meta = load_artifact(reproduced / "models")
    assert meta["name"] == "penguins" and meta["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert meta["git_commit"] == git(reproduced, "rev-parse", "HEAD").stdout.strip()
    assert meta["data_digest"] == file_digest(reproduced / "data" / "prepared" / "validated.parquet")
    metrics = json.loads((reproduced / "reports" / "metrics.json").read_text())
    assert metrics == meta["metrics"] and metrics["accuracy"] >= 0.9
    assert json.loads((reproduced / "reports" / "validation.json").read_text())["ok"] is True
    examples = pd.DataFrame(meta["examples"]["rows"])
    assert model.predict(examples).tolist() == meta["examples"]["labels"]
    plots = json.loads(dvc(_clone_state(reproduced, tmp_path), "plots", "show", "--json").stdout)["data"]
    assert set(plots) == {"ROC, one-vs-rest", "Precision-recall, one-vs-rest", "Confusion matrix (held-out)"}
    lock = (reproduced / "dvc.lock").read_text()
    assert all(f"  {stage}:" in lock for stage in ("ingest", "validate", "train", "evaluate"))


def test_forced_repro_gives_the_same_model_digest(reproduced: Path, tmp_path: Path) -> None:
    repo = _clone_state(reproduced, tmp_path)
    before_model = file_digest(reproduced / "models" / "model.skops")
    before_meta = (reproduced / "models" / "metadata.json").read_bytes()
    proc = dvc(repo, "repro", "--force")
    assert all(f"Running stage '{s}'" in proc.stdout for s in ("ingest", "validate", "train", "evaluate"))
    assert file_digest(repo / "models" / "model.skops") == before_model
    assert (repo / "models" / "metadata.json").read_bytes() == before_meta
    assert json.loads(before_meta)["digest"] == before_model


def test_helper_artifact_is_the_pipeline_artifact(reproduced: Path, tmp_path: Path) -> None:
    built = build_artifact(tmp_path / "artifact")
    assert file_digest(built / "model.skops") == file_digest(reproduced / "models" / "model.skops")


def test_gate_change_reruns_only_evaluate_and_fails_clearly(reproduced: Path, tmp_path: Path) -> None:
    repo = _clone_state(reproduced, tmp_path)
    set_params(repo, **{"evaluate.gate": {"accuracy": {"min": 1.5}}})
    proc = dvc(repo, "repro", check=False)
    assert proc.returncode != 0
    assert "Stage 'validate' didn't change, skipping" in proc.stdout
    assert "Stage 'train' didn't change, skipping" in proc.stdout
    assert "Running stage 'evaluate'" in proc.stdout
    assert "quality gate failed" in proc.stderr and "accuracy = " in proc.stderr
    assert "below the minimum 1.5" in proc.stderr


def test_bad_data_stops_at_validate_with_no_downstream_output(tmp_path: Path) -> None:
    repo = copy_pipeline_repo(tmp_path / "repo")
    bad = tmp_path / "bad.csv"
    rows = ["species,island,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year"]
    rows += ["Adelie,Atlantis,18.0,190.0,3700.0,male,2008"] * 60 + [
        "Gentoo,Biscoe,15.0,215.0,5000.0,female,2008"
    ] * 60
    bad.write_text("\n".join(rows) + "\n")
    set_params(repo, **{"data.source": str(bad)})
    proc = dvc(repo, "repro", check=False)
    assert proc.returncode != 0
    assert "column 'bill_length_mm': rule 'present'" in proc.stderr
    assert "column 'island': rule 'categories'" in proc.stderr and "'Atlantis'" in proc.stderr
    assert "failed to reproduce 'validate'" in proc.stderr
    report = json.loads((repo / "reports" / "validation.json").read_text())
    assert report["ok"] is False and len(report["issues"]) == 2
    assert not (repo / "data" / "prepared").exists()
    assert not (repo / "models").exists()


def test_push_and_pull_through_the_local_remote(reproduced: Path, tmp_path: Path) -> None:
    repo = _clone_state(reproduced, tmp_path)
    digest = file_digest(repo / "models" / "model.skops")
    dvc(repo, "push")
    assert any((repo / ".dvc-storage").rglob("*")), "the default remote is the repo's .dvc-storage folder"
    for path in ("models", "data/prepared", "data/raw", ".dvc/cache"):
        shutil.rmtree(repo / path)
    dvc(repo, "pull")
    assert file_digest(repo / "models" / "model.skops") == digest
    load_artifact(repo / "models")
    assert "in sync" in dvc(repo, "status", "--cloud").stdout
