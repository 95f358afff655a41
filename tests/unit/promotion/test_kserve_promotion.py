"""promotion.kserve against an in-memory cluster: canary, readiness deadline, traffic shift, rollback."""

from __future__ import annotations

from typing import Any

import pytest

from promotion import kserve
from promotion.base import PromotionError, Request
from promotion.refs import ImageRef
from tests.helpers.fake_kube import FakeClock, FakeCluster

NAME = "ghcr.io/your-org/mlops-template"
NEW = ImageRef(NAME, "sha256:" + "1" * 64)
NS = "penguins-kserve-staging"
META = {"name": "penguins", "examples": {"rows": [{"island": "Torgersen"}], "labels": ["Adelie"]}}


def isvc(image: ImageRef, canary: int = 20) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "penguins", "namespace": NS},
        "spec": {"predictor": {"canaryTrafficPercent": canary, "model": {"image": str(image), "storageUri": "s3://b/m/"}}},
    }  # fmt: skip


def rendered(image: ImageRef) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime", "metadata": {"name": "penguins", "namespace": NS}, "spec": {}},
        isvc(image),
    ]  # fmt: skip


class Knative:
    """Scripted KServe status: a spec change makes a new revision, ready unless ``healthy`` says no;
    traffic follows canaryTrafficPercent between the previous and the latest ready revision."""

    def __init__(self, revision: int | None, healthy: bool = True) -> None:
        self.revision, self.healthy, self.seen_generation = revision, healthy, None

    def __call__(self, obj: dict[str, Any]) -> None:
        generation = obj["metadata"]["generation"]
        status = obj.setdefault("status", {})
        predictor = status.setdefault("components", {}).setdefault("predictor", {})
        image_changed = predictor.get("image") != obj["spec"]["predictor"]["model"]["image"]
        if self.seen_generation != generation and image_changed:
            previous = predictor.get("latestReadyRevision")
            self.revision = (self.revision or 0) + 1
            created = f"penguins-predictor-{self.revision:05d}"
            predictor.update(latestCreatedRevision=created, image=obj["spec"]["predictor"]["model"]["image"])
            if self.healthy:
                predictor["latestReadyRevision"] = created
                predictor["previous"] = previous
        self.seen_generation = generation
        ready = predictor.get("latestCreatedRevision") == predictor.get("latestReadyRevision")
        status["observedGeneration"] = generation
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "Unknown", "message": "rev"}]
        latest, previous = predictor.get("latestReadyRevision"), predictor.get("previous")
        canary = obj["spec"]["predictor"].get("canaryTrafficPercent", 100)
        if previous and latest != previous:
            predictor["traffic"] = [
                {"revisionName": latest, "percent": canary, "latestRevision": True},
                {"revisionName": previous, "percent": 100 - canary, "tag": "prev"},
            ]
        else:
            predictor["traffic"] = [{"revisionName": latest, "percent": 100, "latestRevision": True}]


def live(image: ImageRef, revision: int) -> dict[str, Any]:
    doc = isvc(image, canary=100)
    rev = f"penguins-predictor-{revision:05d}"
    doc["status"] = {"components": {"predictor": {"latestReadyRevision": rev, "latestCreatedRevision": rev, "image": str(image)}}}  # fmt: skip
    return doc


