"""Promote an image digest to the EC2 Auto Scaling group behind the ALB, and roll back on failure.

Steps (``plan`` prints them; nothing is called in a dry run):

1. read the group's launch template version and its user data (rendered by Terraform from
   ``terraform/modules/serving_asg/templates/``; it names the image by digest);
2. create a new launch template version from that one, with the digest in the user data replaced;
3. start an instance refresh whose desired configuration is the new version (the group switches to it
   only when the refresh succeeds), and wait for it;
4. check every in-service instance runs the new version, is healthy, and is ``healthy`` in each of the
   group's ALB target groups;
5. smoke test through the load balancer (``promotion.smoke``: the ready check, then the artifact's
   example rows, whose recorded labels must come back); the ALB's own health check only asks
   ``/health/ready``, so this is the one real prediction before the release counts. Then make the new
   version the template's default;
6. on any failure, the smoke test's included: stop the refresh (RollbackInstanceRefresh, else cancel),
   pin the group to the previous version and refresh back to it unless AWS's rollback already did.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promotion import aws, smoke
from promotion.base import Outcome, Plan, PromotionError, Request

TARGET = "asg"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
ACTIVE = {"Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"}
POLL_S = 15.0
DEFAULT_METADATA = aws.REPO / "models" / "metadata.json"


@dataclass(frozen=True)
class AsgSettings:
    group_name: str
    # Capacity kept in service while replacing (percent of desired), and the most allowed above it:
    # 100/200 launches each replacement before terminating the old instance.
    min_healthy_percentage: int = 100
    max_healthy_percentage: int = 200
    # Seconds a new instance gets before its health counts; None uses the group's default warm-up.
    instance_warmup_s: int | None = None
    # Seconds to wait for ALB target health after a refresh reports success.
    health_wait_s: float = 300.0
    # Where the smoke test goes; None finds the group's load balancer (see ``service_url``).
    smoke_url: str | None = None


def settings(request: Request) -> AsgSettings:
    """Group ``<project>-<environment>-serving`` (terraform/modules/serving_asg) unless ``asg_name`` is given;
    the smoke test's URL from ``smoke_url`` when given."""
    name = request.options.get("asg_name") or group_name(request.environment)
    url = request.options.get("smoke_url")
    return AsgSettings(group_name=str(name), smoke_url=str(url) if url else None)


def group_name(environment: str) -> str:
    return f"{aws.project()['project']}-{environment}-serving"


