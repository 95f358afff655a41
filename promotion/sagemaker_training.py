"""Launch a SageMaker training job that runs our image's ``train`` entry point on data in S3.

The job's container reads ``/opt/ml/input/config/hyperparameters.json`` (``params.yaml`` flattened to
dotted keys, JSON-encoded values) and the channel ``/opt/ml/input/data/<channel>/``; it writes the artifact
to ``/opt/ml/model``, which SageMaker uploads as ``<output>/<job>/output/model.tar.gz``.

``run_local`` plays SageMaker's part on this machine for the same request: it lays out ``/opt/ml`` under
a directory, fetches the channel from S3, runs ``train`` and uploads ``model.tar.gz`` where SageMaker
would. Tests use it to prove the request we send is one our container can serve.

    python -m promotion.sagemaker_training --environment staging --image NAME@sha256:... \\
        --data s3://bucket/data/penguins/ [--dry-run] [--local DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from promotion import aws
from promotion.base import PromotionError
from promotion.refs import ImageRef, ImageRefError
from promotion.sagemaker_config import SageMakerSettings, load

PARAMS_FILE = aws.REPO / "params.yaml"
SCHEMA_FILE = aws.REPO / "data" / "schema.yaml"
SCHEMA_CHANNEL = "schema"
TRAIN_ENTRYPOINT = aws.REPO / "sagemaker" / "container" / "train"
# The train entry point prints "metric <name>=<value>"; SageMaker turns matching log lines into metrics.
METRIC_LINE = r"metric {name}=([-+0-9.eE]+)"
TERMINAL = {"Completed", "Failed", "Stopped"}
_NAME_OK = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


# --------------------------------------------------------------------------- pure request building
def flatten_hyperparameters(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train": {"C": 1.0}}`` -> ``{"train.C": "1.0"}``: SageMaker hyperparameters are flat strings.

    Values are JSON so the container decodes them to the same types; lists stay whole.
    """
    out: dict[str, str] = {}
    for key, value in params.items():
        if "." in str(key):
            raise ValueError(f"parameter key {prefix}{key!r} must not contain '.'")
        if isinstance(value, Mapping):
            out.update(flatten_hyperparameters(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = json.dumps(value)
    if len(out) > 100:
        raise ValueError(f"{len(out)} hyperparameters: SageMaker allows at most 100")
    for key, text in out.items():
        if len(key) > 256 or len(text) > 2500:
            raise ValueError(f"hyperparameter {key!r} is too long for SageMaker (256/2500 characters)")
    return out


def unflatten_hyperparameters(flat: Mapping[str, str]) -> dict[str, Any]:
    """Inverse of ``flatten_hyperparameters``; a value that is not JSON stays a string."""
    out: dict[str, Any] = {}
    for key, text in flat.items():
        try:
            value = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            value = text
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"hyperparameter {key!r} conflicts with {part!r}")
            node = child
        node[parts[-1]] = value
    return out


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def job_name(image: ImageRef, now: datetime | None = None) -> str:
    """``<project>-<model>-<12 hex of the image digest>-<UTC time>``, at most 63 characters."""
    project = aws.project()
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    short = image.digest.split(":", 1)[1][:12]
    head = f"{project['project']}-{project['model_name']}"[: 63 - len(short) - len(stamp) - 2].strip("-")
    name = f"{head}-{short}-{stamp}"
    if not _NAME_OK.fullmatch(name):
        raise ValueError(f"training job name {name!r} breaks SageMaker's naming rule")
    return name


def metric_definitions(names: Sequence[str]) -> list[dict[str, str]]:
    return [{"Name": n, "Regex": METRIC_LINE.format(name=re.escape(n))} for n in names]


def _channel(name: str, uri: str, content_type: str) -> dict[str, Any]:
    if not uri.startswith("s3://"):
        raise ValueError(f"channel {name}: expected an s3:// URI, got {uri!r}")
    return {
        "ChannelName": name,
        "ContentType": content_type,
        "InputMode": "File",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def training_request(
    settings: SageMakerSettings,
    image: ImageRef,
    data_uri: str,
    schema_uri: str,
    hyperparameters: Mapping[str, str],
    name: str,
    git_commit: str = "unknown",
    metrics: Sequence[str] = ("accuracy", "f1_macro", "roc_auc_ovr", "log_loss"),
) -> dict[str, Any]:
    """The CreateTrainingJob request (pure: no AWS call).

    Channels: ``train`` (the table) and ``schema`` (data/schema.yaml), both S3 prefixes.
    """
    t = settings.training
    project = aws.project()
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": settings.ecr_image(image),
            "TrainingInputMode": "File",
            "MetricDefinitions": metric_definitions(metrics),
        },
        "RoleArn": settings.execution_role_arn,
        "HyperParameters": dict(hyperparameters),
        "InputDataConfig": [
            _channel(t.channel, data_uri, t.content_type),
            _channel(SCHEMA_CHANNEL, schema_uri, "application/x-yaml"),
        ],
        "OutputDataConfig": {"S3OutputPath": settings.training_output_uri},
        "ResourceConfig": {
            "InstanceType": t.instance_type,
            "InstanceCount": t.instance_count,
            "VolumeSizeInGB": t.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": t.max_runtime_s},
        "EnableNetworkIsolation": t.network_isolation,
        "EnableInterContainerTrafficEncryption": True,
        "Environment": {"GIT_COMMIT": git_commit},
        "Tags": [
            {"Key": "project", "Value": str(project["project"])},
            {"Key": "environment", "Value": settings.environment},
            {"Key": "image-digest", "Value": image.digest},
        ],
    }


def model_artifact_uri(request: Mapping[str, Any]) -> str:
    """Where SageMaker writes the job's ``model.tar.gz``."""
    out = str(request["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
    return f"{out}/{request['TrainingJobName']}/output/model.tar.gz"


# --------------------------------------------------------------------------- AWS calls
def upload_file(path: Path, kind: str, settings: SageMakerSettings, s3: Any) -> str:
    """Upload a local file under a content-addressed prefix; return that prefix (a channel's S3Uri).

    ``s3://<bucket>/models/<model>/inputs/<kind>/<sha256>/<file name>``: the same bytes always land in the
    same place, so a job's channel can never change under it; and it stays inside ``models/``, the
    prefix terraform/modules/iam lets the training roles write.
    """
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    prefix = f"models/{aws.project()['model_name']}/inputs/{kind}/{digest}"
    s3.put_object(Bucket=settings.artifact_bucket, Key=f"{prefix}/{path.name}", Body=data)
    return f"s3://{settings.artifact_bucket}/{prefix}/"


def launch(request: Mapping[str, Any], sm: Any) -> str:
    return str(sm.create_training_job(**request)["TrainingJobArn"])


def wait(
    name: str,
    sm: Any,
    timeout_s: float,
    poll_s: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll until the job ends; return its description, or raise naming the failure."""
    deadline = clock() + timeout_s
    while True:
        job = sm.describe_training_job(TrainingJobName=name)
        status = job["TrainingJobStatus"]
        if status == "Completed":
            return dict(job)
        if status in TERMINAL:
            reason = job.get("FailureReason", "no reason given")
            raise PromotionError(f"training job {name} ended {status}: {reason}")
        if clock() >= deadline:
            raise PromotionError(
                f"training job {name} still {status} after {timeout_s:.0f}s "
                f"(secondary status {job.get('SecondaryStatus')}); it keeps running, stop it if unwanted"
            )
        sleep(poll_s)


# --------------------------------------------------------------------------- local stand-in for SageMaker
def _download_prefix(uri: str, dest: Path, s3: Any) -> int:
    bucket, _, prefix = uri[5:].partition("/")
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            rel = obj["Key"][len(prefix) :].lstrip("/") or Path(obj["Key"]).name
            target = (dest / rel).resolve()
            if dest.resolve() not in target.parents:
                raise PromotionError(f"S3 key {obj['Key']!r} would land outside {dest}")
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(target))
            count += 1
    return count


def tar_model_dir(model_dir: Path, out: Path) -> Path:
    """Pack ``model_dir`` like SageMaker does: files at the archive's top level, gzip."""
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(model_dir)))
    return out


def _lay_out_and_train(
    root: Path,
    hyperparameters: Mapping[str, str],
    channel_types: Mapping[str, str],
    env: Mapping[str, str],
    train_cmd: Sequence[str],
    timeout_s: float,
) -> str:
    """Write SageMaker's config files under ``root`` (channels already in place), run ``train``."""
    for sub in ("input/config", "model", "output/data"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    channels = {
        name: {
            "ContentType": ctype,
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        for name, ctype in channel_types.items()
    }
    config = root / "input" / "config"
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"})
    )
    full_env = {**os.environ, "OPT_ML_ROOT": str(root), **env}
    proc = subprocess.run(
        list(train_cmd), env=full_env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        failure = root / "output" / "failure"
        reason = failure.read_text() if failure.exists() else log[-2000:]
        raise PromotionError(f"train exited {proc.returncode}: {reason.strip()}")
    return log


def run_local(
    request: Mapping[str, Any],
    root: Path,
    s3: Any,
    train_cmd: Sequence[str] = (sys.executable, str(TRAIN_ENTRYPOINT)),
    upload: bool = True,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Run ``request``'s container contract here under ``root`` (standing for /opt/ml): fetch each S3
    channel, write the config files, run ``train``, upload model.tar.gz where SageMaker would.

    ``request`` may be the CreateTrainingJob request or the DescribeTrainingJob answer. Returns
    ``{"model_dir", "model_data_url", "log"}``; raises PromotionError with output/failure's text.
    """
    types = {}
    for channel in request["InputDataConfig"]:
        name = channel["ChannelName"]
        source = channel["DataSource"]["S3DataSource"]["S3Uri"]
        if _download_prefix(source, root / "input" / "data" / name, s3) == 0:
            raise PromotionError(f"channel {name}: no objects under {source}")
        types[name] = channel.get("ContentType", "")
    log = _lay_out_and_train(
        root, request.get("HyperParameters", {}), types, request.get("Environment", {}), train_cmd, timeout_s
    )
    result: dict[str, Any] = {"model_dir": str(root / "model"), "log": log}
    if upload:
        url = model_artifact_uri(request)
        with tempfile.TemporaryDirectory() as tmp:
            archive = tar_model_dir(root / "model", Path(tmp) / "model.tar.gz")
            bucket, key = url[5:].split("/", 1)
            s3.upload_file(str(archive), bucket, key)
        result["model_data_url"] = url
    return result


def run_local_files(
    root: Path,
    data: Path,
    schema: Path,
    hyperparameters: Mapping[str, str],
    settings: SageMakerSettings,
    train_cmd: Sequence[str] = (sys.executable, str(TRAIN_ENTRYPOINT)),
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """The same contract with local files as channels: no AWS at all (``make sagemaker-train-local``)."""
    for name, source in ((settings.training.channel, data), (SCHEMA_CHANNEL, schema)):
        dest = root / "input" / "data" / name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / source.name)
    types = {settings.training.channel: settings.training.content_type, SCHEMA_CHANNEL: "application/x-yaml"}
    log = _lay_out_and_train(
        root, hyperparameters, types, {"GIT_COMMIT": _git_commit()}, train_cmd, timeout_s
    )
    return {"model_dir": str(root / "model"), "log": log}


# --------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m promotion.sagemaker_training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--environment", required=True)
    parser.add_argument("--image", required=True, help="NAME@sha256:<64 hex>")
    parser.add_argument("--data", required=True, help="s3:// prefix, or a local table file to upload first")
    parser.add_argument("--schema", default=str(SCHEMA_FILE), help="s3:// prefix or local schema.yaml")
    parser.add_argument("--params", default=str(PARAMS_FILE), help="hyperparameter file (params.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="print the request; call nothing")
    parser.add_argument(
        "--local",
        metavar="DIR",
        help="run the container contract here, DIR standing for /opt/ml (local --data/--schema: no AWS)",
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the job")
    parser.add_argument("--no-wait", action="store_true", help="return once the job is created")
    return parser


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=aws.REPO, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def main(argv: Sequence[str] | None = None, clients: aws.Clients | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load(args.environment)
        image = ImageRef.parse(args.image)
        hyper = flatten_hyperparameters(load_params(args.params))
        name = job_name(image)
        sources = {"train": args.data, SCHEMA_CHANNEL: args.schema}
        if args.dry_run:
            uris = {
                k: v if v.startswith("s3://") else f"s3://{settings.artifact_bucket}/<{k} sha256>/"
                for k, v in sources.items()
            }
            request = training_request(
                settings, image, uris["train"], uris[SCHEMA_CHANNEL], hyper, name, _git_commit()
            )
            aws.validate_request("sagemaker", "CreateTrainingJob", request)
            print(json.dumps(request, indent=2, sort_keys=True))
            return 0
        if args.local and not any(v.startswith("s3://") for v in sources.values()):
            result = run_local_files(Path(args.local), Path(args.data), Path(args.schema), hyper, settings)
            print(json.dumps({"model_dir": result["model_dir"]}, indent=2))
            return 0
        clients = clients or aws.Clients()
        uris = {
            k: v
            if v.startswith("s3://")
            else upload_file(Path(v), "data" if k == "train" else k, settings, clients("s3"))
            for k, v in sources.items()
        }
        request = training_request(
            settings, image, uris["train"], uris[SCHEMA_CHANNEL], hyper, name, _git_commit()
        )
        if args.local:
            result = run_local(request, Path(args.local), clients("s3"))
            print(json.dumps({k: v for k, v in result.items() if k != "log"}, indent=2))
            return 0
        arn = launch(request, clients("sagemaker"))
        summary: dict[str, Any] = {"TrainingJobName": name, "TrainingJobArn": arn}
        if not args.no_wait:
            job = wait(name, clients("sagemaker"), args.timeout)
            summary["ModelArtifacts"] = job["ModelArtifacts"]["S3ModelArtifacts"]
            summary["FinalMetricDataList"] = job.get("FinalMetricDataList", [])
        print(json.dumps(summary, indent=2, default=str))
        return 0
    except (PromotionError, ImageRefError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
