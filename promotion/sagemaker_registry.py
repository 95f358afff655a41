"""SageMaker Model Registry: register a trained artifact as a model package version, approve it, find it.

A version records the image (ECR, by digest), the artifact (``model.tar.gz`` in S3), the model's own
digest and metrics (read from the artifact's ``metadata.json``, never retyped) and starts
``PendingManualApproval``. Deployment takes only an ``Approved`` version whose image is the very digest
being promoted; it never picks "the newest approved".

    python -m promotion.sagemaker_registry register --environment staging --image NAME@sha256:... \\
        --model-data s3://bucket/.../model.tar.gz
    python -m promotion.sagemaker_registry approve --arn ARN --description "reviewed by ..."
    python -m promotion.sagemaker_registry list --environment staging
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from promotion import aws
from promotion.base import PromotionError
from promotion.refs import ImageRef, ImageRefError
from promotion.sagemaker_config import SageMakerSettings, all_endpoint_instance_types, load

PENDING = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
# Read by the model server: refuse to serve an artifact whose model file has another digest.
EXPECTED_DIGEST_ENV = "MODEL_SERVER_MODEL_DIGEST"
CONTENT_TYPES = ["application/json", "text/csv"]
RESPONSE_TYPES = ["application/json"]

# Keys of CustomerMetadataProperties this module writes and reads back.
P_MODEL_DIGEST = "model_digest"
P_IMAGE = "image"
P_MODEL_VERSION = "model_version"
P_DATA_DIGEST = "data_digest"
P_GIT_COMMIT = "git_commit"


# --------------------------------------------------------------------------- S3 helpers
def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    if not bucket or not key:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return bucket, key


def sibling_uri(uri: str, name: str) -> str:
    """``s3://b/p/model.tar.gz`` + ``metrics.json`` -> ``s3://b/p/metrics.json``."""
    return uri.rsplit("/", 1)[0] + "/" + name


def read_artifact_metadata(model_data_url: str, s3: Any) -> dict[str, Any]:
    """Stream ``model.tar.gz`` from S3 and return its ``metadata.json``, after checking that the
    model file inside has the digest the metadata records."""
    bucket, key = split_s3_uri(model_data_url)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except Exception as exc:
        raise PromotionError(f"read artifact {model_data_url}: {exc}") from exc
    return metadata_from_tarball(body, model_data_url)


def metadata_from_tarball(fileobj: Any, where: str) -> dict[str, Any]:
    meta: dict[str, Any] | None = None
    model_digests: dict[str, str] = {}
    try:
        with tarfile.open(fileobj=fileobj, mode="r|gz") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if not member.isfile() or "/" in name:
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                if name == "metadata.json":
                    meta = json.loads(handle.read().decode("utf-8"))
                else:
                    h = hashlib.sha256()
                    while block := handle.read(1 << 20):
                        h.update(block)
                    model_digests[name] = "sha256:" + h.hexdigest()
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise PromotionError(f"{where}: not a readable model.tar.gz: {exc}") from exc
    if not isinstance(meta, dict):
        raise PromotionError(f"{where}: metadata.json missing from the archive's top level")
    for field in ("digest", "model_file", "name"):
        if field not in meta:
            raise PromotionError(f"{where}: metadata.json lacks {field!r}")
    actual = model_digests.get(str(meta["model_file"]))
    if actual is None:
        raise PromotionError(f"{where}: model file {meta['model_file']!r} missing from the archive")
    if actual != meta["digest"]:
        raise PromotionError(f"{where}: model file digest {actual} does not match metadata {meta['digest']}")
    return meta


