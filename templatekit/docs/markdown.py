"""Read the Markdown this repository documents itself with: shell blocks, their markers, links, anchors.

A shell block (```bash, ```sh, ```shell or ```console) may be preceded by one marker comment telling
the docs tests what to do with it:

    <!-- docs-test: skip REASON -->        not runnable offline (needs AWS, a cluster, GitHub...): say why
    <!-- docs-test: covered-by PATH -->    a test at PATH (repository-relative) runs these commands itself
    <!-- docs-test: run timeout=SECONDS needs=BIN|ALT,BIN2 -->
                                           run it (the default without a marker), with a longer timeout,
                                           skipped with a reason where a binary it needs is missing

Blocks without a marker are run by tests/docs/test_commands.py in a scratch copy of the repository.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console"})
_FENCE = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*$")
_MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>skip|covered-by|run)\b\s*(?P<arg>.*?)\s*-->")
_LINK = re.compile(
    r"!?\[(?P<text>(?:[^\[\]]|\[[^\]]*\])*)\]\((?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\)"
)
_HTML_SRC = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"(?P<target>[^\"]+)\"", re.IGNORECASE)
_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.+?)[ \t#]*$")
_EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"(?P<name>[^\"]+)\"", re.IGNORECASE)


class MarkdownError(ValueError):
    """A marker or block is malformed; the message names the file and line."""


@dataclass(frozen=True)
class ShellBlock:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    body: str
    kind: str  # "run" | "skip" | "covered-by"
    argument: str  # the reason, the covering test's path, or run options

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def timeout(self) -> float:
        match = re.search(r"timeout=(\d+)", self.argument)
        return float(match.group(1)) if match else 120.0

    @property
    def needs(self) -> list[list[str]]:
        """Binaries the block needs: each inner list holds alternatives (``kustomize|kubectl``)."""
        match = re.search(r"needs=(\S+)", self.argument)
        return [group.split("|") for group in match.group(1).split(",")] if match else []

    def commands(self) -> list[str]:
        """The commands of the block, one per logical line (continuations joined; prompts and comments
        dropped; in ``console`` blocks only the lines after a ``$`` prompt are commands)."""
        out: list[str] = []
        pending = ""
        for raw in self.body.splitlines():
            line = raw.rstrip()
            if self.language == "console":
                if not pending and not line.startswith("$ "):
                    continue
                line = line[2:] if not pending else line
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if pending:
                line = line.strip()
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            out.append((pending + line).strip())
            pending = ""
        if pending:
            out.append(pending.strip())
        return out


@dataclass(frozen=True)
class Link:
    path: Path
    line: int
    target: str
    image: bool


def _fenced_regions(lines: list[str]) -> list[tuple[int, int, str, str]]:
    """(start line index, end line index, language, body) of each fenced block."""
    regions = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, lang = match.group("fence"), match.group("lang").lower()
        j = i + 1
        while j < len(lines) and not lines[j].lstrip().startswith(fence):
            j += 1
        regions.append((i, j, lang, "\n".join(lines[i + 1 : j])))
        i = j + 1
    return regions


@dataclass(frozen=True)
class FencedBlock:
    line: int  # 1-based line of the opening fence
    language: str
    body: str


def fenced_blocks(path: Path) -> list[FencedBlock]:
    """Every fenced block of a page, whatever its language."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [FencedBlock(start + 1, lang, body) for start, _, lang, body in _fenced_regions(lines)]


def shell_blocks(path: Path) -> list[ShellBlock]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    for start, _, lang, body in _fenced_regions(lines):
        if lang not in SHELL_LANGUAGES:
            continue
        kind, argument = "run", ""
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        if k >= 0 and (marker := _MARKER.search(lines[k])):
            kind, argument = marker.group("kind"), marker.group("arg")
            if kind in {"skip", "covered-by"} and not argument:
                raise MarkdownError(f"{path}:{k + 1}: docs-test: {kind} needs a reason or a path")
        elif k >= 0 and "docs-test" in lines[k]:
            raise MarkdownError(f"{path}:{k + 1}: unreadable docs-test marker: {lines[k].strip()}")
        blocks.append(ShellBlock(path, start + 1, lang, body, kind, argument))
    return blocks


def _outside_code(lines: list[str], strip_inline: bool = True) -> list[tuple[int, str]]:
    """(1-based line number, text) of lines not inside fenced blocks, inline code removed if asked."""
    inside: set[int] = set()
    for start, end, _, _ in _fenced_regions(lines):
        inside.update(range(start, end + 1))
    return [
        (n + 1, re.sub(r"`[^`]*`", "", line) if strip_inline else line)
        for n, line in enumerate(lines)
        if n not in inside
    ]


def links(path: Path) -> list[Link]:
    out = []
    for number, text in _outside_code(path.read_text(encoding="utf-8").splitlines()):
        for match in _LINK.finditer(text):
            target = match.group("target").strip("<>")
            out.append(Link(path, number, target, match.group(0).startswith("!")))
        for match in _HTML_SRC.finditer(text):
            out.append(Link(path, number, match.group("target"), "<img" in match.group(0).lower()))
    return out


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading)  # inline HTML
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = text.replace("`", "").strip().lower()
    kept = []
    for ch in text:
        if ch in " -_" or ch.isalnum() or unicodedata.category(ch).startswith("M"):
            kept.append("-" if ch == " " else ch)
    return "".join(kept)


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, text in _outside_code(path.read_text(encoding="utf-8").splitlines(), strip_inline=False):
        if match := _HEADING.match(text):
            slug = github_slug(match.group("text"))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
        found.update(m.group("name") for m in _EXPLICIT_ANCHOR.finditer(text))
    return found


def broken_links(path: Path, root: Path) -> list[str]:
    """Every relative link or image in ``path`` whose file (or heading anchor) does not exist."""
    problems = []
    for link in links(path):
        target = link.target
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("//"):
            continue  # absolute URL (https:, mailto:): not checked offline
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path.resolve()
        where = f"{path.relative_to(root)}:{link.line}"
        try:
            resolved.relative_to(root.resolve())
        except ValueError:
            problems.append(f"{where}: {target} points outside the repository")
            continue
        if not resolved.exists():
            problems.append(f"{where}: {target} does not exist")
            continue
        if link.image and not resolved.is_file():
            problems.append(f"{where}: image {target} is not a file")
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where}: {target}: no heading with anchor #{anchor}")
    return problems
