"""Plan every change `make init` makes, show it as a diff, then write it all or nothing.

A plan is computed entirely in memory from the files on disk, project.yaml's old and new values and the
table in ``templatekit.places``. Nothing is written until the whole plan exists; writing stages every new
file next to its target first and only then renames them into place, restoring the originals if a rename
fails, so an interrupted or failing run never leaves a half-renamed tree.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from templatekit.config import CONFIG_FILE, ProjectConfig
from templatekit.places import ENVIRONMENT_DIRS, PLACES, SKIP_DIRS, Place


class PlaceError(RuntimeError):
    """A place in the table no longer matches its file. The message names the file and the place."""


@dataclass(frozen=True)
class Change:
    path: str  # relative to the repository root, forward slashes
    old: str | None  # None: the file is created
    new: str | None  # None: the file is deleted
    mode: int | None = None  # permission bits for a created file


@dataclass(frozen=True)
class Finding:
    """What one place holds now and what project.yaml says it should hold."""

    place: Place
    path: str
    found: tuple[str, ...]
    expected: str
    spans: tuple[tuple[int, int], ...] = ()  # where the values sit in the file as it was read

    @property
    def in_step(self) -> bool:
        return all(value == self.expected for value in self.found)

    def describe(self) -> str:
        found = ", ".join(sorted(set(self.found)))
        return f"{self.path}: holds {found!r} where project.yaml gives {self.expected!r} ({self.place.value})"


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def drift(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.in_step]

    def diff(self) -> str:
        """A unified diff of every change, as `git apply` reads it."""
        out: list[str] = []
        for change in self.changes:
            old = [] if change.old is None else change.old.splitlines(keepends=True)
            new = [] if change.new is None else change.new.splitlines(keepends=True)
            src = "/dev/null" if change.old is None else f"a/{change.path}"
            dst = "/dev/null" if change.new is None else f"b/{change.path}"
            lines = list(difflib.unified_diff(old, new, src, dst))
            out.extend(
                line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
            )
        return "".join(out)

    def summary(self) -> str:
        created = sum(c.old is None for c in self.changes)
        deleted = sum(c.new is None for c in self.changes)
        modified = len(self.changes) - created - deleted
        return f"{modified} file(s) changed, {created} created, {deleted} deleted"


# --------------------------------------------------------------------------- the virtual tree
class _Tree:
    """The repository as the plan would leave it: disk contents overlaid with pending edits."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.edits: dict[str, str | None] = {}
        self.modes: dict[str, int] = {}

    def read(self, rel: str) -> str | None:
        if rel in self.edits:
            return self.edits[rel]
        path = self.root / rel
        if not path.is_file():
            return None
        return path.read_text(encoding="utf-8")

    def original(self, rel: str) -> str | None:
        path = self.root / rel
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def write(self, rel: str, text: str | None, mode: int | None = None) -> None:
        self.edits[rel] = text
        if mode is not None:
            self.modes[rel] = mode

    def files_under(self, rel_dir: str) -> list[str]:
        """Files below a directory (on disk or planned), skipping caches and tool state."""
        found: set[str] = set()
        base = self.root / rel_dir
        if base.is_dir():
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
                for name in filenames:
                    found.add(Path(dirpath, name).relative_to(self.root).as_posix())
        prefix = rel_dir.rstrip("/") + "/"
        found.update(rel for rel in self.edits if rel.startswith(prefix))
        return sorted(rel for rel in found if self.edits.get(rel, "") is not None)

    def changes(self) -> list[Change]:
        out = []
        for rel in sorted(self.edits):
            old, new = self.original(rel), self.edits[rel]
            if old != new:
                out.append(Change(rel, old, new, self.modes.get(rel)))
        return out


