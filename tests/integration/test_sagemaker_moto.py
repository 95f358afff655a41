"""SageMaker training, Model Registry and endpoint deployment against the moto server.

On the emulator: S3 (data, schema, model.tar.gz, metrics.json), CreateTrainingJob/DescribeTrainingJob,
CreateModelPackageGroup/DescribeModelPackageGroup, CreateModelPackage, ListModelPackages,
DescribeModelPackage, UpdateModelPackage (approval), CreateModel, DescribeModel, CreateEndpointConfig,
DescribeEndpointConfig, CreateEndpoint, DescribeEndpoint, CloudWatch PutMetricAlarm/DescribeAlarms and
sagemaker-runtime InvokeEndpoint (its answer seeded through moto's /moto-api with what the real model
server answers to the same payload).

Not on the emulator: moto's training job runs nothing, so ``run_local`` plays SageMaker's part for the
job moto recorded (the real `train` on the channels and hyperparameters as stored) and uploads
model.tar.gz where moto says the artifact is. UpdateEndpoint is not implemented by moto: the test covers
the code up to that call, checks the exact request (validated against botocore's model) and then
reports the endpoint InService on the new config, as AWS does once the blue/green update completes.
moto keys the InvokeEndpoint answers it was given by payload, not by endpoint, so the wrong-answer case
runs in a region of its own.
"""

from __future__ import annotations

import contextlib
import io
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from promotion import aws, cli
from promotion import sagemaker_endpoint as ep
from promotion import sagemaker_registry as reg
from promotion import sagemaker_training as st
from promotion.base import PromotionError, Request
from promotion.refs import ImageRef
from promotion.sagemaker_config import load
from tests.conftest import AWS_TEST_ENV, REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sagemaker_moto")]

