"""ASG promotion against a moto server: launch template versions, the group, ALB target health.

Emulator gaps, and how this file fills them (the promotion code always calls the real API shapes):
- moto has no instance refresh (StartInstanceRefresh, DescribeInstanceRefreshes, RollbackInstanceRefresh
  and CancelInstanceRefresh answer 500). ``RefreshOnMoto`` validates each request against botocore's
  model and records it, then performs the refresh with moto's own calls, as AWS would: point the group
  at the desired version,
  replace every instance on another version (detach without decrement, terminate; moto launches the
  replacement and registers it with the target group), and report a final status. moto reports (and
  launches) every group instance at the template's default version, so the emulated refresh also makes
  the version it rolls out the default.
- moto 5.2 mishandles CreateLaunchTemplateVersion: it ignores SourceVersion (AWS copies the source
  version's data and overrides only what the request names) and stores UserData unparsed, so launching
  from that version fails an assertion inside moto. This file runs its own moto server, in process,
  with that one handler corrected (``_fix_create_launch_template_version``).
Everything else (DescribeAutoScalingGroups, DescribeLaunchTemplateVersions, CreateLaunchTemplateVersion,
UpdateAutoScalingGroup, DescribeTargetHealth, the load balancer and its listener the smoke test URL comes
from, instance replacement, target registration) is moto's. No model server runs on moto's instances, so
the smoke test's transport is a fake (``Server``) that answers for whatever the fleet runs.
"""

from __future__ import annotations

import base64
import logging
import uuid
from typing import Any

import pytest

from promotion import asg, aws
from promotion.base import PromotionError, Request
from promotion.refs import ImageRef

pytestmark = pytest.mark.slow  # moto's EC2 backend takes ~15 s to start on first use

MOTO_AMI = "ami-03cf127a"  # one of the images moto ships (listing them all takes seconds)
OLD = "sha256:" + "c" * 64
NEW = "sha256:" + "d" * 64
IMAGE = ImageRef.parse(f"ghcr.io/your-org/mlops-template@{NEW}")
META = {
    "name": "penguins",
    "examples": {"rows": [{"bill_length_mm": 47.5}], "labels": ["Gentoo"]},
}
USER_DATA = f"""#!/bin/bash
set -euo pipefail
IMAGE="ghcr.io/your-org/mlops-template@{OLD}"
podman run -d --name model-server -p 8080:8080 --read-only "$IMAGE"
"""