# --------------------------------------------------------------------------- environments
def environment_moves(old: Sequence[str], new: Sequence[str]) -> dict[str, str]:
    """For each new environment, the existing one whose folders it starts from.

    Kept names keep their folders. A new name at the position of an old name that is going away is a
    rename of it; any other new name starts as a copy of the first (least privileged) environment.
    """
    moves: dict[str, str] = {}
    for index, name in enumerate(new):
        if name in old:
            moves[name] = name
        elif index < len(old) and old[index] not in new:
            moves[name] = old[index]
        else:
            moves[name] = old[0]
    return moves


def _plan_environments(
    tree: _Tree, old: Sequence[str], new: Sequence[str], environment_dirs: Sequence[str]
) -> None:
    moves = environment_moves(old, new)
    for template in environment_dirs:
        for name, source in moves.items():
            if name == source:
                continue
            src_dir, dst_dir = template.format(env=source), template.format(env=name)
            files = tree.files_under(src_dir)
            if not files:
                raise PlaceError(
                    f"{src_dir}: environment folder is missing or empty; cannot create {dst_dir}"
                )
            word = re.compile(rf"(?<![\w]){re.escape(source)}(?![\w])")
            for rel in files:
                text = tree.read(rel)
                assert text is not None
                target = dst_dir + rel[len(src_dir) :]
                mode = (tree.root / rel).stat().st_mode & 0o777 if (tree.root / rel).exists() else 0o644
                tree.write(target, word.sub(name, text), mode)
        for name in old:
            if name not in new:
                for rel in tree.files_under(template.format(env=name)):
                    tree.write(rel, None)


