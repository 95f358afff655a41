"""``sagemaker/config.yaml`` as typed settings for one environment, with names filled from project.yaml.

Unknown or missing keys fail here, naming the key and the file, before any AWS call.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from promotion import aws
from promotion.refs import ImageRef

CONFIG_FILE = aws.REPO / "sagemaker" / "config.yaml"
ROUTINGS = ("ALL_AT_ONCE", "CANARY", "LINEAR")
_ECR_HOST = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")


class ConfigError(ValueError):
    """The SageMaker config file is malformed; the message names the file and key."""


@dataclass(frozen=True)
class TrainingSettings:
    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime_s: int
    channel: str
    content_type: str
    network_isolation: bool
    output_prefix: str


@dataclass(frozen=True)
class EndpointSettings:
    name: str
    variant: str
    instance_type: str
    instance_count: int
    content_type: str


@dataclass(frozen=True)
class AlarmSettings:
    name: str
    metric: str
    statistic: str
    threshold: float
    period_s: int
    evaluation_periods: int


@dataclass(frozen=True)
class DeploymentSettings:
    routing: str
    wait_interval_s: int
    termination_wait_s: int
    max_execution_timeout_s: int
    canary_percent: int | None = None
    linear_step_percent: int | None = None
    require_image_in: str | None = None


@dataclass(frozen=True)
class SageMakerSettings:
    environment: str
    account_id: str
    region: str
    execution_role_arn: str
    ecr_repository: str
    model_package_group: str
    artifact_bucket: str
    training: TrainingSettings
    endpoint: EndpointSettings
    alarm: AlarmSettings
    deployment: DeploymentSettings

    def ecr_image(self, image: ImageRef) -> str:
        """The image as SageMaker must pull it: from ECR, by the same digest.

        CI copies the image to ECR without rebuilding, so the manifest digest is unchanged. A reference
        that already names an ECR registry is used as it is.
        """
        host = image.name.split("/", 1)[0]
        if _ECR_HOST.fullmatch(host):
            return str(image)
        return f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{self.ecr_repository}@{image.digest}"

    @property
    def training_output_uri(self) -> str:
        return f"s3://{self.artifact_bucket}/{self.training.output_prefix.strip('/')}"


T = TypeVar("T")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _fill(value: Any, names: dict[str, str], where: str) -> Any:
    if isinstance(value, str):
        try:
            return value.format(**names)
        except (KeyError, IndexError) as exc:
            raise ConfigError(f"{where}: unknown placeholder {exc} in {value!r}") from exc
    if isinstance(value, dict):
        return {k: _fill(v, names, f"{where}.{k}") for k, v in value.items()}
    return value


_SCALARS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}


def _build(cls: type[T], data: Any, where: str) -> T:
    """Make dataclass ``cls`` from ``data``, checking key names and scalar types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping")
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s): {', '.join(unknown)}")
    missing = [name for name, f in known.items() if f.default is MISSING and name not in data]
    if missing:
        raise ConfigError(f"{where}: missing key(s): {', '.join(missing)}")
    for name, value in data.items():
        kind = str(known[name].type)
        optional = kind.endswith(" | None")
        base = kind.removesuffix(" | None")
        if value is None and optional:
            continue
        allowed = _SCALARS.get(base)
        if allowed is None:
            continue  # a nested settings object, built and checked by the caller
        wrong_bool = isinstance(value, bool) and base != "bool"
        if not isinstance(value, allowed) or wrong_bool:
            raise ConfigError(f"{where}.{name}: expected {base}, got {value!r}")
    return cls(**data)


def load(environment: str, path: str | Path = CONFIG_FILE) -> SageMakerSettings:
    """Settings for ``environment``: defaults merged with its override, placeholders filled."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("defaults"), dict):
        raise ConfigError(f"{path}: expected top-level 'defaults' and 'environments' mappings")
    envs = raw.get("environments") or {}
    if environment not in envs:
        raise ConfigError(f"{path}: no entry for environment {environment!r} under 'environments'")
    proj = aws.project()
    names = {
        "project": str(proj["project"]),
        "model_name": str(proj["model_name"]),
        "account_id": str(proj["aws"]["account_id"]),
        "region": aws.region(),
        "environment": environment,
    }
    merged = _fill(_merge(raw["defaults"], envs[environment] or {}), names, f"{path}:{environment}")
    sections = {"training": TrainingSettings, "endpoint": EndpointSettings, "alarm": AlarmSettings}
    where = f"{path}:{environment}"
    built: dict[str, Any] = {
        key: _build(cls, merged.pop(key, None), f"{where}.{key}") for key, cls in sections.items()
    }
    deployment = _build(DeploymentSettings, merged.pop("deployment", None), f"{where}.deployment")
    _check_deployment(deployment, f"{where}.deployment")
    settings = _build(
        SageMakerSettings,
        {
            **merged,
            **built,
            "deployment": deployment,
            "environment": environment,
            "account_id": names["account_id"],
            "region": names["region"],
        },
        where,
    )
    return settings


def _check_deployment(d: DeploymentSettings, where: str) -> None:
    if d.routing not in ROUTINGS:
        raise ConfigError(f"{where}.routing: {d.routing!r} is not one of {', '.join(ROUTINGS)}")
    if d.routing == "CANARY" and not (d.canary_percent and 0 < d.canary_percent < 100):
        raise ConfigError(f"{where}.canary_percent: CANARY needs a percentage between 1 and 99")
    if d.routing == "LINEAR" and not (d.linear_step_percent and 0 < d.linear_step_percent < 100):
        raise ConfigError(f"{where}.linear_step_percent: LINEAR needs a percentage between 1 and 99")
    if d.wait_interval_s < 0 or d.termination_wait_s < 0 or d.max_execution_timeout_s <= 0:
        raise ConfigError(f"{where}: wait times must be non-negative and the timeout positive")


def environments(path: str | Path = CONFIG_FILE) -> list[str]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return sorted((raw or {}).get("environments") or {})


def all_endpoint_instance_types(path: str | Path = CONFIG_FILE) -> list[str]:
    """Every endpoint instance type any environment uses (a model package lists what it supports)."""
    return sorted({load(env, path).endpoint.instance_type for env in environments(path)})
