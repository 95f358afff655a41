"""The training-job request, hyperparameter encoding and the wait loop (no AWS: fakes and botocore's model)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from promotion import aws
from promotion import sagemaker_training as st
from promotion.base import PromotionError
from promotion.refs import ImageRef
from promotion.sagemaker_config import load

IMAGE = ImageRef.parse("ghcr.io/your-org/mlops-template@sha256:" + "1f" * 32)


def container_train() -> ModuleType:
    """The container's `train` executable, loaded as a module (it has no .py suffix)."""
    path = str(aws.REPO / "sagemaker" / "container" / "train")
    loader = importlib.machinery.SourceFileLoader("sagemaker_container_train", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_params_yaml_round_trips_through_hyperparameters():
    params = st.load_params()
    flat = st.flatten_hyperparameters(params)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in flat.items())
    assert flat["train.estimator"] == json.dumps(params["train"]["estimator"])
    assert st.unflatten_hyperparameters(flat) == params
    # The container decodes with its own copy of the inverse: the two must agree.
    assert container_train().unflatten(flat) == params


def test_hand_typed_hyperparameters_stay_strings():
    # A value set in the console ("logistic_regression" without JSON quotes) is kept as text.
    assert st.unflatten_hyperparameters({"train.estimator": "logistic_regression", "split.seed": "7"}) == {
        "train": {"estimator": "logistic_regression"},
        "split": {"seed": 7},
    }


def test_flatten_refuses_what_sagemaker_cannot_hold():
    with pytest.raises(ValueError, match=r"must not contain '\.'"):
        st.flatten_hyperparameters({"a.b": 1})
    with pytest.raises(ValueError, match="at most 100"):
        st.flatten_hyperparameters({f"k{i}": i for i in range(101)})
    with pytest.raises(ValueError, match="too long"):
        st.flatten_hyperparameters({"k": "x" * 2600})


def test_job_name_is_valid_and_names_the_digest():
    name = st.job_name(IMAGE, datetime(2026, 12, 3, 18, 0, 5, tzinfo=UTC))
    assert len(name) <= 63
    assert "1f1f1f1f1f1f" in name and name.endswith("20261203-180005")


def request(**kw):
    settings = load("staging")
    return st.training_request(
        settings,
        IMAGE,
        "s3://bucket/data/penguins/abc/",
        "s3://bucket/schema/penguins/def/",
        st.flatten_hyperparameters(st.load_params()),
        "job-1",
        git_commit="0123abc",
        **kw,
    )


def test_request_is_valid_for_the_real_api_and_points_at_ecr():
    req = request()
    aws.validate_request("sagemaker", "CreateTrainingJob", req)  # raises if botocore would refuse it
    settings = load("staging")
    assert req["AlgorithmSpecification"]["TrainingImage"] == settings.ecr_image(IMAGE)
    assert req["AlgorithmSpecification"]["TrainingImage"].endswith("@" + IMAGE.digest)
    assert req["RoleArn"] == settings.execution_role_arn
    assert [c["ChannelName"] for c in req["InputDataConfig"]] == ["train", "schema"]
    assert req["EnableNetworkIsolation"] is True
    assert req["Environment"] == {"GIT_COMMIT": "0123abc"}
    assert st.model_artifact_uri(req) == f"{settings.training_output_uri}/job-1/output/model.tar.gz"


def test_channels_must_be_s3():
    with pytest.raises(ValueError, match="expected an s3:// URI"):
        st.training_request(load("staging"), IMAGE, "/tmp/data.csv", "s3://b/s/", {}, "job")


class FakeSageMaker:
    def __init__(self, statuses):
        self.statuses = list(statuses)

    def describe_training_job(self, TrainingJobName):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {
            "TrainingJobName": TrainingJobName,
            "TrainingJobStatus": status,
            "SecondaryStatus": "Training",
            "FailureReason": "AlgorithmError: ValueError: column bill_length_mm",
            "ModelArtifacts": {"S3ModelArtifacts": "s3://b/k/model.tar.gz"},
        }


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_wait_polls_until_completed():
    clock = Clock()
    job = st.wait("j", FakeSageMaker(["InProgress", "InProgress", "Completed"]), 600, 30, clock.sleep, clock)
    assert job["TrainingJobStatus"] == "Completed" and clock.now == 60


def test_wait_reports_the_failure_reason():
    clock = Clock()
    with pytest.raises(
        PromotionError, match="ended Failed: AlgorithmError: ValueError: column bill_length_mm"
    ):
        st.wait("j", FakeSageMaker(["InProgress", "Failed"]), 600, 30, clock.sleep, clock)


def test_wait_times_out():
    clock = Clock()
    with pytest.raises(PromotionError, match="still InProgress after 90s"):
        st.wait("j", FakeSageMaker(["InProgress"]), 90, 30, clock.sleep, clock)


def test_dry_run_prints_a_valid_request_without_calling_aws(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: any call would fail
    code = st.main(["--environment", "staging", "--image", str(IMAGE), "--data", "s3://b/data/", "--dry-run"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://b/data/"
    assert printed["HyperParameters"]["model.name"] == '"penguins"'


def test_cli_refuses_a_tag(capsys):
    assert st.main(["--environment", "staging", "--image", "ghcr.io/x/y:latest", "--data", "s3://b/d/"]) == 1
    assert "not pinned by digest" in capsys.readouterr().err


PROBE = """
import json, os, pathlib, sys
root = pathlib.Path(os.environ["OPT_ML_ROOT"])
seen = {
    "hyperparameters": json.loads((root / "input/config/hyperparameters.json").read_text()),
    "channels": json.loads((root / "input/config/inputdataconfig.json").read_text()),
    "files": sorted(str(p.relative_to(root)) for p in (root / "input/data").rglob("*") if p.is_file()),
}
(root / "model" / "seen.json").write_text(json.dumps(seen))
if seen["hyperparameters"].get("fail"):
    (root / "output" / "failure").write_text("ValueError: asked to fail")
    sys.exit(1)
"""


def test_local_files_are_laid_out_as_sagemaker_does(tmp_path):
    data, schema = tmp_path / "penguins.csv", aws.REPO / "data" / "schema.yaml"
    data.write_text("a,b\n1,2\n")
    root = tmp_path / "opt_ml"
    hyper = {"train.estimator": '"logistic_regression"'}
    result = st.run_local_files(
        root, data, schema, hyper, load("staging"), train_cmd=[sys.executable, "-c", PROBE]
    )
    seen = json.loads((Path(result["model_dir"]) / "seen.json").read_text())
    assert seen["hyperparameters"] == hyper
    assert set(seen["channels"]) == {"train", "schema"}
    assert seen["channels"]["train"]["ContentType"] == "text/csv"
    assert seen["files"] == ["input/data/schema/schema.yaml", "input/data/train/penguins.csv"]
    with pytest.raises(PromotionError, match="train exited 1: ValueError: asked to fail"):
        st.run_local_files(
            tmp_path / "again",
            data,
            schema,
            {"fail": "1"},
            load("staging"),
            train_cmd=[sys.executable, "-c", PROBE],
        )