# --------------------------------------------------------------------------- places
_OLD_VALUE = re.compile(r"<<(\w+)>>")


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for token in re.split(r"(\*\*/|\*|\?)", pattern):
        out.append({"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token)))
    return re.compile("".join(out))


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?")


def _targets(tree: _Tree, place: Place, environments: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """The files a place covers: ``{env}`` repeated per environment, globs matched on the planned tree."""
    paths = (
        [(place.path.format(env=env), {"env": env}) for env in environments]
        if "{env}" in place.path
        else [(place.path, {})]
    )
    out = []
    for path, extra in paths:
        if not _is_glob(path):
            out.append((path, extra))
            continue
        prefix = path[: min(path.index(ch) for ch in "*?" if ch in path)].rpartition("/")[0]
        regex = _glob_regex(path)
        matched = [rel for rel in tree.files_under(prefix) if regex.fullmatch(rel)]
        if not matched:
            raise PlaceError(f"{path}: no file matches (place for {place.value} in templatekit/places.py)")
        out.extend((rel, extra) for rel in matched)
    return out


def _rewrite_text(
    rel: str, text: str, jobs: Sequence[tuple[Place, re.Pattern[str], str]]
) -> tuple[str, list[Finding]]:
    """Apply every place of one file to its text as found. Earlier places claim their spans first: a match
    of a later place inside a claimed span (a project name inside an image name, say) is left alone."""
    claimed: list[tuple[int, int, str]] = []
    findings = []
    for place, pattern, expected in jobs:
        found, spans = [], []
        for match in pattern.finditer(text):
            start, end = match.span("value")
            if any((s < end and start < e) or s == start == e for s, e, _ in claimed):
                continue
            claimed.append((start, end, expected))
            found.append(match.group("value"))
            spans.append((start, end))
        if place.count is not None and found and len(found) != place.count:
            raise PlaceError(
                f"{rel}: the pattern for {place.value} matched {len(found)} time(s), expected {place.count}"
            )
        if found:
            findings.append(Finding(place, rel, tuple(found), expected, tuple(spans)))
    pieces, cursor = [], 0
    for start, end, expected in sorted(claimed):
        pieces += [text[cursor:start], expected]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), findings


def _apply_places(
    tree: _Tree, places: Sequence[Place], old: ProjectConfig, new: ProjectConfig
) -> list[Finding]:
    old_vars, new_vars = old.variables(), new.variables()
    per_file: dict[str, list[tuple[Place, re.Pattern[str], str]]] = {}
    for place in places:
        try:
            pattern = re.compile(
                _OLD_VALUE.sub(lambda m: re.escape(old_vars[m.group(1)]), place.pattern), re.MULTILINE
            )
        except (KeyError, re.error) as exc:
            raise PlaceError(f"templatekit/places.py: bad pattern for {place.path}: {exc}") from exc
        for rel, extra in _targets(tree, place, new.environments):
            expected = place.value.format_map({**new_vars, **extra})
            per_file.setdefault(rel, []).append((place, pattern, expected))
    findings: list[Finding] = []
    for rel, jobs in per_file.items():
        text = tree.read(rel)
        if text is None:
            raise PlaceError(f"{rel}: file not found (place for {jobs[0][0].value} in templatekit/places.py)")
        new_text, found = _rewrite_text(rel, text, jobs)
        findings += found
        if new_text != text:
            tree.write(rel, new_text)
    # a place must match somewhere: in each of its files, or in at least one file of its glob
    for place in (p for p in places if p.required):
        hits = {f.path for f in findings if f.place is place}
        targets = [rel for rel, _ in _targets(tree, place, new.environments)]
        missing = ([] if hits else targets) if _is_glob(place.path) else [t for t in targets if t not in hits]
        if missing:
            raise PlaceError(
                f"{missing[0]}: the pattern for {place.value} matched nothing; the file changed shape, so "
                f"update its entry in templatekit/places.py (pattern {place.pattern!r})"
            )
    return findings


def plan(
    root: Path,
    old: ProjectConfig,
    new: ProjectConfig,
    places: Sequence[Place] = PLACES,
    environment_dirs: Sequence[str] = ENVIRONMENT_DIRS,
) -> Plan:
    """Compute every change that moves the tree at ``root`` from ``old`` names to ``new`` ones.

    ``old`` is what project.yaml says now. It matters for environments, whose folders are copied, renamed
    or removed, and for places that find a name by its current value (``<<name>>`` in a pattern).
    """
    tree = _Tree(root)
    tree.write(CONFIG_FILE, new.to_yaml())
    if tuple(old.environments) != tuple(new.environments):
        _plan_environments(tree, old.environments, new.environments, environment_dirs)
    findings = _apply_places(tree, places, old, new)
    return Plan(changes=tree.changes(), findings=findings)


# --------------------------------------------------------------------------- writing
def apply(root: Path, plan: Plan) -> None:
    """Write the plan: stage every file, then rename all into place; on any failure restore and raise."""
    staged: list[tuple[Path, Path]] = []  # (temporary file, target)
    made_dirs: list[Path] = []
    try:
        for change in plan.changes:
            if change.new is None:
                continue
            target = root / change.path
            missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
            for directory in reversed(missing):
                directory.mkdir()
                made_dirs.append(directory)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".init")
            staged.append((Path(tmp_name), target))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(change.new)
                fh.flush()
                os.fsync(fh.fileno())
            mode = change.mode if change.mode is not None else None
            if mode is None and target.exists():
                mode = target.stat().st_mode & 0o777
            os.chmod(tmp_name, mode if mode is not None else 0o644)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        for directory in reversed(made_dirs):
            shutil.rmtree(directory, ignore_errors=True)
        raise

    done: list[Change] = []
    removed_modes: dict[str, int] = {}
    by_target = {target: tmp for tmp, target in staged}
    try:
        for change in plan.changes:
            target = root / change.path
            if change.new is None:
                removed_modes[change.path] = target.stat().st_mode & 0o777
                target.unlink()
            else:
                os.replace(by_target[target], target)
                del by_target[target]
            done.append(change)
    except BaseException:
        for change in reversed(done):  # put back what was already replaced
            target = root / change.path
            if change.old is None:
                target.unlink(missing_ok=True)
            else:
                target.write_text(change.old, encoding="utf-8")
                if change.path in removed_modes:
                    target.chmod(removed_modes[change.path])
        for tmp in by_target.values():
            tmp.unlink(missing_ok=True)
        raise
    for change in plan.changes:  # drop folders emptied by deleted environments
        if change.new is None:
            parent = (root / change.path).parent
            while parent != root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
