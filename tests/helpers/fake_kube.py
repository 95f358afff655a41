"""An in-memory stand-in for promotion.kube.Cluster: records every call, serves scripted states."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

Key = tuple[str, str | None, str]  # (kind, namespace, name)


class FakeCluster:
    """Objects live in a dict. ``on_get[kind]`` may rewrite an object's status each time it is read,
    which is how a test scripts a rollout (progressing, complete, stuck) or KServe's revisions."""

    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.on_get: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.proxy_handler: Callable[[str, str, str, str, Any], tuple[int, Any]] = lambda *a: (
            503,
            "no server",
        )

    @staticmethod
    def key(kind: str, name: str, namespace: str | None) -> Key:
        return (kind, namespace, name)

    def seed(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(dict(doc))
        obj.setdefault("metadata", {}).setdefault("generation", 1)
        self.objects[self.key(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))] = obj
        return obj

    def apply(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append(("apply", f"{doc['kind']}/{doc['metadata']['name']}"))
        meta = doc["metadata"]
        key = self.key(doc["kind"], meta["name"], meta.get("namespace"))
        live = self.objects.get(key)
        new = copy.deepcopy(dict(doc))
        generation = 1
        if live is not None:
            generation = live["metadata"].get("generation", 1)
            generation += 1 if live.get("spec") != new.get("spec") else 0
            new["status"] = live.get("status", {})
            annotations = dict(live["metadata"].get("annotations") or {})
            annotations.update(new["metadata"].get("annotations") or {})
            new["metadata"]["annotations"] = annotations
        new["metadata"]["generation"] = generation
        self.objects[key] = new
        return copy.deepcopy(new)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        self.calls.append(("get", f"{kind}/{name}"))
        obj = self.objects.get(self.key(kind, name, namespace))
        if obj is None:
            return None
        if kind in self.on_get:
            self.on_get[kind](obj)
        return copy.deepcopy(obj)

    def patch(
        self, api_version: str, kind: str, name: str, namespace: str | None, patch: Any, *, json_patch: bool
    ) -> dict[str, Any]:
        self.calls.append(("patch", (f"{kind}/{name}", copy.deepcopy(patch))))
        obj = self.objects[self.key(kind, name, namespace)]
        if json_patch:
            for op in patch:
                assert op["op"] == "replace", op
                parts = op["path"].strip("/").split("/")
                target = obj
                for part in parts[:-1]:
                    target = target[part]
                target[parts[-1]] = copy.deepcopy(op["value"])
        else:
            _merge(obj, patch)
        obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
        return copy.deepcopy(obj)

    def proxy(
        self, namespace: str, service: str, port: str, method: str, path: str, body: Any | None
    ) -> tuple[int, Any]:
        self.calls.append(("proxy", (service, method, path)))
        return self.proxy_handler(namespace, service, method, path, body)

    def names(self, verb: str) -> list[Any]:
        return [arg for name, arg in self.calls if name == verb]


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeClock:
    """monotonic() and sleep() for deadline tests: sleeping advances time, nothing waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
