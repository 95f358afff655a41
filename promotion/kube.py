"""The few Kubernetes operations promotion needs, behind one small interface.

``Cluster`` is what the target modules (k8s, kserve) call; ``KubeCluster`` implements it with the
official ``kubernetes`` client (its dynamic client, so custom resources such as KServe's work the same
way as Deployments). Tests pass a fake ``Cluster``, or a fake dynamic client to ``KubeCluster``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from promotion.base import PromotionError

FIELD_MANAGER = "mlops-promotion"


class Cluster(Protocol):
    def apply(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply ``doc`` as FIELD_MANAGER (the manifests in git win any field conflict)."""
        ...

    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        ...

    def patch(
        self, api_version: str, kind: str, name: str, namespace: str | None, patch: Any, *, json_patch: bool
    ) -> dict[str, Any]:
        """A JSON patch (list of operations) when ``json_patch``, else a JSON merge patch (mapping)."""
        ...

    def proxy(
        self, namespace: str, service: str, port: str, method: str, path: str, body: Any | None
    ) -> tuple[int, Any]:
        """An HTTP request to a Service through the API server's proxy: (status, parsed JSON or text)."""
        ...


def _parse(raw: bytes | str | None) -> Any:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else (raw or "")
    try:
        return json.loads(text)
    except ValueError:
        return text


class KubeCluster:
    """``Cluster`` over ``kubernetes.dynamic.DynamicClient`` (kubeconfig or in-cluster credentials)."""

    def __init__(self, dynamic: Any | None = None, request_timeout_s: float = 30.0) -> None:
        if dynamic is None:
            from kubernetes import config
            from kubernetes.client import ApiClient
            from kubernetes.dynamic import DynamicClient

            try:
                config.load_config()
            except config.ConfigException as exc:
                raise PromotionError(f"cluster: no kubeconfig or in-cluster credentials: {exc}") from exc
            dynamic = DynamicClient(ApiClient())
        self.dynamic = dynamic
        self.timeout = request_timeout_s

    def _resource(self, api_version: str, kind: str) -> Any:
        return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def apply(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        resource = self._resource(doc["apiVersion"], doc["kind"])
        meta = doc["metadata"]
        result = self.dynamic.server_side_apply(
            resource,
            body=dict(doc),
            name=meta["name"],
            namespace=meta.get("namespace"),
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
            _request_timeout=self.timeout,
        )
        return _as_dict(result)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        resource = self._resource(api_version, kind)
        try:
            result = resource.get(name=name, namespace=namespace, _request_timeout=self.timeout)
        except NotFoundError:
            return None
        return _as_dict(result)

    def patch(
        self, api_version: str, kind: str, name: str, namespace: str | None, patch: Any, *, json_patch: bool
    ) -> dict[str, Any]:
        resource = self._resource(api_version, kind)
        content_type = "application/json-patch+json" if json_patch else "application/merge-patch+json"
        result = self.dynamic.patch(
            resource,
            body=patch,
            name=name,
            namespace=namespace,
            content_type=content_type,
            field_manager=FIELD_MANAGER,
            _request_timeout=self.timeout,
        )
        return _as_dict(result)

    def proxy(
        self, namespace: str, service: str, port: str, method: str, path: str, body: Any | None
    ) -> tuple[int, Any]:
        from kubernetes.dynamic.exceptions import DynamicApiError

        url = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/{path.lstrip('/')}"
        try:
            response = self.dynamic.request(
                method.lower(),
                url,
                body=body,
                serialize=False,
                header_params={"Content-Type": "application/json", "Accept": "application/json"},
                _request_timeout=self.timeout,
            )
        except DynamicApiError as exc:
            return int(exc.status), _parse(exc.body)
        return int(response.status), _parse(response.data)


def _as_dict(result: Any) -> dict[str, Any]:
    if hasattr(result, "to_dict"):
        return dict(result.to_dict())
    return dict(result)
