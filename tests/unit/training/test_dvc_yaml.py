"""dvc.yaml agrees with the code: each stage lists exactly the params keys and modules it uses, every
path its command names is a declared dependency or output, and the plots and remote are configured."""

from __future__ import annotations

import ast
import configparser
import shlex
from pathlib import Path

import pytest
import yaml

from training.evaluate import EvaluateParams
from training.ingest import IngestParams
from training.params import Params
from training.train import ESTIMATORS, TrainParams

REPO = Path(__file__).resolve().parents[3]
DVC = yaml.safe_load((REPO / "dvc.yaml").read_text())
STAGES = DVC["stages"]


def _keys_read(reader, data) -> set[str]:
    params = Params(data)
    reader(params)
    return set(params.read)


def test_stages_run_in_order() -> None:
    assert list(STAGES) == ["ingest", "validate", "train", "evaluate"]
    for name, stage in STAGES.items():
        assert shlex.split(stage["cmd"])[:3] == ["python", "-m", f"training.{name}"]


def test_each_stage_lists_exactly_the_params_it_reads(repo_params) -> None:
    assert set(STAGES["ingest"]["params"]) == _keys_read(IngestParams.read, repo_params)
    assert "params" not in STAGES["validate"], "validate reads data/schema.yaml only"
    assert set(STAGES["evaluate"]["params"]) == _keys_read(EvaluateParams.read, repo_params)
    train_keys: set[str] = set()
    for estimator in ESTIMATORS:
        data = {**repo_params, "train": {**repo_params["train"], "estimator": estimator}}
        train_keys |= _keys_read(TrainParams.read, data)
    assert set(STAGES["train"]["params"]) == train_keys


def _imports(module: str) -> set[str]:
    """training.* modules that ``module`` imports, directly or through other training modules."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        tree = ast.parse((REPO / (name.replace(".", "/") + ".py")).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("training."):
                todo.append(node.module)
            elif isinstance(node, ast.Import):
                todo.extend(a.name for a in node.names if a.name.startswith("training."))
    return seen


@pytest.mark.parametrize("stage", list(STAGES))
def test_each_stage_depends_on_exactly_the_code_it_runs(stage: str) -> None:
    code = {d for d in STAGES[stage]["deps"] if d.startswith("training/")}
    assert code == {m.replace(".", "/") + ".py" for m in _imports(f"training.{stage}")}


def _declared_outputs(stage: dict) -> set[str]:
    names: set[str] = set()
    for section in ("outs", "metrics", "plots"):
        for entry in stage.get(section, []):
            names.add(entry if isinstance(entry, str) else next(iter(entry)))
    return names


@pytest.mark.parametrize("stage", list(STAGES))
def test_command_paths_are_declared(stage: str) -> None:
    spec = STAGES[stage]
    args = shlex.split(spec["cmd"])[3:]
    named = dict(zip(args[::2], args[1::2], strict=True))
    outputs, deps = _declared_outputs(spec), set(spec.get("deps", []))
    plot_dir = named.pop("--plots", None)
    for flag, path in named.items():
        assert path in outputs | deps, f"{stage}: {flag} {path} is neither a dependency nor an output"
    if plot_dir:
        assert {o for o in outputs if o.startswith(plot_dir + "/")}, "the plot files are outputs"
    for dep in deps - {d for d in deps if d.startswith("training/")}:
        assert dep in named.values(), f"{stage}: dependency {dep} is not used by the command"


def test_downstream_stages_consume_upstream_outputs() -> None:
    assert "data/raw/data.parquet" in _declared_outputs(STAGES["ingest"])
    assert "data/raw/data.parquet" in STAGES["validate"]["deps"]
    assert "data/prepared/validated.parquet" in STAGES["train"]["deps"]
    assert {"models", "data/prepared/holdout.parquet"} <= set(STAGES["evaluate"]["deps"])
    assert [next(iter(m)) for m in STAGES["evaluate"]["metrics"]] == ["reports/metrics.json"]


def test_plots_point_at_evaluate_outputs_with_existing_templates() -> None:
    outputs = _declared_outputs(STAGES["evaluate"])
    builtin = {"linear", "simple", "scatter", "smooth", "confusion", "confusion_normalized"}
    for plot in DVC["plots"]:
        ((title, spec),) = plot.items()
        files = list(spec["y"])
        assert files and all(f in outputs for f in files), title
        template = spec["template"]
        assert template in builtin or (REPO / ".dvc" / "plots" / f"{template}.json").is_file(), title
    custom = (REPO / ".dvc" / "plots" / "curves_by_class.json").read_text()
    assert "<DVC_METRIC_DATA>" in custom and '"field": "class"' in custom


def test_default_remote_is_the_local_folder_and_analytics_are_off() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / ".dvc" / "config")
    assert config["core"]["remote"] == "local"
    assert config["core"]["analytics"] == "false"
    assert config["'remote \"local\"'"]["url"] == "../.dvc-storage"  # relative to .dvc/
    ignored = (REPO / ".gitignore").read_text().split()
    for path in ("/.dvc-storage/", "/models/", "/reports/", "/data/raw/", "/data/prepared/"):
        assert path in ignored


def test_model_name_matches_project_yaml(repo_params) -> None:
    project = yaml.safe_load((REPO / "project.yaml").read_text())
    assert repo_params["model"]["name"] == project["model_name"]
