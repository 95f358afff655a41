"""Each name `make init` takes is refused with a message that names its field and the rule it breaks."""

from __future__ import annotations

import pytest

from templatekit import validation as v

REGIONS = {"eu-west-1", "us-east-2", "ap-southeast-3", "us-gov-west-1", "cn-north-1"}


@pytest.mark.parametrize("name", ["penguins", "churn-model", "a", "m2", "a" * 63])
def test_dns_label_accepts(name: str) -> None:
    assert v.dns_label("model_name", name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "non-empty"),
        ("Penguins", "DNS label"),
        ("churn_model", "DNS label"),
        ("-churn", "DNS label"),
        ("churn-", "DNS label"),
        ("2churn", "starting with a letter"),
        ("churn.model", "DNS label"),
        ("a" * 64, "at most 63"),
        ("yes", "boolean"),
        ("on", "boolean"),
    ],
)
def test_dns_label_refuses(name: str, rule: str) -> None:
    with pytest.raises(v.InvalidValue, match=rule) as info:
        v.dns_label("model_name", name)
    assert str(info.value).startswith("model_name: ")
    assert info.value.field == "model_name"


@pytest.mark.parametrize("repo", ["octo-org/churn-model", "a/b", "Octo/My.Repo_2", "x" * 39 + "/r"])
def test_github_repository_accepts(repo: str) -> None:
    assert v.github_repository("github_repository", repo) == repo


@pytest.mark.parametrize(
    "repo",
    [
        "octo-org",
        "octo/org/x",
        "-octo/r",
        "octo-/r",
        "oc--to/r",
        "octo/",
        "octo/..",
        "o/r.git",
        "o/r r",
        "x" * 40 + "/r",
    ],
)
def test_github_repository_refuses(repo: str) -> None:
    with pytest.raises(v.InvalidValue, match=r"^github_repository: "):
        v.github_repository("github_repository", repo)


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/your-org/mlops-template",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn",
        "localhost:5000/churn",
        "registry.example.com:8443/team/sub/churn-model",
        "quay.io/org/a__b",
    ],
)
def test_image_accepts(image: str) -> None:
    assert v.image_repository("image", image) == image


@pytest.mark.parametrize(
    ("image", "rule"),
    [
        ("churn", "REGISTRY/PATH"),
        ("your-org/churn", "REGISTRY/PATH"),  # no registry host: Docker Hub is implied, which we refuse
        ("ghcr.io/Your-Org/churn", "lowercase"),
        ("ghcr.io/org/churn:latest", "without a tag or digest"),
        ("ghcr.io/org/churn@sha256:" + "0" * 64, "without a tag or digest"),
        ("ghcr.io/org/-churn", "REGISTRY/PATH"),
        ("", "non-empty"),
    ],
)
def test_image_refuses(image: str, rule: str) -> None:
    with pytest.raises(v.InvalidValue, match=rule):
        v.image_repository("image", image)


def test_account_id() -> None:
    assert v.aws_account_id("aws.account_id", "012345678901") == "012345678901"
    assert v.aws_account_id("aws.account_id", 123456789012) == "123456789012"
    for bad in ["12345678901", "1234567890123", "12345678901a", 12345, True, None, " 123456789012"]:
        with pytest.raises(v.InvalidValue, match=r"^aws\.account_id: .*12 digits"):
            v.aws_account_id("aws.account_id", bad)


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_region_accepts(region: str) -> None:
    assert v.aws_region("aws.region", region, known=REGIONS) == region


@pytest.mark.parametrize(
    "region", ["eu-west", "EU-WEST-1", "europe-west1", "eu-west-1a", "xx-west-1", "eu-middle-1", ""]
)
def test_region_refuses_bad_shape(region: str) -> None:
    with pytest.raises(v.InvalidValue, match=r"^aws\.region: .*region name"):
        v.aws_region("aws.region", region, known=REGIONS)


def test_region_refuses_one_the_sdk_does_not_know() -> None:
    with pytest.raises(v.InvalidValue, match="botocore"):
        v.aws_region("aws.region", "eu-west-9", known=REGIONS)


def test_known_regions_come_from_the_locked_sdk() -> None:
    regions = v.known_regions()
    assert {"eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1"} <= regions
    assert v.aws_region("aws.region", "eu-west-1") == "eu-west-1"


def test_environments() -> None:
    assert v.environments("environments", ["dev", "staging", "prod"]) == ["dev", "staging", "prod"]
    with pytest.raises(v.InvalidValue, match="non-empty list"):
        v.environments("environments", [])
    with pytest.raises(v.InvalidValue, match="non-empty list"):
        v.environments("environments", "staging")
    with pytest.raises(v.InvalidValue, match="repeated: staging"):
        v.environments("environments", ["staging", "staging"])
    with pytest.raises(v.InvalidValue, match=r"^environments\[1\]: 'Prod'"):
        v.environments("environments", ["staging", "Prod"])
