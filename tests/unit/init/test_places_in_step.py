"""project.yaml is tied to every file that holds its names: a drift, or a name no place covers, fails.

Two checks. The table check: every place in templatekit/places.py matches its file and holds exactly what
project.yaml says. The coverage check: every occurrence of a distinctive name (account id, repository,
image, project) in a tracked file lies inside some place, so a new file that hard-codes one cannot slip
past `make init`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from templatekit.config import CONFIG_FILE, load
from templatekit.rewrite import plan

REPO = Path(__file__).resolve().parents[3]

# Files allowed to hold the names without being a place, and why.
NOT_PLACES = {
    CONFIG_FILE: "the source of truth itself",
    "tests/": "fixtures and assertions: moto's default account is 123456789012, and tests of init use literals",
    "templatekit/": "the tool that rewrites them describes them",
    "cicd/simulate.py": "made-up fork names for the workflow simulation, not this project's",
    "docker/build-base-image.sh": "names the local base image, a build detail shared with tests, not the project",
}


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the coverage check needs `git ls-files`")
    return sorted(name for name in out.decode().split("\0") if name and (REPO / name).is_file())


def test_every_place_holds_project_yaml_values() -> None:
    config = load(REPO)
    result = plan(REPO, config, config)
    problems = [finding.describe() for finding in result.drift()]
    problems += [f"{change.path}: would be rewritten by `make init`" for change in result.changes]
    assert not problems, "run `make init` to write project.yaml's names back:\n" + "\n".join(problems)


def test_no_name_is_hard_coded_outside_a_place() -> None:
    config = load(REPO)
    names = {
        "image": config.image,
        "github_repository": config.github_repository,
        "aws.account_id": config.aws_account_id,
        "project": config.project,
    }
    covered: dict[str, list[tuple[int, int]]] = {}
    for finding in plan(REPO, config, config).findings:
        covered.setdefault(finding.path, []).extend(finding.spans)
    stray = []
    for path in tracked_files():
        if any(path == skip or (skip.endswith("/") and path.startswith(skip)) for skip in NOT_PLACES):
            continue
        try:
            text = (REPO / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        spans = covered.get(path, [])
        reported: list[tuple[int, int]] = []
        for field, value in names.items():  # longest names first: an image holds the repository and project
            for match in re.finditer(re.escape(value), text):
                inside = [(s, e) for s, e in spans + reported if s <= match.start() and match.end() <= e]
                if not inside:
                    reported.append(match.span())
                    line = text.count("\n", 0, match.start()) + 1
                    stray.append(f"{path}:{line}: holds {field} {value!r} outside any place")
    assert not stray, (
        "add a Place for each (templatekit/places.py) so `make init` renames it, or read project.yaml:\n"
        + "\n".join(stray)
    )
