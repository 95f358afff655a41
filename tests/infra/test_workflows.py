"""Structure and security of the GitHub Actions workflows, read from the YAML (no runner needed).

Least permissions per job, pinned actions, no secret-reading job on pull-request code, production jobs
behind environments, inputs and matrices in step with project.yaml and the promotion tool, one-line steps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cicd import expressions, simulate
from cicd.project import load as load_project

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONS = REPO / ".github" / "actions"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
ACTION_FILES = sorted(ACTIONS.glob("*/action.yml"))

# Every job that may write, and exactly what it may write. Anything else gets read scopes only.
WRITE_SCOPES: dict[tuple[str, str], set[str]] = {
    ("ci.yml", "build"): {"packages", "id-token", "attestations"},
    ("pr-report.yml", "comment"): {"pull-requests", "contents"},
    ("promote.yml", "promote"): {"deployments", "id-token"},
    ("infra.yml", "plan"): {"id-token", "pull-requests"},
    ("infra.yml", "apply"): {"id-token"},
}
KNOWN_SCOPES = {
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "id-token",
    "issues",
    "discussions",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
    "models",
}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+)@(?P<sha>[0-9a-f]{40})")
VERSION_COMMENT = re.compile(r"^\s+#\s+v\d+(\.\d+){1,2}\s*$")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(p.name, name, job) for p in WORKFLOW_FILES for name, job in load(p)["jobs"].items()]


def test_the_expected_workflows_exist() -> None:
    assert {p.name for p in WORKFLOW_FILES} == {"ci.yml", "pr-report.yml", "promote.yml", "infra.yml"}


# ---------------------------------------------------------------------------------------------- permissions
@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_grants_nothing_by_default(path: Path) -> None:
    assert load(path).get("permissions") == {}, f"{path.name}: set `permissions: {{}}` and grant per job"


@pytest.mark.parametrize(("workflow", "name", "job"), jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_job_declares_least_permissions(workflow: str, name: str, job: dict[str, Any]) -> None:
    permissions = job.get("permissions")
    assert isinstance(permissions, dict), f"{workflow}/{name}: declare permissions as a mapping"
    assert set(permissions) <= KNOWN_SCOPES, (
        f"{workflow}/{name}: unknown scope(s) {set(permissions) - KNOWN_SCOPES}"
    )
    assert set(permissions.values()) <= {"read", "write", "none"}
    writes = {scope for scope, level in permissions.items() if level == "write"}
    assert writes == WRITE_SCOPES.get((workflow, name), set()), (
        f"{workflow}/{name} writes {sorted(writes)}; WRITE_SCOPES in this test records what each job may write"
    )


def test_no_workflow_uses_write_all_or_read_all() -> None:
    for path in WORKFLOW_FILES:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"permissions:\s*(write-all|read-all)", text), path.name


# ---------------------------------------------------------------------------------------------- pinning
def uses_lines() -> list[tuple[str, int, str, str]]:
    found = []
    for path in [*WORKFLOW_FILES, *ACTION_FILES]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            match = USES.match(line)
            if match:
                found.append((str(path.relative_to(REPO)), number, match.group("ref"), match.group("rest")))
    return found


def test_every_third_party_action_is_pinned_to_a_commit_with_its_version_in_a_comment() -> None:
    problems = []
    for where, number, ref, rest in uses_lines():
        if ref.startswith("./"):
            assert (REPO / ref / "action.yml").is_file(), f"{where}:{number}: local action {ref} missing"
            continue
        if not PINNED.fullmatch(ref):
            problems.append(f"{where}:{number}: {ref} is not pinned to a 40-hex commit")
        elif not VERSION_COMMENT.match(rest):
            problems.append(f"{where}:{number}: {ref} lacks its version as a `# vX.Y.Z` comment")
    assert not problems, "\n".join(problems)
    assert len(uses_lines()) > 10


def test_each_action_has_one_pin_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for _, _, ref, rest in uses_lines():
        match = PINNED.fullmatch(ref)
        if match:
            pins.setdefault(match.group("action"), set()).add(f"{match.group('sha')}{rest.strip()}")
    mixed = {action: shas for action, shas in pins.items() if len(shas) > 1}
    assert not mixed, f"one action, several pins or versions: {mixed}"


# ---------------------------------------------------------------------------------------------- untrusted code
def test_no_workflow_runs_on_pull_request_target() -> None:
    for path in WORKFLOW_FILES:
        assert "pull_request_target" not in simulate.triggers(load(path)), path.name


PR_SCENARIOS = [s for s in simulate.FRESH_FORK if s.event_name == "pull_request"]
FORK_PR = next(s for s in PR_SCENARIOS if "someone else's fork" in s.name)


def _job_runs(job: dict[str, Any], scenario: simulate.Scenario) -> bool:
    context = {"github": scenario.github(), "vars": {}, "inputs": {}, "needs": {}}
    return expressions.condition(job.get("if"), context, lambda fn: fn != "failure" and fn != "cancelled")


# The workflows a pull request triggers; the checks below concern only those.
PR_WORKFLOWS = [p for p in WORKFLOW_FILES if "pull_request" in simulate.triggers(load(p))]


def test_some_workflows_run_on_pull_requests() -> None:
    assert "ci.yml" in {p.name for p in PR_WORKFLOWS}  # else the two tests below would check nothing


@pytest.mark.parametrize("path", PR_WORKFLOWS, ids=lambda p: p.name)
def test_no_job_that_runs_on_pull_request_code_reads_secrets(path: Path) -> None:
    checked = []
    for name, job in load(path)["jobs"].items():
        if not any(_job_runs(job, scenario) for scenario in PR_SCENARIOS):
            continue
        text = yaml.safe_dump(job)
        assert "secrets." not in text, f"{path.name}/{name} runs on pull requests and references secrets"
        assert "secrets[" not in text
        checked.append(name)
    assert checked, f"{path.name} is triggered by pull_request but no job of it runs for one"


@pytest.mark.parametrize("path", PR_WORKFLOWS, ids=lambda p: p.name)
def test_fork_pull_requests_get_only_read_permissions(path: Path) -> None:
    checked = []
    for name, job in load(path)["jobs"].items():
        if _job_runs(job, FORK_PR):
            writes = [s for s, level in job["permissions"].items() if level == "write"]
            assert not writes, f"{path.name}/{name} runs for fork pull requests with write scopes {writes}"
            checked.append(name)
    assert checked, f"{path.name} is triggered by pull_request but no job of it runs for a fork's"


def test_the_plan_job_with_cloud_access_runs_only_for_this_repositorys_branches() -> None:
    plan = load(WORKFLOWS / "infra.yml")["jobs"]["plan"]
    same_repo = next(s for s in PR_SCENARIOS if "own branch" in s.name)
    assert _job_runs(plan, same_repo)
    assert not _job_runs(plan, FORK_PR)


def test_the_comment_workflow_never_checks_out_pull_request_code() -> None:
    workflow = load(WORKFLOWS / "pr-report.yml")
    assert set(simulate.triggers(workflow)) == {"workflow_run"}
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["ref"] == "${{ github.event.repository.default_branch }}"
                assert step["with"]["persist-credentials"] is False
        text = yaml.safe_dump(job)
        assert "head_sha }}" not in text.replace("HEAD_SHA: ${{ github.event.workflow_run.head_sha }}", "")
        assert "secrets." not in text


def test_checkouts_do_not_keep_the_token() -> None:
    for path in WORKFLOW_FILES:
        for name, job in load(path)["jobs"].items():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}/{name}"


# ---------------------------------------------------------------------------------------------- environments
def test_deploying_jobs_run_in_a_github_environment() -> None:
    promote = load(WORKFLOWS / "promote.yml")["jobs"]["promote"]
    assert promote["environment"]["name"] == "${{ inputs.environment }}"
    apply = load(WORKFLOWS / "infra.yml")["jobs"]["apply"]
    assert apply["environment"]["name"] == "infra-${{ inputs.environment }}"
    for workflow, name, job in jobs():
        uses_cloud = "configure-aws-credentials" in yaml.safe_dump(job)
        dispatch_only = set(simulate.triggers(load(WORKFLOWS / workflow))) == {"workflow_dispatch"}
        if uses_cloud and (dispatch_only or name == "apply"):
            assert "environment" in job, f"{workflow}/{name} assumes a role outside a GitHub Environment"


def test_apply_never_runs_for_pull_requests_pushes_or_other_branches() -> None:
    apply = load(WORKFLOWS / "infra.yml")["jobs"]["apply"]
    dispatch_main = simulate.Scenario("d", "workflow_dispatch", "refs/heads/main")
    dispatch_branch = simulate.Scenario("d", "workflow_dispatch", "refs/heads/feature")
    push_main = simulate.Scenario("p", "push", "refs/heads/main")
    assert _job_runs(apply, dispatch_main)
    for scenario in [dispatch_branch, push_main, *PR_SCENARIOS]:
        assert not _job_runs(apply, scenario), scenario.name
    steps = yaml.safe_dump(apply)
    assert "ci-tf-plan" not in steps and "tf-plan" not in steps, (
        "apply must use the saved plan, never a new one"
    )
    assert "verify-run" in steps and "verify-plan" in steps


def test_build_runs_only_for_pushes_to_the_default_branch() -> None:
    build = load(WORKFLOWS / "ci.yml")["jobs"]["build"]
    assert _job_runs(build, simulate.Scenario("p", "push", "refs/heads/main"))
    assert not _job_runs(build, simulate.Scenario("p", "push", "refs/heads/feature"))
    for scenario in PR_SCENARIOS:
        assert not _job_runs(build, scenario)


# ---------------------------------------------------------------------------------------------- concurrency
def test_concurrency_groups() -> None:
    ci = load(WORKFLOWS / "ci.yml")["concurrency"]
    assert (
        "pull_request.number" in ci["group"]
        and ci["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    )
    promote = load(WORKFLOWS / "promote.yml")["concurrency"]
    assert "inputs.target" in promote["group"] and "inputs.environment" in promote["group"]
    assert promote["cancel-in-progress"] is False, "never cancel a promotion half way"
    apply = load(WORKFLOWS / "infra.yml")["jobs"]["apply"]["concurrency"]
    assert "inputs.environment" in apply["group"] and apply["cancel-in-progress"] is False
    for path in WORKFLOW_FILES:
        assert "concurrency" in load(path), path.name


# ---------------------------------------------------------------------------------------------- sources of truth
def _choices(workflow: str, name: str) -> list[str]:
    return simulate.triggers(load(WORKFLOWS / workflow))["workflow_dispatch"]["inputs"][name]["options"]


def test_inputs_and_matrices_match_project_yaml_and_the_promotion_tool() -> None:
    from promotion.base import ENVIRONMENTS
    from promotion.cli import TARGETS

    environments = list(load_project(REPO).environments)
    assert list(ENVIRONMENTS) == environments
    assert _choices("promote.yml", "target") == list(TARGETS)
    assert _choices("promote.yml", "environment") == environments
    assert _choices("infra.yml", "environment") == environments
    assert load(WORKFLOWS / "infra.yml")["jobs"]["plan"]["strategy"]["matrix"]["environment"] == environments
    assert _choices("promote.yml", "mode") == ["deploy", "rollback"]


def test_the_python_version_is_the_projects() -> None:
    action = load(ACTIONS / "setup" / "action.yml")
    version = next(
        s["with"]["python-version"] for s in action["runs"]["steps"] if "setup-python" in s.get("uses", "")
    )
    requires = re.search(r'requires-python = "(.*)"', (REPO / "pyproject.toml").read_text()).group(1)
    assert requires == f">={version},<3.{int(version.split('.')[1]) + 1}"


def _terraform_versions() -> set[str]:
    return {v for p in WORKFLOW_FILES for v in re.findall(r"terraform_version: (\S+)", p.read_text())}


def test_the_terraform_version_is_pinned_once() -> None:
    versions = _terraform_versions()
    assert len(versions) == 1, versions


def test_the_tests_job_runs_the_terraform_tests_with_a_provider_mirror() -> None:
    """Without terraform and a mirror on the runner the Terraform tests skip and the job stays green."""
    steps = load(WORKFLOWS / "ci.yml")["jobs"]["test"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    runs = [s.get("run", "") for s in steps]
    terraform = next(s for s in steps if s.get("uses", "").startswith("hashicorp/setup-terraform@"))
    assert terraform["with"]["terraform_wrapper"] is False
    test = next(s for s in steps if s.get("run") == "make test")
    assert test["env"]["TF_PROVIDER_MIRROR"].endswith("/.tools/tf-mirror")
    assert uses.index(terraform["uses"]) < runs.index("make tf-mirror") < runs.index("make test")


# ---------------------------------------------------------------------------------------------- thin steps
_ARG = r"(?:\$\{\{[^}]*\}\}|\S)+"  # a word, where ${{ ... }} counts as one
ALLOWED_RUN = re.compile(rf"^(make [a-z][a-z0-9-]*( [A-Z_]+={_ARG})*|python -m cicd\.[a-z_]+( .*)?)$")


def test_every_step_is_one_line_calling_make_or_a_module() -> None:
    problems = []
    for path in [*WORKFLOW_FILES, *ACTION_FILES]:
        data = load(path)
        step_lists = [job.get("steps", []) for job in data.get("jobs", {}).values()] or [
            data["runs"]["steps"]
        ]
        for steps in step_lists:
            for step in steps:
                run = step.get("run")
                if run is None:
                    continue
                if "\n" in run.strip() or not ALLOWED_RUN.match(run.strip()):
                    problems.append(f"{path.name}: {run!r}")
    assert not problems, "steps must be one make target or one python -m module:\n" + "\n".join(problems)


def test_untrusted_values_reach_commands_through_env_not_inline() -> None:
    risky = re.compile(
        r"\$\{\{\s*(inputs\.image|github\.event\.(pull_request|workflow_run)\.[a-z_.]*(ref|title|body|branch|label))"
    )
    for path in WORKFLOW_FILES:
        for job in load(path)["jobs"].values():
            for step in job.get("steps", []):
                assert not risky.search(str(step.get("run", ""))), f"{path.name}: {step['run']}"


# ---------------------------------------------------------------------------------------------- the guide
GUIDE = REPO / "docs" / "using-this-template.md"


def test_every_variable_and_environment_the_workflows_use_is_documented() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    text = "".join(p.read_text(encoding="utf-8") for p in WORKFLOW_FILES)
    variables = set(re.findall(r"\bvars\.([A-Z][A-Z0-9_]*)", text))
    assert {"AWS_CI_ROLE_ARN", "AWS_DEPLOY_ROLE_ARN", "AWS_PLAN_ROLE_ARN", "AWS_APPLY_ROLE_ARN"} <= variables
    undocumented = sorted(v for v in variables if f"`{v}`" not in guide)
    assert not undocumented, f"docs/using-this-template.md does not explain {undocumented}"
    for env in load_project(REPO).environments:
        assert f"`{env}`" in guide and f"`infra-{env}`" in guide


def test_skip_notices_point_at_a_section_that_exists() -> None:
    from cicd import cloud
    from templatekit.docs import markdown

    page, _, anchor = cloud.DOCS.partition("#")
    assert (REPO / page) == GUIDE
    assert anchor in markdown.anchors(GUIDE)


def _admits(constraint: str, version: str) -> bool:
    have = tuple(int(p) for p in version.split("."))
    for part in constraint.split(","):
        op, _, want_text = part.strip().partition(" ")
        want = tuple(int(p) for p in want_text.strip().split("."))
        padded = have[: len(want)]
        if op == ">=" and not have >= want:
            return False
        if op == "~>" and not (have >= want and padded[:-1] == want[:-1]):
            return False
        if op in ("=", "==") and have[: len(want)] != want:
            return False
    return True


def test_the_workflow_terraform_satisfies_every_required_version() -> None:
    (version,) = _terraform_versions()
    assert _admits(">= 1.5.0", version) and not _admits(">= 9.0", version) and _admits("~> 1.11.0", version)
    for tf in (REPO / "terraform").rglob("*.tf"):
        if ".terraform" in tf.parts:
            continue
        for constraint in re.findall(r'required_version\s*=\s*"([^"]+)"', tf.read_text(encoding="utf-8")):
            assert _admits(constraint, version), (
                f"{tf.relative_to(REPO)}: {constraint} excludes terraform {version}"
            )
