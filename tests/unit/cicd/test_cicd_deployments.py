"""Deployment records: the staging gate, rollback lookups and what a promotion writes."""

from __future__ import annotations

import pytest

from cicd import deployments
from cicd.deployments import GateError

ORDER = ("staging", "production")
D1, D2, D3 = ("sha256:" + c * 64 for c in "123")


def _dep(did: int, env: str, target: str, digest: str, task: str | None = None) -> dict:
    return {
        "id": did,
        "environment": env,
        "task": task or f"deploy:{target}",
        "sha": "f" * 40,
        "created_at": f"2026-01-0{did}T00:00:00Z",
        "payload": {"image": f"ghcr.io/acme/model@{digest}", "digest": digest, "target": target},
    }


def _serve(
    api, deployments_by_query: dict[tuple[str, str], list[dict]], states: dict[int, list[str]]
) -> None:
    def list_deployments(req, query, body):
        return deployments_by_query.get((query.get("environment"), query.get("task")), [])

    api.on("GET", r"/repos/acme/model/deployments", list_deployments)
    api.on(
        "GET",
        r"/repos/acme/model/deployments/(\d+)/statuses",
        lambda req, q, b: [
            {"state": s} for s in states.get(int(req.url.split("/deployments/")[1].split("/")[0]), [])
        ],
    )


def test_production_is_allowed_after_success_in_staging_on_the_same_target(api, github) -> None:
    _serve(
        api,
        {("staging", "deploy:kserve"): [_dep(4, "staging", "kserve", D1)]},
        {4: ["success", "in_progress"]},
    )
    allowed = deployments.check_gate(github, D1, "kserve", "production", ORDER)
    assert allowed is not None and allowed.id == 4


def test_production_is_refused_when_staging_only_failed(api, github) -> None:
    _serve(
        api,
        {("staging", "deploy:kserve"): [_dep(4, "staging", "kserve", D1)]},
        {4: ["failure", "in_progress"]},
    )
    with pytest.raises(GateError, match=r"has not succeeded in staging on target kserve \(1 attempt"):
        deployments.check_gate(github, D1, "kserve", "production", ORDER)


def test_production_is_refused_for_a_digest_staged_on_another_target_only(api, github) -> None:
    _serve(
        api,
        {
            ("staging", "deploy:kubernetes"): [_dep(4, "staging", "kubernetes", D1)],
            ("staging", "deploy:kserve"): [],
        },
        {4: ["success"]},
    )
    with pytest.raises(GateError, match="no promotion of it there is recorded"):
        deployments.check_gate(github, D1, "kserve", "production", ORDER)


def test_the_first_environment_has_no_gate(github) -> None:
    assert deployments.check_gate(github, D1, "asg", "staging", ORDER) is None


def test_records_not_written_by_a_promotion_are_ignored(api, github) -> None:
    environment_job = {"id": 8, "environment": "staging", "task": "deploy", "payload": {}, "sha": "f" * 40}
    _serve(
        api,
        {("staging", "deploy:asg"): [environment_job, _dep(5, "staging", "asg", D2)]},
        {8: ["success"], 5: ["success"]},
    )
    assert [d.id for d in deployments.deployments(github, "staging", "asg")] == [5]


def test_rollback_finds_the_previous_successful_digest(api, github) -> None:
    records = [
        _dep(9, "production", "sagemaker", D3),  # newest: failed (the tool rolled it back itself)
        _dep(8, "production", "sagemaker", D2),  # running now
        _dep(7, "production", "sagemaker", D2),  # an earlier deploy of the same digest
        _dep(6, "production", "sagemaker", D1),  # the one to go back to
    ]
    _serve(
        api,
        {("production", "deploy:sagemaker"): records},
        {9: ["failure"], 8: ["success"], 7: ["success"], 6: ["success"]},
    )
    current, previous = deployments.current_and_previous(github, "production", "sagemaker")
    assert current is not None and current.digest == D2
    assert previous is not None and previous.digest == D1 and previous.id == 6


def test_create_writes_target_task_payload_and_no_required_contexts(api, github) -> None:
    captured = {}

    def create(req, query, body):
        captured.update(body)
        return {"id": 42}

    api.on("POST", r"/repos/acme/model/deployments", create)
    api.on(
        "POST", r"/deployments/42/statuses", lambda req, q, body: captured.setdefault("status", body) or {}
    )
    did = deployments.create(
        github,
        ref="c" * 40,
        environment="production",
        target="asg",
        image=f"x@{D1}",
        digest=D1,
        mode="deploy",
        production=True,
        description="deploy",
    )
    deployments.set_status(github, did, "in_progress", "running", log_url="https://example.test/run")
    assert did == 42
    assert captured["task"] == "deploy:asg"
    assert captured["required_contexts"] == []
    assert captured["payload"]["digest"] == D1
    assert captured["production_environment"] is True
    assert captured["status"]["auto_inactive"] is False


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(GateError, match="is not one of"):
        deployments.previous_environment("qa", ORDER)
