"""Model Registry requests, artifact checks and the choice of the version to deploy (fakes, no AWS)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from promotion import aws
from promotion import sagemaker_registry as reg
from promotion.base import PromotionError
from promotion.sagemaker_config import load

MODEL = b"not really a skops file, but bytes with a digest"
DIGEST = "sha256:" + hashlib.sha256(MODEL).hexdigest()
META = {
    "name": "penguins",
    "version": DIGEST[7:19],
    "digest": DIGEST,
    "model_file": "model.skops",
    "git_commit": "0123abc",
    "data_digest": "sha256:" + "0" * 64,
    "metrics": {
        "accuracy": 0.987654321,
        "f1_macro": 0.98,
        "n_holdout": 86,
        "per_class": {"Adelie": {"f1": 1}},
    },
}
IMAGE_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-template@sha256:" + "2e" * 32


def tarball(files: dict[str, bytes], prefix: str = "") -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def test_metadata_is_read_and_the_model_digest_checked():
    meta = reg.metadata_from_tarball(
        tarball({"model.skops": MODEL, "metadata.json": json.dumps(META).encode()}), "x"
    )
    assert meta["digest"] == DIGEST
    # SageMaker's own archives may prefix members with "./"
    again = reg.metadata_from_tarball(
        tarball({"model.skops": MODEL, "metadata.json": json.dumps(META).encode()}, "./"), "x"
    )
    assert again == meta


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"model.skops": MODEL + b"!", "metadata.json": json.dumps(META).encode()},
            "does not match metadata",
        ),
        ({"model.skops": MODEL}, "metadata.json missing"),
        ({"metadata.json": json.dumps(META).encode()}, "model file 'model.skops' missing"),
    ],
)
def test_a_bad_archive_is_refused(files, message):
    with pytest.raises(PromotionError, match=message):
        reg.metadata_from_tarball(tarball(files), "s3://b/model.tar.gz")


def test_not_a_tarball():
    with pytest.raises(PromotionError, match=r"not a readable model\.tar\.gz"):
        reg.metadata_from_tarball(io.BytesIO(b"plain text"), "s3://b/model.tar.gz")


def test_package_request_is_pending_and_carries_digest_and_metrics():
    settings = load("staging")
    req = reg.package_request(
        settings,
        IMAGE_URI,
        "s3://b/models/penguins/training/job/output/model.tar.gz",
        META,
        metrics_uri="s3://b/models/penguins/training/job/output/metrics.json",
        training_job_arn="arn:aws:sagemaker:eu-west-1:123456789012:training-job/job",
        instance_types=["ml.m5.large", "ml.c5.large"],
    )
    aws.validate_request("sagemaker", "CreateModelPackage", req)
    assert req["ModelApprovalStatus"] == "PendingManualApproval"
    assert req["ModelPackageGroupName"] == settings.model_package_group
    container = req["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == IMAGE_URI
    assert container["Environment"] == {reg.EXPECTED_DIGEST_ENV: DIGEST}
    props = req["CustomerMetadataProperties"]
    assert (
        props["model_digest"] == DIGEST and props["image"] == IMAGE_URI and props["git_commit"] == "0123abc"
    )
    assert props["metric.accuracy"] == "0.987654" and props["metric.per_class.Adelie.f1"] == "1"
    assert req["MetadataProperties"]["GeneratedBy"].endswith("training-job/job")
    assert req["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == [
        "ml.c5.large",
        "ml.m5.large",
    ]
    assert set(req["InferenceSpecification"]["SupportedContentTypes"]) == {"application/json", "text/csv"}


def test_the_digest_variable_is_a_server_setting():
    # The server refuses an unknown MODEL_SERVER_* variable, so the name must be one it knows.
    from serving.settings import Settings

    settings = Settings.from_env({reg.EXPECTED_DIGEST_ENV: DIGEST})
    assert settings.model_digest == DIGEST


class FakeSageMaker:
    def __init__(self, packages):
        self.packages = {p["ModelPackageArn"]: p for p in packages}

    def list_model_packages(self, **kw):
        status = kw.get("ModelApprovalStatus")
        return {
            "ModelPackageSummaryList": [
                {"ModelPackageArn": arn}
                for arn, p in self.packages.items()
                if status is None or p["ModelApprovalStatus"] == status
            ]
        }

    def describe_model_package(self, ModelPackageName):
        return self.packages[ModelPackageName]


def package(n, status, image=IMAGE_URI, digest=DIGEST):
    return {
        "ModelPackageArn": f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/{n}",
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [{"Image": image, "ModelDataUrl": f"s3://b/{n}/model.tar.gz"}]
        },
        "CustomerMetadataProperties": {"model_digest": digest},
    }


def test_deploys_only_an_approved_version_of_this_image():
    settings = load("staging")
    other = IMAGE_URI.replace("2e2e", "3f3f", 1)
    sm = FakeSageMaker(
        [package(1, "Approved", other), package(2, "PendingManualApproval"), package(3, "Approved")]
    )
    assert reg.find_deployable(settings, IMAGE_URI, sm)["ModelPackageArn"].endswith("/3")
    with pytest.raises(PromotionError, match="no Approved model package"):
        reg.find_deployable(settings, IMAGE_URI.replace("2e2e", "4a4a", 1), sm)


def test_two_approved_versions_of_one_image_need_a_choice():
    settings = load("staging")
    sm = FakeSageMaker([package(1, "Approved"), package(2, "Approved", digest="sha256:" + "9" * 64)])
    with pytest.raises(PromotionError, match="name one with the model_package_arn option"):
        reg.find_deployable(settings, IMAGE_URI, sm)
    chosen = sm.packages[package(2, "x")["ModelPackageArn"]]["ModelPackageArn"]
    assert reg.find_deployable(settings, IMAGE_URI, sm, chosen)["ModelPackageArn"] == chosen


def test_a_named_version_is_still_checked():
    settings = load("staging")
    sm = FakeSageMaker([package(1, "PendingManualApproval"), package(2, "Approved", IMAGE_URI[:-4] + "0000")])
    with pytest.raises(PromotionError, match="is PendingManualApproval, not Approved"):
        reg.find_deployable(settings, IMAGE_URI, sm, package(1, "x")["ModelPackageArn"])
    with pytest.raises(PromotionError, match="holds image"):
        reg.find_deployable(settings, IMAGE_URI, sm, package(2, "x")["ModelPackageArn"])


def test_an_approval_needs_a_reason():
    with pytest.raises(ValueError, match="needs a description"):
        reg.set_status("arn", reg.APPROVED, "  ", sm=None)
    with pytest.raises(ValueError, match="is not one of"):
        reg.set_status("arn", "Deployed", "ok", sm=None)


def test_flat_metrics_skips_non_numbers():
    assert reg.flat_metrics({"a": 1, "b": {"c": 2.5, "d": "x", "e": True}}) == {"a": 1.0, "b.c": 2.5}
