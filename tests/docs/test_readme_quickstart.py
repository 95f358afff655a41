"""The README's first commands, run as a newcomer would: `make run` in a fresh copy trains the model and
serves it; `make test` is this suite itself, which `.ci/run` (the CI entry point) runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from templatekit.docs import markdown
from tests.conftest import free_port

from .repo_copy import REPO, copy_repository, make_env

README = REPO / "README.md"


def quickstart() -> markdown.ShellBlock:
    return markdown.shell_blocks(README)[0]


def test_the_quickstart_is_make_run_then_make_test() -> None:
    block = quickstart()
    assert [c.split("#")[0].strip() for c in block.commands()] == ["make run", "make test"]
    assert block.kind == "covered-by" and block.argument == "tests/docs/test_readme_quickstart.py"
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_make_run_trains_then_serves_in_a_fresh_copy(tmp_path: Path) -> None:
    copy = copy_repository(tmp_path / "repo")
    env = make_env(copy)
    dry = subprocess.run(
        ["make", "-n", "run"], cwd=copy, env=env, capture_output=True, text=True, check=False
    )
    if dry.returncode != 0:
        pytest.fail(f"`make run` cannot be planned in a fresh copy:\n{dry.stderr}")
    port = free_port()
    env["MODEL_SERVER_PORT"] = str(port)
    log = tmp_path / "make-run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["make", "run"], cwd=copy, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"`make run` exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                status, _ = _get(f"http://127.0.0.1:{port}/health/ready")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"`make run` did not serve within 240 s:\n{log.read_text()[-3000:]}")
        meta = json.loads((copy / "models" / "metadata.json").read_text())
        status, body = _get(f"http://127.0.0.1:{port}/metadata")
        assert status == 200
        assert json.loads(body)["digest"] == meta["digest"]  # it serves what the pipeline just trained
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
