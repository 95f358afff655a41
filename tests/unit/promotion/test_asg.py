"""ASG promotion: user-data repinning, the refresh request, health checks, the smoke test through the load
balancer, and rollback (fakes, no AWS, no network)."""

from __future__ import annotations

import base64
import gzip

import pytest

from promotion import asg, aws
from promotion.base import PromotionError, Request
from promotion.refs import ImageRef

OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64
IMAGE = ImageRef.parse(f"ghcr.io/your-org/mlops-template@{NEW}")
SCRIPT = f'#!/bin/bash\nIMAGE=ghcr.io/your-org/mlops-template@{OLD}\npodman pull "$IMAGE"\n# {OLD}\n'
META = {
    "name": "penguins",
    "examples": {
        "rows": [{"bill_length_mm": 47.5}, {"bill_length_mm": 49.0}],
        "labels": ["Gentoo", "Chinstrap"],
    },
}
ALB_DNS = "serving-123.eu-west-1.elb.amazonaws.com"


def b64(text: str, gz: bool = False) -> str:
    raw = text.encode()
    return base64.b64encode(gzip.compress(raw) if gz else raw).decode()


@pytest.mark.parametrize("gz", [False, True])
def test_repin_replaces_every_occurrence_and_keeps_the_encoding(gz):
    new, old = asg.repin_user_data(b64(SCRIPT, gz), NEW)
    assert old == OLD
    text, was_gz = asg.decode_user_data(new)
    assert was_gz is gz
    assert text == SCRIPT.replace(OLD, NEW)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("#!/bin/sh\npodman run image:latest\n", "names no image digest"),
        (f"#!/bin/sh\nA=x@{OLD}\nB=y@{NEW}\n", "2 different digests"),
    ],
)
def test_repin_refuses_user_data_it_does_not_understand(script, message):
    with pytest.raises(PromotionError, match=message):
        asg.repin_user_data(b64(script), NEW)


def test_repin_refuses_non_base64():
    with pytest.raises(PromotionError, match="not base64"):
        asg.repin_user_data("%%%", NEW)


def test_requests_are_valid_for_the_real_apis():
    s = asg.AsgSettings(group_name="g", instance_warmup_s=60)
    req = asg.refresh_request(s, "lt-1", 7)
    aws.validate_request("autoscaling", "StartInstanceRefresh", req)
    assert req["DesiredConfiguration"] == {"LaunchTemplate": {"LaunchTemplateId": "lt-1", "Version": "7"}}
    assert req["Preferences"]["SkipMatching"] is True and req["Preferences"]["InstanceWarmup"] == 60
    assert req["Preferences"]["AutoRollback"] is True
    aws.validate_request(
        "ec2", "CreateLaunchTemplateVersion", asg.version_request("lt-1", 6, b64(SCRIPT), NEW)
    )


