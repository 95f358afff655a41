"""sagemaker/config.yaml: typed per-environment settings, names from project.yaml, clear errors."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from promotion import aws
from promotion.refs import ImageRef
from promotion.sagemaker_config import ConfigError, all_endpoint_instance_types, environments, load

DIGEST = "sha256:" + "ab" * 32


def test_every_project_environment_has_settings():
    assert environments() == sorted(aws.project()["environments"])


@pytest.mark.parametrize("env", ["staging", "production"])
def test_names_come_from_project_yaml(env):
    s = load(env)
    project = aws.project()
    assert s.endpoint.name == f"{project['project']}-{env}"
    assert s.model_package_group == f"{project['project']}-{project['model_name']}"
    assert s.execution_role_arn.startswith(f"arn:aws:iam::{project['aws']['account_id']}:role/")
    assert s.artifact_bucket == f"{project['project']}-{project['aws']['account_id']}-models"
    assert env in s.alarm.name and s.endpoint.name in s.alarm.name
    assert s.training_output_uri.startswith(f"s3://{s.artifact_bucket}/")


def test_production_is_guarded_by_canary_and_staging_gate():
    prod, staging = load("production"), load("staging")
    assert prod.deployment.routing == "CANARY" and 0 < (prod.deployment.canary_percent or 0) < 100
    assert prod.deployment.require_image_in == "staging"
    assert staging.deployment.require_image_in is None
    assert prod.endpoint.instance_count >= 2  # blue/green with more than one instance keeps capacity
    assert all_endpoint_instance_types() == sorted(
        {prod.endpoint.instance_type, staging.endpoint.instance_type}
    )


def test_ecr_image_keeps_the_digest():
    s = load("staging")
    ghcr = ImageRef.parse(f"ghcr.io/your-org/mlops-template@{DIGEST}")
    uri = s.ecr_image(ghcr)
    assert uri == f"{s.account_id}.dkr.ecr.{s.region}.amazonaws.com/{s.ecr_repository}@{DIGEST}"
    ecr = ImageRef.parse(f"210987654321.dkr.ecr.us-west-2.amazonaws.com/other@{DIGEST}")
    assert s.ecr_image(ecr) == str(ecr)


def _write(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load((aws.REPO / "sagemaker" / "config.yaml").read_text())
    mutate(raw)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda r: r["defaults"]["endpoint"].update(instnce_type="x"),
            "endpoint: unknown key(s): instnce_type",
        ),
        (lambda r: r["defaults"]["alarm"].pop("name"), "alarm: missing key(s): name"),
        (
            lambda r: r["defaults"]["training"].update(instance_count="2"),
            "training.instance_count: expected int",
        ),
        (
            lambda r: r["environments"]["production"]["deployment"].update(routing="SLOW"),
            "routing: 'SLOW' is not one of",
        ),
        (lambda r: r["environments"]["production"]["deployment"].pop("canary_percent"), "canary_percent"),
        (lambda r: r["defaults"].update(model_package_group="{projct}"), "unknown placeholder 'projct'"),
        (lambda r: r["environments"].pop("production"), "no entry for environment 'production'"),
    ],
)
def test_bad_config_names_the_key(tmp_path, mutate, message):
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError, match=r".*") as info:
        load("production", path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- ties to terraform/
TF = aws.REPO / "terraform" / "modules"


def _block(path: Path, start: str, end: str) -> str:
    """The text of ``path`` from the line holding ``start`` to the next line holding ``end``."""
    text = path.read_text()
    head = text.index(start)
    tail = text.find(end, head + len(start))
    return text[head : tail if tail != -1 else len(text)]


def _tf_patterns(path: Path, env: str, text: str | None = None) -> list[str]:
    """Quoted strings of a Terraform file (or ``text`` from it) with the IAM interpolations filled."""
    project = aws.project()
    s = load(env)
    values = {
        "${local.package_group_name}": "${local.p}-${var.model_name}",
        "${local.p}": project["project"],
        "${var.name_prefix}": project["project"],
        "${var.model_name}": project["model_name"],
        "${local.sm}": f"arn:aws:sagemaker:{s.region}:{s.account_id}",
        "${local.partition}": "aws",
        "${local.region}": s.region,
        "${local.account_id}": s.account_id,
        "${env}": env,
        "${each.key}": env,
        "${var.environment}": env,
    }
    out = []
    for quoted in re.findall(r'"([^"\n]*)"', path.read_text() if text is None else text):
        for key, value in values.items():
            quoted = quoted.replace(key, value)
        out.append(quoted)
    return out


def _allowed(name: str, patterns: list[str]) -> bool:
    return any("${" not in p and fnmatch.fnmatchcase(name, p) for p in patterns)


@pytest.mark.parametrize("env", ["staging", "production"])
def test_names_fall_inside_the_deploy_roles_scopes(env):
    """Every name promotion creates must match what modules/iam lets the release role touch."""
    main, policies = TF / "iam" / "main.tf", TF / "iam" / "policies.tf"
    from datetime import UTC, datetime

    from promotion import sagemaker_endpoint as ep
    from promotion import sagemaker_training as st

    s = load(env)
    # Only what one environment's release may touch, and the training/registry scopes.
    release = _tf_patterns(
        policies, env, _block(policies, 'data "aws_iam_policy_document" "release"', "\ndata ")
    )
    per_env = _tf_patterns(main, env, _block(main, "env_sagemaker_arns = {", "\n  }"))
    shared = _tf_patterns(main, env, _block(main, "  arns = {", "all_endpoints"))
    patterns = release + per_env
    sm = f"arn:aws:sagemaker:{s.region}:{s.account_id}"
    image = ImageRef.parse(f"ghcr.io/your-org/mlops-template@{DIGEST}")
    name = ep.resource_name(s, DIGEST, datetime(2026, 12, 3, tzinfo=UTC))
    assert _allowed(f"{sm}:endpoint/{s.endpoint.name}", patterns)
    assert _allowed(f"{sm}:endpoint-config/{name}", patterns)
    assert _allowed(f"{sm}:model/{name}", patterns)
    assert _allowed(f"{sm}:training-job/{st.job_name(image)}", shared)
    assert _allowed(f"{sm}:model-package-group/{s.model_package_group}", shared)
    other = "production" if env == "staging" else "staging"
    assert not _allowed(f"{sm}:endpoint/{load(other).endpoint.name}", patterns)  # the scopes do separate
    assert not _allowed(
        f"arn:aws:cloudwatch:{s.region}:{s.account_id}:alarm:{load(other).alarm.name}", patterns
    )
    assert _allowed(f"arn:aws:cloudwatch:{s.region}:{s.account_id}:alarm:{s.alarm.name}", patterns)
    role = s.execution_role_arn.rsplit("/", 1)[1]
    assert role in _tf_patterns(main, env)  # local.execution_role_name


@pytest.mark.parametrize("env", ["staging", "production"])
def test_asg_group_name_is_terraforms(env):
    from promotion import asg

    main = TF / "serving_asg" / "main.tf"
    text = main.read_text()
    local_name = re.search(r'^\s*name\s*=\s*"(\$\{var\.name_prefix\}-\$\{var\.environment\})"', text, re.M)
    group = re.search(r'resource "aws_autoscaling_group" "this" \{\s*name\s*=\s*"([^"]+)"', text)
    assert local_name and group, "serving_asg/main.tf no longer names the group as this test expects"
    rendered = group.group(1).replace("${local.name}", local_name.group(1))
    rendered = rendered.replace("${var.name_prefix}", aws.project()["project"]).replace(
        "${var.environment}", env
    )
    assert asg.group_name(env) == rendered
    iam = TF / "iam" / "policies.tf"
    policies = _tf_patterns(iam, env, _block(iam, 'data "aws_iam_policy_document" "release"', "\ndata "))
    arn = f"arn:aws:autoscaling:{load(env).region}:{load(env).account_id}:autoScalingGroup:*:autoScalingGroupName/"
    assert any(p.startswith(arn) and fnmatch.fnmatchcase(arn + rendered, p) for p in policies)


def test_bucket_and_repository_are_the_account_stacks():
    account = aws.REPO / "terraform" / "account" / "main.tf"
    storage = TF / "storage" / "main.tf"
    s = load("staging")
    # modules/storage names buckets "<name_prefix>-<account id>-<key>"; the account stack has a "models" key.
    assert '"${var.name_prefix}-${local.account_id}-${key}"' in storage.read_text()
    assert re.search(r"^\s*models\s*=", account.read_text(), re.M)
    assert s.artifact_bucket == f"{aws.project()['project']}-{s.account_id}-models"
    service = (aws.REPO / "terraform" / "service" / "main.tf").read_text()
    assert re.search(r'data "aws_ecr_repository" "serving" \{\s*name\s*=\s*var\.project', service)
    assert s.ecr_repository == aws.project()["project"]
