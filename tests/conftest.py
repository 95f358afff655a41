"""Fixtures shared by every test folder: free ports, a moto AWS emulator on loopback, a fitted artifact."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep each ``xdist_group`` on one worker under ``--dist loadgroup``.

    pytest-xdist 3.8 tags a grouped test by rewriting ``item._nodeid``, which pytest 9.2 no longer reads
    (a node's id lives in ``item._id``), so the groups were spread over both workers: two workers then
    built the image and ran containers of the same name at once. This applies the tag where pytest reads
    it, from the test's closest ``xdist_group`` marker (a test may name another group than its module).
    """
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodes import coerce_node_id

    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is None:
            continue
        suffix = "@" + str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
        if not item.nodeid.endswith(suffix):
            item._id = coerce_node_id(item.nodeid + suffix)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def require_binary(name: str) -> str:
    """Return the path of ``name`` or skip the test saying clearly that it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed on this machine; this check needs it")
    return path


AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 for the whole session. Yields its endpoint URL.

    Each test should use its own bucket/resource names so tests stay independent.
    """
    port = free_port()
    env = {**os.environ, **AWS_TEST_ENV, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def aws_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Dummy credentials and AWS_ENDPOINT_URL pointing every SDK at the emulator."""
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server


@pytest.fixture(scope="session")
def penguins_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real artifact (model.skops + metadata.json) trained by the training package on the default data."""
    from tests.helpers.artifacts import build_artifact

    return build_artifact(tmp_path_factory.mktemp("artifact"))
