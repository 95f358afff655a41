"""project.yaml's names as step outputs, so workflows never repeat them.

``python -m cicd.project`` writes ``image``, ``model_name``, ``aws_region`` and ``default_environment``
to ``$GITHUB_OUTPUT``. The image name is project.yaml's unless the workflow runs in another repository
than the one project.yaml names (a fork that has not run ``make init`` yet): it then pushes to that
repository's own package, ``ghcr.io/<owner>/<name>`` in lower case, and says so in a warning.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cicd import gha

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = "ghcr.io"


@dataclass(frozen=True)
class Project:
    project: str
    model_name: str
    github_repository: str
    image: str
    aws_region: str
    environments: tuple[str, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "project.yaml") -> Project:
        try:
            return cls(
                project=str(data["project"]),
                model_name=str(data["model_name"]),
                github_repository=str(data["github_repository"]),
                image=str(data["image"]),
                aws_region=str(data["aws"]["region"]),
                environments=tuple(str(e) for e in data["environments"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{source}: missing or malformed field {exc}") from exc


def load(root: Path = ROOT) -> Project:
    path = root / "project.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return Project.from_mapping(data, str(path))


def image_for(project: Project, repository: str | None) -> tuple[str, str | None]:
    """The image to push from ``repository`` and, when it differs from project.yaml's, a warning."""
    if not repository or repository.lower() == project.github_repository.lower():
        return project.image, None
    image = f"{REGISTRY}/{repository.lower()}"
    return image, (
        f"project.yaml names {project.github_repository} but this is {repository}: using {image}. "
        "Run `make init` to rename the template and commit the result."
    )


def outputs(project: Project, environ: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    image, warning = image_for(project, environ.get("GITHUB_REPOSITORY"))
    return {
        "image": image,
        "model_name": project.model_name,
        "aws_region": project.aws_region,
        "first_environment": project.environments[0],
    }, warning


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.project", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    values, warning = outputs(load(), os.environ)
    if warning:
        gha.annotate("warning", warning, title="Template not renamed")
    gha.set_outputs(values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
