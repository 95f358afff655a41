"""Terraform plan comments, plan records, and the checks before a saved plan may be applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from cicd import tfplan
from cicd.tfplan import PlanError

COMMIT = "c" * 40
PLAN_TEXT = """Terraform will perform the following actions:
  # aws_s3_bucket.models will be created
  + resource "aws_s3_bucket" "models" {
      + bucket = "x"
    }
```not a fence```
Plan: 1 to add, 0 to change, 0 to destroy.
"""


def test_comment_has_a_per_environment_marker_headline_and_a_safe_fence() -> None:
    body = tfplan.render_comment("staging", PLAN_TEXT, "success", COMMIT, "https://example.test/run")
    assert body.startswith(tfplan.marker("staging"))
    assert tfplan.marker("production") not in body
    assert "**Plan: 1 to add, 0 to change, 0 to destroy.**" in body
    assert "````diff" in body  # longer than the ``` inside the plan
    assert "[run](https://example.test/run)" in body


def test_a_failed_plan_says_so() -> None:
    body = tfplan.render_comment("production", "Error: no credentials", "failure", COMMIT)
    assert "Plan **failure**" in body and "no plan summary line" in body


def test_record_and_verify_a_plan(tmp_path: Path) -> None:
    plan = tmp_path / "staging.tfplan"
    plan.write_bytes(b"plan-bytes")
    record = tfplan.write_record(plan, "staging", COMMIT, "77")
    assert record["sha256"].startswith("sha256:")
    assert tfplan.verify_plan(plan, "staging", COMMIT)["run_id"] == "77"
    with pytest.raises(PlanError, match="made for 'staging', not 'production'"):
        tfplan.verify_plan(plan, "production", COMMIT)
    with pytest.raises(PlanError, match="made at commit"):
        tfplan.verify_plan(plan, "staging", "d" * 40)
    plan.write_bytes(b"other-bytes")
    with pytest.raises(PlanError, match="bytes changed since planning"):
        tfplan.verify_plan(plan, "staging", COMMIT)


def _run(**overrides) -> dict:
    run = {
        "id": 5,
        "path": ".github/workflows/infra.yml",
        "event": "push",
        "head_branch": "main",
        "conclusion": "success",
        "head_sha": COMMIT,
        "html_url": "https://example.test/runs/5",
        "head_repository": {"full_name": "acme/model"},
    }
    run.update(overrides)
    return run


def _serve(api, run: dict, newest_id: int = 5, artifacts: tuple[str, ...] = ("tfplan-staging",)) -> None:
    api.on("GET", r"/repos/acme/model/actions/runs/5", run)
    api.on("GET", r"/repos/acme/model", {"default_branch": "main"})
    api.on(
        "GET",
        r"/actions/workflows/infra.yml/runs",
        {"workflow_runs": [{"id": newest_id, "head_sha": "e" * 40}]},
    )
    api.on(
        "GET", r"/actions/runs/5/artifacts", {"artifacts": [{"name": n, "expired": False} for n in artifacts]}
    )


def test_a_reviewed_default_branch_plan_may_be_applied(api, github) -> None:
    _serve(api, _run())
    assert tfplan.verify_run(github, 5, "staging")["head_sha"] == COMMIT


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"event": "pull_request", "head_branch": "feature"}, "a pull request's plan never is"),
        ({"path": ".github/workflows/ci.yml"}, "not .github/workflows/infra.yml"),
        ({"conclusion": "failure"}, "only a successful run's plan applies"),
        ({"head_repository": {"full_name": "evil/fork"}}, "another repository's code"),
    ],
)
def test_other_runs_are_refused(api, github, overrides: dict, message: str) -> None:
    _serve(api, _run(**overrides))
    with pytest.raises(PlanError, match=message):
        tfplan.verify_run(github, 5, "staging")


def test_an_older_plan_than_the_newest_is_refused(api, github) -> None:
    _serve(api, _run(), newest_id=6)
    with pytest.raises(PlanError, match="not the newest successful plan"):
        tfplan.verify_run(github, 5, "staging")


def test_a_run_without_that_environments_plan_is_refused(api, github) -> None:
    _serve(api, _run(), artifacts=("tfplan-production",))
    with pytest.raises(PlanError, match="no unexpired artifact tfplan-staging"):
        tfplan.verify_run(github, 5, "staging")
