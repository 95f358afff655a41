"""Render a kustomize overlay with one image digest, without touching the working tree.

The overlay's ``image/`` component (``k8s/overlays/<env>/image/kustomization.yaml``) is the only file
that names the image. Rendering copies the tree to a temporary directory, pins the requested digest in
that copy, runs kustomize, and then checks every container image in the output: the promoted image must
appear, and no image may be addressed by a mutable tag.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from promotion.base import PromotionError
from promotion.refs import ImageRef

REPO = Path(__file__).resolve().parent.parent
IMAGE_COMPONENT = Path("image") / "kustomization.yaml"
RENDER_TIMEOUT_S = 120


def kustomize_command() -> list[str]:
    """``kustomize build`` when installed, else ``kubectl kustomize`` (kubectl bundles kustomize)."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    raise PromotionError("render: neither kustomize nor kubectl is installed; one is needed to render")


def pin_image(component: Path, image: ImageRef) -> None:
    """Point the component's single ``images:`` entry at ``image`` (name and digest, no tag)."""
    data = yaml.safe_load(component.read_text(encoding="utf-8")) or {}
    entries = data.get("images")
    if not isinstance(entries, list) or len(entries) != 1:
        raise PromotionError(f"render: {component} must hold exactly one `images:` entry")
    entry = entries[0]
    entry.pop("newTag", None)
    entry["digest"] = image.digest
    if image.name == entry.get("name"):
        entry.pop("newName", None)
    else:
        entry["newName"] = image.name
    component.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def render(tree: Path, environment: str, image: ImageRef, *, pin: bool = True) -> list[dict[str, Any]]:
    """Build ``<tree>/overlays/<environment>`` with ``image`` pinned; return the documents, checked."""
    overlay = tree / "overlays" / environment
    if not (overlay / "kustomization.yaml").is_file():
        raise PromotionError(f"render: {overlay} is not a kustomize overlay")
    with tempfile.TemporaryDirectory(prefix="promotion-render-") as tmp:
        copy = Path(tmp) / tree.name
        shutil.copytree(tree, copy)
        if pin:
            pin_image(copy / "overlays" / environment / IMAGE_COMPONENT, image)
        command = [*kustomize_command(), str(copy / "overlays" / environment)]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, check=False, timeout=RENDER_TIMEOUT_S
            )
        except subprocess.TimeoutExpired as exc:
            raise PromotionError(f"render: {' '.join(command[:2])} took over {RENDER_TIMEOUT_S}s") from exc
    if result.returncode != 0:
        relative = overlay.relative_to(tree.parent) if overlay.is_relative_to(tree.parent) else overlay
        raise PromotionError(f"render: kustomize failed for {relative}: {result.stderr.strip()}")
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    if pin:
        check_images(docs, image)
    return docs


def container_images(doc: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(json path, image) for every ``image:`` string in a document (only containers carry that key)."""
    if isinstance(doc, Mapping):
        for key, value in doc.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "image" and isinstance(value, str):
                yield here, value
            else:
                yield from container_images(value, here)
    elif isinstance(doc, list):
        for index, item in enumerate(doc):
            yield from container_images(item, f"{path}[{index}]")


def describe(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('kind')} {where}{meta.get('name')}"


def check_images(docs: Sequence[Mapping[str, Any]], image: ImageRef) -> None:
    """The promoted image appears by digest; no image of that name differs; no image uses a tag."""
    wanted = str(image)
    found = False
    for doc in docs:
        for path, ref in container_images(doc):
            where = f"{describe(doc)} {path}"
            if "@sha256:" not in ref:
                raise PromotionError(f"render: {where} uses {ref!r}, not pinned by digest")
            if ref.split("@", 1)[0] == image.name and ref != wanted:
                raise PromotionError(f"render: {where} is {ref!r}, expected {wanted!r}")
            found = found or ref == wanted
    if not found:
        raise PromotionError(f"render: no container in the rendered overlay runs {wanted}")


def to_yaml(docs: Sequence[Mapping[str, Any]]) -> str:
    return "---\n" + "---\n".join(yaml.safe_dump(dict(doc), sort_keys=False) for doc in docs)


def find(docs: Sequence[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one document of ``kind`` (and ``name``); a PromotionError names what is missing or doubled."""
    matches = [
        d for d in docs if d.get("kind") == kind and (name is None or d["metadata"].get("name") == name)
    ]
    if len(matches) != 1:
        label = f"{kind} {name}" if name else kind
        raise PromotionError(f"render: expected one {label} in the overlay, found {len(matches)}")
    return matches[0]


# Apply order: what others depend on goes first (namespace, identity, config), traffic last.
APPLY_ORDER = (
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "NetworkPolicy",
    "Service",
    "ServingRuntime",
    "Deployment",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "Ingress",
    "InferenceService",
)


def apply_order(docs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Documents sorted by APPLY_ORDER (stable within a kind); unknown kinds go last."""
    rank = {kind: i for i, kind in enumerate(APPLY_ORDER)}
    return sorted(docs, key=lambda d: rank.get(str(d.get("kind")), len(APPLY_ORDER)))
