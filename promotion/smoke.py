"""Smoke test a running model server with a real prediction and check the answer.

The expected answer is the artifact's own record: ``metadata.json`` keeps five example rows with the
labels the model gave them at training time. The test asks the server whether it is ready, sends those
rows through the KServe V1 protocol, and requires the same labels back. A transport is any callable
``send(method, path, json_body) -> (status, parsed body)``: plain HTTP (``http_sender``), or the
Kubernetes API server's service proxy (``promotion.kube.Cluster.proxy``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from promotion.base import PromotionError

Sender = Callable[[str, str, Any | None], tuple[int, Any]]

READY_PATH = "/health/ready"


def load_metadata(path: Path) -> dict[str, Any]:
    """The artifact's metadata.json; the smoke test needs its name, digest and examples."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PromotionError(
            f"smoke test: {path} not found; the smoke test sends that artifact's example rows "
            "(train first, or pass --metadata PATH)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise PromotionError(f"smoke test: {path} is unreadable: {exc}") from exc
    examples(meta)  # fail early, before anything is applied
    return meta


def examples(meta: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, labels) from metadata ``examples``; a PromotionError says what is missing."""
    block = meta.get("examples")
    if not isinstance(block, Mapping):
        raise PromotionError("smoke test: metadata has no `examples` block")
    rows, labels = block.get("rows"), block.get("labels")
    if not isinstance(rows, list) or not rows or not isinstance(labels, list) or len(rows) != len(labels):
        raise PromotionError("smoke test: metadata `examples` needs rows and as many labels")
    return [dict(r) for r in rows], [str(label) for label in labels]


def predicted_labels(body: Any) -> list[str]:
    """Labels from a KServe V1 answer: ``predictions`` holds labels, or objects with a ``label``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("predictions"), list):
        raise PromotionError(f"smoke test: answer has no `predictions` list: {str(body)[:300]}")
    labels = []
    for item in body["predictions"]:
        if isinstance(item, Mapping) and "label" in item:
            labels.append(str(item["label"]))
        elif isinstance(item, str | int | float):
            labels.append(str(item))
        else:
            raise PromotionError(f"smoke test: cannot read a label from prediction {item!r}")
    return labels


def smoke_test(send: Sender, model_name: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Ready check, then one prediction of the example rows; returns what was checked."""
    rows, expected = examples(meta)
    status, body = send("GET", READY_PATH, None)
    if status != 200:
        raise PromotionError(f"smoke test: GET {READY_PATH} answered {status}: {str(body)[:300]}")
    path = f"/v1/models/{model_name}:predict"
    status, body = send("POST", path, {"instances": rows})
    if status != 200:
        raise PromotionError(f"smoke test: POST {path} answered {status}: {str(body)[:300]}")
    got = predicted_labels(body)
    if got != expected:
        raise PromotionError(f"smoke test: POST {path} predicted {got}, the artifact records {expected}")
    return {"path": path, "rows": len(rows), "labels": got}


def http_sender(base_url: str, timeout_s: float = 10.0) -> Sender:
    """A Sender over plain HTTP to ``base_url`` (e.g. http://127.0.0.1:8080)."""

    def send(method: str, path: str, body: Any | None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 (callers give http(s) URLs)
            base_url.rstrip("/") + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except OSError as exc:
            raise PromotionError(f"smoke test: {method} {base_url}{path} failed: {exc}") from exc
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    return send
