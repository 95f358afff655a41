"""Deploy an approved model package version to a SageMaker real-time endpoint, guarded and smoke-tested.

Steps (``plan`` prints them; nothing is called in a dry run):

1. find the one ``Approved`` version in the model package group whose image is the promoted digest;
2. create a new Model and a new EndpointConfig (names carry the digest and a timestamp: never reused);
3. create or refresh the CloudWatch alarm on the endpoint's 5xx errors;
4. first deploy: ``create_endpoint``; later deploys: ``update_endpoint`` with a blue/green
   ``DeploymentConfig`` (traffic routing, bake time) and ``AutoRollbackConfiguration`` on that alarm.
   An endpoint is never deleted and re-created;
5. wait for ``InService`` on the new config (SageMaker's own rollback shows up as the old config);
6. smoke test: ``invoke_endpoint`` with the artifact's recorded example rows; the labels must match;
7. on a failed smoke test after an update, ``update_endpoint`` back to the previous config.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from promotion import aws
from promotion import sagemaker_registry as registry
from promotion.base import Outcome, Plan, PromotionError, Request
from promotion.sagemaker_config import SageMakerSettings, load
from promotion.sagemaker_smoke import check_answer, encode_rows

TARGET = "sagemaker"
BUSY = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting", "UpdateRollbackFailed"}
POLL_S = 20.0


# --------------------------------------------------------------------------- names and requests (pure)
def resource_name(settings: SageMakerSettings, digest: str, now: datetime) -> str:
    """``<endpoint>-<12 hex>-<UTC time>``: unique per deploy, at most 63 characters."""
    short = digest.split(":", 1)[1][:12]
    stamp = now.strftime("%Y%m%d%H%M%S")
    head = settings.endpoint.name[: 63 - len(short) - len(stamp) - 2].rstrip("-")
    return f"{head}-{short}-{stamp}"


def model_request(settings: SageMakerSettings, name: str, package_arn: str) -> dict[str, Any]:
    return {
        "ModelName": name,
        "ExecutionRoleArn": settings.execution_role_arn,
        # The package pins image digest, artifact and environment; the model adds nothing of its own.
        "PrimaryContainer": {"ModelPackageName": package_arn},
        # The server needs no network: the artifact arrives through ModelDataUrl.
        "EnableNetworkIsolation": True,
        "Tags": _tags(settings),
    }


def endpoint_config_request(settings: SageMakerSettings, name: str, model_name: str) -> dict[str, Any]:
    e = settings.endpoint
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": e.variant,
                "ModelName": model_name,
                "InitialInstanceCount": e.instance_count,
                "InstanceType": e.instance_type,
                "InitialVariantWeight": 1.0,
            }
        ],
        "Tags": _tags(settings),
    }


def alarm_request(settings: SageMakerSettings) -> dict[str, Any]:
    a = settings.alarm
    return {
        "AlarmName": a.name,
        "AlarmDescription": (
            f"{a.metric} on {settings.endpoint.name}/{settings.endpoint.variant}: "
            "rolls back a blue/green endpoint update"
        ),
        "Namespace": "AWS/SageMaker",
        "MetricName": a.metric,
        "Dimensions": [
            {"Name": "EndpointName", "Value": settings.endpoint.name},
            {"Name": "VariantName", "Value": settings.endpoint.variant},
        ],
        "Statistic": a.statistic,
        "Period": a.period_s,
        "EvaluationPeriods": a.evaluation_periods,
        "Threshold": float(a.threshold),
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "Tags": _tags(settings),
    }


def deployment_config(settings: SageMakerSettings, routing: str | None = None) -> dict[str, Any]:
    """Blue/green update policy with auto-rollback on the alarm (``routing`` overrides the config)."""
    d = settings.deployment
    kind = routing or d.routing
    traffic: dict[str, Any] = {"Type": kind, "WaitIntervalInSeconds": d.wait_interval_s}
    if kind == "CANARY":
        traffic["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": d.canary_percent}
    elif kind == "LINEAR":
        traffic["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": d.linear_step_percent}
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": traffic,
            "TerminationWaitInSeconds": d.termination_wait_s,
            "MaximumExecutionTimeoutInSeconds": d.max_execution_timeout_s,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": settings.alarm.name}]},
    }


def bake_time_s(settings: SageMakerSettings, routing: str | None = None) -> int:
    """Seconds a blue/green update spends by design (bake intervals, old fleet kept), on top of the
    time the new instances take to come up: the wait for InService allows for both."""
    d = settings.deployment
    kind = routing or d.routing
    if kind == "LINEAR":
        shifts = -(-100 // (d.linear_step_percent or 100))
    elif kind == "CANARY":
        shifts = 2
    else:
        shifts = 1
    return shifts * d.wait_interval_s + d.termination_wait_s


def update_request(
    settings: SageMakerSettings, config_name: str, routing: str | None = None
) -> dict[str, Any]:
    return {
        "EndpointName": settings.endpoint.name,
        "EndpointConfigName": config_name,
        "DeploymentConfig": deployment_config(settings, routing),
        "RetainAllVariantProperties": False,
    }


def create_request(settings: SageMakerSettings, config_name: str) -> dict[str, Any]:
    return {
        "EndpointName": settings.endpoint.name,
        "EndpointConfigName": config_name,
        "Tags": _tags(settings),
    }


def _tags(settings: SageMakerSettings) -> list[dict[str, str]]:
    return [
        {"Key": "project", "Value": str(aws.project()["project"])},
        {"Key": "environment", "Value": settings.environment},
    ]


# --------------------------------------------------------------------------- plan (offline)
def plan(request: Request) -> Plan:
    settings = load(request.environment)
    image_uri = settings.ecr_image(request.image)
    name = resource_name(settings, request.image.digest, datetime.now(UTC))
    placeholder = (
        f"arn:aws:sagemaker:{settings.region}:{settings.account_id}:model-package/"
        f"{settings.model_package_group}/<version>"
    )
    package = request.options.get("model_package_arn") or placeholder
    documents = {
        "CreateModel": model_request(settings, name, package),
        "CreateEndpointConfig": endpoint_config_request(settings, name, name),
        "PutMetricAlarm": alarm_request(settings),
        "CreateEndpoint (first deploy)": create_request(settings, name),
        "UpdateEndpoint (later deploys)": update_request(settings, name),
    }
    checks = [
        ("sagemaker", "CreateModel", documents["CreateModel"]),
        ("sagemaker", "CreateEndpointConfig", documents["CreateEndpointConfig"]),
        ("cloudwatch", "PutMetricAlarm", documents["PutMetricAlarm"]),
        ("sagemaker", "CreateEndpoint", documents["CreateEndpoint (first deploy)"]),
        ("sagemaker", "UpdateEndpoint", documents["UpdateEndpoint (later deploys)"]),
    ]
    for service, operation, params in checks:
        aws.validate_request(service, operation, params)
    d = settings.deployment
    steps = []
    if d.require_image_in:
        steps.append(f"check that endpoint of environment {d.require_image_in!r} already serves {image_uri}")
    steps += [
        f"find the Approved version in model package group {settings.model_package_group} "
        f"with image {image_uri}" + (f" (named: {package})" if package != placeholder else ""),
        "read metadata.json from the version's model.tar.gz; check the model file's digest",
        f"create model {name} from that version",
        f"create endpoint config {name}: {settings.endpoint.instance_count} x "
        f"{settings.endpoint.instance_type}, variant {settings.endpoint.variant}",
        f"put CloudWatch alarm {settings.alarm.name} ({settings.alarm.metric} >= {settings.alarm.threshold})",
        f"if endpoint {settings.endpoint.name} does not exist: create it; otherwise update it blue/green "
        f"({d.routing}, wait {d.wait_interval_s}s, auto-rollback on {settings.alarm.name}); never delete",
        f"wait for InService on endpoint config {name}: up to {request.timeout_s:.0f}s, plus "
        f"{bake_time_s(settings)}s of blue/green bake time on an update",
        f"invoke the endpoint with the artifact's example rows ({settings.endpoint.content_type}); "
        "labels must match the recorded ones",
        "on a failed smoke test after an update: update back to the previous endpoint config",
    ]
    return Plan(
        target=TARGET,
        environment=request.environment,
        image=str(request.image),
        steps=steps,
        documents=[
            f"## {title}\n{json.dumps(doc, indent=2, sort_keys=True)}" for title, doc in documents.items()
        ],
    )


# --------------------------------------------------------------------------- AWS calls
def describe_endpoint(name: str, sm: Any) -> dict[str, Any] | None:
    try:
        return dict(sm.describe_endpoint(EndpointName=name))
    except Exception as exc:
        if aws.error_code(exc) == "ValidationException" and "Could not find" in str(exc):
            return None
        raise


def served_image(endpoint_name: str, sm: Any) -> set[str]:
    """Images (with digests) the endpoint's current config runs, resolved through model packages."""
    endpoint = describe_endpoint(endpoint_name, sm)
    if endpoint is None:
        return set()
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    images = set()
    for variant in config["ProductionVariants"]:
        model = sm.describe_model(ModelName=variant["ModelName"])
        containers = (
            [model["PrimaryContainer"]] if model.get("PrimaryContainer") else model.get("Containers", [])
        )
        for container in containers:
            if container.get("ModelPackageName"):
                package = sm.describe_model_package(ModelPackageName=container["ModelPackageName"])
                images.add(registry.package_image(package))
            elif container.get("Image"):
                images.add(str(container["Image"]))
    return images


