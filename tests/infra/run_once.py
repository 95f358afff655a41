"""Compute an expensive, read-only test input once per test run, whichever xdist worker asks first.

pytest-xdist may place the tests that share such an input on different workers (any `--dist` mode but
`loadgroup`, or a run that selects tests of several groups), so a session fixture alone would run once per
worker. The first
worker computes the value under an exclusive file lock in the run's shared temporary folder and pickles
it; the others wait for the lock and load it.
"""

from __future__ import annotations

import fcntl
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def shared_folder(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    root = tmp_path_factory.getbasetemp()
    return root.parent if worker_id != "master" else root


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str, compute: Callable[[], T]
) -> T:
    root = shared_folder(tmp_path_factory, worker_id)
    result, failure = root / f"{name}.pickle", root / f"{name}.failed"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if failure.exists():
            pytest.fail(f"{name} failed on another worker:\n{failure.read_text()}")
        if not result.exists():
            try:
                value = compute()
            except pytest.skip.Exception:
                raise
            except BaseException as exc:
                failure.write_text(f"{type(exc).__name__}: {exc}")
                raise
            result.write_bytes(pickle.dumps(value))
            return value
    return pickle.loads(result.read_bytes())  # written by this very test run
