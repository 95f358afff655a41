"""Publishing the model artifact to S3 under its digest, against the moto emulator on loopback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest

from cicd import publish_model
from cicd.publish_model import PublishError


@pytest.fixture
def s3(aws_env: str):
    client = boto3.client("s3", region_name="us-east-1")
    return client


def test_publishes_model_then_metadata_under_the_digest(s3, penguins_artifact: Path) -> None:
    bucket = "models-publish-ok"
    s3.create_bucket(Bucket=bucket)
    meta = json.loads((penguins_artifact / "metadata.json").read_text())
    published = publish_model.publish(penguins_artifact, bucket, s3)
    prefix = f"models/{meta['name']}/{meta['digest'].removeprefix('sha256:')}/"
    assert published.uri == f"s3://{bucket}/{prefix}"
    assert published.keys == (prefix + "model.skops", prefix + "metadata.json")
    body = s3.get_object(Bucket=bucket, Key=prefix + "model.skops")["Body"].read()
    assert body == (penguins_artifact / "model.skops").read_bytes()
    head = s3.head_object(Bucket=bucket, Key=prefix + "metadata.json")
    assert head["Metadata"]["model-digest"] == meta["digest"]


def test_publishing_twice_writes_the_same_keys(s3, penguins_artifact: Path) -> None:
    bucket = "models-publish-twice"
    s3.create_bucket(Bucket=bucket)
    first = publish_model.publish(penguins_artifact, bucket, s3)
    second = publish_model.publish(penguins_artifact, bucket, s3)
    assert first == second
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(first.keys)


def test_a_tampered_model_is_not_published(s3, penguins_artifact: Path, tmp_path: Path) -> None:
    bucket = "models-publish-tampered"
    s3.create_bucket(Bucket=bucket)
    copy = tmp_path / "models"
    shutil.copytree(penguins_artifact, copy)
    (copy / "model.skops").write_bytes((copy / "model.skops").read_bytes() + b"x")
    with pytest.raises(PublishError, match="does not match metadata"):
        publish_model.publish(copy, bucket, s3)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_a_missing_artifact_names_the_file(s3, tmp_path: Path) -> None:
    with pytest.raises(PublishError, match=r"metadata\.json"):
        publish_model.publish(tmp_path, "any-bucket", s3)


def test_fetch_brings_back_exactly_the_published_artifact(
    s3, penguins_artifact: Path, tmp_path: Path
) -> None:
    bucket = "models-fetch"
    s3.create_bucket(Bucket=bucket)
    published = publish_model.publish(penguins_artifact, bucket, s3)
    meta = json.loads((penguins_artifact / "metadata.json").read_text())
    dest = publish_model.fetch(bucket, meta["name"], published.digest, tmp_path / "models", s3)
    assert (dest / "model.skops").read_bytes() == (penguins_artifact / "model.skops").read_bytes()
    with pytest.raises(PublishError, match="does not exist"):
        publish_model.fetch(bucket, meta["name"], "sha256:" + "0" * 64, tmp_path / "other", s3)
    with pytest.raises(PublishError, match="is not sha256"):
        publish_model.fetch(bucket, meta["name"], "latest", tmp_path / "other", s3)
