"""The model artifact in S3 under its digest: ``s3://<bucket>/models/<name>/<digest hex>/``.

``publish`` (the build job): the prefix is content-addressed, so publishing the same artifact twice
writes the same bytes to the same keys, and a server told ``MODEL_URI=s3://.../<hex>/`` plus the expected
digest can verify what it loads. The artifact is checked first (metadata readable, model bytes match the
recorded digest); the model file goes up before ``metadata.json``, so a reader that finds the metadata
finds the model too.

``fetch`` (the promote job, when the build run's artifact has expired): the reverse, into ``models/``,
refusing bytes whose digest is not the one asked for.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cicd import gha


class PublishError(RuntimeError):
    """The artifact cannot be published as it is; the message names the file."""


@dataclass(frozen=True)
class Published:
    uri: str
    digest: str
    keys: tuple[str, ...]


def prefix_for(model_name: str, digest: str) -> str:
    return f"models/{model_name}/{digest.removeprefix('sha256:')}/"


def _checked(artifact: Path) -> tuple[dict[str, Any], list[Path]]:
    from training.artifact import METADATA_FILE, ArtifactError, file_digest, read_metadata

    try:
        meta = read_metadata(artifact)
    except ArtifactError as exc:
        raise PublishError(str(exc)) from exc
    model = artifact / str(meta["model_file"])
    if model.parent.resolve() != artifact.resolve() or not model.is_file():
        raise PublishError(f"{model}: model file named by {artifact / METADATA_FILE} is missing")
    actual = file_digest(model)
    if actual != meta["digest"]:
        raise PublishError(f"{model}: digest {actual} does not match metadata {meta['digest']}")
    return meta, [model, artifact / METADATA_FILE]


def publish(artifact: Path, bucket: str, s3: Any, model_name: str | None = None) -> Published:
    meta, files = _checked(artifact)
    name = model_name or str(meta["name"])
    prefix = prefix_for(name, str(meta["digest"]))
    keys = []
    for path in files:  # model first, metadata last
        data = path.read_bytes()
        key = prefix + path.name
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
            ContentType="application/json" if path.suffix == ".json" else "application/octet-stream",
            Metadata={"model-digest": str(meta["digest"])},
        )
        keys.append(key)
    return Published(f"s3://{bucket}/{prefix}", str(meta["digest"]), tuple(keys))


def fetch(bucket: str, model_name: str, digest: str, dest: Path, s3: Any) -> Path:
    """Download the artifact published under ``digest`` into ``dest`` and check it is that artifact."""
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise PublishError(f"model digest {digest!r} is not sha256:<64 hex>")
    prefix = prefix_for(model_name, digest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("metadata.json", "model.skops"):
        try:
            body = s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read()
        except s3.exceptions.NoSuchKey as exc:
            raise PublishError(f"s3://{bucket}/{prefix}{name} does not exist") from exc
        tmp = dest / (name + ".tmp")
        tmp.write_bytes(body)
        tmp.replace(dest / name)
    meta, _ = _checked(dest)
    if meta["digest"] != digest:
        raise PublishError(f"s3://{bucket}/{prefix} holds {meta['digest']}, not {digest}")
    return dest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cicd.publish_model", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish", help="upload the artifact under its digest")
    pub.add_argument("--artifact", type=Path, default=Path("models"))
    get = sub.add_parser("fetch", help="download the artifact published under a digest")
    get.add_argument("--digest", required=True)
    get.add_argument("--model-name", required=True)
    get.add_argument("--to", type=Path, default=Path("models"))
    for each in (pub, get):
        each.add_argument("--bucket", default=os.environ.get("MODEL_BUCKET", ""))
    args = parser.parse_args(argv)
    if not args.bucket:
        parser.error("--bucket (or MODEL_BUCKET) is required")
    import boto3

    s3 = boto3.client("s3")
    try:
        if args.command == "fetch":
            fetch(args.bucket, args.model_name, args.digest, args.to, s3)
            print(f"fetched {args.digest} into {args.to}")
            return 0
        published = publish(args.artifact, args.bucket, s3)
    except PublishError as exc:
        gha.annotate("error", str(exc), title=f"Model {args.command} failed")
        return 1
    gha.set_outputs({"model_uri": published.uri, "model_digest": published.digest})
    gha.add_summary(f"Model `{published.digest}` published to `{published.uri}`")
    print(f"published {published.digest} to {published.uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