def test_plan_is_offline_and_names_the_group(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    text = asg.plan(Request(image=IMAGE, environment="production")).render()
    assert f"{aws.project()['project']}-production-serving" in text
    assert NEW in text and "StartInstanceRefresh" in text and "roll" in text


def test_plan_lists_the_smoke_test_between_health_and_the_default_version():
    steps = asg.plan(Request(image=IMAGE, environment="staging")).steps
    smoke_at = next(i for i, step in enumerate(steps) if step.startswith("smoke test through"))
    assert "load balancer" in steps[smoke_at] and "https when it listens on 443" in steps[smoke_at]
    assert ":predict" in steps[smoke_at]
    assert "healthy in each ALB target group" in steps[smoke_at - 1]
    assert steps[smoke_at + 1] == "make N+1 the template's default version"
    given = Request(image=IMAGE, environment="staging", options={"smoke_url": "https://model.example.com"})
    assert any(
        step.startswith("smoke test through https://model.example.com:") for step in asg.plan(given).steps
    )


# --------------------------------------------------------------------------- a fake AWS with state
class FakeAws:
    """Just enough Auto Scaling, EC2 and ELBv2 to follow promote() through success and failure."""

    def __init__(self, refresh_outcomes, unhealthy=(), listeners=((443, "HTTPS"), (80, "HTTP"))):
        self.calls: list[tuple[str, dict]] = []
        self.listeners = listeners
        self.versions = {1: b64(SCRIPT)}
        self.group_version = "1"
        self.instances = {"i-1": 1, "i-2": 1}
        self.refresh_outcomes = list(refresh_outcomes)  # final status per started refresh
        self.refreshes: dict[str, str] = {}
        self.unhealthy = set(unhealthy)
        self.irreversible = False

    # autoscaling
    def describe_auto_scaling_groups(self, AutoScalingGroupNames):
        return {
            "AutoScalingGroups": [
                {
                    "AutoScalingGroupName": AutoScalingGroupNames[0],
                    "LaunchTemplate": {"LaunchTemplateId": "lt-1", "Version": self.group_version},
                    "DesiredCapacity": 2,
                    "TargetGroupARNs": ["arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/tg/1"],
                    "Instances": [
                        {
                            "InstanceId": iid,
                            "LifecycleState": "InService",
                            "HealthStatus": "Healthy",
                            "LaunchTemplate": {"LaunchTemplateId": "lt-1", "Version": str(v)},
                        }
                        for iid, v in self.instances.items()
                    ],
                }
            ]
        }

    def start_instance_refresh(self, **kw):
        self.calls.append(("start_instance_refresh", kw))
        outcome = self.refresh_outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        rid = f"r-{len(self.refreshes) + 1}"
        self.refreshes[rid] = outcome
        if outcome == "Successful":
            version = int(kw["DesiredConfiguration"]["LaunchTemplate"]["Version"])
            self.instances = {f"i-{version}{k}": version for k in "ab"}
            self.group_version = str(version)
        elif outcome == "Failed":  # half replaced
            version = int(kw["DesiredConfiguration"]["LaunchTemplate"]["Version"])
            self.instances = {"i-1": 1, f"i-{version}a": version}
        return {"InstanceRefreshId": rid}

    def describe_instance_refreshes(self, AutoScalingGroupName, InstanceRefreshIds):
        status = self.refreshes[InstanceRefreshIds[0]]
        return {"InstanceRefreshes": [{"Status": status, "StatusReason": "instances failed to launch"}]}

    def _active(self):
        return [rid for rid, status in self.refreshes.items() if status in asg.ACTIVE]

    def rollback_instance_refresh(self, AutoScalingGroupName):
        from botocore.exceptions import ClientError

        self.calls.append(("rollback_instance_refresh", {}))
        if not self._active():
            raise ClientError(
                {"Error": {"Code": "ActiveInstanceRefreshNotFound", "Message": "none"}}, "Rollback"
            )
        if self.irreversible:
            raise ClientError({"Error": {"Code": "IrreversibleInstanceRefresh", "Message": "no"}}, "Rollback")
        for rid in self._active():  # AWS puts the replaced instances back
            self.refreshes[rid] = "RollbackSuccessful"
        self.instances = {"i-1": 1, "i-2": 1}
        self.group_version = "1"

    def cancel_instance_refresh(self, AutoScalingGroupName):
        from botocore.exceptions import ClientError

        self.calls.append(("cancel_instance_refresh", {}))
        if not self._active():
            raise ClientError(
                {"Error": {"Code": "ActiveInstanceRefreshNotFound", "Message": "none"}}, "Cancel"
            )
        for rid in self._active():
            self.refreshes[rid] = "Cancelled"

    def update_auto_scaling_group(self, **kw):
        self.calls.append(("update_auto_scaling_group", kw))
        self.group_version = kw["LaunchTemplate"]["Version"]

    # ec2
    def describe_launch_template_versions(self, LaunchTemplateId, Versions):
        wanted = max(self.versions) if Versions[0] == "$Latest" else int(Versions[0])
        return {
            "LaunchTemplateVersions": [
                {
                    "LaunchTemplateId": LaunchTemplateId,
                    "VersionNumber": wanted,
                    "LaunchTemplateData": {"UserData": self.versions[wanted]},
                }
            ]
        }

    def modify_launch_template(self, **kw):
        self.calls.append(("modify_launch_template", kw))

    def create_launch_template_version(self, **kw):
        self.calls.append(("create_launch_template_version", kw))
        number = max(self.versions) + 1
        self.versions[number] = kw["LaunchTemplateData"]["UserData"]
        return {"LaunchTemplateVersion": {"VersionNumber": number}}

    # elbv2
    def describe_target_health(self, TargetGroupArn):
        return {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": iid},
                    "TargetHealth": {"State": "unhealthy" if iid in self.unhealthy else "healthy"},
                }
                for iid in self.instances
            ]
        }

    def describe_target_groups(self, TargetGroupArns):
        return {
            "TargetGroups": [
                {"TargetGroupArn": arn, "LoadBalancerArns": ["arn:aws:elasticloadbalancing:lb/app/serving/1"]}
                for arn in TargetGroupArns
            ]
        }

    def describe_load_balancers(self, LoadBalancerArns):
        return {"LoadBalancers": [{"LoadBalancerArn": LoadBalancerArns[0], "DNSName": ALB_DNS}]}

    def describe_listeners(self, LoadBalancerArn):
        return {"Listeners": [{"Port": port, "Protocol": protocol} for port, protocol in self.listeners]}


