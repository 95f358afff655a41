"""Start, probe and stop the servers under test, each as its own process group on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
KSERVE_PY = ROOT / ".tools" / "bench-kserve" / "bin" / "python"
MLSERVER_BIN = ROOT / ".tools" / "bench-mlserver" / "bin" / "mlserver"
HOST = "127.0.0.1"

# One OpenMP / BLAS thread per worker process: two workers on two cores must not oversubscribe them.
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def base_env(one_thread: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ONE_THREAD and not k.startswith("MODEL_SERVER_")}
    env.pop("VIRTUAL_ENV", None)
    if one_thread:
        env.update(ONE_THREAD)
    return env


@dataclass
class Server:
    """One server process (a process group: the parent and its workers)."""

    name: str  # e.g. "ours", "kserve", "kserve-default"
    model: str  # "logistic" | "hgb"
    command: list[str]
    env: dict[str, str]
    port: int
    ready_path: str
    log_path: Path
    cwd: Path = ROOT
    notes: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_after_s: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - kept open for the child's lifetime
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name}/{self.model} exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=2) as response:
                    if response.status == 200:
                        self.ready_after_s = round(time.monotonic() - self.started_at, 2)
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}/{self.model} not ready after {timeout:.0f}s; see {self.log_path}")

    def terminate(self) -> None:
        """Ask the whole process group to stop (SIGTERM); `stop` then waits for it."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)  # start_new_session: group id = child's pid

    def stop(self, grace: float = 20.0) -> None:
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Workers that outlived their parent are still in the group: end them too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def post_json(url: str, body: dict[str, Any], timeout: float = 30.0) -> tuple[int, Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        text = err.read().decode(errors="replace")
        try:
            return err.code, json.loads(text)
        except json.JSONDecodeError:
            return err.code, text


# --------------------------------------------------------------------------- the servers
def kserve_server(model: str, model_dir: Path, model_name: str, logs: Path, *, default: bool) -> Server:
    """KServe ModelServer. Tuned: 2 uvicorn worker processes (``--workers 2``, KServe's multiprocessing
    mode), one OpenMP thread each, no gRPC server, no per-request latency and access logging. Default:
    what ``ModelServer().start()`` does with no flags (1 process, gRPC on, logging on, default threads)."""
    port = free_port()
    command = [
        str(KSERVE_PY),
        str(HERE / "kserve_server.py"),
        "--model_dir",
        str(model_dir),
        "--model_name",
        model_name,
        "--http_port",
        str(port),
    ]
    if default:
        command += ["--grpc_port", str(free_port())]
    else:
        command += [
            "--workers",
            "2",
            "--enable_grpc",
            "false",
            "--enable_latency_logging",
            "false",
            "--log_config_file",
            str(HERE / "kserve_quiet_logging.json"),
        ]
    name = "kserve-default" if default else "kserve"
    return Server(
        name=name,
        model=model,
        command=command,
        env=base_env(one_thread=not default),
        port=port,
        ready_path=f"/v2/models/{model_name}/ready",
        log_path=logs / f"{name}-{model}.log",
        notes={"workers": 1 if default else 2, "omp_threads": "default" if default else 1},
    )


def mlserver_server(model: str, model_dir: Path, model_name: str, logs: Path, *, default: bool) -> Server:
    """MLServer with mlserver-sklearn. Tuned: ``parallel_workers = 2`` (two inference processes behind
    MLServer's HTTP process), one OpenMP thread each, debug (access log) and metrics off. Default: MLServer's
    own defaults (1 parallel worker, debug on, metrics on, default threads)."""
    port = free_port()
    name = "mlserver-default" if default else "mlserver"
    settings: dict[str, Any] = {
        "host": HOST,
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
    }
    if not default:
        settings.update(parallel_workers=2, debug=False, metrics_endpoint=None)
    # `mlserver start FOLDER` reads FOLDER/settings.json and finds models below FOLDER: one folder per
    # server, holding its settings and a copy of the model folder (model-settings.json + model.joblib).
    root = (model_dir.parent.parent / f"{name}-server").resolve()
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(model_dir, root / model_dir.name)
    (root / "settings.json").write_text(json.dumps(settings, indent=2))
    return Server(
        name=name,
        model=model,
        command=[str(MLSERVER_BIN), "start", str(root)],
        env=base_env(one_thread=not default),
        port=port,
        ready_path=f"/v2/models/{model_name}/ready",
        log_path=logs / f"{name}-{model}.log",
        cwd=root,
        notes={"parallel_workers": 1 if default else 2, "omp_threads": "default" if default else 1},
    )


def our_server(model: str, artifact: Path, logs: Path) -> Server:
    """Our Flask + Gunicorn server as `make serve` runs it (`python -m serving`: Gunicorn with
    serving.gunicorn_conf),
    every setting at its default except 2 workers, the port and the model. Its defaults already hold
    BLAS/OpenMP to one thread per worker and keep the JSON access log on."""
    port = free_port()
    env = base_env(one_thread=False)  # the Gunicorn config sets the thread limits itself
    env.update(
        MODEL_SERVER_MODEL_URI=str(artifact.resolve()),
        MODEL_SERVER_HOST=HOST,
        MODEL_SERVER_PORT=str(port),
        MODEL_SERVER_WORKERS="2",
    )
    return Server(
        name="ours",
        model=model,
        command=[str(ROOT / ".venv" / "bin" / "python"), "-m", "serving"],
        env=env,
        port=port,
        ready_path="/health/ready",
        log_path=logs / f"ours-{model}.log",
        notes={"workers": 2, "omp_threads": 1, "worker_class": "sync"},
    )


def our_backend(artifact: Path) -> dict[str, Any]:
    """Which inference path our server picks for this model (`python -m serving check`)."""
    env = base_env(one_thread=False)
    env["MODEL_SERVER_MODEL_URI"] = str(artifact.resolve())
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "serving", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"inference_backend": "unknown", "check_output": (done.stdout + done.stderr)[-500:]}
    return {k: summary.get(k) for k in ("inference_backend", "fallback_reason")}
