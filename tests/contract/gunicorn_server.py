"""A real model server (``python -m serving``: Gunicorn + the app) started on a free loopback port.

Shared by the contract tests (one session server) and the integration tests (servers of their own).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.conftest import REPO, free_port

# Generous: the machine running the tests may be busy; the cold-start figure itself is measured apart.
READY_TIMEOUT = 90.0


def server_env(
    settings: dict[str, Any], cache_dir: Path, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The parent environment without any MODEL_SERVER_*/Prometheus variables, plus ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MODEL_SERVER_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update({f"MODEL_SERVER_{k.upper()}": str(v) for k, v in settings.items()})
    env.setdefault("MODEL_SERVER_CACHE_DIR", str(cache_dir))
    env.update(extra or {})
    return env


class ServerProcess:
    def __init__(
        self, model_uri: str | Path, workdir: Path, extra_env: dict[str, str] | None = None, **settings: Any
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"server-{self.port}.log"
        defaults = {"model_uri": str(model_uri), "port": self.port, "host": "127.0.0.1", "workers": 2}
        self.env = server_env({**defaults, **settings}, workdir / "cache", extra_env)
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_after: float | None = None

    def start(self) -> ServerProcess:
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "serving"], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> ServerProcess:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode} before ready:\n{self.log()[-4000:]}"
                )
            try:
                if requests.get(self.url + "/health/ready", timeout=1).status_code == 200:
                    self.ready_after = time.monotonic() - self.started_at
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"server not ready within {timeout}s:\n{self.log()[-4000:]}")

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def worker_pids(self) -> set[int]:
        """Gunicorn worker processes (children of the master)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        if not children.exists():
            return set()
        return {int(p) for p in children.read_text().split()}