# --------------------------------------------------------------------------- user data (pure)
def decode_user_data(encoded: str) -> tuple[str, bool]:
    """Base64 user data -> (text, was_gzipped). Terraform's ``base64gzip`` output is handled too."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PromotionError(f"launch template user data is not base64: {exc}") from exc
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw).decode("utf-8"), True
    return raw.decode("utf-8"), False


def encode_user_data(text: str, gzipped: bool) -> str:
    raw = text.encode("utf-8")
    if gzipped:
        raw = gzip.compress(raw, mtime=0)
    encoded = base64.b64encode(raw).decode("ascii")
    if len(encoded) > 16384:
        raise PromotionError(f"user data is {len(encoded)} bytes base64; EC2 allows 16384")
    return encoded


def repin_user_data(encoded: str, digest: str) -> tuple[str, str]:
    """Replace the one image digest the user data carries with ``digest``.

    Returns (new base64 user data, old digest). Refuses user data with no digest or with two
    different ones: either means the template is not what this module was written for.
    """
    if not DIGEST.fullmatch(digest):
        raise PromotionError(f"{digest!r} is not sha256:<64 hex>")
    text, gzipped = decode_user_data(encoded)
    found = sorted(set(DIGEST.findall(text)))
    if not found:
        raise PromotionError("launch template user data names no image digest (sha256:...); cannot repin it")
    if len(found) > 1:
        raise PromotionError(
            f"launch template user data names {len(found)} different digests: {', '.join(found)}"
        )
    return encode_user_data(text.replace(found[0], digest), gzipped), found[0]


# --------------------------------------------------------------------------- requests (pure)
def refresh_request(s: AsgSettings, template_id: str, version: int) -> dict[str, Any]:
    preferences: dict[str, Any] = {
        "MinHealthyPercentage": s.min_healthy_percentage,
        "MaxHealthyPercentage": s.max_healthy_percentage,
        "SkipMatching": True,
        # AWS rolls a failed refresh back by itself, even if this process is gone by then.
        "AutoRollback": True,
        "ScaleInProtectedInstances": "Wait",
        "StandbyInstances": "Wait",
    }
    if s.instance_warmup_s is not None:
        preferences["InstanceWarmup"] = s.instance_warmup_s
    return {
        "AutoScalingGroupName": s.group_name,
        "Strategy": "Rolling",
        "DesiredConfiguration": {
            "LaunchTemplate": {"LaunchTemplateId": template_id, "Version": str(version)}
        },
        "Preferences": preferences,
    }


def version_request(template_id: str, source: int, user_data: str, digest: str) -> dict[str, Any]:
    return {
        "LaunchTemplateId": template_id,
        "SourceVersion": str(source),
        "VersionDescription": f"image {digest}",
        "LaunchTemplateData": {"UserData": user_data},
    }


# --------------------------------------------------------------------------- plan (offline)
def plan(request: Request) -> Plan:
    s = settings(request)
    digest = request.image.digest
    lt = "lt-0123456789abcdef0"  # stands for the group's template id, read at promotion time
    documents = {
        "CreateLaunchTemplateVersion": version_request(lt, 1, "<current user data, digest -> new>", digest),
        "StartInstanceRefresh": refresh_request(s, lt, 2),
    }
    aws.validate_request("ec2", "CreateLaunchTemplateVersion", documents["CreateLaunchTemplateVersion"])
    aws.validate_request("autoscaling", "StartInstanceRefresh", documents["StartInstanceRefresh"])
    steps = [
        f"describe Auto Scaling group {s.group_name}: its launch template and version N",
        "read version N's user data; it must name exactly one image digest",
        f"create launch template version N+1 from N with that digest replaced by {digest}",
        f"start a rolling instance refresh to version N+1 (min healthy {s.min_healthy_percentage}%, "
        f"max {s.max_healthy_percentage}%, skip matching)",
        f"wait up to {request.timeout_s:.0f}s for the refresh to succeed",
        "check every in-service instance runs N+1 and is Healthy, and is healthy in each ALB target group "
        f"(up to {s.health_wait_s:.0f}s)",
        f"smoke test through {s.smoke_url or 'the load balancer of the group (https when it listens on 443)'}: "
        "GET /health/ready, then POST the artifact's example rows to /v1/models/<model>:predict; "
        "the labels recorded at training time must come back",
        "make N+1 the template's default version",
        "on failure: roll the refresh back (or cancel it), pin the group to version N, refresh back to N "
        "unless AWS's rollback already did, report failure",
    ]
    rendered = [f"## {k}\n{json.dumps(v, indent=2, sort_keys=True)}" for k, v in documents.items()]
    return Plan(
        target=TARGET,
        environment=request.environment,
        image=str(request.image),
        steps=steps,
        documents=rendered,
    )


# --------------------------------------------------------------------------- AWS calls
def describe_group(name: str, autoscaling: Any) -> dict[str, Any]:
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    if not groups:
        raise PromotionError(f"Auto Scaling group {name} not found")
    return dict(groups[0])


def group_template(group: Mapping[str, Any]) -> dict[str, str]:
    spec = group.get("LaunchTemplate") or (
        group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {}).get("LaunchTemplateSpecification")
    )
    if not spec:
        raise PromotionError(f"group {group['AutoScalingGroupName']} uses no launch template")
    return dict(spec)


def resolve_version(spec: Mapping[str, str], ec2: Any) -> dict[str, Any]:
    """The launch template version a group spec points at (``$Latest``/``$Default`` resolved)."""
    key = (
        {"LaunchTemplateId": spec["LaunchTemplateId"]}
        if spec.get("LaunchTemplateId")
        else {"LaunchTemplateName": spec["LaunchTemplateName"]}
    )
    versions = ec2.describe_launch_template_versions(**key, Versions=[spec.get("Version") or "$Default"])
    found = versions.get("LaunchTemplateVersions", [])
    if not found:
        raise PromotionError(f"launch template {key} has no version {spec.get('Version')}")
    return dict(found[0])


def start_refresh(request: Mapping[str, Any], autoscaling: Any) -> str:
    try:
        return str(autoscaling.start_instance_refresh(**request)["InstanceRefreshId"])
    except Exception as exc:
        raise PromotionError(f"start_instance_refresh on {request['AutoScalingGroupName']}: {exc}") from exc


def wait_refresh(
    group: str,
    refresh_id: str,
    autoscaling: Any,
    timeout_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    poll_s: float = POLL_S,
) -> dict[str, Any]:
    deadline = clock() + timeout_s
    while True:
        found = autoscaling.describe_instance_refreshes(
            AutoScalingGroupName=group, InstanceRefreshIds=[refresh_id]
        ).get("InstanceRefreshes", [])
        if not found:
            raise PromotionError(f"instance refresh {refresh_id} of {group} not found")
        refresh = found[0]
        status = refresh["Status"]
        if status == "Successful":
            return dict(refresh)
        if status not in ACTIVE:
            reason = refresh.get("StatusReason", "no reason given")
            raise PromotionError(f"instance refresh {refresh_id} of {group} ended {status}: {reason}")
        if clock() >= deadline:
            raise PromotionError(
                f"instance refresh {refresh_id} of {group} still {status} "
                f"({refresh.get('PercentageComplete', 0)}%) after {timeout_s:.0f}s"
            )
        sleep(poll_s)


def health_problems(group: Mapping[str, Any], version: int, elbv2: Any) -> list[str]:
    """What keeps the group from being fully on ``version`` and healthy (empty when it is)."""
    problems = []
    in_service = [i for i in group.get("Instances", []) if i.get("LifecycleState") == "InService"]
    if len(in_service) < int(group.get("DesiredCapacity", 0)):
        problems.append(f"{len(in_service)} instances in service, {group.get('DesiredCapacity')} desired")
    for inst in in_service:
        running = str(inst.get("LaunchTemplate", {}).get("Version", ""))
        if running != str(version):
            problems.append(f"{inst['InstanceId']} runs launch template version {running}, not {version}")
        if inst.get("HealthStatus") != "Healthy":
            problems.append(f"{inst['InstanceId']} is {inst.get('HealthStatus')} in the group")
    ids = {i["InstanceId"] for i in in_service}
    arns = group.get("TargetGroupARNs", [])
    if not arns:
        problems.append("the group is attached to no target group")
    for arn in arns:
        health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        state = {h["Target"]["Id"]: h["TargetHealth"] for h in health}
        for iid in sorted(ids):
            th = state.get(iid)
            if th is None:
                problems.append(f"{iid} is not registered in {_tg_name(arn)}")
            elif th.get("State") != "healthy":
                reason = f" ({th['Reason']})" if th.get("Reason") else ""
                problems.append(f"{iid} is {th.get('State')} in {_tg_name(arn)}{reason}")
    return problems


def _tg_name(arn: str) -> str:
    """``arn:...:targetgroup/<name>/<id>`` -> ``<name>``."""
    parts = arn.rsplit(":", 1)[-1].split("/")
    return parts[1] if len(parts) == 3 else arn


def wait_healthy(
    s: AsgSettings,
    version: int,
    autoscaling: Any,
    elbv2: Any,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    poll_s: float = POLL_S,
) -> None:
    deadline = clock() + s.health_wait_s
    while True:
        problems = health_problems(describe_group(s.group_name, autoscaling), version, elbv2)
        if not problems:
            return
        if clock() >= deadline:
            raise PromotionError(
                f"group {s.group_name} not healthy on version {version}: " + "; ".join(problems)
            )
        sleep(poll_s)


def service_url(group: Mapping[str, Any], elbv2: Any) -> str:
    """The URL of the load balancer in front of the group's target group, for the smoke test.

    ``https://<DNS name>`` when it has a listener on 443 (terraform/modules/serving_asg: HTTPS on 443,
    HTTP on 80 only redirects), else ``http://<DNS name>:<port>`` of an HTTP listener. TLS checks the
    certificate against that name, so a listener whose certificate covers only the service's DNS name
    needs ``--smoke-url https://<that name>`` instead (``AsgSettings.smoke_url``).
    """
    arns = group.get("TargetGroupARNs", [])
    if not arns:
        raise PromotionError(f"group {group['AutoScalingGroupName']} is attached to no target group")
    target_groups = elbv2.describe_target_groups(TargetGroupArns=list(arns))["TargetGroups"]
    balancers = sorted({lb for tg in target_groups for lb in tg.get("LoadBalancerArns", [])})
    if not balancers:
        names = ", ".join(_tg_name(a) for a in arns)
        raise PromotionError(f"target group {names} of {group['AutoScalingGroupName']} has no load balancer")
    lb = elbv2.describe_load_balancers(LoadBalancerArns=balancers[:1])["LoadBalancers"][0]
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    by_port = {int(listener["Port"]): str(listener.get("Protocol", "")) for listener in listeners}
    if 443 in by_port:
        return f"https://{lb['DNSName']}"
    for port, protocol in sorted(by_port.items()):
        if protocol in ("HTTP", "HTTPS"):
            return f"{protocol.lower()}://{lb['DNSName']}:{port}"
    raise PromotionError(f"load balancer {lb['DNSName']} has no HTTP(S) listener to send the smoke test to")


def smoke_test(url: str, meta: Mapping[str, Any], sender: Callable[[str], smoke.Sender]) -> dict[str, Any]:
    """``promotion.smoke`` through ``url``; any failure comes out as a PromotionError naming the URL."""
    try:
        checked = smoke.smoke_test(sender(url), str(meta["name"]), meta)
    except PromotionError:
        raise
    except Exception as exc:
        raise PromotionError(f"smoke test through {url}: {type(exc).__name__}: {exc}") from exc
    return {"url": url, **checked}


def stop_refresh(
    group: str,
    refresh_id: str,
    autoscaling: Any,
    timeout_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> str | None:
    """Stop the group's active refresh and wait until it has stopped; return its final status.

    AWS's own RollbackInstanceRefresh comes first (it puts replaced instances back on the previous
    configuration); CancelInstanceRefresh is the fallback when a rollback is refused. None when no
    refresh was active.
    """
    try:
        autoscaling.rollback_instance_refresh(AutoScalingGroupName=group)
    except Exception as exc:
        code = aws.error_code(exc)
        if code == "ActiveInstanceRefreshNotFound":
            return None
        if code != "IrreversibleInstanceRefresh":
            raise
        try:
            autoscaling.cancel_instance_refresh(AutoScalingGroupName=group)
        except Exception as again:
            if aws.error_code(again) == "ActiveInstanceRefreshNotFound":
                return None
            raise
    deadline = clock() + timeout_s
    while True:
        found = autoscaling.describe_instance_refreshes(
            AutoScalingGroupName=group, InstanceRefreshIds=[refresh_id]
        ).get("InstanceRefreshes", [])
        status = found[0]["Status"] if found else None
        if status not in ACTIVE:
            return status
        if clock() >= deadline:
            raise PromotionError(
                f"instance refresh {refresh_id} of {group} did not stop within {timeout_s:.0f}s"
            )
        sleep(POLL_S)


def rollback(
    s: AsgSettings,
    template_id: str,
    previous: int,
    refresh_id: str | None,
    autoscaling: Any,
    elbv2: Any,
    timeout_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> str | None:
    """Return the group to launch template version ``previous``: stop an active refresh (AWS's rollback
    first), pin the group to ``previous``, and refresh back to it unless AWS already has.

    Returns the id of the refresh that put the instances back, or None when no refresh had started
    (then no instance changed, and pinning the group is all there is to undo).
    """
    final = (
        stop_refresh(s.group_name, refresh_id, autoscaling, timeout_s, sleep, clock) if refresh_id else None
    )
    # Pin the number: a group on "$Latest" would otherwise keep launching the new version.
    autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=s.group_name,
        LaunchTemplate={"LaunchTemplateId": template_id, "Version": str(previous)},
    )
    if refresh_id is None:
        return None
    if final == "RollbackSuccessful":  # AWS put the instances back itself
        wait_healthy(s, previous, autoscaling, elbv2, sleep, clock)
        return refresh_id
    back = start_refresh(refresh_request(s, template_id, previous), autoscaling)
    wait_refresh(s.group_name, back, autoscaling, timeout_s, sleep, clock)
    wait_healthy(s, previous, autoscaling, elbv2, sleep, clock)
    return back


def promote(
    request: Request,
    clients: aws.Clients | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    metadata: Mapping[str, Any] | None = None,
    sender: Callable[[str], smoke.Sender] = smoke.http_sender,
) -> Outcome:
    """Release ``request.image`` to the group; ``sender(url)`` is the smoke test's transport."""
    s = settings(request)
    meta = metadata or smoke.load_metadata(Path(request.options.get("metadata") or DEFAULT_METADATA))
    clients = clients or aws.Clients()
    autoscaling, ec2, elbv2 = clients("autoscaling"), clients("ec2"), clients("elbv2")
    digest = request.image.digest

    group = describe_group(s.group_name, autoscaling)
    url = s.smoke_url or service_url(group, elbv2)  # found before anything changes
    current = resolve_version(group_template(group), ec2)
    template_id, previous = str(current["LaunchTemplateId"]), int(current["VersionNumber"])
    user_data = current.get("LaunchTemplateData", {}).get("UserData")
    if not user_data:
        raise PromotionError(f"launch template {template_id} version {previous} has no user data")
    new_user_data, old_digest = repin_user_data(user_data, digest)
    details: dict[str, Any] = {
        "group": s.group_name,
        "launch_template": template_id,
        "previous_version": previous,
        "previous_digest": old_digest,
    }
    if old_digest == digest:
        # Already pinned: no new version; make sure the fleet really runs it, is healthy and answers right.
        # Nothing to roll back to: the group ran this digest before the promotion started.
        wait_healthy(s, previous, autoscaling, elbv2, sleep, clock)
        details.update(version=previous, unchanged=True)
        details["smoke"] = smoke_test(url, meta, sender)
        return Outcome(TARGET, request.environment, str(request.image), succeeded=True, details=details)

    created = ec2.create_launch_template_version(
        **version_request(template_id, previous, new_user_data, digest)
    )
    version = int(created["LaunchTemplateVersion"]["VersionNumber"])
    details["version"] = version
    refresh_id: str | None = None
    try:
        refresh_id = start_refresh(refresh_request(s, template_id, version), autoscaling)
        details["refresh_id"] = refresh_id
        wait_refresh(s.group_name, refresh_id, autoscaling, request.timeout_s, sleep, clock)
        wait_healthy(s, version, autoscaling, elbv2, sleep, clock)
        details["smoke"] = smoke_test(url, meta, sender)
    except PromotionError as exc:
        try:
            back = rollback(
                s, template_id, previous, refresh_id, autoscaling, elbv2, request.timeout_s, sleep, clock
            )
        except Exception as again:
            raise PromotionError(f"{exc}; rollback to version {previous} failed too: {again}") from exc
        how = f"refresh {back}" if back else "no instance had been replaced"
        raise PromotionError(f"{exc}; rolled back to launch template version {previous} ({how})") from exc
    # Only now, with the fleet healthy on it and answering right: launches that take the template's
    # default get this digest.
    ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(version))
    return Outcome(TARGET, request.environment, str(request.image), succeeded=True, details=details)
