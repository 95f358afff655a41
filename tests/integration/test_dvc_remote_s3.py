"""DVC with an S3 remote: push pipeline outputs to an S3 emulator (moto on 127.0.0.1), pull them into a
fresh clone, and check the bytes round-trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from tests.helpers.pipeline_repo import copy_pipeline_repo, dvc, git, pipeline_env
from training.artifact import file_digest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BUCKET = "dvc-remote-roundtrip"
OUTPUTS = ("data/raw/data.parquet", "data/prepared/validated.parquet")


def test_push_to_s3_and_pull_into_a_fresh_clone(tmp_path: Path, aws_env: str) -> None:
    s3 = boto3.client("s3", endpoint_url=aws_env)
    s3.create_bucket(Bucket=BUCKET)
    env = pipeline_env()  # carries the dummy credentials aws_env put in the environment

    repo = copy_pipeline_repo(tmp_path / "repo")
    dvc(repo, "repro", "validate", env=env)  # ingest + validate: enough outputs to move around
    digests = {path: file_digest(repo / path) for path in OUTPUTS}

    # The remote's address is committed; the emulator's endpoint is machine-specific, so it goes in
    # .dvc/config.local (what a user would do for MinIO, say).
    dvc(repo, "remote", "add", "storage", f"s3://{BUCKET}/dvc", env=env)
    dvc(repo, "remote", "modify", "--local", "storage", "endpointurl", aws_env, env=env)
    dvc(repo, "push", "-r", "storage", env=env)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="dvc/")
    assert listed.get("KeyCount", 0) >= len(OUTPUTS), "objects must land in the S3 bucket"
    git(repo, "add", "dvc.lock", ".dvc/config", env=env)
    git(repo, "commit", "-q", "-m", "lock and remote", env=env)

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone), env=env)
    assert not (clone / OUTPUTS[0]).exists()
    dvc(clone, "remote", "modify", "--local", "storage", "endpointurl", aws_env, env=env)
    dvc(clone, "pull", "-r", "storage", "ingest", "validate", env=env)
    for path, digest in digests.items():
        assert file_digest(clone / path) == digest, path
    assert "in sync" in dvc(clone, "status", "--cloud", "-r", "storage", "ingest", "validate", env=env).stdout

    # And the other way: a file missing from the remote is reported, not silently skipped.
    shutil.rmtree(clone / ".dvc" / "cache")
    (clone / OUTPUTS[0]).unlink()
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in listed["Contents"]]})
    proc = dvc(clone, "pull", "-r", "storage", "ingest", "validate", env=env, check=False)
    assert proc.returncode != 0
    assert "failed to pull data from the cloud" in proc.stderr
    assert OUTPUTS[0] in proc.stdout + proc.stderr
