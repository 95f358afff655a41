"""kserve/: every overlay (and each optional component) renders; the KServe resources validate against
KServe's schema (kserve/schema/, strict), the core ones against Kubernetes'; the pieces fit together."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource

from tests.conftest import REPO, require_binary

KSERVE = REPO / "kserve"
OVERLAYS = sorted(p.name for p in (KSERVE / "overlays").iterdir() if p.is_dir())
COMPONENTS = sorted(p.name for p in (KSERVE / "components").iterdir() if p.is_dir())
K8S_VERSION = "1.30.0"
K8S_DEFS_URI = "https://kubernetes.io/api/_definitions.json"
PROJECT = yaml.safe_load((REPO / "project.yaml").read_text())


@cache
def k8s_definitions() -> dict[str, Any]:
    root = (
        Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{K8S_VERSION}-local-strict"
    )
    return json.loads((root / "_definitions.json").read_text())


def expand_inline(node: Any) -> Any:
    """Merge the properties of each ``x-k8s-inline`` core type into the node (Go's json:",inline");
    the core type's ``required`` list does not apply to an embedding KServe type."""
    if isinstance(node, dict):
        node = {k: expand_inline(v) for k, v in node.items()}
        name = node.pop("x-k8s-inline", None)
        if name:
            core = k8s_definitions()["$defs"][name]
            ref = lambda prop: {"$ref": f"{K8S_DEFS_URI}#/$defs/{name}/properties/{prop}"}  # noqa: E731
            merged = {prop: ref(prop) for prop in core["properties"]}
            merged.update(node.get("properties", {}))
            node["properties"] = merged
        return node
    if isinstance(node, list):
        return [expand_inline(v) for v in node]
    return node


@cache
def validators() -> dict[str, jsonschema.Draft202012Validator]:
    schema = expand_inline(yaml.safe_load((KSERVE / "schema" / "kserve.schema.yaml").read_text()))
    registry = Registry().with_resources(
        [
            (schema["$id"], Resource.from_contents(schema)),
            (K8S_DEFS_URI, Resource.from_contents(k8s_definitions())),
        ]
    )
    return {
        kind: jsonschema.Draft202012Validator({"$ref": f"{schema['$id']}#/$defs/{kind}"}, registry=registry)
        for kind in ("InferenceService", "ServingRuntime")
    }


def validate(doc: dict[str, Any]) -> None:
    if doc["apiVersion"].startswith("serving.kserve.io/"):
        errors = sorted(validators()[doc["kind"]].iter_errors(doc), key=str)
        assert not errors, "\n".join(f"{doc['kind']} {list(e.absolute_path)}: {e.message}" for e in errors)
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@cache
def render(overlay: str, components: tuple[str, ...] = ()) -> tuple[dict[str, Any], ...]:
    require_binary("kubectl")
    target = KSERVE / "overlays" / overlay
    with tempfile.TemporaryDirectory() as tmp:
        if components:  # a throwaway overlay on top: the overlay plus the optional components
            Path(tmp, "kustomization.yaml").write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "kustomize.config.k8s.io/v1beta1",
                        "kind": "Kustomization",
                        "resources": [os.path.relpath(target, tmp)],
                        "components": [os.path.relpath(KSERVE / "components" / c, tmp) for c in components],
                    }
                )
            )
            target = Path(tmp)
        out = subprocess.run(
            ["kubectl", "kustomize", str(target)], capture_output=True, text=True, timeout=60
        )
    assert out.returncode == 0, out.stderr
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


def one(docs: tuple[dict[str, Any], ...], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@pytest.mark.needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("components", [(), *[(c,) for c in COMPONENTS]])
def test_every_rendering_validates(overlay: str, components: tuple[str, ...]) -> None:
    docs = render(overlay, components)
    assert {d["kind"] for d in docs} >= {"Namespace", "ServiceAccount", "ServingRuntime", "InferenceService"}
    for doc in docs:
        validate(doc)


@pytest.mark.parametrize(
    ("where", "change", "message"),
    [
        (
            "InferenceService",
            lambda d: d["spec"]["predictor"].update(canaryTrafficPercnt=5),
            "canaryTrafficPercnt",
        ),
        ("InferenceService", lambda d: d["spec"]["predictor"].update(scaleMetric="latency"), "latency"),
        ("InferenceService", lambda d: d["spec"]["predictor"]["model"].pop("modelFormat"), "modelFormat"),
        ("InferenceService", lambda d: d["spec"]["predictor"]["model"].update(imag="x"), "imag"),
        ("ServingRuntime", lambda d: d["spec"]["containers"][0].update(readinesProbe={}), "readinesProbe"),
        ("ServingRuntime", lambda d: d["spec"]["containers"][0]["resources"].update(limit={}), "limit"),
    ],
)
def test_schema_rejects_what_the_api_server_would(where: str, change: Any, message: str) -> None:
    files = {"InferenceService": "inferenceservice.yaml", "ServingRuntime": "servingruntime.yaml"}
    doc = copy.deepcopy(yaml.safe_load((KSERVE / "base" / files[where]).read_text()))
    validate(doc)  # the committed file passes
    change(doc)
    with pytest.raises(AssertionError, match=message):
        validate(doc)


@pytest.mark.needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_runtime_inferenceservice_and_identity_fit_together(overlay: str) -> None:
    docs = render(overlay)
    runtime = one(docs, "ServingRuntime")
    isvc = one(docs, "InferenceService", "penguins")
    predictor, model = isvc["spec"]["predictor"], isvc["spec"]["predictor"]["model"]
    assert runtime["spec"]["protocolVersions"] == ["v1", "v2"]
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["modelFormat"]["name"] in {f["name"] for f in runtime["spec"]["supportedModelFormats"]}
    assert model["protocolVersion"] in runtime["spec"]["protocolVersions"]
    assert model["storageUri"].startswith("s3://")
    assert 0 < predictor["canaryTrafficPercent"] < 100
    assert 1 <= predictor["minReplicas"] <= predictor["maxReplicas"] and predictor["scaleMetric"]
    image = runtime["spec"]["containers"][0]["image"]
    assert model["image"] == image and re.fullmatch(rf"{PROJECT['image']}@sha256:[0-9a-f]{{64}}", image)
    env = {e["name"]: e["value"] for e in runtime["spec"]["containers"][0]["env"]}
    assert env["MODEL_SERVER_MODEL_URI"] == "/mnt/models"  # where KServe's storage initializer unpacks
    account = one(docs, "ServiceAccount")
    assert predictor["serviceAccountName"] == account["metadata"]["name"]
    notes = account["metadata"]["annotations"]
    assert notes["serving.kserve.io/s3-region"] == PROJECT["aws"]["region"]
    assert notes["serving.kserve.io/s3-endpoint"] == f"s3.{PROJECT['aws']['region']}.amazonaws.com"
    assert notes["serving.kserve.io/s3-usehttps"] == "1"
    assert f":{PROJECT['aws']['account_id']}:role/" in notes["eks.amazonaws.com/role-arn"]
    assert account["automountServiceAccountToken"] is False


@pytest.mark.needs_kubectl
def test_https_variant_and_stock_sklearn_comparison() -> None:
    https = one(render("staging", ("https-storage",)), "InferenceService", "penguins")
    assert https["spec"]["predictor"]["model"]["storageUri"].startswith("https://")
    assert https["spec"]["predictor"]["model"]["storageUri"].endswith(".tar.gz")
    assert "serviceAccountName" not in https["spec"]["predictor"]
    docs = render("staging", ("stock-sklearn",))
    stock = one(docs, "InferenceService", "penguins-sklearn")["spec"]["predictor"]["model"]
    ours = one(docs, "InferenceService", "penguins")["spec"]["predictor"]["model"]
    assert stock["modelFormat"]["name"] == "sklearn" and "runtime" not in stock and "image" not in stock
    assert stock["storageUri"].startswith(ours["storageUri"].rstrip("/") + "/")  # same artifact prefix