def ensure_alarm(settings: SageMakerSettings, cloudwatch: Any) -> None:
    """PutMetricAlarm creates or replaces: the alarm always matches the config."""
    cloudwatch.put_metric_alarm(**alarm_request(settings))


def wait_in_service(
    settings: SageMakerSettings,
    config_name: str,
    sm: Any,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll_s: float = POLL_S,
) -> dict[str, Any]:
    """Wait until the endpoint is InService on ``config_name``.

    Raises PromotionError on Failed, on timeout, and when the endpoint settles InService on another
    config (SageMaker rolled the update back because the alarm fired).
    """
    name = settings.endpoint.name
    deadline = clock() + timeout_s
    while True:
        endpoint = describe_endpoint(name, sm)
        if endpoint is None:
            raise PromotionError(f"endpoint {name} disappeared while waiting for it")
        status = endpoint["EndpointStatus"]
        current = endpoint.get("EndpointConfigName")
        if status == "InService" and current == config_name:
            return endpoint
        if status == "InService" and current != config_name:
            raise PromotionError(
                f"endpoint {name} is InService on {current}, not {config_name}: "
                f"the update was rolled back (alarm {settings.alarm.name} or deployment failure)"
            )
        if status == "Failed":
            raise PromotionError(
                f"endpoint {name} Failed: {endpoint.get('FailureReason', 'no reason given')}"
            )
        if clock() >= deadline:
            raise PromotionError(f"endpoint {name} still {status} after {timeout_s:.0f}s")
        sleep(poll_s)


