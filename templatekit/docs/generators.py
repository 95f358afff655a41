"""Generators for the generated parts of the docs. Each takes the repository root, returns Markdown."""

from __future__ import annotations

import re
from pathlib import Path


def _table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- make targets
_TARGET = re.compile(r"^(?P<target>[a-zA-Z0-9_.-]+):[^#\n=]*?##\s*(?P<doc>.+)$", re.MULTILINE)


def make_targets(root: Path) -> str:
    """Every documented make target (what `make help` prints), with the file that defines it."""
    rows = []
    for path in [root / "Makefile", *sorted((root / "mk").glob("*.mk"))]:
        for match in _TARGET.finditer(path.read_text(encoding="utf-8")):
            rows.append(
                [f"`make {match.group('target')}`", match.group("doc").strip(), f"`{path.relative_to(root)}`"]
            )
    rows.sort(key=lambda row: row[0])
    return _table(["Target", "What it does", "Defined in"], rows)


# --------------------------------------------------------------------------- make init
def init_flags(root: Path) -> str:
    """The flags of `make init`, the project.yaml field each sets, and the rule it must pass."""
    from templatekit.cli import FIELDS

    rules = {
        "project": "DNS label: lowercase letters, digits, `-`; starts with a letter; at most 63",
        "model_name": "DNS label, as above",
        "github_repository": "`OWNER/REPO` as GitHub allows them",
        "image": "`REGISTRY/PATH` with a registry host, lowercase path, no tag or digest",
        "aws_account_id": "exactly 12 digits",
        "aws_region": "a region name the locked AWS SDK knows, such as `eu-west-1`",
        "environments": "comma-separated DNS labels, unique, in promotion order",
    }
    yaml_key = {"aws_account_id": "aws.account_id", "aws_region": "aws.region"}
    rows = [
        [f"`{flag}`", f"`{yaml_key.get(name, name)}`", rules[name]] for name, (flag, _, _) in FIELDS.items()
    ]
    return _table(["Flag", "project.yaml", "Must be"], rows)


def places_table(root: Path) -> str:
    """Which files `make init` rewrites, and which names each holds (from templatekit/places.py)."""
    from templatekit.places import ENVIRONMENT_DIRS, PLACES

    holds: dict[str, list[str]] = {}
    for place in PLACES:
        names = re.findall(r"\{(\w+)\}", place.value)
        entry = holds.setdefault(place.path, [])
        for name in names:
            if name not in entry:
                entry.append(name)
    rows = [[f"`{path}`", ", ".join(f"`{n}`" for n in names)] for path, names in holds.items()]
    rows += [[f"`{d}/`", "one folder per environment: copied, renamed or removed"] for d in ENVIRONMENT_DIRS]
    return _table(["File (`{env}`: each environment; `**`: any folder)", "Names it holds"], rows)


# --------------------------------------------------------------------------- filled in once their data exists
def serving_benchmark(root: Path) -> str:
    raise ValueError("benchmarks/serving/results is not there yet")


def personas(root: Path) -> str:
    raise ValueError("the persona table is not there yet")
