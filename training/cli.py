"""What every stage CLI shares: argument parsing helpers and one way to report failure."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from training.errors import TrainingError


def run(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> int:
    """Call ``main``; turn a TrainingError into ``error: <message>`` on stderr and exit status 1."""
    try:
        main(argv)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def log(stage: str, message: str) -> None:
    print(f"{stage}: {message}", file=sys.stderr, flush=True)
