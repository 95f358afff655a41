"""Which jobs and steps would run for an event, given a repository's variables? A dry run of the workflows.

This answers "would a fresh fork, with no variables, secrets or environments, run CI green?" without
pushing anything: each workflow's triggers, job ``if:``s, ``needs`` and step ``if:``s are evaluated with
``cicd.expressions`` against a scenario's contexts, and the steps that decide whether cloud settings
exist (``python -m cicd.cloud``) are really run with the environment the workflow would give them, so
their ``configured`` output is the code's answer, not an assumption. Every other step is assumed to
succeed. A *cloud step* (assumes an AWS role, publishes, plans, applies or promotes for real) that would
run in a scenario without settings is a failure; so is one skipped without a notice saying why.

``python -m cicd.simulate`` prints the table for the fresh-fork scenarios and exits 1 on such a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import io
import itertools
import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cicd import cloud, expressions

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"

# Markers of steps that need cloud access or write to the cloud.
CLOUD_USES = ("aws-actions/configure-aws-credentials",)
CLOUD_RUNS = (
    "cicd.publish_model",
    "ci-publish-model",
    "ci-fetch-model",
    "ci-ecr-copy",
    "tf-plan",
    "tf-apply",
    "ci-kubeconfig",
)


@dataclass(frozen=True)
class Scenario:
    name: str
    event_name: str
    ref: str
    repository: str = "someone/mlops-template-fork"
    default_branch: str = "main"
    event: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, Any] = field(default_factory=dict)
    changed_paths: tuple[str, ...] = ("terraform/service/main.tf", "training/train.py")
    workflow: str | None = None  # only this workflow file (a dispatch names one)

    def github(self) -> dict[str, Any]:
        event = {"repository": {"default_branch": self.default_branch, "full_name": self.repository}}
        event.update(self.event)
        return {
            "event_name": self.event_name,
            "ref": self.ref,
            "ref_name": self.ref.rsplit("/", 1)[-1],
            "repository": self.repository,
            "repository_owner": self.repository.split("/")[0],
            "sha": "0" * 40,
            "run_id": "1",
            "actor": "someone",
            "workflow": "",
            "event": event,
            "server_url": "https://github.com",
            "token": "",
        }


def _pull_request(head_repo: str, number: int = 7) -> dict[str, Any]:
    return {
        "number": number,
        "pull_request": {
            "number": number,
            "head": {
                "sha": "1" * 40,
                "ref": "feature",
                "repo": {"full_name": head_repo, "fork": head_repo != FORK},
            },
            "base": {"sha": "2" * 40, "ref": "main", "repo": {"full_name": FORK}},
        },
    }


FORK = "someone/mlops-template-fork"
ANY_DIGEST = "sha256:" + "ab" * 32

FRESH_FORK = (
    Scenario("push to the default branch", "push", "refs/heads/main"),
    Scenario("push to another branch", "push", "refs/heads/feature"),
    Scenario(
        "pull request from the fork's own branch",
        "pull_request",
        "refs/pull/7/merge",
        event=_pull_request(FORK),
    ),
    Scenario(
        "pull request from someone else's fork",
        "pull_request",
        "refs/pull/8/merge",
        event=_pull_request("stranger/mlops-template-fork", 8),
    ),
    Scenario(
        "CI finished for a pull request",
        "workflow_run",
        "refs/heads/main",
        event={
            "workflow_run": {"event": "pull_request", "conclusion": "success", "id": 1, "head_sha": "1" * 40}
        },
    ),
    Scenario(
        "manual promotion to staging",
        "workflow_dispatch",
        "refs/heads/main",
        workflow="promote.yml",
        inputs={
            "target": "kubernetes",
            "environment": "staging",
            "mode": "deploy",
            "image": ANY_DIGEST,
            "dry_run": False,
        },
    ),
    Scenario(
        "manual terraform apply",
        "workflow_dispatch",
        "refs/heads/main",
        workflow="infra.yml",
        inputs={"environment": "staging", "plan_run_id": "1"},
    ),
)


@dataclass
class StepRun:
    name: str
    ran: bool
    cloud: bool
    notices: list[str] = field(default_factory=list)


@dataclass
class JobRun:
    workflow: str
    job: str
    ran: bool
    steps: list[StepRun] = field(default_factory=list)
    permissions: Any = None


# ---------------------------------------------------------------------------------------------- triggers
def triggers(workflow: Mapping[str, Any]) -> dict[str, Any]:
    on = workflow["on"] if "on" in workflow else dict(workflow).get(True)  # type: ignore[call-overload]  # PyYAML reads `on:` as True
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {name: {} for name in on}
    return {k: (v or {}) for k, v in (on or {}).items()}


def _matches(patterns: Sequence[str], value: str) -> bool:
    included = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        if fnmatch.fnmatch(value, pattern.lstrip("!").replace("**", "*")):
            included = not negate
    return included


def runs_on_event(workflow: Mapping[str, Any], scenario: Scenario) -> bool:
    config = triggers(workflow).get(scenario.event_name)
    if config is None:
        return False
    branch = scenario.ref.rsplit("/", 1)[-1] if scenario.event_name == "push" else "main"
    if "branches" in config and not _matches(config["branches"], branch):
        return False
    if "branches-ignore" in config and _matches(config["branches-ignore"], branch):
        return False
    return "paths" not in config or any(_matches(config["paths"], p) for p in scenario.changed_paths)


# ---------------------------------------------------------------------------------------------- jobs
def _order(jobs: Mapping[str, Any]) -> list[str]:
    done: list[str] = []
    pending = dict(jobs)
    while pending:
        ready = [name for name, job in pending.items() if all(n in done for n in _needs(job))]
        if not ready:
            raise ValueError(f"jobs with unknown or circular needs: {', '.join(pending)}")
        for name in ready:
            done.append(name)
            del pending[name]
    return done


def _needs(job: Mapping[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _matrix_rows(job: Mapping[str, Any], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    matrix = ((job.get("strategy") or {}).get("matrix")) or {}
    if not isinstance(matrix, Mapping):
        return [{}]
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude") and isinstance(v, list)}
    rows: list[dict[str, Any]] = (
        [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())] if axes else [{}]
    )
    rows += [dict(item) for item in matrix.get("include", []) or []]
    return rows or [{}]


def _env(*layers: Mapping[str, Any] | None, context: Mapping[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            env[str(key)] = expressions.interpolate(str(value), {**context, "env": env})
    return env


def _is_cloud(step: Mapping[str, Any], run_text: str) -> bool:
    uses = str(step.get("uses", ""))
    if any(uses.startswith(u) for u in CLOUD_USES):
        return True
    if "make promote" in run_text and "DRY_RUN=1" not in run_text:
        return True
    return any(marker in run_text for marker in CLOUD_RUNS)


# Steps whose output decides whether cloud steps run: they are executed, in process, as the step would.
CHECK_COMMANDS = {"python -m cicd.cloud": "cloud", "python -m cicd.promote check-cloud": "promote"}


def _check_command(run_text: str) -> str | None:
    return next((prefix for prefix in CHECK_COMMANDS if run_text.strip().startswith(prefix)), None)


def _run_check(run_text: str, env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Run a settings check step with the environment the workflow gives it; its outputs and annotations."""
    from cicd import promote

    prefix = _check_command(run_text)
    if prefix is None:
        raise ValueError(f"not a settings check: {run_text!r}")
    text = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), run_text.strip())
    argv = shlex.split(text[len("python -m ") :])[1:]  # the shell expands $VARS; drop the module name
    entry = cloud.main if CHECK_COMMANDS[prefix] == "cloud" else promote.main
    out = io.StringIO()
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update({k: v for k, v in env.items() if v != ""})
        with contextlib.redirect_stdout(out):
            code = entry(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    lines = out.getvalue().splitlines()
    outputs = {}
    for line in lines:
        if line.startswith("configured="):
            outputs["configured"] = line.split("=", 1)[1]
    if code != 0:
        outputs["configured"] = "error"
    return outputs, [line for line in lines if line.startswith("::")]


def simulate(workflow: Mapping[str, Any], name: str, scenario: Scenario) -> list[JobRun]:
    if scenario.workflow not in (None, name) or not runs_on_event(workflow, scenario):
        return []
    base = {
        "github": scenario.github(),
        "vars": dict(scenario.vars),
        "secrets": {"GITHUB_TOKEN": "***", **scenario.secrets},
        "inputs": dict(scenario.inputs),
        "runner": {"os": "Linux", "temp": "/tmp"},  # noqa: S108 - a context value, not a path we use
    }
    results: dict[str, dict[str, Any]] = {}
    runs: list[JobRun] = []
    jobs = workflow.get("jobs") or {}
    for job_name in _order(jobs):
        job = jobs[job_name]
        needs = {n: results[n] for n in _needs(job)}

        def job_status(fn: str, needs: Mapping[str, Any] = needs) -> bool:
            ok = all(r["result"] == "success" for r in needs.values())
            return {"success": ok, "always": True, "failure": not ok, "cancelled": False}[fn]

        context = {**base, "needs": needs, "env": dict(workflow.get("env") or {})}
        ran = expressions.condition(job.get("if"), context, job_status)
        run = JobRun(name, job_name, ran, permissions=job.get("permissions", workflow.get("permissions")))
        runs.append(run)
        results[job_name] = {"result": "success" if ran else "skipped", "outputs": {}}
        if not ran:
            continue
        rows = _matrix_rows(job, context)
        for matrix in rows:
            suffix = f" ({', '.join(str(v) for v in matrix.values())})" if matrix else ""
            run = (
                run
                if not suffix or not run.steps
                else JobRun(name, job_name, ran, permissions=run.permissions)
            )
            if run not in runs:
                runs.append(run)
            run.job = job_name + suffix
            steps_ctx: dict[str, Any] = {}
            for index, step in enumerate(job.get("steps") or []):
                ctx = {**context, "matrix": matrix, "steps": steps_ctx, "job": {"status": "success"}}
                env = _env(workflow.get("env"), job.get("env"), step.get("env"), context=ctx)
                ctx["env"] = env
                step_ran = expressions.condition(
                    step.get("if"), ctx, lambda fn: fn not in ("failure", "cancelled")
                )
                run_text = expressions.interpolate(str(step.get("run", "")), ctx)
                label = str(
                    step.get("name") or step.get("uses") or run_text.split("\n")[0] or f"step {index}"
                )
                record = StepRun(label, step_ran, _is_cloud(step, run_text))
                run.steps.append(record)
                outputs: dict[str, str] = {}
                if step_ran and _check_command(run_text):
                    outputs, record.notices = _run_check(run_text, env)
                if step.get("id"):
                    outcome = "success" if step_ran else "skipped"
                    steps_ctx[str(step["id"])] = {
                        "outputs": outputs,
                        "outcome": outcome,
                        "conclusion": outcome,
                    }
    return runs


def load_workflows(directory: Path = WORKFLOWS) -> dict[str, dict[str, Any]]:
    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.yml"))}


def problems(runs: Sequence[JobRun]) -> Iterator[str]:
    """Cloud steps that would run, and jobs that skip cloud steps without a notice."""
    for run in runs:
        if not run.ran:
            continue
        cloud_steps = [s for s in run.steps if s.cloud]
        for step in cloud_steps:
            if step.ran:
                yield f"{run.workflow} / {run.job}: cloud step {step.name!r} would run without cloud settings"
        if any(not s.ran for s in cloud_steps) and not any(
            n.startswith("::notice") for s in run.steps for n in s.notices
        ):
            yield f"{run.workflow} / {run.job}: cloud steps are skipped without a notice saying why"


def report(scenarios: Sequence[Scenario] = FRESH_FORK, directory: Path = WORKFLOWS) -> tuple[str, list[str]]:
    lines, found = [], []
    workflows = load_workflows(directory)
    for scenario in scenarios:
        lines.append(f"\n## {scenario.name} ({scenario.event_name} {scenario.ref}), no variables or secrets")
        for name, workflow in workflows.items():
            runs = simulate(workflow, name, scenario)
            for run in runs:
                ran_steps = sum(1 for s in run.steps if s.ran)
                state = f"runs {ran_steps}/{len(run.steps)} steps" if run.ran else "skipped (if: false)"
                lines.append(f"  {name:<16} {run.job:<16} {state}")
                for step in run.steps:
                    if step.cloud:
                        lines.append(f"      {'RUNS' if step.ran else 'skips'} cloud step: {step.name}")
                    for notice in step.notices:
                        lines.append(f"      {notice}")
            found += [f"[{scenario.name}] {p}" for p in problems(runs)]
    return "\n".join(lines), found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workflows", type=Path, default=WORKFLOWS)
    args = parser.parse_args(argv)
    text, found = report(directory=args.workflows)
    print(text)
    for problem in found:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print(
        f"\n{'no problems' if not found else f'{len(found)} problem(s)'}: a fresh fork "
        f"{'runs green, cloud steps skipped with a notice' if not found else 'would not run green'}"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
