"""Skip-with-notice logic for cloud steps, and the runner files and commands steps write."""

from __future__ import annotations

from pathlib import Path

import pytest

from cicd import cloud, gha

ROLE = "arn:aws:iam::123456789012:role/ci"


def test_nothing_set_is_not_configured_and_names_the_switch() -> None:
    result = cloud.check("publish", ["MODEL_BUCKET", "AWS_CI_ROLE_ARN"], {})
    assert result.ok and not result.configured
    assert result.missing == ("MODEL_BUCKET",)
    assert "has not set MODEL_BUCKET" in result.message() and cloud.DOCS in result.message()


def test_all_set_and_well_formed_is_configured() -> None:
    result = cloud.check(
        "publish", ["MODEL_BUCKET", "AWS_CI_ROLE_ARN"], {"MODEL_BUCKET": "b-1", "AWS_CI_ROLE_ARN": ROLE}
    )
    assert result.ok and result.configured


def test_switch_set_but_another_missing_is_an_error_not_a_skip() -> None:
    result = cloud.check("publish", ["MODEL_BUCKET", "AWS_CI_ROLE_ARN"], {"MODEL_BUCKET": "b-1"})
    assert not result.ok
    assert "AWS_CI_ROLE_ARN is not set while MODEL_BUCKET is" in result.message()


@pytest.mark.parametrize(
    ("name", "value", "shape"),
    [
        ("AWS_DEPLOY_ROLE_ARN", "my-role", "an IAM role ARN"),
        ("MODEL_BUCKET", "Bad_Bucket", "an S3 bucket name"),
        ("EKS_CLUSTER_NAME", "bad name", "an EKS cluster name"),
    ],
)
def test_malformed_values_are_errors(name: str, value: str, shape: str) -> None:
    result = cloud.check("x", [name], {name: value})
    assert not result.ok and shape in result.message()


def test_cli_writes_output_and_a_notice_when_skipping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
    monkeypatch.delenv("AWS_PLAN_ROLE_ARN", raising=False)
    assert cloud.main(["--purpose", "terraform plan", "--require", "AWS_PLAN_ROLE_ARN"]) == 0
    assert (tmp_path / "out").read_text() == "configured=false\n"
    assert capsys.readouterr().out.startswith("::notice title=Cloud step skipped::terraform plan skipped")
    assert "Skipped" in (tmp_path / "summary").read_text()


def test_cli_fails_on_a_half_configured_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
    monkeypatch.setenv("ECR_REPOSITORY", "model")
    monkeypatch.delenv("AWS_CI_ROLE_ARN", raising=False)
    assert (
        cloud.main(["--purpose", "ecr", "--require", "ECR_REPOSITORY", "--require", "AWS_CI_ROLE_ARN"]) == 1
    )
    assert "::error title=Cloud settings incomplete::" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_workflow_commands_escape_newlines_and_property_separators() -> None:
    line = gha.format_command("warning", "50% done\nnext", title="a: b, c")
    assert line == "::warning title=a%3A b%2C c::50%25 done%0Anext"
    with pytest.raises(ValueError, match="level"):
        gha.format_command("debug", "x")


def test_multiline_outputs_use_a_heredoc_delimiter() -> None:
    text = gha.format_outputs({"one": "a", "flag": True, "many": "l1\nl2"})
    lines = text.splitlines()
    assert lines[:2] == ["one=a", "flag=true"]
    assert (
        lines[2].startswith("many<<EOF_")
        and lines[3:5] == ["l1", "l2"]
        and lines[5] == lines[2].split("<<")[1]
    )


def test_outputs_append_to_the_runner_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    gha.set_outputs({"a": "1"})
    gha.set_outputs({"b": "2"})
    assert (tmp_path / "out").read_text() == "a=1\nb=2\n"
