"""ImageRef: promotion accepts only NAME@sha256:<64 hex>; tags and malformed digests are refused."""

import pytest

from promotion.cli import parse_request
from promotion.refs import ImageRef, ImageRefError

DIGEST = "sha256:" + "ab" * 32


def test_parses_name_and_digest() -> None:
    ref = ImageRef.parse(f"ghcr.io/your-org/mlops-template@{DIGEST}")
    assert (ref.name, ref.digest) == ("ghcr.io/your-org/mlops-template", DIGEST)
    assert str(ref) == f"ghcr.io/your-org/mlops-template@{DIGEST}"


def test_registry_port_is_not_a_tag() -> None:
    assert ImageRef.parse(f"localhost:5000/app@{DIGEST}").name == "localhost:5000/app"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("ghcr.io/your-org/mlops-template:latest", "not pinned by digest"),
        ("ghcr.io/your-org/mlops-template:sha-abc1234", "not pinned by digest"),
        (f"ghcr.io/your-org/mlops-template:v1@{DIGEST}", "drop the tag"),
        ("ghcr.io/your-org/mlops-template@sha256:abc", "64 lowercase hex"),
        ("ghcr.io/your-org/mlops-template@sha256:" + "AB" * 32, "64 lowercase hex"),
        (f"Ghcr.io/Bad Name@{DIGEST}", "not a valid image name"),
    ],
)
def test_refuses_mutable_or_malformed(text: str, why: str) -> None:
    with pytest.raises(ImageRefError, match=why):
        ImageRef.parse(text)


def test_cli_refuses_a_tag_before_doing_anything(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_request(["--target", "kubernetes", "--environment", "staging", "--image", "repo/app:latest"])
    assert exit_info.value.code == 2
    assert "not pinned by digest" in capsys.readouterr().err


def test_cli_passes_smoke_and_model_options() -> None:
    target, request = parse_request(
        [
            "--target", "kserve", "--environment", "production", "--image", f"repo/app@{DIGEST}",
            "--metadata", "m.json", "--model-uri", "s3://b/k/",
        ]
    )  # fmt: skip
    assert target == "kserve"
    assert request.options == {"metadata": "m.json", "model_uri": "s3://b/k/"}