class Server:
    """The smoke test's transport: ``sender(url)`` as promote() takes it, answering with ``labels``.

    Each prediction also records which launch template versions the fleet ran when it was asked.
    """

    def __init__(self, fake, labels=("Gentoo", "Chinstrap"), status=200):
        self.fake, self.labels, self.status = fake, list(labels), status
        self.urls: list[str] = []
        self.requests: list[tuple[str, str, object]] = []
        self.fleet_versions: list[set[int]] = []

    def __call__(self, url):
        self.urls.append(url)

        def send(method, path, body):
            self.requests.append((method, path, body))
            if method == "GET":
                return 200, {"status": "ready"}
            self.fleet_versions.append(set(self.fake.instances.values()))
            return self.status, {"predictions": [{"label": label} for label in self.labels]}

        return send


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run(fake, timeout=600.0, server=None, options=None):
    clients = aws.Clients(overrides={"autoscaling": fake, "ec2": fake, "elbv2": fake})
    clock = Clock()
    request = Request(image=IMAGE, environment="staging", timeout_s=timeout, options=options or {})
    sender = server or Server(fake)
    return asg.promote(request, clients=clients, sleep=clock.sleep, clock=clock, metadata=META, sender=sender)


def names(fake):
    return [name for name, _ in fake.calls]


