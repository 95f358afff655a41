"""Server settings: one typed, frozen object read once from ``MODEL_SERVER_*`` environment variables.

Every field below maps to ``MODEL_SERVER_<FIELD NAME IN CAPITALS>`` and carries its own description
(``python -m serving settings`` prints them all). Nothing else in the package reads the environment:
the Gunicorn config, the app factory and the model store all take a ``Settings`` instance.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

PREFIX = "MODEL_SERVER_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """An environment variable has a value the server cannot use. The message names the variable."""


def available_cpus() -> int:
    """CPUs this process may use: the affinity mask, capped by a cgroup v2/v1 CPU quota (containers)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def _cgroup_cpu_quota() -> float | None:
    try:  # cgroup v2: "max 100000" or "150000 100000"
        text = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if text and text[0] != "max":
            return int(text[0]) / int(text[1])
        return None
    except (OSError, ValueError, IndexError):
        pass
    try:  # cgroup v1
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def _doc(text: str, default: Any = MISSING, factory: Any = MISSING) -> Any:
    if factory is not MISSING:
        return field(default_factory=factory, metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


@dataclass(frozen=True)
class Settings:
    """Everything the server can be told. Build with ``Settings.from_env()`` (once, at start-up)."""

    model_uri: str = _doc(
        "Where the artifact directory (model.skops + metadata.json) lives: a local path, "
        "s3://bucket/prefix (boto3; honours AWS_ENDPOINT_URL and the usual AWS credential chain) "
        "or https://host/prefix (http:// is accepted only for loopback hosts).",
        "models",
    )
    model_digest: str | None = _doc(
        "Expected sha256 digest of model.skops ('sha256:<64 hex>'). When set, any other model is refused.",
        None,
    )
    model_name: str | None = _doc(
        "Name the model is served under in KServe paths (/v1/models/<name>, /v2/models/<name>); "
        "defaults to the name in metadata.json.",
        None,
    )
    host: str = _doc(
        "Interface to bind. Loopback by default; containers set 0.0.0.0.",
        "127.0.0.1",
    )
    port: int = _doc("TCP port to listen on (SageMaker requires 8080).", 8080)
    workers: int = _doc(
        "Gunicorn worker processes. Default: the CPUs available to this process (affinity mask and "
        "cgroup quota), since prediction is CPU-bound.",
        factory=available_cpus,
    )
    threads: int = _doc(
        "Threads per worker. More than 1 selects Gunicorn's gthread worker, which keeps connections "
        "alive between requests (no TCP set-up per request behind a load balancer) and lets a slow "
        "client hold one thread rather than a whole worker; 1 selects the sync worker (one connection "
        "per request). Predictions are CPU-bound, so a few threads are enough.",
        2,
    )
    preload: bool = _doc(
        "Load and verify the model once in the Gunicorn master before forking workers (fast start, "
        "shared memory, a bad model stops the server before it listens). When false, each worker "
        "loads the model itself, and `kill -HUP` also reloads it.",
        True,
    )
    timeout: int = _doc("Seconds a worker may stay silent before the master restarts it.", 30)
    graceful_timeout: int = _doc(
        "Seconds given to in-flight requests after SIGTERM (or a HUP restart) before workers are killed.",
        20,
    )
    keepalive: int = _doc(
        "Seconds an idle keep-alive connection is kept open (gthread workers). Longer than the idle "
        "timeout of load balancers in front (60 s on AWS ALB), so they never reuse a connection the "
        "server has just closed.",
        75,
    )
    backlog: int = _doc("Listen backlog: connections the kernel queues while workers are busy.", 2048)
    max_body_bytes: int = _doc("Largest request body accepted; larger bodies get 413.", 1_048_576)
    max_rows: int = _doc("Most rows (instances) accepted in one request; more get 413.", 1000)
    cache_dir: str = _doc(
        "Directory where remote artifacts are cached, one sub-directory per digest.",
        factory=lambda: os.path.join(tempfile.gettempdir(), "model-server-cache"),
    )
    plan_dir: str = _doc(
        "Directory of verified inference plans, one file per model digest, looked up before "
        "CACHE_DIR/plans. May be read-only (the image bakes its model's plan into one): a plan that "
        "cannot be written there goes to CACHE_DIR/plans.",
        "",
    )
    download_attempts: int = _doc("Attempts per remote download before giving up.", 4)
    download_backoff: float = _doc(
        "Seconds before the first retry; doubled after each failed attempt (capped at 8 s).", 0.5
    )
    download_timeout: float = _doc("Seconds allowed for each remote request.", 15.0)
    compiled: bool = _doc(
        "Use the compiled NumPy inference path when the fitted pipeline is supported and matches "
        "scikit-learn on the self-check rows; false always calls scikit-learn.",
        True,
    )
    compute_threads: int = _doc(
        "BLAS/OpenMP threads per worker. 1 avoids oversubscription when several workers share the CPUs.",
        1,
    )
    log_level: str = _doc("Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL.", "INFO")
    access_log: bool = _doc(
        "Write one JSON line per request (method, path, status, duration, request id).", True
    )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every ``MODEL_SERVER_*`` variable once; unknown or malformed ones raise SettingsError."""
        env = os.environ if environ is None else environ
        known = {PREFIX + f.name.upper(): f for f in fields(cls)}
        unknown = sorted(k for k in env if k.startswith(PREFIX) and k not in known)
        if unknown:
            raise SettingsError(
                f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for var, f in known.items():
            if var in env:
                values[f.name] = _parse(var, str(f.type), env[var])
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        def bad(name: str, why: str) -> SettingsError:
            return SettingsError(f"{PREFIX}{name.upper()}={getattr(self, name)!r}: {why}")

        for name in ("port", "workers", "threads", "timeout", "graceful_timeout", "backlog"):
            if getattr(self, name) < 1:
                raise bad(name, "must be at least 1")
        if self.port > 65535:
            raise bad("port", "must be at most 65535")
        for name in ("max_body_bytes", "max_rows", "download_attempts", "compute_threads"):
            if getattr(self, name) < 1:
                raise bad(name, "must be at least 1")
        if self.keepalive < 0 or self.download_backoff < 0 or self.download_timeout <= 0:
            raise bad("download_timeout" if self.download_timeout <= 0 else "keepalive", "out of range")
        if self.log_level.upper() not in LOG_LEVELS:
            raise bad("log_level", f"must be one of {', '.join(LOG_LEVELS)}")
        if self.model_digest is not None:
            import re

            if not re.fullmatch(r"sha256:[0-9a-f]{64}", self.model_digest):
                raise bad("model_digest", "must look like sha256:<64 lowercase hex digits>")
        if not self.model_uri:
            raise bad("model_uri", "must not be empty")

    @property
    def worker_class(self) -> str:
        return "sync" if self.threads == 1 else "gthread"

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, description) for every setting, for docs and `python -m serving settings`."""
        rows = []
        for f in fields(cls):
            if f.default is not MISSING:
                default = repr(f.default)
            else:
                factory: Any = f.default_factory
                default = "(computed: " + repr(factory()) + ")"
            rows.append((PREFIX + f.name.upper(), default, f.metadata["doc"]))
        return rows


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(var: str, type_name: str, raw: str) -> Any:
    text = raw.strip()
    try:
        if type_name == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError("expected true/false, 1/0, yes/no or on/off")
        if type_name == "int":
            return int(text)
        if type_name == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError("must be finite")
            return value
        if type_name == "str | None":
            return text or None
        return text
    except ValueError as exc:
        raise SettingsError(f"{var}={raw!r}: {exc}") from None
