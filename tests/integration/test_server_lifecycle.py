"""A real Gunicorn server's life under load, in one scenario per worker type (gthread: THREADS>1, the
default; sync: THREADS=1): 32 concurrent clients, metrics summed across workers, a HUP reload and a
SIGTERM shutdown while requests keep coming, from clients with and without keep-alive. No step may fail
a single request.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from serving.predictor import Predictor
from tests.contract.gunicorn_server import ServerProcess

pytestmark = pytest.mark.slow

GRACEFUL_TIMEOUT = 10


@pytest.fixture(params=[2, 1], ids=["gthread-workers", "sync-workers"])
def server(
    request: pytest.FixtureRequest, penguins_artifact: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        penguins_artifact,
        tmp_path_factory.mktemp("lifecycle"),
        graceful_timeout=GRACEFUL_TIMEOUT,
        access_log="false",
        threads=request.param,
    )
    proc.start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def predictor(penguins_artifact: Path) -> Predictor:
    return Predictor.from_artifact(penguins_artifact)


def requests_for(predictor: Predictor) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(path, json body, expected labels) for each protocol, from the metadata examples."""
    rows = predictor.metadata["examples"]["rows"]
    labels = predictor.predict(predictor.schema.decode_records(rows)).labels
    v2_types = {"float64": "FP64", "int64": "INT64", "category": "BYTES"}
    inputs = [
        {
            "name": f.name,
            "shape": [len(rows)],
            "datatype": v2_types[f.dtype],
            "data": [r[f.name] for r in rows],
        }
        for f in predictor.schema.features
    ]
    return [
        ("/predict", {"rows": rows}, labels),
        (f"/v1/models/{predictor.name}:predict", {"instances": rows}, labels),
        (f"/v2/models/{predictor.name}/infer", {"inputs": inputs, "outputs": [{"name": "label"}]}, labels),
        ("/invocations", {"instances": rows}, labels),
    ]


def labels_of(path: str, body: dict[str, Any]) -> list[str]:
    if path == "/predict":
        return list(body["labels"])
    if path.startswith("/v1"):
        return list(body["predictions"])
    if path.startswith("/v2"):
        return list(body["outputs"][0]["data"])
    return [p["predicted_label"] for p in body["predictions"]]


class Load:
    """Client threads sending predictions in a loop until stopped; every outcome is recorded."""

    def __init__(self, url: str, work: list[tuple[str, dict[str, Any], list[str]]], threads: int = 6):
        self.url, self.work = url, work
        self.stop_event = threading.Event()
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(threads)]

    def record(self, outcome: str, detail: str = "") -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            if outcome == "failed":
                self.failures.append(detail)

    def run(self, index: int) -> None:
        i = index
        # Odd threads keep their connection alive between requests (gthread workers honour it), even
        # threads open a new one each time.
        session = requests.Session() if index % 2 else None
        post = session.post if session is not None else requests.post
        while not self.stop_event.is_set():
            path, body, labels = self.work[i % len(self.work)]
            i += 1
            try:
                response = post(self.url + path, json=body, timeout=(5, 30))
            except requests.ConnectionError as exc:
                # Refused: the server had stopped accepting. Anything else (reset, aborted) is a failure.
                refused = "Connection refused" in str(exc) or "NewConnectionError" in repr(exc)
                self.record("refused" if refused else "failed", repr(exc))
                if refused:
                    time.sleep(0.05)
                continue
            except requests.RequestException as exc:
                self.record("failed", repr(exc))
                continue
            if response.status_code == 200 and labels_of(path, response.json()) == labels:
                self.record("ok")
            else:
                self.record("failed", f"{path}: {response.status_code} {response.text[:200]}")

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=60)


def check_32_concurrent_clients(server: ServerProcess, predictor: Predictor) -> None:
    work = requests_for(predictor)

    def client(index: int) -> list[str]:
        problems = []
        with requests.Session() as session:
            for k in range(8):
                path, body, labels = work[(index + k) % len(work)]
                response = session.post(server.url + path, json=body, timeout=60)
                if response.status_code != 200 or labels_of(path, response.json()) != labels:
                    problems.append(f"{path}: {response.status_code} {response.text[:200]}")
        return problems

    with ThreadPoolExecutor(max_workers=32) as pool:
        problems = [p for result in pool.map(client, range(32)) for p in result]
    assert problems == [], "32 concurrent clients"


