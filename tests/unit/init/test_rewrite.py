"""The rename engine on a small synthetic tree: every place rewritten, idempotent, all or nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from templatekit.config import ProjectConfig, load
from templatekit.places import Place
from templatekit.rewrite import PlaceError, apply, environment_moves, plan

OLD = ProjectConfig.from_mapping(
    {
        "project": "mlops-template",
        "model_name": "penguins",
        "github_repository": "your-org/mlops-template",
        "image": "ghcr.io/your-org/mlops-template",
        "aws": {"account_id": "123456789012", "region": "eu-west-1"},
        "environments": ["staging", "production"],
    }
)
NEW = OLD.with_changes(
    project="churn",
    model_name="churn-model",
    github_repository="octo/churn",
    image="ghcr.io/octo/churn",
    aws_account_id="210987654321",
    aws_region="us-east-2",
)
PLACES = (
    Place("app.toml", r'^name = "(?P<value>[^"]*)"', "{project}", count=1),
    Place("app.toml", r'^image = "(?P<value>[^"]*)"', "{image}"),
    Place("deploy/{env}/values.yaml", r"^model: (?P<value>\S+)", "{model_name}"),
    Place("deploy/{env}/values.yaml", r"^env: (?P<value>\S+)", "{env}"),
    Place("infra.tfvars", r'^account_id = "(?P<value>\d*)"', "{aws_account_id}"),
    Place("infra.tfvars", r'^region = "(?P<value>[^"]*)"', "{aws_region}"),
    Place("README.md", r"github\.com/(?P<value>[^/]+/[^/]+)/actions", "{github_repository}"),
)
ENV_DIRS = ("deploy/{env}",)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "project.yaml").write_text(OLD.to_yaml())
    (tmp_path / "app.toml").write_text('name = "mlops-template"\nimage = "ghcr.io/your-org/mlops-template"\n')
    for env in OLD.environments:
        d = tmp_path / "deploy" / env
        d.mkdir(parents=True)
        (d / "values.yaml").write_text(f"model: penguins\nenv: {env}\nnamespace: {env}-ml\n")
        (d / "run.sh").write_text(f"#!/bin/sh\necho {env}\n")
        (d / "run.sh").chmod(0o755)
    (tmp_path / "infra.tfvars").write_text('account_id = "123456789012"\nregion = "eu-west-1"\n')
    (tmp_path / "README.md").write_text(
        "[![ci](https://github.com/your-org/mlops-template/actions/workflows/ci.yml/badge.svg)]"
        "(https://github.com/your-org/mlops-template/actions)\n"
    )
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rename_rewrites_every_place_and_is_idempotent(tree: Path) -> None:
    result = plan(tree, OLD, NEW, PLACES, ENV_DIRS)
    assert {c.path for c in result.changes} == {
        "project.yaml",
        "app.toml",
        "deploy/staging/values.yaml",
        "deploy/production/values.yaml",
        "infra.tfvars",
        "README.md",
    }
    apply(tree, result)
    assert (tree / "app.toml").read_text() == 'name = "churn"\nimage = "ghcr.io/octo/churn"\n'
    assert (tree / "infra.tfvars").read_text() == 'account_id = "210987654321"\nregion = "us-east-2"\n'
    assert (tree / "README.md").read_text().count("octo/churn") == 2
    assert (tree / "deploy/staging/values.yaml").read_text().startswith("model: churn-model\n")
    assert load(tree) == NEW
    # a second run with the same names finds nothing to do, and every place reports in step
    again = plan(tree, NEW, NEW, PLACES, ENV_DIRS)
    assert again.empty
    assert again.drift() == []
    assert len(again.findings) == len(PLACES) + 2  # two {env} places, each expanded over two environments


def test_drift_is_reported_per_place(tree: Path) -> None:
    (tree / "infra.tfvars").write_text('account_id = "999999999999"\nregion = "eu-west-1"\n')
    result = plan(tree, OLD, OLD, PLACES, ENV_DIRS)
    [finding] = result.drift()
    assert finding.path == "infra.tfvars"
    assert "999999999999" in finding.describe() and "123456789012" in finding.describe()


def test_dry_run_diff_is_unified_and_writes_nothing(tree: Path) -> None:
    before = snapshot(tree)
    diff = plan(tree, OLD, NEW, PLACES, ENV_DIRS).diff()
    assert snapshot(tree) == before
    assert "--- a/app.toml\n+++ b/app.toml\n" in diff
    assert '\n-name = "mlops-template"\n' in diff and '\n+name = "churn"\n' in diff


def test_pattern_matching_nothing_fails_before_anything_is_written(tree: Path) -> None:
    (tree / "infra.tfvars").write_text("# region moved elsewhere\n")
    before = snapshot(tree)
    with pytest.raises(
        PlaceError, match=r"infra\.tfvars: the pattern for \{aws_account_id\} matched nothing"
    ):
        plan(tree, OLD, NEW, PLACES, ENV_DIRS)
    assert snapshot(tree) == before


def test_missing_file_is_named(tree: Path) -> None:
    (tree / "app.toml").unlink()
    with pytest.raises(PlaceError, match=r"app\.toml: file not found"):
        plan(tree, OLD, NEW, PLACES, ENV_DIRS)


def test_count_is_enforced(tree: Path) -> None:
    (tree / "app.toml").write_text('name = "a"\nname = "b"\nimage = "ghcr.io/x/y"\n')
    with pytest.raises(PlaceError, match="matched 2 time"):
        plan(tree, OLD, NEW, PLACES, ENV_DIRS)


def test_failure_while_renaming_restores_every_file(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(tree)
    result = plan(tree, OLD, NEW, PLACES, ENV_DIRS)
    real_replace = os.replace
    calls = {"n": 0}

    def flaky_replace(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError, match="disk full"):
        apply(tree, result)
    assert snapshot(tree) == before  # the two files already replaced were put back; no temp files remain


def test_failure_while_staging_writes_nothing(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(tree)
    new = NEW.with_changes(environments=["dev", "staging", "production"])
    result = plan(tree, OLD, new, PLACES, ENV_DIRS)
    real_fsync = os.fsync
    calls = {"n": 0}

    def flaky_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == len(result.changes):
            raise OSError("I/O error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", flaky_fsync)
    with pytest.raises(OSError, match="I/O error"):
        apply(tree, result)
    assert snapshot(tree) == before
    assert not (tree / "deploy" / "dev").exists()


def test_environment_moves() -> None:
    assert environment_moves(["staging", "production"], ["staging", "production"]) == {
        "staging": "staging",
        "production": "production",
    }
    # renamed in place
    assert environment_moves(["staging", "production"], ["stage", "prod"]) == {
        "stage": "staging",
        "prod": "production",
    }
    # added in front: copies the first (least privileged) environment
    assert environment_moves(["staging", "production"], ["dev", "staging", "production"])["dev"] == "staging"
    assert environment_moves(["staging", "production"], ["production"]) == {"production": "production"}


def test_adding_renaming_and_removing_environments(tree: Path) -> None:
    new = NEW.with_changes(environments=["dev", "staging", "prod"])
    apply(tree, plan(tree, OLD, new, PLACES, ENV_DIRS))
    assert sorted(p.name for p in (tree / "deploy").iterdir()) == ["dev", "prod", "staging"]
    # the copy has its own name inside, and keeps the executable bit
    assert (
        tree / "deploy/dev/values.yaml"
    ).read_text() == "model: churn-model\nenv: dev\nnamespace: dev-ml\n"
    assert (
        tree / "deploy/prod/values.yaml"
    ).read_text() == "model: churn-model\nenv: prod\nnamespace: prod-ml\n"
    assert (tree / "deploy/dev/run.sh").stat().st_mode & 0o111
    assert (tree / "deploy/prod/run.sh").read_text() == "#!/bin/sh\necho prod\n"
    assert plan(tree, new, new, PLACES, ENV_DIRS).empty
    # and down to one environment
    single = new.with_changes(environments=["prod"])
    apply(tree, plan(tree, new, single, PLACES, ENV_DIRS))
    assert [p.name for p in (tree / "deploy").iterdir()] == ["prod"]


def test_a_missing_environment_folder_is_named(tree: Path) -> None:
    for child in (tree / "deploy/staging").iterdir():
        child.unlink()
    with pytest.raises(PlaceError, match=r"deploy/staging: environment folder is missing"):
        plan(tree, OLD, NEW.with_changes(environments=["dev", "staging", "production"]), PLACES, ENV_DIRS)


def test_word_places_find_names_in_any_shape_but_not_inside_other_words(tmp_path: Path) -> None:
    from templatekit.places import words

    (tmp_path / "project.yaml").write_text(OLD.to_yaml())
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests/a.yaml").write_text(
        "name: penguins-kserve\nhost: penguins.example.com\nsource: palmerpenguins\n"
        "image: ghcr.io/your-org/mlops-template@sha256:00\npart-of: mlops-template\n"
        "role: arn:aws:iam::123456789012:role/mlops-template-reader\n"
    )
    (tmp_path / "manifests/b.yaml").write_text("kind: Namespace\n")  # holds no name: fine for a glob
    places = words("manifests/**/*.yaml", "image", "aws_account_id", "project", "model_name")
    # the new image keeps the old project name inside it; the project place must not rename that part
    new = NEW.with_changes(image="ghcr.io/octo/mlops-template")
    apply(tmp_path, plan(tmp_path, OLD, new, places, ()))
    assert (tmp_path / "manifests/a.yaml").read_text() == (
        "name: churn-model-kserve\nhost: churn-model.example.com\nsource: palmerpenguins\n"
        "image: ghcr.io/octo/mlops-template@sha256:00\npart-of: churn\n"
        "role: arn:aws:iam::210987654321:role/churn-reader\n"
    )
    assert plan(tmp_path, new, new, places, ()).empty


def test_a_glob_matching_no_file_is_an_error(tmp_path: Path) -> None:
    from templatekit.places import word

    (tmp_path / "project.yaml").write_text(OLD.to_yaml())
    with pytest.raises(PlaceError, match=r"manifests/\*\*/\*\.yaml: no file matches"):
        plan(tmp_path, OLD, NEW, (word("manifests/**/*.yaml", "project", required=False),), ())
