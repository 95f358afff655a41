"""project.yaml: the names this repository is built around, read, validated and written in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from templatekit import validation as v

CONFIG_FILE = "project.yaml"

_HEADER = """\
# The names this repository is built around, written once. `make init` rewrites every file that cannot
# read this one (package metadata, params, manifests, Terraform variables, workflows, README badges) from
# the table in templatekit/places.py, and tests/unit/init/test_places_in_step.py fails when any drifts.
# Edit the values with `make init` rather than by hand: it validates them and rewrites the places too.
"""

# key -> comment written above it
_COMMENTS = {
    "project": "Project name: Python distribution, Terraform name prefix, Kubernetes app label (DNS label).",
    "model_name": "Model name: artifact name, InferenceService, SageMaker model and endpoint names (DNS label).",
    "github_repository": "GitHub OWNER/REPO: OIDC trust conditions, badges, image labels.",
    "image": "Container image repository, without tag or digest; deployments pin it by @sha256 digest.",
    "aws": "AWS account and region the Terraform environments and the promotion workflows target.",
    "environments": "Environments in promotion order; each has k8s, KServe and Terraform folders of its own.",
}


class ConfigError(ValueError):
    """project.yaml is missing, unreadable or lacks a field."""


@dataclass(frozen=True)
class ProjectConfig:
    project: str
    model_name: str
    github_repository: str
    image: str
    aws_account_id: str
    aws_region: str
    environments: tuple[str, ...]
    # keys of project.yaml that make init does not manage; written back unchanged
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        v.dns_label("project", self.project)
        v.dns_label("model_name", self.model_name)
        v.github_repository("github_repository", self.github_repository)
        v.image_repository("image", self.image)
        v.aws_account_id("aws.account_id", self.aws_account_id)
        v.aws_region("aws.region", self.aws_region)
        v.environments("environments", list(self.environments))

    # ------------------------------------------------------------------ derived names
    @property
    def github_owner(self) -> str:
        return self.github_repository.split("/")[0]

    @property
    def github_repo(self) -> str:
        return self.github_repository.split("/")[1]

    def variables(self) -> dict[str, str]:
        """Every name a place may use, as text. Places write ``{name}`` to insert one."""
        registry, _, image_path = self.image.partition("/")
        return {
            "project": self.project,
            "model_name": self.model_name,
            "github_repository": self.github_repository,
            "github_owner": self.github_owner,
            "github_repo": self.github_repo,
            "image": self.image,
            "image_registry": registry,
            "image_path": image_path,
            "aws_account_id": self.aws_account_id,
            "aws_region": self.aws_region,
            "environments_csv": ", ".join(self.environments),
            "environments_flow": "[" + ", ".join(self.environments) + "]",
            "environments_json": "[" + ", ".join(f'"{e}"' for e in self.environments) + "]",
            # a Python tuple literal; one element needs its trailing comma
            "environments_py": "("
            + ", ".join(f'"{e}"' for e in self.environments)
            + ("," if len(self.environments) == 1 else "")
            + ")",
            "first_environment": self.environments[0],
            "last_environment": self.environments[-1],
        }

    def with_changes(self, **changes: Any) -> ProjectConfig:
        """A copy with some fields replaced (validated again)."""
        if "environments" in changes:
            changes["environments"] = tuple(changes["environments"])
        return replace(self, **changes)

    # ------------------------------------------------------------------ YAML form
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = CONFIG_FILE) -> ProjectConfig:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: must be a mapping of names")
        missing = [key for key in _COMMENTS if key not in data]
        if missing:
            raise ConfigError(f"{source}: missing field(s): {', '.join(missing)}")
        aws = data["aws"]
        if not isinstance(aws, Mapping) or "account_id" not in aws or "region" not in aws:
            raise ConfigError(f"{source}: aws must hold account_id and region")
        envs = data["environments"]
        if not isinstance(envs, list):
            raise ConfigError(f"{source}: environments must be a list")
        return cls(
            project=data["project"],
            model_name=data["model_name"],
            github_repository=data["github_repository"],
            image=data["image"],
            aws_account_id=v.aws_account_id("aws.account_id", aws["account_id"]),
            aws_region=aws["region"],
            environments=tuple(envs),
            extra={key: value for key, value in data.items() if key not in _COMMENTS},
        )

    def to_yaml(self) -> str:
        """The canonical text of project.yaml: same config, same bytes."""

        def scalar(value: str) -> str:
            # YAML's own quoting, so names such as "on" or "0123" stay strings
            return yaml.safe_dump(value, default_style=None).removesuffix("\n...\n").strip()

        def block(key: str, body: str) -> str:
            return f"# {_COMMENTS[key]}\n{key}:{body}\n"

        parts = [
            _HEADER,
            block("project", " " + scalar(self.project)),
            block("model_name", " " + scalar(self.model_name)),
            block("github_repository", " " + scalar(self.github_repository)),
            block("image", " " + scalar(self.image)),
            # the account id is always quoted: YAML would read 012345678901 as a number
            block("aws", f'\n  account_id: "{self.aws_account_id}"\n  region: {scalar(self.aws_region)}'),
            block("environments", "".join(f"\n  - {scalar(env)}" for env in self.environments)),
        ]
        if self.extra:
            parts.append(yaml.safe_dump(dict(self.extra), sort_keys=False, default_flow_style=False))
        return "\n".join(parts)


def load(root: Path) -> ProjectConfig:
    path = root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: not found; is this the repository root?") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return ProjectConfig.from_mapping(data, source=str(path))
