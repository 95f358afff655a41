"""Fixtures for the training unit tests: the real schema, the built-in data, a small fitted model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from training.params import Params
from training.schema import Schema, load_schema
from training.sources import read_source
from training.train import TrainParams, TrainResult, train
from training.validate import validate_frame

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def schema() -> Schema:
    return load_schema(REPO / "data" / "schema.yaml")


@pytest.fixture(scope="session")
def raw_penguins() -> pd.DataFrame:
    return read_source("builtin:penguins")


@pytest.fixture
def raw(raw_penguins: pd.DataFrame) -> pd.DataFrame:
    """A fresh copy of the raw built-in data, free to be damaged by the test."""
    return raw_penguins.copy()


@pytest.fixture(scope="session")
def validated(raw_penguins: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    result = validate_frame(raw_penguins, schema)
    assert result.ok, result.issues
    assert result.frame is not None
    return result.frame


@pytest.fixture(scope="session")
def repo_params() -> dict[str, Any]:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def params_with(base: dict[str, Any], **dotted: Any) -> Params:
    """A Params object from ``base`` with dotted keys replaced (``{"train.seed": 1}``)."""
    data = yaml.safe_load(yaml.safe_dump(base))
    for key, value in dotted.items():
        node = data
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return Params(data)


@pytest.fixture(scope="session")
def trained(validated: pd.DataFrame, schema: Schema, repo_params: dict[str, Any]) -> TrainResult:
    settings = TrainParams.read(Params(repo_params))
    return train(validated, schema, settings, data_digest="sha256:" + "1" * 64, git_commit="abc123")


@pytest.fixture
def make_params(tmp_path: Path, repo_params: dict[str, Any]):
    """``make_params(**{"data.source": "x.csv"})`` -> a params.yaml in tmp_path with those keys changed."""

    def make(**dotted: Any) -> Path:
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(dict(params_with(repo_params, **dotted)._data)))
        return path

    return make


@pytest.fixture
def params_from(repo_params: dict[str, Any]):
    """``params_from(**{"train.seed": 1})`` -> a Params object with those keys changed."""
    return lambda **dotted: params_with(repo_params, **dotted)
