"""Gunicorn configuration, all of it taken from ``Settings`` (``MODEL_SERVER_*``).

Run: ``gunicorn -c python:serving.gunicorn_conf`` (what ``python -m serving`` and ``make serve`` do).
Loaded as a module, it runs once per master, even across ``kill -HUP`` reloads. Before the app (and so
NumPy, scikit-learn or prometheus_client) is imported it fixes BLAS/OpenMP threads per worker and the
Prometheus multiprocess directory.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
import tempfile
from typing import Any

from serving.settings import Settings, SettingsError

try:
    settings = Settings.from_env()
except SettingsError as _exc:
    print(
        json.dumps({"level": "critical", "logger": "serving", "message": f"invalid settings: {_exc}"}),
        file=sys.stderr,
    )
    sys.exit(2)

# One compute thread per worker by default: several workers each running a full OpenMP/BLAS pool on the
# same cores collapse throughput (oversubscription). These must be set before NumPy is imported.
for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_var] = str(settings.compute_threads)

_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="model-server-metrics-")

from serving.logs import gunicorn_logconfig  # noqa: E402  (after the environment above is set)

wsgi_app = "serving.wsgi:app"
bind = [f"[{settings.host}]:{settings.port}" if ":" in settings.host else f"{settings.host}:{settings.port}"]
workers = settings.workers
threads = settings.threads
worker_class = settings.worker_class
preload_app = settings.preload
timeout = settings.timeout
graceful_timeout = settings.graceful_timeout
keepalive = settings.keepalive
backlog = settings.backlog
proc_name = "model-server"
accesslog = None  # the app writes its own JSON access log (with request ids)
errorlog = "-"
loglevel = settings.log_level.lower()
logconfig_dict = gunicorn_logconfig(settings.log_level)
control_socket_disable = True  # no runtime control socket in $HOME; signals are the interface
_SHM = "/dev/shm"  # noqa: S108 (tmpfs for heartbeat files, the path Gunicorn documents)
if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK):
    worker_tmp_dir = _SHM  # worker heartbeats in memory, not on a possibly slow or read-only disk


def on_starting(server: Any) -> None:
    # Samples from an earlier run in a reused directory would be summed into this one's.
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.unlink(path)


def when_ready(server: Any) -> None:
    from serving import shutdown

    shutdown.install(server, timeout=min(5.0, settings.graceful_timeout / 2))
    server.log.info(
        "ready: %d %s worker(s) on %s, preload=%s",
        settings.workers,
        settings.worker_class,
        ",".join(bind),
        settings.preload,
    )


def post_fork(server: Any, worker: Any) -> None:
    import signal

    from threadpoolctl import threadpool_limits

    # Until the worker installs its own handlers, a SIGTERM would land in the master's handler copied by
    # fork() and be lost, leaving a booting worker to be killed only after graceful_timeout. Nothing has
    # been accepted yet, so the default action (exit) is the graceful one here.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    threadpool_limits(limits=settings.compute_threads)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
