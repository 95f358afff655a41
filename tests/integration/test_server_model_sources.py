"""The real server loading its model from an S3-compatible store (moto on loopback), and refusing to
serve a model whose digest is not the one it was told to expect."""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import pytest
import requests

from tests.conftest import AWS_TEST_ENV
from tests.contract.gunicorn_server import ServerProcess
from training.artifact import read_metadata

pytestmark = pytest.mark.slow


def test_serves_a_model_from_s3(moto_server: str, penguins_artifact: Path, tmp_path: Path) -> None:
    digest = read_metadata(penguins_artifact)["digest"]
    s3 = boto3.client("s3", endpoint_url=moto_server, **{
        "aws_access_key_id": AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS_TEST_ENV["AWS_DEFAULT_REGION"],
    })  # fmt: skip
    s3.create_bucket(Bucket="server-models")
    prefix = f"models/penguins/{digest}"
    for name in ("metadata.json", "model.skops"):
        s3.upload_file(str(penguins_artifact / name), "server-models", f"{prefix}/{name}")

    server = ServerProcess(
        f"s3://server-models/{prefix}",
        tmp_path,
        extra_env={**AWS_TEST_ENV, "AWS_ENDPOINT_URL": moto_server},
        model_digest=digest,
        workers=1,
    )
    server.start()
    try:
        server.wait_ready()
        ready = requests.get(server.url + "/health/ready", timeout=10).json()
        assert ready["model"]["digest"] == digest and ready["inference_backend"] == "compiled"
        rows = read_metadata(penguins_artifact)["examples"]["rows"]
        answer = requests.post(server.url + "/predict", json={"rows": rows}, timeout=10).json()
        assert answer["labels"] == read_metadata(penguins_artifact)["examples"]["labels"]
        cached = tmp_path / "cache" / digest.split(":")[1]
        assert sorted(p.name for p in cached.iterdir()) == ["metadata.json", "model.skops"]
        assert '"message":"fetched artifact"' in server.log()
    finally:
        server.stop()


def test_digest_mismatch_is_never_served(penguins_artifact: Path, tmp_path: Path) -> None:
    wrong = "sha256:" + "f" * 64
    server = ServerProcess(penguins_artifact, tmp_path, model_digest=wrong, workers=1)
    server.start()
    exit_code = server.wait_exit(timeout=120)
    assert exit_code != 0
    log = server.log()
    assert (
        "model not served" in log
        and "DigestMismatchError" in log
        and f"does not match expected {wrong}" in log
    )
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass
