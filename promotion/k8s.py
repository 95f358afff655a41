"""Promote one image digest to plain Kubernetes (``k8s/overlays/<environment>``).

Steps, in order:
1. render the overlay with the digest (kustomize) and check every container image is pinned;
2. read the live Deployment: its pod template is the rollback point;
3. server-side apply every rendered object (namespace and identity first, traffic last);
4. wait, with a deadline, until the rollout is complete (all replicas updated and available);
5. smoke test through the API server's service proxy: ready check, then a real prediction of the
   artifact's example rows, compared with the labels it records;
6. on any failure after the apply, if the apply changed the pod template, put the previous template
   back (what ``kubectl rollout undo`` does), wait for that rollout, and report the failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from promotion import render as rendering
from promotion import smoke
from promotion.base import Outcome, Plan, PromotionError, Request
from promotion.kube import FIELD_MANAGER, Cluster, KubeCluster

TARGET = "kubernetes"
TREE = rendering.REPO / "k8s"
DEFAULT_METADATA = rendering.REPO / "models" / "metadata.json"
SERVICE_PORT = "http"
POLL_S = 2.0


def render(request: Request) -> list[dict[str, Any]]:
    return rendering.render(TREE, request.environment, request.image)


def _where(doc: Mapping[str, Any]) -> tuple[str, str]:
    meta = doc["metadata"]
    return meta.get("namespace", "default"), meta["name"]


def plan(request: Request) -> Plan:
    docs = rendering.apply_order(render(request))
    namespace, name = _where(rendering.find(docs, "Deployment"))
    _, service = _where(rendering.find(docs, "Service"))
    kinds = ", ".join(rendering.describe(d) for d in docs)
    steps = [
        f"render k8s/overlays/{request.environment} with {request.image}; every container image is "
        "pinned by digest",
        f"read Deployment {namespace}/{name}: its current pod template is the rollback point",
        f"server-side apply {len(docs)} objects as field manager {FIELD_MANAGER}: {kinds}",
        f"wait up to {request.timeout_s:g}s for the rollout of {namespace}/{name} "
        "(all replicas updated and available)",
        f"smoke test via the API server proxy to service {namespace}/{service}:{SERVICE_PORT}: "
        f"GET {smoke.READY_PATH}, then predict the artifact's example rows and compare the labels",
        "on any failure after the apply: restore the previous pod template, wait for that rollout, fail",
    ]
    return Plan(TARGET, request.environment, str(request.image), steps, [rendering.to_yaml(docs)])


def revision(deployment: Mapping[str, Any] | None) -> str | None:
    if not deployment:
        return None
    return (deployment.get("metadata", {}).get("annotations") or {}).get("deployment.kubernetes.io/revision")


def rollout_state(deployment: Mapping[str, Any]) -> tuple[bool, str]:
    """(complete, description) in the manner of ``kubectl rollout status``. Raises on a dead rollout."""
    meta, spec, status = deployment["metadata"], deployment.get("spec", {}), deployment.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            raise PromotionError(
                f"rollout: {meta['name']} exceeded its progress deadline: {condition.get('message')}"
            )
    if status.get("observedGeneration", 0) < meta.get("generation", 0):
        return False, "waiting for the controller to observe the new spec"
    desired = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < desired:
        return False, f"{updated} of {desired} replicas updated"
    if total > updated:
        return False, f"{total - updated} old replicas pending termination"
    if available < updated:
        return False, f"{available} of {updated} updated replicas available"
    return True, f"{available} of {desired} replicas updated and available"


def wait_rollout(
    cluster: Cluster,
    namespace: str,
    name: str,
    timeout_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    deadline = clock() + timeout_s
    state = "not started"
    while True:
        live = cluster.get("apps/v1", "Deployment", name, namespace)
        if live is None:
            raise PromotionError(f"rollout: Deployment {namespace}/{name} disappeared")
        done, state = rollout_state(live)
        if done:
            return state
        if clock() >= deadline:
            raise PromotionError(f"rollout: {namespace}/{name} not complete after {timeout_s:g}s: {state}")
        sleep(POLL_S)


def rollback(cluster: Cluster, previous: Mapping[str, Any]) -> None:
    """Put the previous pod template back (a new rollout to the old template, like rollout undo)."""
    namespace, name = _where(previous)
    template = previous["spec"]["template"]
    cluster.patch(
        "apps/v1",
        "Deployment",
        name,
        namespace,
        [{"op": "replace", "path": "/spec/template", "value": template}],
        json_patch=True,
    )


def promote(
    request: Request,
    cluster: Cluster | None = None,
    metadata: Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    docs = rendering.apply_order(render(request))
    deployment = rendering.find(docs, "Deployment")
    namespace, name = _where(deployment)
    _, service = _where(rendering.find(docs, "Service"))
    meta = metadata or smoke.load_metadata(Path(request.options.get("metadata") or DEFAULT_METADATA))
    cluster = cluster or KubeCluster()
    details: dict[str, Any] = {"deployment": f"{namespace}/{name}"}

    previous = cluster.get("apps/v1", "Deployment", name, namespace)
    details["previous_revision"] = revision(previous)
    try:
        for doc in docs:
            cluster.apply(doc)
        details["rollout"] = wait_rollout(cluster, namespace, name, request.timeout_s, clock, sleep)
        details["revision"] = revision(cluster.get("apps/v1", "Deployment", name, namespace))
        send = _proxy_sender(cluster, namespace, service)
        details["smoke"] = smoke.smoke_test(send, str(meta["name"]), meta)
    except Exception as exc:
        reason = exc if isinstance(exc, PromotionError) else PromotionError(f"{type(exc).__name__}: {exc}")
        raise recover(cluster, request, previous, reason, clock, sleep) from exc
    return Outcome(TARGET, request.environment, str(request.image), succeeded=True, details=details)


def recover(
    cluster: Cluster,
    request: Request,
    previous: Mapping[str, Any] | None,
    reason: PromotionError,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PromotionError:
    """Decide on and run the rollback; return the error to raise, saying what was done.

    Roll back only when there was a Deployment before and the failed promotion changed its pod
    template: a first deployment has nothing to return to, and an unchanged template (the same digest
    promoted again) would be "rolled back" to an older, different one.
    """
    if previous is None:
        return PromotionError(f"{reason}; no previous Deployment to roll back to (first deployment)")
    namespace, name = _where(previous)
    try:
        live = cluster.get("apps/v1", "Deployment", name, namespace)
    except Exception as exc:
        return PromotionError(f"{reason}; could not read {namespace}/{name} to decide on a rollback: {exc}")
    if live is not None and live["spec"]["template"] == previous["spec"]["template"]:
        return PromotionError(f"{reason}; the pod template is unchanged, nothing to roll back")
    try:
        if live is None:
            cluster.apply(_restorable(previous))
        else:
            rollback(cluster, previous)
        wait_rollout(cluster, namespace, name, request.timeout_s, clock, sleep)
    except Exception as exc:
        return PromotionError(f"{reason}; ROLLBACK FAILED as well: {exc}")
    return PromotionError(
        f"{reason}; rolled {namespace}/{name} back to its previous pod template (revision {revision(previous)})"
    )


def _restorable(previous: Mapping[str, Any]) -> dict[str, Any]:
    """The previous Deployment without server-owned fields, for re-applying it if it vanished."""
    meta = previous["metadata"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "labels": meta.get("labels", {}),
        },
        "spec": previous["spec"],
    }


def _proxy_sender(cluster: Cluster, namespace: str, service: str) -> smoke.Sender:
    def send(method: str, path: str, body: Any | None) -> tuple[int, Any]:
        return cluster.proxy(namespace, service, SERVICE_PORT, method, path, body)

    return send