def flat_metrics(metrics: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a (possibly nested) metrics mapping, keyed by dotted path."""
    out: dict[str, float] = {}
    if isinstance(metrics, Mapping):
        for key, value in metrics.items():
            out.update(flat_metrics(value, f"{prefix}{key}."))
    elif isinstance(metrics, int | float) and not isinstance(metrics, bool):
        out[prefix.rstrip(".")] = float(metrics)
    return out


# --------------------------------------------------------------------------- requests (pure)
def package_request(
    settings: SageMakerSettings,
    image_uri: str,
    model_data_url: str,
    meta: Mapping[str, Any],
    *,
    metrics_uri: str,
    training_job_arn: str | None = None,
    instance_types: Sequence[str] = (),
) -> dict[str, Any]:
    """The CreateModelPackage request for one artifact and image, pending manual approval."""
    props = {
        P_MODEL_DIGEST: str(meta["digest"]),
        P_IMAGE: image_uri,
        P_MODEL_VERSION: str(meta.get("version", "")),
        P_DATA_DIGEST: str(meta.get("data_digest", "")),
        P_GIT_COMMIT: str(meta.get("git_commit", "")),
    }
    for name, value in sorted(flat_metrics(meta.get("metrics", {})).items()):
        props[f"metric.{name}"[:128]] = f"{value:.6g}"
    props = {k: v for k, v in props.items() if v}
    if len(props) > 50:
        raise PromotionError(f"{len(props)} metadata properties: SageMaker allows at most 50")
    metadata_properties: dict[str, str] = {
        "Repository": f"https://github.com/{aws.project()['github_repository']}"
    }
    if meta.get("git_commit"):
        metadata_properties["CommitId"] = str(meta["git_commit"])
    if training_job_arn:
        metadata_properties["GeneratedBy"] = training_job_arn
    token = hashlib.sha256(f"{meta['digest']}|{image_uri}|{model_data_url}".encode()).hexdigest()[:36]
    return {
        "ModelPackageGroupName": settings.model_package_group,
        "ModelPackageDescription": (
            f"{meta.get('name', '')} {meta.get('version', '')}: model {meta['digest']}, image {image_uri}"
        )[:1024],
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": image_uri,
                    "ModelDataUrl": model_data_url,
                    "Environment": {EXPECTED_DIGEST_ENV: str(meta["digest"])},
                }
            ],
            "SupportedContentTypes": CONTENT_TYPES,
            "SupportedResponseMIMETypes": RESPONSE_TYPES,
            "SupportedRealtimeInferenceInstanceTypes": sorted(
                set(instance_types or [settings.endpoint.instance_type])
            ),
        },
        "ModelApprovalStatus": PENDING,
        "CustomerMetadataProperties": props,
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": metrics_uri}}
        },
        "MetadataProperties": metadata_properties,
        "Domain": "MACHINE_LEARNING",
        "Task": "CLASSIFICATION",
        "ClientToken": token,
    }


# --------------------------------------------------------------------------- registry calls
def ensure_group(settings: SageMakerSettings, sm: Any) -> str:
    """Create the model package group if it does not exist; return its ARN."""
    name = settings.model_package_group
    try:
        return str(sm.describe_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupArn"])
    except Exception as exc:
        if aws.error_code(exc) not in ("ValidationException", "ResourceNotFound"):
            raise
    project = aws.project()
    response = sm.create_model_package_group(
        ModelPackageGroupName=name,
        ModelPackageGroupDescription=f"Versions of {project['model_name']} ({project['project']})",
        Tags=[{"Key": "project", "Value": str(project["project"])}],
    )
    return str(response["ModelPackageGroupArn"])


def iter_packages(group: str, sm: Any, status: str | None = None) -> Iterator[dict[str, Any]]:
    """Full descriptions of the group's versions, newest first."""
    kwargs: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
    }
    if status:
        kwargs["ModelApprovalStatus"] = status
    token = None
    while True:
        page = sm.list_model_packages(**kwargs, **({"NextToken": token} if token else {}))
        for summary in page.get("ModelPackageSummaryList", []):
            yield sm.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        token = page.get("NextToken")
        if not token:
            return


def package_image(package: Mapping[str, Any]) -> str:
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    return str(containers[0].get("Image", "")) if containers else ""


def package_model_data(package: Mapping[str, Any]) -> str:
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    return str(containers[0].get("ModelDataUrl", "")) if containers else ""


def find_packages(
    settings: SageMakerSettings,
    sm: Any,
    *,
    image_uri: str,
    model_digest: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    found = []
    for package in iter_packages(settings.model_package_group, sm, status):
        props = package.get("CustomerMetadataProperties") or {}
        if package_image(package) != image_uri:
            continue
        if model_digest is not None and props.get(P_MODEL_DIGEST) != model_digest:
            continue
        found.append(package)
    return found


def register(
    settings: SageMakerSettings,
    image: ImageRef,
    model_data_url: str,
    clients: aws.Clients,
    *,
    training_job_arn: str | None = None,
) -> dict[str, Any]:
    """Register ``model_data_url`` + ``image`` as a new version pending approval.

    Idempotent: when the group already holds this model digest with this image, that version is
    returned (``registered`` False) instead of a duplicate.
    """
    sm, s3 = clients("sagemaker"), clients("s3")
    image_uri = settings.ecr_image(image)
    meta = read_artifact_metadata(model_data_url, s3)
    ensure_group(settings, sm)
    existing = find_packages(settings, sm, image_uri=image_uri, model_digest=str(meta["digest"]))
    if existing:
        package = existing[0]
        return {
            "ModelPackageArn": package["ModelPackageArn"],
            "ModelApprovalStatus": package.get("ModelApprovalStatus"),
            "registered": False,
        }
    bucket, key = split_s3_uri(sibling_uri(model_data_url, "metrics.json"))
    metrics = {"model_digest": meta["digest"], "metrics": meta.get("metrics", {})}
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(metrics, indent=2, sort_keys=True).encode(),
        ContentType="application/json",
    )
    request = package_request(
        settings,
        image_uri,
        model_data_url,
        meta,
        metrics_uri=f"s3://{bucket}/{key}",
        training_job_arn=training_job_arn,
        instance_types=all_endpoint_instance_types(),
    )
    arn = sm.create_model_package(**request)["ModelPackageArn"]
    return {"ModelPackageArn": arn, "ModelApprovalStatus": PENDING, "registered": True}


