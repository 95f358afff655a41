"""k8s/: every overlay renders and passes the Kubernetes schemas in strict mode; the security settings
and objects the issue asks for are there; overlays only patch; values that must agree across files do."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import REPO, require_binary

K8S = REPO / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
KUBERNETES_VERSION = "1.30.0"  # oldest version the manifests must still suit; the newest is checked too
PROJECT = yaml.safe_load((REPO / "project.yaml").read_text())


@cache
def render(path: Path) -> tuple[dict[str, Any], ...]:
    require_binary("kubectl")
    out = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


def one(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def test_overlays_are_the_project_environments() -> None:
    assert sorted(PROJECT["environments"]) == OVERLAYS


@pytest.mark.needs_kubectl
@pytest.mark.parametrize("overlay", ["base", *OVERLAYS])
@pytest.mark.parametrize("version", [KUBERNETES_VERSION, "1.37.0"])
def test_renders_and_validates_strictly(overlay: str, version: str) -> None:
    path = K8S / "base" if overlay == "base" else K8S / "overlays" / overlay
    docs = render(path)
    assert {d["kind"] for d in docs} >= {
        "Namespace", "ServiceAccount", "Deployment", "Service", "Ingress",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
    }  # fmt: skip
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_strict_validation_catches_a_misspelled_field() -> None:
    doc = yaml.safe_load((K8S / "base" / "service.yaml").read_text())
    doc["spec"]["selectr"] = doc["spec"].pop("selector")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pod_security(overlay: str) -> None:
    docs = render(K8S / "overlays" / overlay)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone", "kubernetes.io/hostname",
    }  # fmt: skip
    (container,) = pod["containers"]
    ctx = container["securityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] >= 10000
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False and ctx["privileged"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    assert re.fullmatch(r"[^@:]+@sha256:[0-9a-f]{64}", container["image"])
    assert one(docs, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert one(docs, "ServiceAccount")["automountServiceAccountToken"] is False


@pytest.mark.needs_kubectl
def test_overlays_differ_only_where_they_should() -> None:
    staging, production = (render(K8S / "overlays" / name) for name in ("staging", "production"))
    hpa = {
        name: one(docs, "HorizontalPodAutoscaler")["spec"]
        for name, docs in [("s", staging), ("p", production)]
    }
    assert hpa["p"]["minReplicas"] >= 2 and hpa["p"]["minReplicas"] > hpa["s"]["minReplicas"]
    assert {one(d, "Namespace")["metadata"]["name"] for d in (staging, production)} == {
        "penguins-staging", "penguins-production",
    }  # fmt: skip
    for docs in (staging, production):
        assert "replicas" not in one(docs, "Deployment")["spec"], "the HPA owns the replica count"
        pdb = one(docs, "PodDisruptionBudget")["spec"]
        assert pdb["selector"] == one(docs, "Deployment")["spec"]["selector"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_only_patch_and_keep_the_digest_apart(overlay: str) -> None:
    root = K8S / "overlays" / overlay
    kustomization = yaml.safe_load((root / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["../../base"], "an overlay adds no objects of its own"
    assert kustomization["components"] == ["image"]
    assert "images" not in kustomization
    for patch in kustomization["patches"]:
        assert "sha256" not in (root / patch["path"]).read_text(), "the digest lives only in image/"
    image = yaml.safe_load((root / "image" / "kustomization.yaml").read_text())
    assert image["kind"] == "Component" and set(image) == {"apiVersion", "kind", "images"}
    (entry,) = image["images"]
    assert entry["name"] == PROJECT["image"] and re.fullmatch(r"sha256:[0-9a-f]{64}", entry["digest"])
    assert "newTag" not in entry


def test_base_names_follow_project_yaml() -> None:
    deployment = yaml.safe_load((K8S / "base" / "deployment.yaml").read_text())
    assert deployment["metadata"]["name"] == PROJECT["model_name"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].split("@")[0] == PROJECT["image"]
