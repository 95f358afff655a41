"""The evaluate stage: held-out metrics equal to the metadata's, plot data, and the quality gate."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from training.artifact import write_artifact
from training.cli import run
from training.errors import ParamsError
from training.evaluate import EvaluateParams, evaluate, main


def test_evaluation_matches_training_metrics(trained) -> None:
    result = evaluate(trained.model, trained.metadata, trained.holdout, 50)
    assert result.metrics == trained.metadata["metrics"]
    roc = result.plots["roc"]
    assert {r["class"] for r in roc} == {"Adelie", "Chinstrap", "Gentoo"}
    for cls in ("Adelie", "Chinstrap", "Gentoo"):
        points = [r for r in roc if r["class"] == cls]
        assert points[0] == {"class": cls, "fpr": 0.0, "tpr": 0.0} and points[-1]["tpr"] == 1.0
        assert len(points) <= 50
    assert {r["class"] for r in result.plots["precision_recall"]} == {"Adelie", "Chinstrap", "Gentoo"}
    assert len(result.plots["confusion"]) == len(trained.holdout)


def test_gate_params_are_checked(params_from) -> None:
    with pytest.raises(ParamsError, match=r"'evaluate\.gate\.accuracy' must be a mapping"):
        EvaluateParams.read(params_from(**{"evaluate.gate": {"accuracy": 0.9}}))
    with pytest.raises(ParamsError, match=r"'evaluate\.gate\.auc' is not a metric"):
        EvaluateParams.read(params_from(**{"evaluate.gate": {"auc": {"min": 0.9}}}))


@pytest.fixture
def stage_files(tmp_path: Path, trained) -> dict[str, Path]:
    write_artifact(trained.model, trained.metadata, tmp_path / "models")
    trained.holdout.to_parquet(tmp_path / "holdout.parquet", index=False)
    return {
        "models": tmp_path / "models",
        "holdout": tmp_path / "holdout.parquet",
        "reports": tmp_path / "reports",
    }


def _cli(stage_files, params: Path) -> int:
    reports = stage_files["reports"]
    argv = [
        "--params",
        str(params),
        "--model",
        str(stage_files["models"]),
        "--holdout",
        str(stage_files["holdout"]),
    ]
    argv += ["--metrics", str(reports / "metrics.json"), "--plots", str(reports / "plots")]
    return run(main, argv)


def test_cli_writes_metrics_and_plots(stage_files, make_params, trained, capsys) -> None:
    assert _cli(stage_files, make_params()) == 0
    reports = stage_files["reports"]
    assert json.loads((reports / "metrics.json").read_text()) == trained.metadata["metrics"]
    with open(reports / "plots" / "confusion.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == {"actual", "predicted"} and len(rows) == len(trained.holdout)
    assert (reports / "plots" / "roc.csv").read_text().startswith("class,fpr,tpr\n")
    assert (reports / "plots" / "precision_recall.csv").read_text().startswith("class,recall,precision\n")
    assert "quality gate passed" in capsys.readouterr().err


def test_cli_gate_failure_names_metric_value_and_threshold(stage_files, make_params, capsys) -> None:
    params = make_params(**{"evaluate.gate": {"accuracy": {"min": 1.01}, "log_loss": {"max": 0.001}}})
    assert _cli(stage_files, params) == 1
    err = capsys.readouterr().err
    assert "error: quality gate failed (thresholds in params.yaml evaluate.gate)" in err
    assert "accuracy = 1.0000 is below the minimum 1.01" in err
    assert "log_loss = 0.0309 is above the maximum 0.001" in err
    assert (stage_files["reports"] / "metrics.json").is_file(), "metrics stay for inspection"


def test_cli_refuses_a_holdout_from_another_run(stage_files, make_params, trained, capsys) -> None:
    trained.holdout.iloc[::-1].head(40).to_parquet(stage_files["holdout"], index=False)
    assert _cli(stage_files, make_params()) == 1
    assert "come from different train runs" in capsys.readouterr().err


def test_cli_reports_a_missing_artifact(stage_files, make_params, capsys) -> None:
    (stage_files["models"] / "model.skops").unlink()
    assert _cli(stage_files, make_params()) == 1
    assert "cannot load the model artifact" in capsys.readouterr().err