class RecordingEc2:
    """EC2 client that records (and validates) each CreateLaunchTemplateVersion request."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.requests: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def create_launch_template_version(self, **request: Any) -> Any:
        aws.validate_request("ec2", "CreateLaunchTemplateVersion", request)
        self.requests.append(request)
        return self.real.create_launch_template_version(**request)


def _fix_create_launch_template_version(original: Any) -> Any:
    """moto's handler, then what AWS also does: merge SourceVersion's data, parse UserData."""
    import copy

    from moto.ec2.utils import parse_user_data

    def handler(self: Any) -> Any:
        result = original(self)
        name, tid = self._get_param("LaunchTemplateName"), self._get_param("LaunchTemplateId")
        template = (
            self.ec2_backend.get_launch_template(tid)
            if tid
            else self.ec2_backend.get_launch_template_by_name(name)
        )
        version = template.versions[-1]
        source = self._get_param("SourceVersion")
        if source:
            version.data = {**copy.deepcopy(template.get_version(source).data), **version.data}
        if isinstance(version.data.get("UserData"), str):
            version.data["UserData"] = parse_user_data(version.data["UserData"])
        return result

    return handler


@pytest.fixture(scope="module")
def asg_moto() -> Any:
    """A moto server in this process with CreateLaunchTemplateVersion corrected (see the module doc)."""
    from moto.ec2.responses.launch_templates import LaunchTemplates
    from moto.server import ThreadedMotoServer

    from tests.conftest import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    original = LaunchTemplates.create_launch_template_version
    LaunchTemplates.create_launch_template_version = _fix_create_launch_template_version(original)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        LaunchTemplates.create_launch_template_version = original


class RefreshOnMoto:
    """Auto Scaling client: moto, plus instance refresh performed with moto's own calls."""

    def __init__(self, real: Any, ec2: Any, outcomes: list[str], after_replace: Any = None) -> None:
        self.real, self.ec2 = real, ec2
        self.outcomes = outcomes  # "Successful" or "Failed" per refresh started, in order
        self.after_replace = after_replace
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.status: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def start_instance_refresh(self, **request: Any) -> dict[str, Any]:
        aws.validate_request("autoscaling", "StartInstanceRefresh", request)
        self.requests.append(("StartInstanceRefresh", request))
        name = request["AutoScalingGroupName"]
        group = asg.describe_group(name, self.real)
        before = group["LaunchTemplate"]
        desired = request["DesiredConfiguration"]["LaunchTemplate"]
        outcome = self.outcomes.pop(0)
        self.real.update_auto_scaling_group(AutoScalingGroupName=name, LaunchTemplate=desired)
        # moto reports every group instance as running the template's default version (and launches
        # from it), so the emulated refresh makes the version it rolls out the default for its duration.
        self._set_default(desired)
        stale = [i for i in group["Instances"] if i["LaunchTemplate"]["Version"] != desired["Version"]]
        if outcome == "Failed":
            stale = stale[:1]  # the refresh dies after its first replacement
        for instance in stale:  # moto launches a replacement for each instance detached without decrement
            self.real.detach_instances(
                AutoScalingGroupName=name,
                InstanceIds=[instance["InstanceId"]],
                ShouldDecrementDesiredCapacity=False,
            )
            self.ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
        if outcome == "Failed":  # AWS applies a desired configuration only when the refresh succeeds
            self.real.update_auto_scaling_group(
                AutoScalingGroupName=name,
                LaunchTemplate={"LaunchTemplateId": before["LaunchTemplateId"], "Version": before["Version"]},
            )
            self._set_default(before)
        if self.after_replace is not None:
            self.after_replace(self)
        refresh_id = str(uuid.uuid4())
        self.status[refresh_id] = outcome
        return {"InstanceRefreshId": refresh_id}

    def _set_default(self, spec: dict[str, Any]) -> None:
        self.ec2.modify_launch_template(
            LaunchTemplateId=spec["LaunchTemplateId"], DefaultVersion=spec["Version"]
        )

    def describe_instance_refreshes(self, **request: Any) -> dict[str, Any]:
        aws.validate_request("autoscaling", "DescribeInstanceRefreshes", request)
        status = self.status[request["InstanceRefreshIds"][0]]
        return {
            "InstanceRefreshes": [{"Status": status, "StatusReason": "emulated", "PercentageComplete": 100}]
        }

    def rollback_instance_refresh(self, **request: Any) -> dict[str, Any]:
        """The emulated refreshes end at once, so there is never an active one to roll back."""
        from botocore.exceptions import ClientError

        aws.validate_request("autoscaling", "RollbackInstanceRefresh", request)
        self.requests.append(("RollbackInstanceRefresh", request))
        raise ClientError(
            {"Error": {"Code": "ActiveInstanceRefreshNotFound", "Message": "no active refresh"}},
            "RollbackInstanceRefresh",
        )


@pytest.fixture
def world(asg_moto, monkeypatch):
    """A launch template (user data pins OLD), an instance target group and a 2-instance ASG on moto."""
    from tests.conftest import AWS_TEST_ENV

    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", asg_moto)
    clients = aws.Clients(region_name="us-east-1")
    ec2, elbv2, autoscaling = clients("ec2"), clients("elbv2"), clients("autoscaling")
    suffix = uuid.uuid4().hex[:8]
    ami = ec2.describe_images(ImageIds=[MOTO_AMI])["Images"][0]["ImageId"]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc][:2]
    template = ec2.create_launch_template(
        LaunchTemplateName=f"serving-{suffix}",
        LaunchTemplateData={
            "ImageId": ami,
            "InstanceType": "t3.small",
            "MetadataOptions": {"HttpTokens": "required"},
            "UserData": base64.b64encode(USER_DATA.encode()).decode(),
        },
    )["LaunchTemplate"]
    target_group = elbv2.create_target_group(
        Name=f"serving-{suffix}",
        Protocol="HTTP",
        Port=8080,
        VpcId=vpc,
        HealthCheckPath="/ready",
        TargetType="instance",
    )["TargetGroups"][0]["TargetGroupArn"]
    balancer = elbv2.create_load_balancer(
        Name=f"serving-{suffix}", Subnets=subnets, Scheme="internet-facing", Type="application"
    )["LoadBalancers"][0]
    certificate = clients("acm").request_certificate(DomainName="model.example.com")["CertificateArn"]
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )
    name = f"mlops-template-staging-{suffix}"
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"},
        MinSize=2,
        MaxSize=4,
        DesiredCapacity=2,
        TargetGroupARNs=[target_group],
        VPCZoneIdentifier=",".join(subnets),
        HealthCheckType="ELB",
        HealthCheckGracePeriod=60,
    )
    return {
        "name": name,
        "template": template["LaunchTemplateId"],
        "target_group": target_group,
        "dns_name": balancer["DNSName"],
        "ec2": ec2,
        "elbv2": elbv2,
        "autoscaling": autoscaling,
    }