def answering(label: str) -> Any:
    def handler(namespace: str, service: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/health/ready":
            return 200, {}
        return 200, {"predictions": [label]}

    return handler


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    monkeypatch.setattr(kserve, "render", lambda request: rendered(request.image))
    return FakeCluster()


def run(cluster: FakeCluster, timeout: float = 60.0) -> Any:
    clock = FakeClock()
    request = Request(image=NEW, environment="staging", timeout_s=timeout)
    return kserve.promote(request, cluster=cluster, metadata=META, clock=clock, sleep=clock.sleep)


def test_canary_passes_then_takes_all_traffic(cluster: FakeCluster) -> None:
    cluster.seed(live(ImageRef(NAME, "sha256:" + "0" * 64), revision=4))
    cluster.on_get["InferenceService"] = Knative(revision=4)
    cluster.proxy_handler = answering("Adelie")
    outcome = run(cluster)
    assert outcome.succeeded
    assert cluster.names("apply") == [
        "Namespace/penguins-kserve-staging",
        "ServingRuntime/penguins",
        "InferenceService/penguins",
    ]
    # the smoke test went to the new revision only, before any traffic shift
    assert {call[0] for call in cluster.names("proxy")} == {"penguins-predictor-00005-private"}
    ((_target, patch),) = cluster.names("patch")
    assert patch == {"spec": {"predictor": {"canaryTrafficPercent": 100}}}
    assert outcome.details["traffic"] == {"penguins-predictor-00005": 100}
    order = [verb for verb, _ in cluster.calls if verb in ("proxy", "patch")]
    assert order.index("patch") > order.index("proxy")


def test_failed_smoke_test_sends_traffic_back(cluster: FakeCluster) -> None:
    cluster.seed(live(ImageRef(NAME, "sha256:" + "0" * 64), revision=4))
    cluster.on_get["InferenceService"] = Knative(revision=4)
    cluster.proxy_handler = answering("Gentoo")
    with pytest.raises(
        PromotionError, match=r"predicted.*canaryTrafficPercent set to 0.*penguins-predictor-00004"
    ):
        run(cluster)
    ((_, patch),) = cluster.names("patch")
    assert patch == {"spec": {"predictor": {"canaryTrafficPercent": 0}}}
    traffic = cluster.objects[("InferenceService", NS, "penguins")]
    assert traffic["spec"]["predictor"]["canaryTrafficPercent"] == 0


def test_revision_that_never_gets_ready_times_out_and_rolls_back(cluster: FakeCluster) -> None:
    cluster.seed(live(ImageRef(NAME, "sha256:" + "0" * 64), revision=4))
    cluster.on_get["InferenceService"] = Knative(revision=4, healthy=False)
    with pytest.raises(PromotionError, match=r"not reached after 20s.*canaryTrafficPercent set to 0"):
        run(cluster, timeout=20)
    assert cluster.names("proxy") == []


def test_failed_revision_condition_stops_the_wait(cluster: FakeCluster) -> None:
    cluster.seed(live(ImageRef(NAME, "sha256:" + "0" * 64), revision=4))

    def failing(obj: dict[str, Any]) -> None:
        obj["status"]["observedGeneration"] = obj["metadata"]["generation"]
        obj["status"]["conditions"] = [{"type": "PredictorReady", "status": "False", "reason": "RevisionFailed", "message": "CrashLoopBackOff"}]  # fmt: skip

    cluster.on_get["InferenceService"] = failing
    with pytest.raises(PromotionError, match=r"RevisionFailed: CrashLoopBackOff"):
        run(cluster, timeout=10_000)


def test_first_deployment_takes_all_traffic_without_a_shift(cluster: FakeCluster) -> None:
    cluster.on_get["InferenceService"] = Knative(revision=None)
    cluster.proxy_handler = answering("Adelie")
    outcome = run(cluster)
    assert outcome.succeeded and cluster.names("patch") == []


def test_first_deployment_failure_has_nothing_to_roll_back(cluster: FakeCluster) -> None:
    cluster.on_get["InferenceService"] = Knative(revision=None)
    cluster.proxy_handler = answering("Chinstrap")
    with pytest.raises(PromotionError, match=r"no previous revision"):
        run(cluster)
    assert cluster.names("patch") == []


def test_readiness_requires_a_new_revision() -> None:
    doc = live(NEW, revision=4)
    doc["metadata"]["generation"] = 2
    doc["status"].update(observedGeneration=2, conditions=[{"type": "Ready", "status": "True"}])
    assert kserve.readiness(doc, "penguins-predictor-00004") == (
        False,
        "still on the previous revision penguins-predictor-00004",
    )
    assert kserve.readiness(doc, "penguins-predictor-00003")[0] is True
    doc["status"]["observedGeneration"] = 1
    assert kserve.readiness(doc, None)[0] is False
