"""Terraform plans in pull requests, and the checks before a saved plan is applied.

``comment``  renders ``terraform show`` output of one environment's plan as a pull-request comment (one per
             environment, found again by its marker and edited in place) and adds it to the job summary.
``record``   writes ``<plan>.json`` next to a saved plan: its sha256, the commit and environment it was
             made for and the run that made it; uploaded with the plan as the reviewed artifact.
``verify-run`` checks that the run a dispatch names is an infra workflow run on the default branch,
             from a push, that succeeded; prints its head commit (the apply checks that commit out).
``verify-plan`` checks the downloaded plan against its record: same bytes, same environment, same commit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cicd import comments, gha
from cicd.github import GitHub

WORKFLOW_FILE = ".github/workflows/infra.yml"
_SUMMARY = re.compile(r"^(Plan: .*|No changes\..*|Changes to Outputs:.*)$", re.MULTILINE)
MAX_PLAN_CHARS = 55_000


class PlanError(RuntimeError):
    """The plan or the run it came from may not be applied; the message says why."""


def marker(environment: str) -> str:
    return f"<!-- mlops-template:tf-plan:{environment} -->"


def fence(text: str) -> str:
    """A code fence longer than any run of backticks inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def plan_headline(text: str) -> str:
    found = _SUMMARY.findall(text)
    return found[-1].strip() if found else "no plan summary line found (did the plan fail?)"


def render_comment(environment: str, plan_text: str, outcome: str, commit: str, run_url: str = "") -> str:
    text = plan_text.strip() or "(empty)"
    if len(text) > MAX_PLAN_CHARS:
        text = text[:MAX_PLAN_CHARS] + "\n… (truncated; the full plan is in the run's artifact)"
    ticks = fence(text)
    status = "succeeded" if outcome == "success" else f"**{outcome}**"
    lines = [
        marker(environment),
        f"## Terraform plan: `{environment}`",
        "",
        f"Plan {status} for `{commit[:7]}`: **{plan_headline(plan_text)}**",
        "",
        "<details><summary>Show plan</summary>",
        "",
        f"{ticks}diff",
        text,
        ticks,
        "",
        "</details>",
        "",
        "<sub>Applying needs a reviewed plan from the default branch: see docs/using-this-template.md"
        + (f" · [run]({run_url})" if run_url else "")
        + "</sub>",
    ]
    return "\n".join(lines) + "\n"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def record_for(plan: Path) -> Path:
    return plan.with_name(plan.name + ".json")


def write_record(plan: Path, environment: str, commit: str, run_id: str) -> dict[str, Any]:
    record = {"environment": environment, "commit": commit, "run_id": run_id, "sha256": sha256_file(plan)}
    target = record_for(plan)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(target)
    return record


def verify_plan(plan: Path, environment: str, commit: str) -> dict[str, Any]:
    if not plan.is_file():
        raise PlanError(f"{plan}: saved plan not found in the artifact")
    try:
        record = json.loads(record_for(plan).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanError(f"{record_for(plan)}: plan record missing or unreadable: {exc}") from exc
    if record.get("environment") != environment:
        raise PlanError(f"{plan}: made for {record.get('environment')!r}, not {environment!r}")
    if record.get("commit") != commit:
        raise PlanError(f"{plan}: made at commit {record.get('commit')}, not {commit}")
    actual = sha256_file(plan)
    if record.get("sha256") != actual:
        raise PlanError(f"{plan}: bytes changed since planning ({actual} != {record.get('sha256')})")
    return record


def verify_run(github: GitHub, run_id: int, environment: str) -> dict[str, Any]:
    """The run's facts when its plan may be applied; PlanError otherwise."""
    run = github.get(f"repos/{{repo}}/actions/runs/{run_id}")
    default = github.get("repos/{repo}")["default_branch"]
    if run.get("path") != WORKFLOW_FILE:
        raise PlanError(f"run {run_id} is {run.get('path')!r}, not {WORKFLOW_FILE}")
    if run.get("event") != "push" or run.get("head_branch") != default:
        raise PlanError(
            f"run {run_id} was a {run.get('event')} on {run.get('head_branch')!r}: only plans made by a push "
            f"to {default} may be applied (a pull request's plan never is)"
        )
    if run.get("conclusion") != "success":
        raise PlanError(
            f"run {run_id} concluded {run.get('conclusion')!r}; only a successful run's plan applies"
        )
    if (run.get("head_repository") or {}).get("full_name", github.repository) != github.repository:
        raise PlanError(f"run {run_id} ran on another repository's code")
    newest = next(
        iter(
            github.paginate(
                "repos/{repo}/actions/workflows/infra.yml/runs",
                key="workflow_runs",
                limit=1,
                branch=default,
                event="push",
                status="success",
            )
        ),
        None,
    )
    if newest is not None and int(newest.get("id", 0)) != run_id:
        raise PlanError(
            f"run {run_id} is not the newest successful plan on {default} (that is run {newest.get('id')}, "
            f"commit {str(newest.get('head_sha'))[:7]}): review and apply that one"
        )
    names = {
        a["name"]
        for a in github.paginate(f"repos/{{repo}}/actions/runs/{run_id}/artifacts", key="artifacts")
        if not a.get("expired")
    }
    if f"tfplan-{environment}" not in names:
        raise PlanError(f"run {run_id} has no unexpired artifact tfplan-{environment}")
    return {"head_sha": run["head_sha"], "html_url": run.get("html_url", "")}


# ---------------------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.tfplan", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("comment")
    c.add_argument("--environment", required=True)
    c.add_argument("--plan-text", type=Path, required=True, help="terraform show -no-color output")
    c.add_argument("--outcome", default="success")
    c.add_argument("--pr", type=int, default=0, help="pull request to comment on (0: summary only)")
    r = sub.add_parser("record")
    r.add_argument("--plan", type=Path, required=True)
    r.add_argument("--environment", required=True)
    vr = sub.add_parser("verify-run")
    vr.add_argument("--run-id", type=int, required=True)
    vr.add_argument("--environment", required=True)
    vp = sub.add_parser("verify-plan")
    vp.add_argument("--plan", type=Path, required=True)
    vp.add_argument("--environment", required=True)
    vp.add_argument("--commit", required=True)
    args = parser.parse_args(argv)
    env = os.environ
    try:
        if args.command == "comment":
            text = args.plan_text.read_text(encoding="utf-8") if args.plan_text.is_file() else ""
            run_url = f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"
            body = render_comment(
                args.environment, text, args.outcome, env.get("GITHUB_SHA", "0" * 40), run_url
            )
            gha.add_summary(body)
            if args.pr:
                result = comments.upsert(GitHub.from_env(), args.pr, marker(args.environment), body)
                print(f"plan comment {'created' if result.created else 'updated'}: {result.url}")
        elif args.command == "record":
            record = write_record(
                args.plan, args.environment, gha.require_env("GITHUB_SHA"), env.get("GITHUB_RUN_ID", "")
            )
            print(json.dumps(record))
        elif args.command == "verify-run":
            facts = verify_run(GitHub.from_env(), args.run_id, args.environment)
            gha.set_outputs({"head_sha": facts["head_sha"]})
            gha.add_summary(
                f"Applying the `{args.environment}` plan reviewed in {facts['html_url']} (commit `{facts['head_sha']}`)"
            )
        else:
            verify_plan(args.plan, args.environment, args.commit)
            print(f"{args.plan}: matches its record ({args.environment} at {args.commit[:7]})")
    except PlanError as exc:
        gha.annotate("error", str(exc), title="Plan refused")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
