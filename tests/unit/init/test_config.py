"""project.yaml round-trips through ProjectConfig, keeps unknown keys, and refuses missing fields."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from templatekit.config import ConfigError, ProjectConfig, load
from templatekit.validation import InvalidValue

BASE = {
    "project": "mlops-template",
    "model_name": "penguins",
    "github_repository": "your-org/mlops-template",
    "image": "ghcr.io/your-org/mlops-template",
    "aws": {"account_id": "123456789012", "region": "eu-west-1"},
    "environments": ["staging", "production"],
}


def test_round_trip_is_byte_stable(tmp_path: Path) -> None:
    config = ProjectConfig.from_mapping({**BASE, "owner_team": "ml-platform"})
    text = config.to_yaml()
    (tmp_path / "project.yaml").write_text(text)
    again = load(tmp_path)
    assert again == config
    assert again.to_yaml() == text
    assert yaml.safe_load(text)["owner_team"] == "ml-platform"


def test_account_id_stays_a_string_with_leading_zero() -> None:
    config = ProjectConfig.from_mapping(
        {**BASE, "aws": {"account_id": "012345678901", "region": "eu-west-1"}}
    )
    assert yaml.safe_load(config.to_yaml())["aws"]["account_id"] == "012345678901"


def test_variables() -> None:
    config = ProjectConfig.from_mapping({**BASE, "environments": ["prod"]})
    names = config.variables()
    assert names["github_owner"] == "your-org"
    assert names["image_registry"] == "ghcr.io"
    assert names["image_path"] == "your-org/mlops-template"
    assert names["environments_py"] == '("prod",)'  # a one-element tuple keeps its comma
    assert eval(names["environments_py"]) == ("prod",)


@pytest.mark.parametrize("missing", ["project", "aws", "environments"])
def test_missing_field_is_named(missing: str) -> None:
    data = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError, match=f"missing field.*{missing}"):
        ProjectConfig.from_mapping(data)


def test_invalid_value_in_file_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_text(
        yaml.safe_dump({**BASE, "aws": {"account_id": "1234", "region": "eu-west-1"}})
    )
    with pytest.raises(InvalidValue, match=r"aws\.account_id"):
        load(tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path)