def set_status(arn: str, status: str, description: str, sm: Any) -> None:
    if status not in (APPROVED, REJECTED, PENDING):
        raise ValueError(f"status {status!r} is not one of {APPROVED}, {REJECTED}, {PENDING}")
    if not description.strip():
        raise ValueError("an approval decision needs a description (who reviewed what)")
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription=description)


def find_deployable(
    settings: SageMakerSettings, image_uri: str, sm: Any, arn: str | None = None
) -> dict[str, Any]:
    """The one Approved version whose image is ``image_uri`` (or the named ``arn``, checked)."""
    if arn:
        package = sm.describe_model_package(ModelPackageName=arn)
        if package.get("ModelApprovalStatus") != APPROVED:
            raise PromotionError(f"model package {arn} is {package.get('ModelApprovalStatus')}, not Approved")
        if package_image(package) != image_uri:
            raise PromotionError(f"model package {arn} holds image {package_image(package)}, not {image_uri}")
        return dict(package)
    found = find_packages(settings, sm, image_uri=image_uri, status=APPROVED)
    if not found:
        raise PromotionError(
            f"no Approved model package in group {settings.model_package_group} for image {image_uri}: "
            "register it and have it approved first"
        )
    if len(found) > 1:
        arns = ", ".join(p["ModelPackageArn"] for p in found)
        raise PromotionError(
            f"{len(found)} Approved model packages hold image {image_uri} ({arns}): "
            "name one with the model_package_arn option"
        )
    return found[0]


# --------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m promotion.sagemaker_registry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    reg = sub.add_parser("register", help="register an artifact + image, pending manual approval")
    reg.add_argument("--environment", required=True)
    reg.add_argument("--image", required=True, help="NAME@sha256:<64 hex>")
    source = reg.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-data", help="s3://.../model.tar.gz")
    source.add_argument("--training-job", help="a completed training job whose artifact to register")
    for name, help_text in (("approve", "mark a version Approved"), ("reject", "mark a version Rejected")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--arn", required=True)
        p.add_argument("--description", required=True, help="who reviewed what, and the decision")
    lst = sub.add_parser("list", help="list the group's versions with status, digests and metrics")
    lst.add_argument("--environment", required=True)
    return parser


def main(argv: Sequence[str] | None = None, clients: aws.Clients | None = None) -> int:
    args = _parser().parse_args(argv)
    clients = clients or aws.Clients()
    sm = clients("sagemaker")
    try:
        if args.command == "register":
            settings = load(args.environment)
            image = ImageRef.parse(args.image)
            job_arn = None
            model_data = args.model_data
            if args.training_job:
                job = sm.describe_training_job(TrainingJobName=args.training_job)
                if job["TrainingJobStatus"] != "Completed":
                    raise PromotionError(f"training job {args.training_job} is {job['TrainingJobStatus']}")
                model_data, job_arn = job["ModelArtifacts"]["S3ModelArtifacts"], job["TrainingJobArn"]
            result = register(settings, image, model_data, clients, training_job_arn=job_arn)
        elif args.command in ("approve", "reject"):
            status = APPROVED if args.command == "approve" else REJECTED
            set_status(args.arn, status, args.description, sm)
            result = {"ModelPackageArn": args.arn, "ModelApprovalStatus": status}
        else:
            settings = load(args.environment)
            result = {
                "versions": [
                    {
                        "arn": p["ModelPackageArn"],
                        "status": p.get("ModelApprovalStatus"),
                        "image": package_image(p),
                        "model_data": package_model_data(p),
                        **(p.get("CustomerMetadataProperties") or {}),
                    }
                    for p in iter_packages(settings.model_package_group, sm)
                ]
            }
    except (PromotionError, ImageRefError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2, sort_keys=True, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
