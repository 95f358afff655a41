"""The session's model server: real Gunicorn (2 workers) serving the ``penguins_artifact``, plus what the
contract tests compute from the same artifact with scikit-learn to compare against."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.gunicorn_server import ServerProcess

# Limits the bad-input matrix exercises (small, so oversize requests stay cheap).
MAX_ROWS = 50
MAX_BODY_BYTES = 65536


@pytest.fixture(scope="session")
def model_server(
    penguins_artifact: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    server = ServerProcess(
        penguins_artifact,
        tmp_path_factory.mktemp("model-server"),
        max_rows=MAX_ROWS,
        max_body_bytes=MAX_BODY_BYTES,
        log_level="WARNING",
    )
    server.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def reference(penguins_artifact: Path) -> Any:
    """The artifact's model loaded in the test process (scikit-learn is the reference implementation)."""
    from serving.predictor import Predictor

    return Predictor.from_artifact(penguins_artifact, compiled=False, max_rows=10_000)