def check_metrics_add_up_across_workers(server: ServerProcess, predictor: Predictor) -> None:
    """Every request of the 32 clients (8 each, so 64 per protocol) is counted once, whichever worker
    answered it and whichever worker answers the scrape."""
    texts = [requests.get(server.url + "/metrics", timeout=10).text for _ in range(4)]
    assert len(set(texts)) >= 1
    text = texts[-1]

    def count(route: str) -> float:
        pattern = rf'model_server_requests_total\{{method="POST",model_digest="{predictor.digest}",route="{re.escape(route)}",status="200"\}} (\S+)'
        match = re.search(pattern, text)
        return float(match.group(1)) if match else 0.0

    assert count("/predict") == 64
    assert count("/v1/models/<name>:predict") == 64
    assert count("/v2/models/<name>/infer") == 64
    assert count("/invocations") == 64
    rows = len(predictor.metadata["examples"]["rows"])
    assert (
        f'model_server_predicted_rows_total{{model_digest="{predictor.digest}",protocol="native"}} {64.0 * rows}'
        in text
    )
    assert (
        f'model_server_model_info{{model_digest="{predictor.digest}",name="{predictor.name}",version="{predictor.version}"}} 1.0'
        in text
    )


def check_hup_reloads_workers_without_failing_a_request(server: ServerProcess, predictor: Predictor) -> None:
    old_workers = server.worker_pids()
    assert len(old_workers) == 2
    with Load(server.url, requests_for(predictor)) as load:
        time.sleep(1.0)
        server.signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            current = server.worker_pids()
            if len(current) == 2 and not current & old_workers:
                break
            time.sleep(0.1)
        time.sleep(1.0)
    assert not server.worker_pids() & old_workers, "the old workers were not replaced"
    assert load.failures == [], "HUP under load"
    assert load.outcomes["ok"] > 20 and load.outcomes["refused"] == 0
    assert requests.get(server.url + "/health/ready", timeout=10).status_code == 200


def _start_slow_request(url: str, body: bytes) -> socket.socket:
    """Send the headers and half the body, so a worker is busy reading this request."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-ID: in-flight\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + body[: len(body) // 2])
    return sock


def check_sigterm_finishes_in_flight_requests_and_exits(server: ServerProcess, predictor: Predictor) -> None:
    body = json.dumps({"rows": predictor.metadata["examples"]["rows"]}).encode()
    with Load(server.url, requests_for(predictor), threads=4) as load:
        time.sleep(1.0)
        slow = _start_slow_request(server.url, body)
        time.sleep(0.5)  # a worker has accepted it and waits for the rest of the body
        served_before = load.outcomes["ok"]
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        time.sleep(1.0)
        slow.sendall(body[len(body) // 2 :])
        answer = b""
        while chunk := slow.recv(65536):
            answer += chunk
        slow.close()
        exit_code = server.wait_exit(timeout=GRACEFUL_TIMEOUT + 30)
        stopped_after = time.monotonic() - started
        time.sleep(1.5)  # clients now see refused connections
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b'"labels"' in answer
    assert exit_code == 0
    assert stopped_after < GRACEFUL_TIMEOUT + 10
    assert load.failures == [], "SIGTERM under load"
    assert served_before > 10 and load.outcomes["refused"] > 0
    log = server.log()
    assert "SIGTERM: stopped accepting" in log and "Shutting down: Master" in log


def test_server_lifecycle_under_load(server: ServerProcess, predictor: Predictor) -> None:
    check_32_concurrent_clients(server, predictor)
    check_metrics_add_up_across_workers(server, predictor)
    check_hup_reloads_workers_without_failing_a_request(server, predictor)
    check_sigterm_finishes_in_flight_requests_and_exits(server, predictor)
