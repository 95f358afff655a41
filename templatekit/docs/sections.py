"""Parts of the docs written by code from the files they describe, so the prose cannot drift from them.

A generated part sits between two comments in a Markdown file::

    <!-- generated:NAME -->
    ...text written by GENERATORS[NAME](root)...
    <!-- /generated:NAME -->

``python -m templatekit.docs generate`` rewrites every such part; ``--check`` fails if one is stale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from templatekit.docs import generators

_PART = re.compile(
    r"(?P<open><!-- generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(?P<close><!-- /generated:(?P=name) -->)",
    re.DOTALL,
)

GENERATORS: dict[str, Callable[[Path], str]] = {
    "make-targets": generators.make_targets,
    "places": generators.places_table,
    "init-flags": generators.init_flags,
    "serving-benchmark-setup": generators.serving_benchmark_setup,
    "serving-benchmark-figure": generators.serving_benchmark_figure,
    "serving-benchmark-tables": generators.serving_benchmark_tables,
    "serving-benchmark-ratios": generators.serving_benchmark_ratios,
    "personas": generators.personas,
}


class SectionError(ValueError):
    """A generated part names no known generator, or its generator failed; the message says which."""


def refresh(text: str, root: Path, source: str = "<text>") -> str:
    """``text`` with every generated part rewritten from the repository at ``root``."""

    def render(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in GENERATORS:
            raise SectionError(f"{source}: unknown generated part {name!r}; known: {', '.join(GENERATORS)}")
        try:
            body = GENERATORS[name](root).rstrip("\n") + "\n"
        except (OSError, ValueError, KeyError) as exc:
            raise SectionError(f"{source}: generated part {name!r} failed: {exc}") from exc
        return match.group("open") + body + match.group("close")

    return _PART.sub(render, text)


def names_in(text: str) -> list[str]:
    return [match.group("name") for match in _PART.finditer(text)]


def stale(files: Iterable[Path], root: Path) -> list[Path]:
    """The files whose generated parts differ from what the generators write now."""
    out = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if names_in(text) and refresh(text, root, str(path)) != text:
            out.append(path)
    return out


def write_all(files: Iterable[Path], root: Path) -> list[Path]:
    """Rewrite the generated parts of ``files`` (atomically, only those that change); returns them."""
    from training.artifact import atomic_write_bytes

    changed = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        new = refresh(text, root, str(path))
        if new != text:
            atomic_write_bytes(path, new.encode("utf-8"))
            changed.append(path)
    return changed