def smoke_test(settings: SageMakerSettings, meta: Mapping[str, Any], runtime: Any) -> dict[str, Any]:
    """Invoke the endpoint with the artifact's example rows and check the labels it answers."""
    content_type = settings.endpoint.content_type
    body = encode_rows(meta, content_type)
    try:
        response = runtime.invoke_endpoint(
            EndpointName=settings.endpoint.name,
            ContentType=content_type,
            Accept="application/json",
            Body=body,
        )
    except Exception as exc:
        raise PromotionError(f"smoke test: invoke_endpoint {settings.endpoint.name} failed: {exc}") from exc
    answer = response["Body"].read()
    return check_answer(meta, answer, where=f"endpoint {settings.endpoint.name}")


def promote(
    request: Request,
    clients: aws.Clients | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    settings = load(request.environment)
    clients = clients or aws.Clients()
    sm, cloudwatch = clients("sagemaker"), clients("cloudwatch")
    image_uri = settings.ecr_image(request.image)
    details: dict[str, Any] = {"endpoint": settings.endpoint.name, "image": image_uri}

    gate = settings.deployment.require_image_in
    if gate:
        upstream = load(gate).endpoint.name
        if image_uri not in served_image(upstream, sm):
            raise PromotionError(
                f"{image_uri} is not what endpoint {upstream} ({gate}) serves; promote it there first"
            )

    package = registry.find_deployable(settings, image_uri, sm, request.options.get("model_package_arn"))
    details["model_package_arn"] = package["ModelPackageArn"]
    meta = registry.read_artifact_metadata(registry.package_model_data(package), clients("s3"))
    recorded = (package.get("CustomerMetadataProperties") or {}).get(registry.P_MODEL_DIGEST)
    if recorded and recorded != meta["digest"]:
        raise PromotionError(
            f"model package {package['ModelPackageArn']} records model {recorded}, "
            f"but its artifact holds {meta['digest']}"
        )
    details["model_digest"] = meta["digest"]

    name = resource_name(settings, request.image.digest, now())
    sm.create_model(**model_request(settings, name, package["ModelPackageArn"]))
    sm.create_endpoint_config(**endpoint_config_request(settings, name, name))
    ensure_alarm(settings, cloudwatch)
    details.update(model=name, endpoint_config=name)

    endpoint = describe_endpoint(settings.endpoint.name, sm)
    previous = None
    if endpoint is None:
        sm.create_endpoint(**create_request(settings, name))
        details["action"] = "create_endpoint"
    else:
        status = endpoint["EndpointStatus"]
        if status in BUSY or status == "Failed":
            raise PromotionError(
                f"endpoint {settings.endpoint.name} is {status}: not updating it now "
                "(a Failed endpoint needs a person; it is never deleted and re-created here)"
            )
        previous = endpoint["EndpointConfigName"]
        details.update(previous_endpoint_config=previous, action="update_endpoint")
        sm.update_endpoint(**update_request(settings, name))

    budget = request.timeout_s + (bake_time_s(settings) if previous else 0)
    try:
        wait_in_service(settings, name, sm, budget, sleep, clock)
    except PromotionError as exc:
        raise PromotionError(f"deploy: {exc}") from exc
    try:
        details["smoke"] = smoke_test(settings, meta, clients("sagemaker-runtime"))
    except PromotionError as exc:
        if previous is None:
            raise PromotionError(
                f"{exc}; first deploy, so there is no previous config to return to "
                f"(endpoint {settings.endpoint.name} left on {name} for inspection)"
            ) from exc
        sm.update_endpoint(**update_request(settings, previous, routing="ALL_AT_ONCE"))
        try:
            back_budget = request.timeout_s + bake_time_s(settings, "ALL_AT_ONCE")
            wait_in_service(settings, previous, sm, back_budget, sleep, clock)
        except PromotionError as back:
            raise PromotionError(f"{exc}; rollback to {previous} also failed: {back}") from exc
        raise PromotionError(f"{exc}; rolled back to endpoint config {previous}") from exc
    return Outcome(
        target=TARGET,
        environment=request.environment,
        image=str(request.image),
        succeeded=True,
        details=details,
    )
