"""``python -m templatekit``: make a fork of this template yours (``init``) and keep it in step (``check``).

init   take names from flags (or ask for the missing ones on a terminal), validate them, write
       project.yaml and every place that holds them; --dry-run prints the diff and writes nothing
check  exit 1 if any place disagrees with project.yaml (what `make init-check` and the tests run)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from templatekit import validation as v
from templatekit.config import ConfigError, ProjectConfig, load
from templatekit.rewrite import PlaceError, apply, plan

# project.yaml field -> (flag, prompt, how the text typed becomes the value)
FIELDS: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "project": ("--project", "Project name (DNS label)", str.strip),
    "model_name": ("--model-name", "Model name (DNS label)", str.strip),
    "github_repository": ("--github-repository", "GitHub repository OWNER/REPO", str.strip),
    "image": ("--image", "Container image repository (REGISTRY/PATH, no tag)", str.strip),
    "aws_account_id": ("--aws-account-id", "AWS account id (12 digits)", str.strip),
    "aws_region": ("--aws-region", "AWS region", str.strip),
    "environments": (
        "--environments",
        "Environments in promotion order, comma-separated",
        lambda text: [name.strip() for name in text.split(",") if name.strip()],
    ),
}
# the name validation errors use -> project.yaml field
_ERROR_FIELDS = {"aws.account_id": "aws_account_id", "aws.region": "aws_region"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m templatekit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (default: here)")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser(
        "init", help="rename the project: project.yaml and every place that holds its names"
    )
    for name, (flag, prompt, _) in FIELDS.items():
        init.add_argument(
            flag, dest=name, metavar=name.upper(), help=f"{prompt}; default: keep the current one"
        )
    init.add_argument("--dry-run", action="store_true", help="print the unified diff; write nothing")
    init.add_argument("--no-input", action="store_true", help="never prompt, even on a terminal")
    init.add_argument("--yes", action="store_true", help="write without asking for confirmation")
    sub.add_parser("check", help="exit 1 if any place disagrees with project.yaml")
    return parser


def _field_of(exc: v.InvalidValue) -> str:
    name = exc.field.split("[")[0]
    return _ERROR_FIELDS.get(name, name)


def _current(config: ProjectConfig, name: str) -> Any:
    value = getattr(config, name)
    return ",".join(value) if name == "environments" else value


def _suggested(name: str, values: dict[str, Any], old: ProjectConfig) -> Any:
    """Defaults that follow earlier answers: a renamed repository moves a ghcr.io image along with it."""
    if name == "image" and old.image.lower() == f"ghcr.io/{old.github_repository}".lower():
        return f"ghcr.io/{values.get('github_repository', old.github_repository)}".lower()
    return _current(old, name) if name != "environments" else ",".join(old.environments)


def ask(name: str, values: dict[str, Any], old: ProjectConfig, stdin: TextIO, stdout: TextIO) -> Any:
    """Prompt until the answer passes the field's own check (checked again when the config is built)."""
    _, prompt, parse = FIELDS[name]
    default = _suggested(name, values, old)
    while True:
        stdout.write(f"{prompt} [{default}]: ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            raise EOFError(f"no answer for {name}")
        text = line.strip() or str(default)
        value = parse(text)
        try:
            old.with_changes(**{**values, name: value})
        except v.InvalidValue as exc:
            if _field_of(exc) == name:
                stdout.write(f"  {exc}\n")
                continue
        return value


def collect(
    args: argparse.Namespace, old: ProjectConfig, interactive: bool, stdin: TextIO, stdout: TextIO
) -> ProjectConfig:
    values: dict[str, Any] = {}
    for name, (_, _, parse) in FIELDS.items():
        given = getattr(args, name)
        if given is not None:
            values[name] = parse(given)
    old.with_changes(**values)  # refuse bad flags before asking anything
    if "github_repository" in values and "image" not in values and not interactive:
        values["image"] = _suggested("image", values, old)  # a ghcr.io image follows its repository
    if interactive:
        for name in FIELDS:
            if name not in values:
                values[name] = ask(name, values, old, stdin, stdout)
    return old.with_changes(**values)


def _confirm(stdin: TextIO, stdout: TextIO) -> bool:
    stdout.write("Write these changes? [y/N]: ")
    stdout.flush()
    return stdin.readline().strip().lower() in {"y", "yes"}


def run_init(args: argparse.Namespace, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    root = args.root.resolve()
    old = load(root)
    interactive = stdin.isatty() and not args.no_input
    try:
        new = collect(args, old, interactive, stdin, stdout)
    except v.InvalidValue as exc:
        flag = FIELDS.get(_field_of(exc), (exc.field,))[0]
        stderr.write(f"error: {flag}: {exc}\nNothing was written.\n")
        return 2
    result = plan(root, old, new)
    if result.empty:
        stdout.write("Nothing to change: project.yaml and every place already hold these names.\n")
        return 0
    if args.dry_run:
        stdout.write(result.diff())
        stdout.write(f"# dry run: {result.summary()}; nothing was written\n")
        return 0
    if interactive and not args.yes and not args.dry_run:
        for change in result.changes:
            kind = "create" if change.old is None else "delete" if change.new is None else "update"
            stdout.write(f"  {kind:6} {change.path}\n")
        if not _confirm(stdin, stdout):
            stdout.write("Nothing was written.\n")
            return 1
    apply(root, result)
    stdout.write(f"{result.summary()}. Review with `git diff`, then run `make test`.\n")
    if tuple(old.environments) != tuple(new.environments):
        stdout.write(environment_follow_up(old.environments, new.environments))
    return 0


def environment_follow_up(old: Sequence[str], new: Sequence[str]) -> str:
    """What `make init` cannot decide for a new or renamed environment: settings, GitHub, AWS."""
    added = [env for env in new if env not in old]
    lines = ["Environments changed. Still to do by hand (make test points at what is missing):"]
    for env in added:
        lines += [
            f"  - {env}: settings under environments.{env} in sagemaker/config.yaml (sizes, routing)",
            f"  - {env}: GitHub Environments '{env}' and 'infra-{env}' with their reviewers and variables,",
            "    documented in docs/using-this-template.md",
            f"  - {env}: terraform/envs/{env}/terraform.tfvars (copied: network, sizes), then apply",
            f"    terraform/account (a deploy role per environment) and terraform/service for {env}",
        ]
    gone = [env for env in old if env not in new]
    if gone:
        lines.append(f"  - removed {', '.join(gone)}: destroy their stacks before deleting their state")
    lines.append("  - tests that use environment names as fixtures may name the old ones: rename them there")
    return "\n".join(lines) + "\n"


def run_check(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    config = load(args.root.resolve())
    result = plan(args.root.resolve(), config, config)
    if result.empty:
        stdout.write(f"OK: {len(result.findings)} place(s) hold project.yaml's names.\n")
        return 0
    for finding in result.drift():
        stderr.write(f"drift: {finding.describe()}\n")
    stderr.write(result.diff())
    stderr.write("Run `make init` (no flags needed) to write project.yaml's names back into these places.\n")
    return 1


def main(
    argv: Sequence[str] | None = None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "init":
            return run_init(args, stdin, stdout, stderr)
        return run_check(args, stdout, stderr)
    except (ConfigError, PlaceError) as exc:
        stderr.write(f"error: {exc}\nNothing was written.\n")
        return 1
    except EOFError as exc:
        stderr.write(f"error: input ended: {exc}\nNothing was written.\n")
        return 1
