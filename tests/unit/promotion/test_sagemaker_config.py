"""sagemaker/config.yaml: typed per-environment settings, names from project.yaml, clear errors."""

from __future__ import annotations

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
