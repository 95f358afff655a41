"""README.md and docs/ against the repository: links, pictures, generated parts and shell blocks agree."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest

from templatekit.docs import __main__ as docs_cli
from templatekit.docs import diagram, markdown, sections

from .repo_copy import REPO

DOCS = docs_cli.doc_files(REPO)


def test_there_are_docs() -> None:
    assert REPO / "README.md" in DOCS
    assert len(DOCS) > 1


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_and_images_resolve(path) -> None:
    assert markdown.broken_links(path, REPO) == []


def test_generated_parts_are_current() -> None:
    stale = [str(p.relative_to(REPO)) for p in sections.stale(DOCS, REPO)]
    assert not stale, f"run `make docs` to regenerate: {', '.join(stale)}"


def test_every_generated_part_has_a_generator() -> None:
    for path in DOCS:
        for name in sections.names_in(path.read_text(encoding="utf-8")):
            assert name in sections.GENERATORS, f"{path}: unknown generated part {name}"


@pytest.mark.parametrize("source", docs_cli.diagram_sources(REPO), ids=lambda p: p.name)
def test_pictures_are_drawn_from_their_current_source(source) -> None:
    png = docs_cli.png_for(REPO, source)
    assert png.is_file(), f"{png} is missing: run `make docs-diagrams`"
    assert diagram.recorded_digest(png) == diagram.source_digest(source.read_text(encoding="utf-8")), (
        f"{png.name} was drawn from an older {source.name}: run `make docs-diagrams`"
    )
    # and the picture is shown somewhere
    shown = [p for p in DOCS if f"images/{png.name}" in p.read_text(encoding="utf-8")]
    assert shown, f"no page shows {png.name}"


def _blocks() -> list[markdown.ShellBlock]:
    return [block for path in DOCS for block in markdown.shell_blocks(path)]


def test_every_shell_block_is_run_or_says_why_not() -> None:
    problems = []
    for block in _blocks():
        if block.kind != "covered-by":
            continue
        covering = REPO / block.argument.split("::")[0]
        if not covering.is_file():
            problems.append(f"{block.where}: covered-by {block.argument}: no such file")
            continue
        text = covering.read_text(encoding="utf-8")
        # the covering test reads the commands from this page, or holds each of them
        page = str(block.path.relative_to(REPO))
        missing = [cmd for cmd in block.commands() if cmd not in text]
        if page not in text and missing:
            problems.append(f"{block.where}: {block.argument} neither reads {page} nor runs {missing}")
    assert not problems, "\n".join(problems)


def _make_targets() -> set[str]:
    out = subprocess.run(
        ["make", "-C", str(REPO), "-qp"], capture_output=True, text=True, check=False, timeout=60
    ).stdout
    return {m.group(1) for m in re.finditer(r"^([a-zA-Z0-9_.-]+):", out, re.MULTILINE)}


def test_make_targets_shown_in_the_docs_exist() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed on this machine; this check needs it")
    targets = _make_targets()
    unknown = []
    for block in _blocks():
        for command in block.commands():
            try:
                words = shlex.split(command, comments=True)
            except ValueError:
                continue
            for i, word in enumerate(words):
                if word != "make" or (i and words[i - 1] not in {"&&", "||", ";", "|"}):
                    continue
                for arg in words[i + 1 :]:
                    if arg in {"&&", "||", ";", "|"}:
                        break
                    if "=" not in arg and not arg.startswith("-") and arg not in targets:
                        unknown.append(f"{block.where}: make {arg}")
    assert not unknown, "no such make target:\n" + "\n".join(unknown)
