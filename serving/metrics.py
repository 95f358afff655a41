"""Prometheus metrics: request counts by route and status, latency histograms, rows predicted, and the
served model (digest as a label).

Under Gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` is set by ``serving.gunicorn_conf`` before
``prometheus_client`` is imported anywhere; every worker then writes its samples there and ``/metrics``
(answered by whichever worker) aggregates all of them. Without it (tests, ``create_app`` in process)
each app gets its own registry.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, name: str, version: str, digest: str) -> None:
        self._multiprocess = multiprocess_dir() is not None
        # In multiprocess mode samples live in files and are collected per scrape; no registry needed.
        self._registry = None if self._multiprocess else CollectorRegistry()
        reg = self._registry
        labels = ("route", "method", "status", "model_digest")
        self.requests = Counter(
            "model_server_requests",
            "HTTP requests answered, by route template and status.",
            labels,
            registry=reg,
        )
        self.latency = Histogram(
            "model_server_request_duration_seconds",
            "Time from request start to response, by route template.",
            ("route", "method", "model_digest"),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.rows = Counter(
            "model_server_predicted_rows",
            "Rows predicted, by protocol.",
            ("protocol", "model_digest"),
            registry=reg,
        )
        self.info = Gauge(
            "model_server_model_info",
            "The served model: 1 for the name, version and digest this server answers with.",
            ("name", "version", "model_digest"),
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.digest = digest
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._rows: dict[str, Any] = {}
        self._info_labels = (name, version, digest)
        self.info.labels(*self._info_labels).set(1)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:  # labelled children are looked up once per (route, method, status)
            children = (
                self.requests.labels(route, method, str(status), self.digest),
                self.latency.labels(route, method, self.digest),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_rows(self, protocol: str, n: int) -> None:
        child = self._rows.get(protocol)
        if child is None:
            child = self._rows[protocol] = self.rows.labels(protocol, self.digest)
        child.inc(n)

    def render(self) -> bytes:
        self.info.labels(*self._info_labels).set(
            1
        )  # per process: a worker forked after start-up has no sample
        if self._multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        assert self._registry is not None
        return generate_latest(self._registry)
