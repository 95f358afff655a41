"""Promote one image digest to KServe (``kserve/overlays/<environment>``), with a canary.

Steps, in order:
1. render the overlay with the digest (kustomize), optionally with another model location
   (``--model-uri``, the InferenceService's storageUri), and check every image is pinned;
2. read the live InferenceService: its ready revision is where traffic returns on failure;
3. server-side apply the namespace, identity, ServingRuntime and the InferenceService, whose
   ``canaryTrafficPercent`` (from the overlay) sends only that share to the new revision;
4. wait, with a deadline, until the InferenceService is Ready on a new ready revision;
5. smoke test that revision directly (its private Knative service, through the API server proxy);
6. pass: set canaryTrafficPercent to 100 and wait until the new revision takes all traffic;
   fail: set canaryTrafficPercent to 0, which sends all traffic back to the previous revision
   (KServe's own rollback), and report the failure.
A first deployment has no previous revision: KServe gives the only revision all traffic, and a failure
leaves nothing to roll back to.
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

TARGET = "kserve"
TREE = rendering.REPO / "kserve"
DEFAULT_METADATA = rendering.REPO / "models" / "metadata.json"
ISVC_API = "serving.kserve.io/v1beta1"
ISVC_NAME = "penguins"  # the InferenceService promotion moves; the stock-sklearn one is never promoted
REVISION_PORT = "http"
POLL_S = 2.0


def render(request: Request) -> list[dict[str, Any]]:
    docs = rendering.render(TREE, request.environment, request.image)
    model_uri = request.options.get("model_uri")
    if model_uri:
        if not str(model_uri).startswith(("s3://", "https://", "gs://", "pvc://")):
            raise PromotionError(
                f"render: --model-uri {model_uri!r} is not an s3://, https://, gs:// or pvc:// URI"
            )
        isvc = rendering.find(docs, "InferenceService", ISVC_NAME)
        isvc["spec"]["predictor"]["model"]["storageUri"] = str(model_uri)
    return rendering.apply_order(docs)


def _isvc(docs: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    isvc = rendering.find(docs, "InferenceService", ISVC_NAME)
    return isvc, isvc["metadata"].get("namespace", "default")


def plan(request: Request) -> Plan:
    docs = render(request)
    isvc, namespace = _isvc(docs)
    predictor = isvc["spec"]["predictor"]
    canary = predictor.get("canaryTrafficPercent", 100)
    steps = [
        f"render kserve/overlays/{request.environment} with {request.image}; every container image is "
        "pinned by digest",
        f"model from {predictor['model']['storageUri']}",
        f"read InferenceService {namespace}/{ISVC_NAME}: its ready revision is the rollback point",
        f"server-side apply {len(docs)} objects as field manager {FIELD_MANAGER}: "
        + ", ".join(rendering.describe(d) for d in docs),
        f"wait up to {request.timeout_s:g}s for {namespace}/{ISVC_NAME} to be Ready on a new revision "
        f"(it takes {canary}% of the traffic; a first deployment takes all of it)",
        "smoke test the new revision through the API server proxy: GET "
        f"{smoke.READY_PATH}, then predict the artifact's example rows and compare the labels",
        "pass: canaryTrafficPercent -> 100 and wait until the new revision serves all traffic",
        "fail: canaryTrafficPercent -> 0 (all traffic back on the previous revision), then fail",
    ]
    return Plan(TARGET, request.environment, str(request.image), steps, [rendering.to_yaml(docs)])


def condition(isvc: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for item in (isvc.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return dict(item)
    return {}


def predictor_status(isvc: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((isvc.get("status") or {}).get("components") or {}).get("predictor") or {}


def ready_revision(isvc: Mapping[str, Any] | None) -> str | None:
    return predictor_status(isvc).get("latestReadyRevision") if isvc else None


def readiness(isvc: Mapping[str, Any], previous_revision: str | None) -> tuple[bool, str]:
    """(ready on a new revision, description). Raises when the new revision has failed for good."""
    status = isvc.get("status") or {}
    if status.get("observedGeneration", 0) < isvc["metadata"].get("generation", 0):
        return False, "waiting for KServe to observe the new spec"
    predictor = predictor_status(isvc)
    created, ready = predictor.get("latestCreatedRevision"), predictor.get("latestReadyRevision")
    for kind in ("PredictorReady", "Ready"):
        cond = condition(isvc, kind)
        if cond.get("status") == "False" and "Failed" in str(cond.get("reason", "")):
            raise PromotionError(
                f"wait: revision {created} failed: {cond.get('reason')}: {cond.get('message')}"
            )
    if condition(isvc, "Ready").get("status") != "True":
        return False, f"not Ready yet: {condition(isvc, 'Ready').get('message') or 'no status'}"
    if not created or created != ready:
        return False, f"revision {created} created, {ready} ready"
    if previous_revision is not None and ready == previous_revision:
        return False, f"still on the previous revision {ready}"
    return True, f"revision {ready} ready"


def traffic_percent(isvc: Mapping[str, Any], revision: str) -> int:
    return sum(
        int(t.get("percent") or 0)
        for t in predictor_status(isvc).get("traffic") or []
        if t.get("revisionName") == revision
    )


def wait_for(
    cluster: Cluster,
    namespace: str,
    check: Callable[[Mapping[str, Any]], tuple[bool, str]],
    timeout_s: float,
    what: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Mapping[str, Any], str]:
    deadline = clock() + timeout_s
    while True:
        live = cluster.get(ISVC_API, "InferenceService", ISVC_NAME, namespace)
        if live is None:
            raise PromotionError(f"wait: InferenceService {namespace}/{ISVC_NAME} disappeared")
        done, state = check(live)
        if done:
            return live, state
        if clock() >= deadline:
            raise PromotionError(f"wait: {what} not reached after {timeout_s:g}s: {state}")
        sleep(POLL_S)


def set_canary(cluster: Cluster, namespace: str, percent: int) -> None:
    cluster.patch(
        ISVC_API,
        "InferenceService",
        ISVC_NAME,
        namespace,
        {"spec": {"predictor": {"canaryTrafficPercent": percent}}},
        json_patch=False,
    )


def promote(
    request: Request,
    cluster: Cluster | None = None,
    metadata: Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    docs = render(request)
    _, namespace = _isvc(docs)
    meta = metadata or smoke.load_metadata(Path(request.options.get("metadata") or DEFAULT_METADATA))
    cluster = cluster or KubeCluster()
    previous = cluster.get(ISVC_API, "InferenceService", ISVC_NAME, namespace)
    previous_revision = ready_revision(previous)
    details: dict[str, Any] = {
        "inferenceservice": f"{namespace}/{ISVC_NAME}",
        "previous_revision": previous_revision,
    }
    applied = False
    try:
        for doc in docs:
            cluster.apply(doc)
            applied = applied or doc.get("kind") == "InferenceService"
        live, details["ready"] = wait_for(
            cluster,
            namespace,
            lambda isvc: readiness(isvc, previous_revision),
            request.timeout_s,
            "Ready on a new revision",
            clock,
            sleep,
        )
        revision = str(ready_revision(live))
        details["revision"] = revision
        send = _revision_sender(cluster, namespace, revision)
        details["smoke"] = smoke.smoke_test(send, ISVC_NAME, meta)
        if previous_revision is not None:
            set_canary(cluster, namespace, 100)
            wait_for(
                cluster,
                namespace,
                lambda isvc: (
                    traffic_percent(isvc, revision) == 100,
                    f"{traffic_percent(isvc, revision)}% on {revision}",
                ),
                request.timeout_s,
                f"all traffic on {revision}",
                clock,
                sleep,
            )
        details["traffic"] = {revision: 100}
    except Exception as exc:
        reason = exc if isinstance(exc, PromotionError) else PromotionError(f"{type(exc).__name__}: {exc}")
        raise recover(cluster, namespace, previous_revision, applied, reason) from exc
    return Outcome(TARGET, request.environment, str(request.image), succeeded=True, details=details)


def recover(
    cluster: Cluster, namespace: str, previous_revision: str | None, applied: bool, reason: PromotionError
) -> PromotionError:
    """Send all traffic back to the previous revision when there is one and the spec was applied."""
    if previous_revision is None:
        return PromotionError(f"{reason}; no previous revision to send traffic back to (first deployment)")
    if not applied:
        return PromotionError(
            f"{reason}; the InferenceService was not changed, traffic stays on {previous_revision}"
        )
    try:
        set_canary(cluster, namespace, 0)
    except Exception as exc:
        return PromotionError(f"{reason}; ROLLBACK FAILED as well (canaryTrafficPercent -> 0): {exc}")
    return PromotionError(
        f"{reason}; canaryTrafficPercent set to 0: all traffic is back on revision {previous_revision}. "
        "The InferenceService spec still names the failed image; promote a good digest to replace it"
    )


def _revision_sender(cluster: Cluster, namespace: str, revision: str) -> smoke.Sender:
    """Requests to one Knative revision (its private service), so the canary is what gets tested."""

    def send(method: str, path: str, body: Any | None) -> tuple[int, Any]:
        return cluster.proxy(namespace, f"{revision}-private", REVISION_PORT, method, path, body)

    return send
