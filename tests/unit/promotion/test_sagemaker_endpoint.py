"""Endpoint deployment: requests, blue/green update, waits, smoke test and rollback (fakes, no AWS)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from datetime import UTC, datetime

import pytest

from promotion import aws
from promotion import sagemaker_endpoint as ep
from promotion import sagemaker_smoke as smoke
from promotion.base import PromotionError, Request
from promotion.refs import ImageRef
from promotion.sagemaker_config import load

IMAGE = ImageRef.parse("ghcr.io/your-org/mlops-template@sha256:" + "5c" * 32)
MODEL = b"model bytes"
META = {
    "name": "penguins",
    "version": "v1",
    "digest": "sha256:" + hashlib.sha256(MODEL).hexdigest(),
    "model_file": "model.skops",
    "classes": ["Adelie", "Gentoo"],
    "input_schema": {
        "features": [{"name": "bill_length_mm", "dtype": "float64"}, {"name": "island", "dtype": "category"}]
    },
    "examples": {
        "rows": [
            {"bill_length_mm": 39.1, "island": "Torgersen"},
            {"bill_length_mm": None, "island": "Biscoe"},
        ],
        "labels": ["Adelie", "Gentoo"],
        "probabilities": [[0.9, 0.1], [0.2, 0.8]],
    },
}
GOOD = {
    "predictions": [
        {"predicted_label": "Adelie", "probabilities": {"Adelie": 0.90001, "Gentoo": 0.09999}},
        {"predicted_label": "Gentoo", "probabilities": {"Adelie": 0.2, "Gentoo": 0.8}},
    ]
}


def test_smoke_payloads_follow_the_sagemaker_protocol():
    assert json.loads(smoke.encode_rows(META, "application/json")) == {"instances": META["examples"]["rows"]}
    assert smoke.encode_rows(META, "text/csv") == b"39.1,Torgersen\n,Biscoe\n"
    assert smoke.check_answer(META, json.dumps(GOOD).encode(), "e")["labels"] == ["Adelie", "Gentoo"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"body", "not a predictions document"),
        ({"predictions": GOOD["predictions"][:1]}, "1 predictions for 2 rows"),
        (
            {
                "predictions": [
                    GOOD["predictions"][0],
                    {**GOOD["predictions"][1], "predicted_label": "Adelie"},
                ]
            },
            "row 1: predicted 'Adelie', the model recorded 'Gentoo'",
        ),
        (
            {
                "predictions": [
                    GOOD["predictions"][0],
                    {"predicted_label": "Gentoo", "probabilities": {"Adelie": 0.3}},
                ]
            },
            "no probability for class 'Gentoo'",
        ),
        (
            {
                "predictions": [
                    GOOD["predictions"][0],
                    {"predicted_label": "Gentoo", "probabilities": {"Adelie": 0.25, "Gentoo": 0.75}},
                ]
            },
            "differ from the recorded ones by 0.05",
        ),
    ],
)
def test_smoke_check_names_the_difference(answer, message):
    body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    with pytest.raises(PromotionError, match=message):
        smoke.check_answer(META, body, "endpoint e")


def _examples(**changes):
    return {**META, "examples": {**META["examples"], **changes}}


@pytest.mark.parametrize(
    "meta",
    [
        {**META, "examples": {k: v for k, v in META["examples"].items() if k != "probabilities"}},
        _examples(probabilities=[]),
        _examples(probabilities=None),
    ],
)
def test_smoke_check_refuses_examples_without_probabilities(meta):
    with pytest.raises(PromotionError, match="records no `probabilities`"):
        smoke.check_answer(meta, json.dumps(GOOD).encode(), "endpoint e")
    with pytest.raises(PromotionError, match="records no `probabilities`"):
        smoke.encode_rows(meta, "application/json")  # refused before anything is sent


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        # a class the recorded rows do not cover would have been dropped by zip(strict=False)
        (
            {**META, "classes": ["Adelie", "Gentoo", "Chinstrap"]},
            "row 0 records 2 probabilities for 3 classes",
        ),
        (
            _examples(probabilities=[[0.9, 0.1], [0.2, 0.7, 0.1]]),
            "row 1 records 3 probabilities for 2 classes",
        ),
        (_examples(probabilities=[[0.9, 0.1]]), "1 probability rows for 2 rows"),
        ({k: v for k, v in META.items() if k != "classes"}, "no `classes`"),
    ],
)
def test_smoke_check_refuses_probabilities_that_do_not_match_the_classes(meta, message):
    with pytest.raises(PromotionError, match=message):
        smoke.check_answer(meta, json.dumps(GOOD).encode(), "endpoint e")


def test_requests_are_valid_for_the_real_apis():
    s = load("production")
    name = ep.resource_name(s, IMAGE.digest, datetime(2026, 12, 3, tzinfo=UTC))
    assert len(name) <= 63 and name.startswith(s.endpoint.name + "-5c5c5c5c5c5c-")
    aws.validate_request("sagemaker", "CreateModel", ep.model_request(s, name, "arn:pkg"))
    aws.validate_request("sagemaker", "CreateEndpointConfig", ep.endpoint_config_request(s, name, name))
    aws.validate_request("cloudwatch", "PutMetricAlarm", ep.alarm_request(s))
    aws.validate_request("sagemaker", "UpdateEndpoint", ep.update_request(s, name))


def test_deployment_config_per_routing():
    s = load("production")
    canary = ep.deployment_config(s)
    traffic = canary["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert traffic == {
        "Type": "CANARY",
        "WaitIntervalInSeconds": s.deployment.wait_interval_s,
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": s.deployment.canary_percent},
    }
    assert canary["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": s.alarm.name}]}
    assert ep.deployment_config(s, "ALL_AT_ONCE")["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"][
        "Type"
    ] == ("ALL_AT_ONCE")


def test_alarm_watches_the_endpoint_variant():
    s = load("staging")
    alarm = ep.alarm_request(s)
    assert alarm["Namespace"] == "AWS/SageMaker" and alarm["MetricName"] == "Invocation5XXErrors"
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "EndpointName": s.endpoint.name,
        "VariantName": s.endpoint.variant,
    }
    assert alarm["TreatMissingData"] == "notBreaching"


def test_plan_is_offline(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    text = ep.plan(Request(image=IMAGE, environment="production")).render()
    assert "UpdateEndpoint (later deploys)" in text and '"CANARY"' in text
    assert "already serves" in text  # the staging gate
    assert "never delete" in text


# --------------------------------------------------------------------------- a fake SageMaker
def tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("model.skops", MODEL), ("metadata.json", json.dumps(META).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Fake:
    """SageMaker, S3, CloudWatch and the runtime, recording every call that changes something.

    ``timelines`` holds, per update/create call in order, the (status, config) states that successive
    DescribeEndpoint calls then return ("NEW" stands for the config just requested); the last one stays.
    """

    def __init__(self, endpoint_config=None, status="InService", timelines=None, answers=None):
        self.calls: list[tuple[str, dict]] = []
        self.image = load("staging").ecr_image(IMAGE)
        self.package_arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/1"
        self.states = [] if endpoint_config is None else [(status, endpoint_config)]
        self.timelines = list(timelines or [])
        self.answers = list(answers or [json.dumps(GOOD).encode()])

    def _changed(self, name, kw):
        self.calls.append((name, kw))
        timeline = self.timelines.pop(0) if self.timelines else [("InService", "NEW")]
        self.states = [(st, kw["EndpointConfigName"] if cfg == "NEW" else cfg) for st, cfg in timeline]

    # sagemaker
    def list_model_packages(self, **kw):
        return {"ModelPackageSummaryList": [{"ModelPackageArn": self.package_arn}]}

    def describe_model_package(self, ModelPackageName):
        return {
            "ModelPackageArn": self.package_arn,
            "ModelApprovalStatus": "Approved",
            "InferenceSpecification": {
                "Containers": [{"Image": self.image, "ModelDataUrl": "s3://b/model.tar.gz"}]
            },
            "CustomerMetadataProperties": {"model_digest": META["digest"]},
        }

    def create_model(self, **kw):
        self.calls.append(("create_model", kw))

    def create_endpoint_config(self, **kw):
        self.calls.append(("create_endpoint_config", kw))

    def create_endpoint(self, **kw):
        self._changed("create_endpoint", kw)

    def update_endpoint(self, **kw):
        self._changed("update_endpoint", kw)

    def describe_endpoint(self, EndpointName):
        from botocore.exceptions import ClientError

        if not self.states:
            raise ClientError(
                {
                    "Error": {
                        "Code": "ValidationException",
                        "Message": f"Could not find endpoint {EndpointName}",
                    }
                },
                "DescribeEndpoint",
            )
        status, config = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"EndpointStatus": status, "EndpointConfigName": config}

    def delete_endpoint(self, **kw):  # must never be called
        self.calls.append(("delete_endpoint", kw))

    # s3
    def get_object(self, Bucket, Key):
        return {"Body": io.BytesIO(tarball())}

    # cloudwatch
    def put_metric_alarm(self, **kw):
        self.calls.append(("put_metric_alarm", kw))

    # runtime
    def invoke_endpoint(self, **kw):
        self.calls.append(("invoke_endpoint", kw))
        return {"Body": io.BytesIO(self.answers.pop(0) if len(self.answers) > 1 else self.answers[0])}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def deploy(fake, timeout=600.0):
    services = ("sagemaker", "s3", "cloudwatch", "sagemaker-runtime")
    clients = aws.Clients(overrides=dict.fromkeys(services, fake))
    clock = Clock()
    request = Request(image=IMAGE, environment="staging", timeout_s=timeout)
    return ep.promote(request, clients, clock.sleep, clock, now=lambda: datetime(2026, 12, 3, 12, tzinfo=UTC))


def names(fake):
    return [n for n, _ in fake.calls]


NEW = "mlops-template-staging-5c5c5c5c5c5c-20261203120000"


def test_first_deploy_creates_the_endpoint():
    fake = Fake()
    outcome = deploy(fake)
    assert outcome.succeeded and outcome.details["action"] == "create_endpoint"
    assert names(fake) == [
        "create_model",
        "create_endpoint_config",
        "put_metric_alarm",
        "create_endpoint",
        "invoke_endpoint",
    ]
    model = fake.calls[0][1]
    assert model["ModelName"] == NEW and model["PrimaryContainer"] == {"ModelPackageName": fake.package_arn}
    assert fake.calls[3][1]["EndpointConfigName"] == NEW
    assert fake.calls[4][1]["ContentType"] == "application/json"


def test_later_deploys_update_blue_green_and_never_delete():
    fake = Fake(
        endpoint_config="old", timelines=[[("Updating", "NEW"), ("Updating", "NEW"), ("InService", "NEW")]]
    )
    outcome = deploy(fake)
    assert outcome.details["previous_endpoint_config"] == "old"
    assert names(fake) == [
        "create_model",
        "create_endpoint_config",
        "put_metric_alarm",
        "update_endpoint",
        "invoke_endpoint",
    ]
    update = fake.calls[3][1]
    assert update["EndpointConfigName"] == NEW
    assert update["DeploymentConfig"] == ep.deployment_config(load("staging"))
    assert "delete_endpoint" not in names(fake)


def test_a_failed_smoke_test_updates_back_to_the_previous_config():
    bad = json.dumps({"predictions": [GOOD["predictions"][1], GOOD["predictions"][0]]}).encode()
    fake = Fake(endpoint_config="old", answers=[bad])
    with pytest.raises(
        PromotionError, match=r"row 0: predicted 'Gentoo'.*rolled back to endpoint config old"
    ):
        deploy(fake)
    updates = [kw for n, kw in fake.calls if n == "update_endpoint"]
    assert [u["EndpointConfigName"] for u in updates] == [NEW, "old"]
    back = updates[1]["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert back["Type"] == "ALL_AT_ONCE"


def test_sagemaker_auto_rollback_is_reported():
    # The alarm fires during the canary: SageMaker rolls back and the endpoint settles on the old config.
    fake = Fake(
        endpoint_config="old", timelines=[[("Updating", "old"), ("RollingBack", "old"), ("InService", "old")]]
    )
    with pytest.raises(PromotionError, match=r"InService on old, not .*rolled back"):
        deploy(fake)
    assert "invoke_endpoint" not in names(fake)


@pytest.mark.parametrize("status", ["Updating", "Failed"])
def test_a_busy_or_failed_endpoint_is_left_alone(status):
    fake = Fake(endpoint_config="old", status=status)
    with pytest.raises(PromotionError, match=f"is {status}: not updating it now"):
        deploy(fake)
    assert "update_endpoint" not in names(fake) and "delete_endpoint" not in names(fake)


def test_a_slow_endpoint_times_out_after_the_timeout_plus_the_bake_time():
    fake = Fake(endpoint_config="old", timelines=[[("Updating", "NEW")]])
    budget = 60 + ep.bake_time_s(load("staging"))
    with pytest.raises(PromotionError, match=f"still Updating after {budget}s"):
        deploy(fake, timeout=60)


def test_bake_time_follows_the_routing():
    prod, staging = load("production"), load("staging")
    d = prod.deployment
    assert ep.bake_time_s(prod) == 2 * d.wait_interval_s + d.termination_wait_s  # canary, then the rest
    assert (
        ep.bake_time_s(staging) == staging.deployment.wait_interval_s + staging.deployment.termination_wait_s
    )
    assert ep.bake_time_s(prod, "ALL_AT_ONCE") == d.wait_interval_s + d.termination_wait_s


def test_first_deploy_smoke_failure_has_nothing_to_roll_back_to():
    fake = Fake(answers=[b"{}"])
    with pytest.raises(PromotionError, match="first deploy, so there is no previous config"):
        deploy(fake)
    assert "delete_endpoint" not in names(fake)


def test_cli_passes_the_chosen_model_package(monkeypatch, capsys):
    from promotion.cli import main, parse_request

    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-template-penguins/3"
    argv = [
        "--target",
        "sagemaker",
        "--environment",
        "staging",
        "--image",
        str(IMAGE),
        "--model-package-arn",
        arn,
    ]
    _, request = parse_request(argv)
    assert request.options["model_package_arn"] == arn
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert main([*argv, "--dry-run"]) == 0
    assert f"(named: {arn})" in capsys.readouterr().out