# A region of its own on the shared emulator: moto keeps one backend per region, so nothing another
# test creates (a bucket aside, which is global) can meet these fixed, config-derived names.
REGION = "ap-southeast-2"
IMAGE = ImageRef.parse("ghcr.io/your-org/mlops-template@sha256:" + "7a" * 32)
OTHER_IMAGE = ImageRef.parse("ghcr.io/your-org/mlops-template@sha256:" + "8b" * 32)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def seed_invoke_results(moto: str, *bodies: bytes, region: str = REGION) -> None:
    """Queue the answers moto's InvokeEndpoint returns. moto keeps the first answer it gives for a
    payload and returns it for that payload on any endpoint of the region."""
    results = [{"Body": b.decode(), "ContentType": "application/json"} for b in bodies]
    payload = json.dumps({"account_id": "123456789012", "region": region, "results": results}).encode()
    request = urllib.request.Request(
        f"{moto}/moto-api/static/sagemaker/endpoint-results",
        data=payload,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def real_answer(model_dir: Path, body: bytes) -> bytes:
    """What our model server answers to ``body`` on /invocations (the Flask app, in process)."""
    from serving.app import create_app
    from serving.settings import Settings

    app = create_app(Settings(model_uri=str(model_dir), model_digest=None))
    response = app.test_client().post(
        "/invocations", data=body, headers={"Content-Type": "application/json", "Accept": "application/json"}
    )
    assert response.status_code == 200, response.data
    return response.data


class UpdateEndpointRecorder:
    """SageMaker client: moto for all it implements; UpdateEndpoint validated, recorded and reported done."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.updates: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def update_endpoint(self, **request: Any) -> dict[str, Any]:
        aws.validate_request("sagemaker", "UpdateEndpoint", request)
        self.real.describe_endpoint_config(EndpointConfigName=request["EndpointConfigName"])  # must exist
        self.updates.append(request)
        return {
            "EndpointArn": self.real.describe_endpoint(EndpointName=request["EndpointName"])["EndpointArn"]
        }

    def describe_endpoint(self, **request: Any) -> dict[str, Any]:
        endpoint = dict(self.real.describe_endpoint(**request))
        if self.updates:
            endpoint["EndpointConfigName"] = self.updates[-1]["EndpointConfigName"]
        return endpoint


@pytest.fixture(scope="module")
def world(moto_server, tmp_path_factory):
    """Data and schema uploaded, a training job launched and its artifact produced, a version registered."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**AWS_TEST_ENV, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}.items():
            mp.setenv(key, value)
        mp.setenv("AWS_ENDPOINT_URL", moto_server)
        clients = aws.Clients()
        settings = load("staging")
        s3, sm = clients("s3"), clients("sagemaker")
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(
                Bucket=settings.artifact_bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        from palmerpenguins import load_penguins

        data = tmp_path_factory.mktemp("data") / "penguins.csv"
        load_penguins().to_csv(data, index=False)

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = st.main(
                ["--environment", "staging", "--image", str(IMAGE), "--data", str(data), "--timeout", "60"],
                clients,
            )
        assert code == 0
        summary = json.loads(out.getvalue())
        job = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        root = tmp_path_factory.mktemp("opt_ml")
        local = st.run_local(job, root, s3)

        out = io.StringIO()
        args = ["register", "--environment", "staging", "--image", str(IMAGE)]
        with contextlib.redirect_stdout(out):
            assert reg.main([*args, "--training-job", job["TrainingJobName"]], clients) == 0
        registered = json.loads(out.getvalue())
        pending = sm.describe_model_package(ModelPackageName=registered["ModelPackageArn"])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert reg.main([*args, "--model-data", local["model_data_url"]], clients) == 0
        again = json.loads(out.getvalue())
        yield {
            "moto": moto_server,
            "clients": clients,
            "settings": settings,
            "data": data,
            "job": job,
            "local": local,
            "root": root,
            "registered": registered,
            "pending": pending,
            "again": again,
            "mp": mp,
        }


def test_training_job_runs_our_image_on_the_s3_channels(world):
    job, settings = world["job"], world["settings"]
    assert job["TrainingJobStatus"] == "Completed"
    assert job["AlgorithmSpecification"]["TrainingImage"] == settings.ecr_image(IMAGE)
    assert job["RoleArn"] == settings.execution_role_arn
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert set(channels) == {"train", "schema"}
    # Inputs and outputs stay under models/, the prefix terraform/modules/iam lets training roles write.
    inside = f"s3://{settings.artifact_bucket}/models/"
    assert all(uri.startswith(inside) for uri in channels.values())
    assert job["OutputDataConfig"]["S3OutputPath"].startswith(inside)
    s3 = world["clients"]("s3")
    listed = s3.list_objects_v2(Bucket=settings.artifact_bucket, Prefix=channels["train"].split("/", 3)[3])
    assert [o["Key"].rsplit("/", 1)[1] for o in listed["Contents"]] == ["penguins.csv"]
    assert st.unflatten_hyperparameters(job["HyperParameters"]) == st.load_params()


def test_the_artifact_lands_where_sagemaker_reports_it(world):
    job, local = world["job"], world["local"]
    assert local["model_data_url"] == job["ModelArtifacts"]["S3ModelArtifacts"]
    meta = reg.read_artifact_metadata(local["model_data_url"], world["clients"]("s3"))
    assert meta["digest"] == json.loads((world["root"] / "model" / "metadata.json").read_text())["digest"]
    assert meta["metrics"]["accuracy"] > 0.9


def test_registration_is_pending_with_digest_and_metrics_and_idempotent(world):
    pending, registered, again = world["pending"], world["registered"], world["again"]
    assert registered["registered"] is True and again["registered"] is False
    assert again["ModelPackageArn"] == registered["ModelPackageArn"]
    assert pending["ModelApprovalStatus"] == "PendingManualApproval"
    props = pending["CustomerMetadataProperties"]
    meta = json.loads((world["root"] / "model" / "metadata.json").read_text())
    assert props["model_digest"] == meta["digest"]
    assert float(props["metric.accuracy"]) == pytest.approx(meta["metrics"]["accuracy"], abs=1e-6)
    container = pending["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == world["settings"].ecr_image(IMAGE)
    assert container["Environment"] == {reg.EXPECTED_DIGEST_ENV: meta["digest"]}
    assert pending["MetadataProperties"]["GeneratedBy"] == world["job"]["TrainingJobArn"]
    metrics_uri = pending["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, key = reg.split_s3_uri(metrics_uri)
    stored = json.loads(world["clients"]("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert stored == {"model_digest": meta["digest"], "metrics": meta["metrics"]}


def test_deploy_approval_create_update_gate_and_smoke(world):
    clients, settings, moto = world["clients"], world["settings"], world["moto"]
    sm = clients("sagemaker")
    arn = world["registered"]["ModelPackageArn"]
    clock = Clock()

    # Not approved yet: nothing is deployed.
    with pytest.raises(PromotionError, match="no Approved model package"):
        ep.promote(Request(image=IMAGE, environment="staging"), clients, clock.sleep, clock)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert reg.main(["approve", "--arn", arn, "--description", "reviewed metrics; ok"], clients) == 0
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"

    # First deploy: the endpoint is created; the smoke test gets what the real server answers.
    meta = json.loads((world["root"] / "model" / "metadata.json").read_text())
    from promotion.sagemaker_smoke import encode_rows

    seed_invoke_results(moto, real_answer(world["root"] / "model", encode_rows(meta, "application/json")))
    outcome = ep.promote(Request(image=IMAGE, environment="staging"), clients, clock.sleep, clock)
    assert outcome.succeeded and outcome.details["action"] == "create_endpoint"
    assert outcome.details["smoke"]["labels"] == meta["examples"]["labels"]
    endpoint = sm.describe_endpoint(EndpointName=settings.endpoint.name)
    assert endpoint["EndpointStatus"] == "InService"
    first_config = endpoint["EndpointConfigName"]
    config = sm.describe_endpoint_config(EndpointConfigName=first_config)
    [variant] = config["ProductionVariants"]
    assert variant["InstanceType"] == settings.endpoint.instance_type
    model = sm.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    alarms = clients("cloudwatch").describe_alarms(AlarmNames=[settings.alarm.name])["MetricAlarms"]
    assert [a["MetricName"] for a in alarms] == ["Invocation5XXErrors"]
    assert {d["Name"]: d["Value"] for d in alarms[0]["Dimensions"]}["EndpointName"] == settings.endpoint.name

    # Second deploy: a new config, UpdateEndpoint blue/green with auto-rollback (recorded: moto lacks it).
    recorder = UpdateEndpointRecorder(sm)
    services = {"sagemaker": recorder}
    later = aws.Clients(
        overrides={**services, **{s: clients(s) for s in ("s3", "cloudwatch", "sagemaker-runtime")}}
    )
    clock.now += 1
    from datetime import UTC, datetime, timedelta

    tomorrow = datetime.now(UTC) + timedelta(days=1)
    outcome = ep.promote(
        Request(image=IMAGE, environment="staging"), later, clock.sleep, clock, now=lambda: tomorrow
    )
    assert outcome.details["action"] == "update_endpoint"
    assert outcome.details["previous_endpoint_config"] == first_config
    [update] = recorder.updates
    assert update == {
        "EndpointName": settings.endpoint.name,
        "EndpointConfigName": outcome.details["endpoint_config"],
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "ALL_AT_ONCE",
                    "WaitIntervalInSeconds": settings.deployment.wait_interval_s,
                },
                "TerminationWaitInSeconds": settings.deployment.termination_wait_s,
                "MaximumExecutionTimeoutInSeconds": settings.deployment.max_execution_timeout_s,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": settings.alarm.name}]},
        },
        "RetainAllVariantProperties": False,
    }
    assert outcome.details["endpoint_config"] != first_config
    sm.describe_endpoint_config(EndpointConfigName=outcome.details["endpoint_config"])  # created on moto
    sm.describe_endpoint(EndpointName=settings.endpoint.name)  # never deleted

    # Production only takes what staging serves.
    with pytest.raises(PromotionError, match="is not what endpoint mlops-template-staging"):
        ep.promote(Request(image=OTHER_IMAGE, environment="production"), clients, clock.sleep, clock)

    # Production through the CLI: the gate passes, the endpoint is created and answers like staging.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["--target", "sagemaker", "--environment", "production", "--image", str(IMAGE)])
    assert code == 0
    production = load("production")
    endpoint = sm.describe_endpoint(EndpointName=production.endpoint.name)
    assert endpoint["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == production.endpoint.instance_count


def test_a_wrong_answer_on_first_deploy_fails_and_keeps_the_endpoint(world):
    # moto caches InvokeEndpoint answers by payload within a region (its handler does not see the
    # endpoint name), so this case gets a region of its own, with the same artifact registered there.
    mp, clients = world["mp"], None
    mp.setenv("AWS_REGION", "ap-northeast-3")
    mp.setenv("AWS_DEFAULT_REGION", "ap-northeast-3")
    try:
        clients = aws.Clients()
        settings = load("staging")
        result = reg.register(settings, IMAGE, world["local"]["model_data_url"], clients)
        reg.set_status(result["ModelPackageArn"], reg.APPROVED, "test", clients("sagemaker"))
        meta = json.loads((world["root"] / "model" / "metadata.json").read_text())
        wrong = {
            "predictions": [{"predicted_label": "Gentoo", "probabilities": {}}]
            * len(meta["examples"]["rows"])
        }
        seed_invoke_results(world["moto"], json.dumps(wrong).encode(), region="ap-northeast-3")
        clock = Clock()
        with pytest.raises(PromotionError, match=r"row 0: predicted 'Gentoo'.*first deploy.*left on"):
            ep.promote(Request(image=IMAGE, environment="staging"), clients, clock.sleep, clock)
        endpoint = clients("sagemaker").describe_endpoint(EndpointName=settings.endpoint.name)
        assert endpoint["EndpointStatus"] == "InService"  # not deleted
    finally:
        mp.setenv("AWS_REGION", REGION)
        mp.setenv("AWS_DEFAULT_REGION", REGION)


def test_cli_dry_run_needs_no_aws(world, capsys):
    world["mp"].setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    try:
        assert (
            cli.main(
                ["--target", "sagemaker", "--environment", "staging", "--image", str(IMAGE), "--dry-run"]
            )
            == 0
        )
    finally:
        world["mp"].setenv("AWS_ENDPOINT_URL", world["moto"])
    assert "CreateEndpointConfig" in capsys.readouterr().out


def test_schema_channel_is_the_repository_schema(world):
    s3 = world["clients"]("s3")
    uri = next(c for c in world["job"]["InputDataConfig"] if c["ChannelName"] == "schema")
    bucket, key = reg.split_s3_uri(uri["DataSource"]["S3DataSource"]["S3Uri"] + "schema.yaml")
    assert (
        s3.get_object(Bucket=bucket, Key=key)["Body"].read() == (REPO / "data" / "schema.yaml").read_bytes()
    )