def test_success_creates_a_version_and_refreshes_to_it():
    fake = FakeAws(["Successful"])
    outcome = run(fake)
    assert outcome.succeeded and outcome.details["version"] == 2 and outcome.details["previous_digest"] == OLD
    assert names(fake) == [
        "create_launch_template_version",
        "start_instance_refresh",
        "modify_launch_template",
    ]
    assert fake.calls[2][1] == {"LaunchTemplateId": "lt-1", "DefaultVersion": "2"}
    created = fake.calls[0][1]
    assert created["SourceVersion"] == "1" and created["VersionDescription"] == f"image {NEW}"
    assert NEW in asg.decode_user_data(fake.versions[2])[0]
    assert fake.calls[1][1]["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "2"


def test_a_good_answer_through_the_load_balancer_releases():
    fake = FakeAws(["Successful"])
    server = Server(fake)
    outcome = run(fake, server=server)
    assert outcome.succeeded and server.urls == [f"https://{ALB_DNS}"]
    assert [(m, p) for m, p, _ in server.requests] == [
        ("GET", "/health/ready"),
        ("POST", "/v1/models/penguins:predict"),
    ]
    assert server.requests[1][2] == {"instances": META["examples"]["rows"]}
    assert server.fleet_versions == [{2}]  # asked once the whole fleet ran the new version
    assert outcome.details["smoke"] == {
        "url": f"https://{ALB_DNS}",
        "path": "/v1/models/penguins:predict",
        "rows": 2,
        "labels": ["Gentoo", "Chinstrap"],
    }
    assert names(fake)[-1] == "modify_launch_template"


def test_a_wrong_answer_rolls_back_and_fails():
    fake = FakeAws(["Successful", "Successful"])
    server = Server(fake, labels=["Adelie", "Adelie"])
    with pytest.raises(
        PromotionError,
        match=r"predicted \['Adelie', 'Adelie'\].*rolled back to launch template version 1 \(refresh r-2\)",
    ):
        run(fake, server=server)
    assert names(fake) == [
        "create_launch_template_version",
        "start_instance_refresh",
        "rollback_instance_refresh",
        "update_auto_scaling_group",
        "start_instance_refresh",
    ]
    assert fake.calls[4][1]["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "1"
    assert "modify_launch_template" not in names(fake)  # the default stays at version 1
    assert fake.group_version == "1" and set(fake.instances.values()) == {1}


def test_a_server_error_rolls_back_and_fails():
    fake = FakeAws(["Successful", "Successful"])
    with pytest.raises(PromotionError, match=r"answered 500.*rolled back to launch template version 1"):
        run(fake, server=Server(fake, status=500))
    assert fake.group_version == "1" and "modify_launch_template" not in names(fake)


def test_a_transport_failure_rolls_back_and_names_the_url():
    fake = FakeAws(["Successful", "Successful"])

    def unreachable(url):
        def send(method, path, body):
            raise TimeoutError("timed out")

        return send

    with pytest.raises(
        PromotionError,
        match=rf"through https://{ALB_DNS}: TimeoutError.*rolled back to launch template version 1",
    ):
        run(fake, server=unreachable)
    assert fake.group_version == "1"


def test_no_smoke_test_when_the_fleet_never_got_healthy():
    fake = FakeAws(["Successful", "Successful"], unhealthy={"i-2a"})
    server = Server(fake)
    with pytest.raises(PromotionError, match="rolled back"):
        run(fake, server=server)
    assert server.requests == []


@pytest.mark.parametrize(
    ("listeners", "url"),
    [
        (((80, "HTTP"), (443, "HTTPS")), f"https://{ALB_DNS}"),
        (((8080, "HTTP"),), f"http://{ALB_DNS}:8080"),
        (((8443, "HTTPS"),), f"https://{ALB_DNS}:8443"),
    ],
)
def test_the_smoke_url_follows_the_listener(listeners, url):
    fake = FakeAws(["Successful"], listeners=listeners)
    server = Server(fake)
    run(fake, server=server)
    assert server.urls == [url]


def test_a_given_smoke_url_wins_and_a_missing_listener_fails_before_any_change():
    fake = FakeAws(["Successful"], listeners=())
    server = Server(fake)
    run(fake, server=server, options={"smoke_url": "https://model.example.com"})
    assert server.urls == ["https://model.example.com"]
    fake = FakeAws(["Successful"], listeners=())
    with pytest.raises(PromotionError, match="no HTTP\\(S\\) listener"):
        run(fake)
    assert fake.calls == []


def test_a_failed_refresh_rolls_back_to_the_previous_version():
    fake = FakeAws(["Failed", "Successful"])
    with pytest.raises(
        PromotionError, match=r"ended Failed.*rolled back to launch template version 1 \(refresh r-2\)"
    ):
        run(fake)
    assert names(fake) == [
        "create_launch_template_version",
        "start_instance_refresh",
        "rollback_instance_refresh",
        "update_auto_scaling_group",
        "start_instance_refresh",
    ]
    assert fake.calls[3][1]["LaunchTemplate"] == {"LaunchTemplateId": "lt-1", "Version": "1"}
    assert fake.calls[4][1]["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "1"
    assert set(fake.instances.values()) == {1} and fake.group_version == "1"


def test_unhealthy_targets_after_a_successful_refresh_roll_back():
    fake = FakeAws(["Successful", "Successful"], unhealthy={"i-2a"})
    with pytest.raises(
        PromotionError, match=r"i-2a is unhealthy in tg.*rolled back to launch template version 1"
    ):
        run(fake)
    assert fake.group_version == "1" and set(fake.instances.values()) == {1}


def test_a_refresh_that_never_starts_only_pins_the_group_back():
    from botocore.exceptions import ClientError

    refused = ClientError(
        {"Error": {"Code": "InstanceRefreshInProgress", "Message": "busy"}}, "StartInstanceRefresh"
    )
    fake = FakeAws([refused])
    with pytest.raises(PromotionError, match="no instance had been replaced"):
        run(fake)
    assert names(fake) == [
        "create_launch_template_version",
        "start_instance_refresh",
        "update_auto_scaling_group",
    ]


def test_a_refresh_that_hangs_is_rolled_back_by_aws():
    fake = FakeAws(["InProgress"])
    with pytest.raises(PromotionError, match=r"still InProgress .* after 60s.*version 1 \(refresh r-1\)"):
        run(fake, timeout=60)
    # AWS's RollbackInstanceRefresh put the instances back: no second refresh is started.
    assert names(fake) == [
        "create_launch_template_version",
        "start_instance_refresh",
        "rollback_instance_refresh",
        "update_auto_scaling_group",
    ]
    assert fake.group_version == "1" and set(fake.instances.values()) == {1}


def test_an_irreversible_refresh_is_cancelled_and_refreshed_back():
    fake = FakeAws(["InProgress", "Successful"])
    fake.irreversible = True
    with pytest.raises(
        PromotionError, match=r"still InProgress.*rolled back to launch template version 1 \(refresh r-2\)"
    ):
        run(fake, timeout=60)
    assert names(fake)[2:] == [
        "rollback_instance_refresh",
        "cancel_instance_refresh",
        "update_auto_scaling_group",
        "start_instance_refresh",
    ]
    assert fake.group_version == "1" and set(fake.instances.values()) == {1}


def test_already_on_the_digest_only_checks_health_and_smoke_tests():
    fake = FakeAws([])
    fake.versions[1] = b64(SCRIPT.replace(OLD, NEW))
    server = Server(fake)
    outcome = run(fake, server=server)
    assert outcome.details["unchanged"] is True and fake.calls == []
    assert outcome.details["smoke"]["labels"] == ["Gentoo", "Chinstrap"]
    fake = FakeAws([])
    fake.versions[1] = b64(SCRIPT.replace(OLD, NEW))
    with pytest.raises(PromotionError, match="predicted"):
        run(fake, server=Server(fake, labels=["Adelie", "Adelie"]))
    assert fake.calls == []  # nothing was changed, so nothing is rolled back


def test_cli_passes_the_group_name():
    from promotion.cli import parse_request

    target, request = parse_request(
        ["--target", "asg", "--environment", "staging", "--image", str(IMAGE), "--asg-name", "my-group"]
    )
    assert target == "asg" and asg.settings(request).group_name == "my-group"
    assert asg.settings(request).smoke_url is None
    _, given = parse_request(
        [
            "--target",
            "asg",
            "--environment",
            "staging",
            "--image",
            str(IMAGE),
            "--smoke-url",
            "https://m.example",
        ]
    )
    assert asg.settings(given).smoke_url == "https://m.example"
    _, default = parse_request(["--target", "asg", "--environment", "production", "--image", str(IMAGE)])
    assert asg.settings(default).group_name == f"{aws.project()['project']}-production-serving"
