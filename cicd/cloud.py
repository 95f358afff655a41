"""Does this repository configure what a cloud step needs? Skip with a notice when it does not.

A fresh fork has no repository or environment variables, so every step that needs AWS would fail.
Workflows instead run ``python -m cicd.cloud --purpose "..." --require NAME ...`` first, passing the
variables as environment (``env: AWS_ROLE_ARN: ${{ vars.AWS_ROLE_ARN }}``), and guard the cloud steps
with ``if: steps.<id>.outputs.configured == 'true'``. The first ``--require`` variable is the switch:

- switch unset: ``configured=false`` and a notice naming it and where to set it (the job stays green);
- switch set, the others set and well formed: ``configured=true``;
- switch set but another missing or malformed: an error, because a half-done setup must not pass silently.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cicd import gha

DOCS = "docs/using-this-template.md#what-to-configure"

# Shapes of the values we know; anything else only has to be non-empty.
_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "ROLE_ARN": (re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}"), "an IAM role ARN"),
    "REGION": (re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d"), "an AWS region such as eu-west-1"),
    "BUCKET": (re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"), "an S3 bucket name"),
    "CLUSTER_NAME": (re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}"), "an EKS cluster name"),
}


@dataclass(frozen=True)
class Check:
    purpose: str
    configured: bool
    missing: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self) -> str:
        if self.problems:
            return f"{self.purpose}: misconfigured: " + "; ".join(self.problems)
        if self.configured:
            return f"{self.purpose}: configured"
        names = ", ".join(self.missing)
        return (
            f"{self.purpose} skipped: this repository has not set {names} "
            f"(Settings -> Secrets and variables -> Actions -> Variables, or the environment's variables). "
            f"See {DOCS}."
        )


def _format_problem(name: str, value: str) -> str | None:
    for suffix, (pattern, description) in _FORMATS.items():
        if name.endswith(suffix) and not pattern.fullmatch(value):
            return f"{name}={value!r} is not {description}"
    return None


def check(purpose: str, required: Sequence[str], environ: Mapping[str, str]) -> Check:
    """Which of ``required`` are set in ``environ``, and whether the set ones look right."""
    if not required:
        raise ValueError("name at least one required variable")
    values = {name: environ.get(name, "").strip() for name in required}
    switch = required[0]
    missing = tuple(name for name, value in values.items() if not value)
    if not values[switch]:
        return Check(purpose, configured=False, missing=(switch,))
    problems = [f"{name} is not set while {switch} is" for name in missing]
    problems += [p for name, value in values.items() if value and (p := _format_problem(name, value))]
    if problems:
        return Check(purpose, configured=False, missing=missing, problems=tuple(problems))
    return Check(purpose, configured=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.cloud", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--purpose", required=True, help='what the guarded steps do, e.g. "publish model to S3"'
    )
    parser.add_argument(
        "--require",
        action="append",
        required=True,
        metavar="NAME",
        help="variable needed; the first is the switch",
    )
    args = parser.parse_args(argv)
    result = check(args.purpose, args.require, os.environ)
    if not result.ok:
        gha.annotate("error", result.message(), title="Cloud settings incomplete")
        gha.add_summary(f"**Error:** {result.message()}")
        return 1
    if not result.configured:
        gha.annotate("notice", result.message(), title="Cloud step skipped")
        gha.add_summary(f"> **Skipped:** {result.message()}")
    else:
        print(result.message())
    gha.set_outputs({"configured": result.configured})
    return 0


if __name__ == "__main__":
    sys.exit(main())