class Clock:
    """Fake time: sleeping advances it, so wait loops end without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Server:
    """The smoke test's transport: answers ``labels`` and records the URL and the fleet's versions then."""

    def __init__(self, world: dict[str, Any], labels: list[str]) -> None:
        self.world, self.labels = world, labels
        self.urls: list[str] = []
        self.asked_on: list[set[str]] = []

    def __call__(self, url: str) -> Any:
        self.urls.append(url)

        def send(method: str, path: str, body: Any) -> tuple[int, Any]:
            if method == "GET":
                return 200, {"status": "ready"}
            self.asked_on.append(fleet(self.world)[1])
            return 200, {"predictions": [{"label": label} for label in self.labels]}

        return send


def promote(world, outcomes, after_replace=None, labels=("Gentoo",)):
    ec2 = RecordingEc2(world["ec2"])
    autoscaling = RefreshOnMoto(world["autoscaling"], world["ec2"], outcomes, after_replace)
    clients = aws.Clients(region_name="us-east-1", overrides={"ec2": ec2, "autoscaling": autoscaling})
    request = Request(image=IMAGE, environment="staging", timeout_s=60, options={"asg_name": world["name"]})
    server = Server(world, list(labels))
    world["server"] = server
    try:
        clock = Clock()
        outcome = asg.promote(
            request, clients=clients, sleep=clock.sleep, clock=clock, metadata=META, sender=server
        )
        return outcome, ec2, autoscaling
    finally:
        world["last"] = (ec2, autoscaling)


def fleet(world) -> tuple[str, set[str], dict[str, str]]:
    group = asg.describe_group(world["name"], world["autoscaling"])
    versions = {
        i["LaunchTemplate"]["Version"] for i in group["Instances"] if i["LifecycleState"] == "InService"
    }
    health = world["elbv2"].describe_target_health(TargetGroupArn=world["target_group"])[
        "TargetHealthDescriptions"
    ]
    return (
        group["LaunchTemplate"]["Version"],
        versions,
        {h["Target"]["Id"]: h["TargetHealth"]["State"] for h in health},
    )


def default_version(world) -> int:
    templates = world["ec2"].describe_launch_templates(LaunchTemplateIds=[world["template"]])[
        "LaunchTemplates"
    ]
    return int(templates[0]["DefaultVersionNumber"])


def user_data(world, version: str) -> str:
    data = world["ec2"].describe_launch_template_versions(
        LaunchTemplateId=world["template"], Versions=[version]
    )
    return asg.decode_user_data(data["LaunchTemplateVersions"][0]["LaunchTemplateData"]["UserData"])[0]


def test_promotion_moves_the_fleet_to_a_new_version_with_the_digest(world):
    outcome, ec2, autoscaling = promote(world, ["Successful"])
    assert outcome.succeeded and outcome.details["version"] == 2 and outcome.details["previous_digest"] == OLD
    assert user_data(world, "2") == USER_DATA.replace(OLD, NEW)
    assert user_data(world, "1") == USER_DATA  # the old version stays for rollback
    # Everything but the user data comes from version 1 (SourceVersion, merged as AWS does).
    v2 = world["ec2"].describe_launch_template_versions(LaunchTemplateId=world["template"], Versions=["2"])
    assert (
        v2["LaunchTemplateVersions"][0]["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"
    )
    assert ec2.requests == [
        {
            "LaunchTemplateId": world["template"],
            "SourceVersion": "1",
            "VersionDescription": f"image {NEW}",
            "LaunchTemplateData": {
                "UserData": base64.b64encode(USER_DATA.replace(OLD, NEW).encode()).decode()
            },
        }
    ]
    [(call, request)] = autoscaling.requests
    assert call == "StartInstanceRefresh"
    assert request == {
        "AutoScalingGroupName": world["name"],
        "Strategy": "Rolling",
        "DesiredConfiguration": {"LaunchTemplate": {"LaunchTemplateId": world["template"], "Version": "2"}},
        "Preferences": {
            "MinHealthyPercentage": 100,
            "MaxHealthyPercentage": 200,
            "SkipMatching": True,
            "AutoRollback": True,
            "ScaleInProtectedInstances": "Wait",
            "StandbyInstances": "Wait",
        },
    }
    group_version, versions, health = fleet(world)
    assert group_version == "2" and versions == {"2"}
    assert len(health) == 2 and set(health.values()) == {"healthy"}
    assert default_version(world) == 2
    # The smoke test went to the load balancer's HTTPS listener, once the fleet was on version 2.
    assert world["server"].urls == [f"https://{world['dns_name']}"]
    assert world["server"].asked_on == [{"2"}]
    assert outcome.details["smoke"]["labels"] == ["Gentoo"]


def test_a_wrong_smoke_answer_rolls_the_fleet_back(world):
    with pytest.raises(
        PromotionError, match=r"predicted \['Adelie'\].*rolled back to launch template version 1"
    ):
        promote(world, ["Successful", "Successful"], labels=["Adelie"])
    _, autoscaling = world["last"]
    calls = [c for c, _ in autoscaling.requests]
    assert calls == ["StartInstanceRefresh", "RollbackInstanceRefresh", "StartInstanceRefresh"]
    assert world["server"].asked_on == [{"2"}]
    group_version, versions, health = fleet(world)
    assert group_version == "1" and versions == {"1"}
    assert set(health.values()) == {"healthy"}
    assert default_version(world) == 1


def test_a_failed_refresh_rolls_the_fleet_back(world):
    with pytest.raises(PromotionError, match=r"ended Failed.*rolled back to launch template version 1"):
        promote(world, ["Failed", "Successful"])
    _, autoscaling = world["last"]
    calls = [c for c, _ in autoscaling.requests]
    assert calls == ["StartInstanceRefresh", "RollbackInstanceRefresh", "StartInstanceRefresh"]
    assert autoscaling.requests[2][1]["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "1"
    group_version, versions, health = fleet(world)
    assert group_version == "1" and versions == {"1"}
    assert set(health.values()) == {"healthy"}
    assert default_version(world) == 1


def test_an_unhealthy_target_after_the_refresh_rolls_back(world):
    stopped: list[str] = []

    def stop_one_new_instance(autoscaling):
        if stopped:
            return
        group = asg.describe_group(world["name"], world["autoscaling"])
        victim = next(i["InstanceId"] for i in group["Instances"] if i["LaunchTemplate"]["Version"] == "2")
        world["ec2"].stop_instances(InstanceIds=[victim])  # moto then reports it unused in the target group
        stopped.append(victim)

    with pytest.raises(
        PromotionError, match=r"not healthy on version 2: .*rolled back to launch template version 1"
    ):
        promote(world, ["Successful", "Successful"], after_replace=stop_one_new_instance)
    group_version, versions, health = fleet(world)
    assert group_version == "1" and versions == {"1"}
    assert stopped[0] not in {i for i, state in health.items() if state == "healthy"}


def test_missing_group_is_reported(world):
    request = Request(image=IMAGE, environment="staging", options={"asg_name": "no-such-group"})
    with pytest.raises(PromotionError, match="Auto Scaling group no-such-group not found"):
        clock = Clock()
        asg.promote(
            request,
            clients=aws.Clients(region_name="us-east-1"),
            sleep=clock.sleep,
            clock=clock,
            metadata=META,
            sender=Server(world, ["Gentoo"]),
        )
