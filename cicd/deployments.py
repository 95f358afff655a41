"""GitHub Deployments as the record of every promotion, and the checks read from it.

Every promotion writes one deployment: environment = the GitHub Environment (``staging``,
``production``), task = ``deploy:<target>``, payload = the image reference, its digest, the target and
the mode. Its statuses go ``in_progress`` then ``success`` or ``failure``. Two questions are answered
from these records alone:

- gate: may digest D go to environment E on target T? Only if a deployment of D to the environment
  before E (project.yaml's order) on T has a ``success`` status;
- rollback: which digest ran on (E, T) before the current one? The newest successful deployment whose
  digest differs from the newest successful one.

Statuses are written with ``auto_inactive: false`` so one target's success never marks another
target's deployments in the same environment inactive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cicd.github import GitHub

TASK_PREFIX = "deploy:"
SUCCESS = "success"
FINAL_STATES = ("success", "failure", "error", "inactive")


class GateError(RuntimeError):
    """The requested promotion is not allowed by the deployment records; the message says why."""


def task_for(target: str) -> str:
    return f"{TASK_PREFIX}{target}"


@dataclass(frozen=True)
class Deployment:
    id: int
    environment: str
    target: str
    image: str
    digest: str
    ref: str
    created_at: str
    payload: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Deployment | None:
        payload = data.get("payload")
        if not isinstance(payload, dict) or not str(data.get("task", "")).startswith(TASK_PREFIX):
            return None  # not written by a promotion (e.g. the record GitHub makes for an environment job)
        image, digest = str(payload.get("image", "")), str(payload.get("digest", ""))
        if not digest.startswith("sha256:"):
            return None
        return cls(
            id=int(data["id"]),
            environment=str(data.get("environment", "")),
            target=str(data["task"])[len(TASK_PREFIX) :],
            image=image,
            digest=digest,
            ref=str(data.get("sha") or data.get("ref") or ""),
            created_at=str(data.get("created_at", "")),
            payload=payload,
        )


def deployments(github: GitHub, environment: str, target: str, limit: int = 200) -> Iterator[Deployment]:
    """Promotion records for (environment, target), newest first."""
    for item in github.paginate(
        "repos/{repo}/deployments", environment=environment, task=task_for(target), limit=limit
    ):
        record = Deployment.from_api(item)
        if record is not None:
            yield record


def statuses(github: GitHub, deployment_id: int) -> list[dict[str, Any]]:
    """Statuses of one deployment, newest first."""
    return list(github.paginate(f"repos/{{repo}}/deployments/{deployment_id}/statuses", limit=100))


def succeeded(github: GitHub, deployment: Deployment) -> bool:
    return any(s.get("state") == SUCCESS for s in statuses(github, deployment.id))


def previous_environment(environment: str, order: Sequence[str]) -> str | None:
    if environment not in order:
        raise GateError(f"environment {environment!r} is not one of {', '.join(order)}")
    index = list(order).index(environment)
    return order[index - 1] if index > 0 else None


def check_gate(
    github: GitHub, digest: str, target: str, environment: str, order: Sequence[str]
) -> Deployment | None:
    """The successful deployment that allows ``digest`` into ``environment``; raises GateError if none.

    The first environment in ``order`` has no gate (returns None).
    """
    before = previous_environment(environment, order)
    if before is None:
        return None
    tried = 0
    for record in deployments(github, before, target):
        if record.digest != digest:
            continue
        tried += 1
        if succeeded(github, record):
            return record
    detail = f"{tried} attempt(s) there did not succeed" if tried else "no promotion of it there is recorded"
    raise GateError(
        f"{digest} has not succeeded in {before} on target {target} ({detail}); "
        f"promote it to {before} first, then to {environment}"
    )


def current_and_previous(
    github: GitHub, environment: str, target: str
) -> tuple[Deployment | None, Deployment | None]:
    """The newest successful deployment on (environment, target) and the newest success before it
    with another digest."""
    current = None
    for record in deployments(github, environment, target):
        if not succeeded(github, record):
            continue
        if current is None:
            current = record
        elif record.digest != current.digest:
            return current, record
    return current, None


def create(
    github: GitHub,
    *,
    ref: str,
    environment: str,
    target: str,
    image: str,
    digest: str,
    mode: str,
    production: bool,
    description: str,
    extra: dict[str, Any] | None = None,
) -> int:
    body = {
        "ref": ref,
        "task": task_for(target),
        "environment": environment,
        "auto_merge": False,
        "required_contexts": [],  # the image was built and tested already; do not re-check the ref
        "payload": {"image": image, "digest": digest, "target": target, "mode": mode, **(extra or {})},
        "description": description[:140],
        "transient_environment": False,
        "production_environment": production,
    }
    made = github.request("POST", "repos/{repo}/deployments", body=body)
    if not isinstance(made, dict) or "id" not in made:
        raise RuntimeError(f"GitHub did not create the deployment: {made}")
    return int(made["id"])


def set_status(
    github: GitHub,
    deployment_id: int,
    state: str,
    description: str,
    log_url: str = "",
    environment_url: str = "",
) -> None:
    body: dict[str, Any] = {"state": state, "description": description[:140], "auto_inactive": False}
    if log_url:
        body["log_url"] = log_url
    if environment_url:
        body["environment_url"] = environment_url
    github.request("POST", f"repos/{{repo}}/deployments/{deployment_id}/statuses", body=body)
