"""Rendering with a digest, the image checks, the dry run's output, and the kubernetes-client adapter."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from promotion import k8s, kserve
from promotion import render as rendering
from promotion.base import PromotionError
from promotion.cli import main
from promotion.kube import FIELD_MANAGER, KubeCluster
from promotion.refs import ImageRef
from tests.conftest import REPO, require_binary

NAME = "ghcr.io/your-org/mlops-template"
DIGEST = "sha256:" + "c" * 64
IMAGE = ImageRef(NAME, DIGEST)


def kustomize(overlay: Path) -> list[dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def repin(docs: list[dict[str, Any]], image: str) -> list[dict[str, Any]]:
    """What the committed overlay renders to, with every image of our name swapped for ``image``."""
    text = yaml.safe_dump_all(docs)
    for _, ref in {p for d in docs for p in rendering.container_images(d)}:
        if ref.startswith(NAME + "@"):
            text = text.replace(ref, image)
    return list(yaml.safe_load_all(text))


@pytest.mark.needs_kubectl
@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize("target", ["kubernetes", "kserve"])
def test_dry_run_prints_the_overlay_rendered_with_the_digest(
    target: str, environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    require_binary("kubectl")
    assert main(["--target", target, "--environment", environment, "--image", str(IMAGE), "--dry-run"]) == 0
    out = capsys.readouterr().out
    head, documents = out.split("# --- rendered documents ---\n")
    assert f"# plan: {target} -> {environment}" in head and f"# image: {IMAGE}" in head
    assert "1. render" in head and "smoke test" in head
    printed = [d for d in yaml.safe_load_all(documents) if d]
    tree = "k8s" if target == "kubernetes" else "kserve"
    expected = repin(kustomize(REPO / tree / "overlays" / environment), str(IMAGE))
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(printed, key=key) == sorted(expected, key=key)
    assert str(IMAGE) in documents and "0" * 64 not in documents.split("storageUri")[0]


@pytest.mark.needs_kubectl
def test_render_pins_a_new_name_and_leaves_the_tree_alone() -> None:
    require_binary("kubectl")
    before = (REPO / "k8s/overlays/staging/image/kustomization.yaml").read_text()
    mirror = ImageRef("registry.example.com/team/server", DIGEST)
    docs = rendering.render(REPO / "k8s", "staging", mirror)
    dep = rendering.find(docs, "Deployment")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == str(mirror)
    assert (REPO / "k8s/overlays/staging/image/kustomization.yaml").read_text() == before


@pytest.mark.needs_kubectl
def test_kserve_model_uri_override_and_scheme_check() -> None:
    require_binary("kubectl")
    from promotion.base import Request

    request = Request(
        image=IMAGE, environment="staging", options={"model_uri": "https://models.example.com/m.tar.gz"}
    )
    isvc = rendering.find(kserve.render(request), "InferenceService", "penguins")
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "https://models.example.com/m.tar.gz"
    assert isvc["spec"]["predictor"]["model"]["image"] == str(IMAGE)
    bad = Request(image=IMAGE, environment="staging", options={"model_uri": "/tmp/model"})
    with pytest.raises(PromotionError, match=r"not an s3://"):
        kserve.render(bad)


def test_check_images_refuses_tags_other_digests_and_absence() -> None:
    def dep(image: str) -> dict[str, Any]:
        return {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": [{"image": image}]}}}}  # fmt: skip

    rendering.check_images([dep(str(IMAGE))], IMAGE)
    with pytest.raises(PromotionError, match=r"not pinned by digest"):
        rendering.check_images([dep(str(IMAGE)), dep("docker.io/library/busybox:1.36")], IMAGE)
    with pytest.raises(PromotionError, match=r"expected"):
        rendering.check_images([dep(str(IMAGE)), dep(f"{NAME}@sha256:{'d' * 64}")], IMAGE)
    with pytest.raises(PromotionError, match=r"no container"):
        rendering.check_images([dep(f"other/app@sha256:{'d' * 64}")], IMAGE)


def test_pin_image_rejects_a_component_without_one_entry(tmp_path: Path) -> None:
    component = tmp_path / "kustomization.yaml"
    component.write_text("kind: Component\nimages: []\n")
    with pytest.raises(PromotionError, match=r"exactly one"):
        rendering.pin_image(component, IMAGE)


def test_missing_kustomize_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering.shutil, "which", lambda name: None)
    with pytest.raises(PromotionError, match=r"neither kustomize nor kubectl"):
        rendering.kustomize_command()


def test_missing_metadata_stops_before_the_cluster_is_touched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from promotion.base import Request

    monkeypatch.setattr(k8s, "render", lambda request: [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "p", "namespace": "n"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "p", "namespace": "n"}},
    ])  # fmt: skip
    request = Request(image=IMAGE, environment="staging", options={"metadata": str(tmp_path / "none.json")})

    class Untouchable:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"cluster.{name} called")

    with pytest.raises(PromotionError, match=r"none.json not found"):
        k8s.promote(request, cluster=Untouchable())  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ KubeCluster adapter
class FakeResource:
    def __init__(self, kind: str, store: dict[str, Any]) -> None:
        self.kind, self.store = kind, store

    def get(self, name: str, namespace: str | None, **kwargs: Any) -> Any:
        from kubernetes.dynamic.exceptions import NotFoundError

        if name not in self.store:
            raise NotFoundError(
                type("E", (), {"status": 404, "reason": "NotFound", "body": b"", "headers": {}})()
            )
        return self.store[name]


class FakeDynamic:
    """The slice of kubernetes.dynamic.DynamicClient that KubeCluster uses."""

    def __init__(self) -> None:
        self.store: dict[str, Any] = {"there": {"kind": "Deployment", "metadata": {"name": "there"}}}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.resources = self

    def get(self, api_version: str, kind: str) -> FakeResource:  # resources.get(...)
        return FakeResource(kind, self.store)

    def server_side_apply(self, resource: FakeResource, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("apply", kwargs))
        return kwargs["body"]

    def patch(self, resource: FakeResource, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("patch", kwargs))
        return {"patched": True}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls.append(("request", {"method": method, "path": path, **kwargs}))
        return type("R", (), {"status": 200, "data": b'{"predictions": ["Adelie"]}'})()


def test_kube_cluster_uses_server_side_apply_with_one_field_manager() -> None:
    dynamic = FakeDynamic()
    cluster = KubeCluster(dynamic=dynamic)
    doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}}
    cluster.apply(doc)
    ((verb, kwargs),) = dynamic.calls
    assert verb == "apply"
    assert (kwargs["field_manager"], kwargs["force_conflicts"], kwargs["name"], kwargs["namespace"]) == (
        FIELD_MANAGER, True, "s", "n",
    )  # fmt: skip
    assert cluster.get("apps/v1", "Deployment", "missing", "n") is None
    assert cluster.get("apps/v1", "Deployment", "there", "n") == {
        "kind": "Deployment",
        "metadata": {"name": "there"},
    }
    cluster.patch("apps/v1", "Deployment", "there", "n", [{"op": "replace"}], json_patch=True)
    assert dynamic.calls[-1][1]["content_type"] == "application/json-patch+json"
    cluster.patch("apps/v1", "Deployment", "there", "n", {"spec": {}}, json_patch=False)
    assert dynamic.calls[-1][1]["content_type"] == "application/merge-patch+json"
    status, body = cluster.proxy("n", "svc", "http", "POST", "/v1/models/p:predict", {"instances": []})
    assert (status, body) == (200, {"predictions": ["Adelie"]})
    call = dynamic.calls[-1][1]
    assert call["path"] == "/api/v1/namespaces/n/services/svc:http/proxy/v1/models/p:predict"
    assert call["method"] == "post" and call["body"] == {"instances": []}
