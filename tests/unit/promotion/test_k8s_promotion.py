"""promotion.k8s against an in-memory cluster: order, rollout deadline, smoke test, rollback decision."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from promotion import k8s
from promotion.base import PromotionError, Request
from promotion.refs import ImageRef
from tests.helpers.fake_kube import FakeClock, FakeCluster

NAME = "ghcr.io/your-org/mlops-template"
NEW = ImageRef(NAME, "sha256:" + "1" * 64)
OLD = ImageRef(NAME, "sha256:" + "0" * 64)
NS = "penguins-staging"
META = {
    "name": "penguins",
    "examples": {"rows": [{"island": "Biscoe"}, {"island": "Dream"}], "labels": ["Gentoo", "Chinstrap"]},
}


def deployment(image: ImageRef, revision: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "penguins", "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": "penguins"}},
            "template": {
                "metadata": {"labels": {"app": "penguins"}},
                "spec": {"containers": [{"name": "model-server", "image": str(image)}]},
            },
        },
    }
    if revision:
        doc["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": revision}
    return doc


def rendered(image: ImageRef) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "penguins", "namespace": NS}, "spec": {}},
        deployment(image),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "penguins", "namespace": NS}, "spec": {}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
    ]  # fmt: skip


def complete(obj: dict[str, Any]) -> None:
    """The controller finishes any rollout at once."""
    obj["status"] = {
        "observedGeneration": obj["metadata"]["generation"],
        "replicas": 2,
        "updatedReplicas": 2,
        "availableReplicas": 2,
    }
    obj["spec"]["replicas"] = 2


def stuck_unless(image: ImageRef) -> Any:
    """Pods of any image but ``image`` never become available."""

    def on_get(obj: dict[str, Any]) -> None:
        complete(obj)
        if obj["spec"]["template"]["spec"]["containers"][0]["image"] != str(image):
            obj["status"]["availableReplicas"] = 0

    return on_get


def answering(labels: list[str], status: int = 200) -> Any:
    def handler(namespace: str, service: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/health/ready":
            return 200, {"status": "ready"}
        assert (namespace, service, method, path) == (NS, "penguins", "POST", "/v1/models/penguins:predict")
        assert body == {"instances": META["examples"]["rows"]}
        return status, {"predictions": labels}

    return handler


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    monkeypatch.setattr(k8s, "render", lambda request: rendered(request.image))
    return FakeCluster()


def run(cluster: FakeCluster, timeout: float = 60.0) -> Any:
    clock = FakeClock()
    request = Request(image=NEW, environment="staging", timeout_s=timeout)
    return k8s.promote(request, cluster=cluster, metadata=META, clock=clock, sleep=clock.sleep), clock


def test_success_applies_in_dependency_order_then_smoke_tests(cluster: FakeCluster) -> None:
    cluster.seed(deployment(OLD, revision="3"))
    cluster.on_get["Deployment"] = complete
    cluster.proxy_handler = answering(["Gentoo", "Chinstrap"])
    outcome, _ = run(cluster)
    assert outcome.succeeded and not outcome.rolled_back
    assert cluster.names("apply") == [
        "Namespace/penguins-staging", "Service/penguins", "Deployment/penguins", "HorizontalPodAutoscaler/penguins",
    ]  # fmt: skip
    live = cluster.objects[("Deployment", NS, "penguins")]
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == str(NEW)
    assert [c[2] for c in cluster.names("proxy")] == ["/health/ready", "/v1/models/penguins:predict"]
    assert cluster.names("patch") == []  # nothing rolled back
    assert outcome.details["previous_revision"] == "3"
    # the smoke test runs only after the rollout completed
    first_proxy = next(i for i, call in enumerate(cluster.calls) if call[0] == "proxy")
    last_apply = max(i for i, call in enumerate(cluster.calls) if call[0] == "apply")
    assert first_proxy > last_apply


def test_rollout_deadline_rolls_back_to_the_previous_template(cluster: FakeCluster) -> None:
    cluster.seed(deployment(OLD, revision="3"))
    cluster.on_get["Deployment"] = stuck_unless(OLD)
    with pytest.raises(
        PromotionError, match=r"not complete after 30s.*rolled penguins-staging/penguins back"
    ) as err:
        run(cluster, timeout=30)
    assert "revision 3" in str(err.value)
    ((target, patch),) = cluster.names("patch")
    assert target == "Deployment/penguins"
    assert patch[0]["path"] == "/spec/template"
    assert patch[0]["value"]["spec"]["containers"][0]["image"] == str(OLD)
    assert cluster.names("proxy") == []  # no smoke test against a rollout that never finished


def test_deadline_is_measured_not_counted(cluster: FakeCluster) -> None:
    cluster.seed(deployment(OLD, revision="3"))
    cluster.on_get["Deployment"] = stuck_unless(OLD)
    clock = FakeClock()
    request = Request(image=NEW, environment="staging", timeout_s=30)
    with pytest.raises(PromotionError):
        k8s.promote(request, cluster=cluster, metadata=META, clock=clock, sleep=clock.sleep)
    assert 30 <= clock.now <= 30 + k8s.POLL_S * 2  # waited the deadline, then the rollback finished at once


def test_progress_deadline_exceeded_fails_without_waiting(cluster: FakeCluster) -> None:
    cluster.seed(deployment(OLD, revision="3"))

    def dead(obj: dict[str, Any]) -> None:
        complete(obj)
        if obj["spec"]["template"]["spec"]["containers"][0]["image"] == str(NEW):
            obj["status"]["conditions"] = [
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": "x",
                }
            ]

    cluster.on_get["Deployment"] = dead
    with pytest.raises(PromotionError, match=r"progress deadline") as err:
        _, _clock = run(cluster, timeout=600)
    assert "rolled" in str(err.value)


def test_wrong_answer_rolls_back(cluster: FakeCluster) -> None:
    cluster.seed(deployment(OLD, revision="7"))
    cluster.on_get["Deployment"] = complete
    cluster.proxy_handler = answering(["Adelie", "Adelie"])
    with pytest.raises(
        PromotionError, match=r"predicted \['Adelie', 'Adelie'\].*records \['Gentoo', 'Chinstrap'\]"
    ):
        run(cluster)
    assert len(cluster.names("patch")) == 1
    live = cluster.objects[("Deployment", NS, "penguins")]
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == str(OLD)


def test_server_error_rolls_back(cluster: FakeCluster) -> None:
    cluster.seed(deployment(OLD, revision="7"))
    cluster.on_get["Deployment"] = complete
    cluster.proxy_handler = answering(["Gentoo", "Chinstrap"], status=500)
    with pytest.raises(PromotionError, match=r"answered 500.*rolled"):
        run(cluster)


def test_first_deployment_has_nothing_to_roll_back(cluster: FakeCluster) -> None:
    cluster.on_get["Deployment"] = complete
    cluster.proxy_handler = answering(["Adelie", "Adelie"])
    with pytest.raises(PromotionError, match=r"no previous Deployment to roll back to"):
        run(cluster)
    assert cluster.names("patch") == []


def test_same_digest_again_is_not_rolled_back_to_an_older_template(cluster: FakeCluster) -> None:
    cluster.seed(deployment(NEW, revision="9"))
    cluster.on_get["Deployment"] = complete
    cluster.proxy_handler = answering(["Adelie", "Adelie"])
    with pytest.raises(PromotionError, match=r"pod template is unchanged, nothing to roll back"):
        run(cluster)
    assert cluster.names("patch") == []


def test_apply_error_after_the_deployment_changed_still_rolls_back(cluster: FakeCluster) -> None:
    cluster.seed(deployment(OLD, revision="2"))
    cluster.on_get["Deployment"] = complete
    real_apply = cluster.apply

    def flaky(doc: Any) -> Any:
        if doc["kind"] == "HorizontalPodAutoscaler":
            raise RuntimeError("admission webhook denied the request")
        return real_apply(doc)

    cluster.apply = flaky  # type: ignore[method-assign]
    with pytest.raises(PromotionError, match=r"RuntimeError: admission webhook.*rolled"):
        run(cluster)


def test_rollout_state_reads_like_kubectl() -> None:
    base = deployment(NEW)
    base["metadata"]["generation"] = 2
    base["spec"]["replicas"] = 3
    cases = [
        ({"observedGeneration": 1}, False, "observe"),
        ({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 3}, False, "1 of 3 replicas updated"),
        ({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4}, False, "old replicas pending"),
        (
            {"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2},
            False,
            "2 of 3",
        ),
        (
            {"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3},
            True,
            "3 of 3",
        ),
    ]
    for status, done, text in cases:
        doc = copy.deepcopy(base)
        doc["status"] = status
        got_done, description = k8s.rollout_state(doc)
        assert (got_done, text in description) == (done, True), (status, description)
