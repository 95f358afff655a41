"""GitHub Actions runtime files and workflow commands.

A step talks back to the runner through files named by environment variables (``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY``) and through ``::notice::``-style lines on stdout. Outside Actions those variables
are unset; the functions then print what they would have written, so every command runs on a laptop.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

LEVELS = ("notice", "warning", "error")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_command(level: str, message: str, title: str | None = None) -> str:
    """One workflow command line, e.g. ``::notice title=AWS not configured::skipping upload``."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
    props = f" title={_escape_property(title)}" if title else ""
    return f"::{level}{props}::{_escape_data(message)}"


def annotate(level: str, message: str, title: str | None = None, stream: TextIO | None = None) -> None:
    print(format_command(level, message, title), file=stream or sys.stdout, flush=True)


def format_outputs(values: Mapping[str, str | int | bool]) -> str:
    """``name=value`` lines; values with newlines use a heredoc with a delimiter they cannot contain."""
    lines = []
    for name, raw in values.items():
        if not name or any(c in name for c in "=\n\r"):
            raise ValueError(f"output name {name!r} is not valid")
        value = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if "\n" in value or "\r" in value:
            delimiter = f"EOF_{secrets.token_hex(8)}"
            lines += [f"{name}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{name}={value}")
    return "".join(line + "\n" for line in lines)


def _append(path_var: str, text: str, label: str) -> None:
    target = os.environ.get(path_var)
    if not target:
        print(f"--- {label} ({path_var} unset) ---\n{text}", end="" if text.endswith("\n") else "\n")
        return
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(text)


def set_outputs(values: Mapping[str, str | int | bool]) -> None:
    """Append step outputs to ``$GITHUB_OUTPUT`` (or print them when run outside Actions)."""
    _append("GITHUB_OUTPUT", format_outputs(values), "step outputs")


def add_summary(markdown: str) -> None:
    """Append Markdown to the job summary (``$GITHUB_STEP_SUMMARY``)."""
    _append("GITHUB_STEP_SUMMARY", markdown if markdown.endswith("\n") else markdown + "\n", "job summary")


def require_env(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of a variable the runner always sets; a clear error when it is missing."""
    value = (environ if environ is not None else os.environ).get(name, "")
    if not value:
        raise SystemExit(
            f"error: environment variable {name} is not set (is this running in GitHub Actions?)"
        )
    return value


def main(argv: list[str] | None = None) -> int:
    """``python -m cicd.gha notice|warning|error --title T MESSAGE``: one annotation from a workflow step."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m cicd.gha", description=main.__doc__)
    parser.add_argument("level", choices=LEVELS)
    parser.add_argument("message")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    annotate(args.level, args.message, args.title)
    add_summary(f"> **{args.title or args.level.title()}:** {args.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
