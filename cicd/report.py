"""The pull-request model report: metrics with deltas against the base branch, and plots.

Two halves with a file format between them, because they run with different trust:

- ``bundle`` runs in the pull request's own CI job (untrusted code, read-only token). It writes a report
  *bundle*: ``report.json`` (numbers and names only, no Markdown) plus the PNG plots.
- ``render`` runs in the trusted ``workflow_run`` job (``cicd.pr_comment``). It validates the bundle as
  untrusted data (``load_bundle``) and renders the Markdown itself, escaping every name.

The rendered comment starts with ``MARKER`` so the same comment is found and updated on every push.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cicd import gha

MARKER = "<!-- mlops-template:pr-report -->"
SCHEMA = 1
REPORT_FILE = "report.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PLOT_BYTES = 2 * 1024 * 1024
MAX_PLOTS = 12
MAX_METRICS = 200

_SAFE_KEY = re.compile(r"[A-Za-z0-9_.:/ ()%+-]{1,120}")
_SAFE_FILE = re.compile(r"[a-z0-9][a-z0-9_-]{0,60}\.png")
_SHA = re.compile(r"[0-9a-f]{40}")

Value = float | int | str | bool | None


class BundleError(ValueError):
    """The report bundle is malformed; the message names the field or file."""


# ---------------------------------------------------------------------------------------------- metrics
def flatten(data: Any, prefix: str = "") -> dict[str, Value]:
    """Nested metrics as ``a.b.c -> value``; lists are indexed (``per_class.0``)."""
    out: dict[str, Value] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out.update(flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "value"] = data
    return out


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Row:
    name: str
    base: Value
    head: Value
    status: str  # "changed", "same", "added", "removed"

    @property
    def delta(self) -> float | None:
        if _is_number(self.base) and _is_number(self.head):
            return float(self.head) - float(self.base)  # type: ignore[arg-type]
        return None


def compare(head: Mapping[str, Value], base: Mapping[str, Value] | None) -> list[Row]:
    """One row per metric in either run, in head order then removed ones."""
    base = base or {}
    rows = []
    for name, value in head.items():
        if name not in base:
            rows.append(Row(name, None, value, "added" if base else "same"))
        else:
            rows.append(Row(name, base[name], value, "same" if base[name] == value else "changed"))
    rows += [Row(name, value, None, "removed") for name, value in base.items() if name not in head]
    return rows


def format_value(value: Value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"
    return escape(str(value))


def format_delta(row: Row) -> str:
    delta = row.delta
    if row.status == "added":
        return "new"
    if row.status == "removed":
        return "removed"
    if delta is None:
        return "" if row.status == "same" else "changed"
    if delta == 0:
        return "0"
    relative = ""
    if _is_number(row.base) and row.base != 0:
        relative = f" ({delta / abs(float(row.base)):+.1%})"  # type: ignore[arg-type]
    arrow = "▲" if delta > 0 else "▼"
    text = f"{delta:+.4f}" if abs(delta) < 1e4 else f"{delta:+.4g}"
    return f"{arrow} {text}{relative}"


def escape(text: str) -> str:
    """Text safe inside a Markdown table cell: no HTML, no pipes, no line breaks, no mentions."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    text = text.replace("<", "&lt;").replace(">", "&gt;").replace("@", "@\u200b")
    return " ".join(text.split())[:200]


# ---------------------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class Plot:
    title: str
    file: str  # PNG file name inside the bundle


@dataclass
class Report:
    pr_number: int
    head_sha: str
    base_sha: str | None
    head_metrics: dict[str, Value]
    base_metrics: dict[str, Value] | None
    plots: list[Plot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "pr_number": self.pr_number,
            "head_sha": self.head_sha,
            "base_sha": self.base_sha,
            "metrics": {"head": self.head_metrics, "base": self.base_metrics},
            "plots": [{"title": p.title, "file": p.file} for p in self.plots],
            "notes": self.notes,
        }


def render(report: Report, image_urls: Mapping[str, str] | None = None, run_url: str | None = None) -> str:
    """The comment body. ``image_urls`` maps plot file names to where the images were published."""
    image_urls = image_urls or {}
    short = report.head_sha[:7]
    lines = [MARKER, "## Model report", ""]
    if report.base_metrics is None:
        lines.append(f"Metrics of `{short}`. No base-branch metrics were available, so no deltas.")
    else:
        base = (report.base_sha or "")[:7] or "base"
        lines.append(f"Metrics of `{short}` compared with the base branch at `{base}`.")
    lines += ["", "| Metric | Base | This PR | Change |", "|---|---:|---:|---:|"]
    rows = compare(report.head_metrics, report.base_metrics)
    if not rows:
        lines.append("| (no metrics) | | | |")
    for row in rows:
        name = escape(row.name)
        if row.status in ("changed", "added", "removed"):
            name = f"**{name}**"
        lines.append(
            f"| {name} | {format_value(row.base)} | {format_value(row.head)} | {format_delta(row)} |"
        )
    changed = sum(1 for r in rows if r.status != "same")
    lines += [
        "",
        f"{changed} of {len(rows)} metrics differ from the base branch." if report.base_metrics else "",
    ]
    if report.plots:
        lines += ["", "### Plots", ""]
        for plot in report.plots:
            url = image_urls.get(plot.file)
            title = escape(plot.title)
            lines.append(f"**{title}**" if not url else f"**{title}**\n\n![{title}]({url})")
            lines.append("")
    for note in report.notes:
        lines.append(f"> {escape(note)}")
    footer = f"Updated for `{short}`"
    if run_url:
        footer += f" by [this run]({run_url})"
    lines += ["", f"<sub>{footer}. This comment is edited in place on every push.</sub>"]
    return "\n".join(line for line in lines if line is not None).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------- bundle
def read_metrics(path: Path | None) -> dict[str, Value] | None:
    if path is None or not path.is_file():
        return None
    try:
        return flatten(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise BundleError(f"{path}: not valid JSON: {exc}") from exc


def write_bundle(report: Report, plot_files: Mapping[str, Path], out: Path) -> Path:
    """Write ``report.json`` and the plots into ``out`` (created; previous content removed)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for plot in report.plots:
        shutil.copyfile(plot_files[plot.file], out / plot.file)
    tmp = out / (REPORT_FILE + ".tmp")
    tmp.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(out / REPORT_FILE)
    return out


def _metric_map(value: Any, where: str) -> dict[str, Value]:
    if not isinstance(value, dict):
        raise BundleError(f"{where}: expected an object of metric name -> value")
    if len(value) > MAX_METRICS:
        raise BundleError(f"{where}: more than {MAX_METRICS} metrics")
    out: dict[str, Value] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _SAFE_KEY.fullmatch(key):
            raise BundleError(
                f"{where}: metric name {str(key)[:60]!r} has characters outside {_SAFE_KEY.pattern}"
            )
        if isinstance(item, float) and not math.isfinite(item):
            item = None
        if item is not None and not isinstance(item, bool | int | float | str):
            raise BundleError(f"{where}.{key}: value must be a number, string, boolean or null")
        out[key] = item[:200] if isinstance(item, str) else item
    return out


def load_bundle(directory: Path, expected_pr: int | None = None, expected_sha: str | None = None) -> Report:
    """Read a bundle as untrusted input: every field checked, every plot a real PNG of bounded size."""
    path = directory / REPORT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BundleError(f"{path}: missing from the report artifact") from exc
    except ValueError as exc:
        raise BundleError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BundleError(f"{path}: schema must be {SCHEMA}")
    pr = data.get("pr_number")
    if not isinstance(pr, int) or isinstance(pr, bool) or pr <= 0:
        raise BundleError(f"{path}: pr_number must be a positive integer")
    if expected_pr is not None and pr != expected_pr:
        raise BundleError(f"{path}: pr_number {pr} is not the pull request {expected_pr} that ran")
    head = data.get("head_sha")
    if not isinstance(head, str) or not _SHA.fullmatch(head):
        raise BundleError(f"{path}: head_sha must be 40 lowercase hex digits")
    if expected_sha is not None and head != expected_sha:
        raise BundleError(f"{path}: head_sha {head} is not the commit {expected_sha} that ran")
    base = data.get("base_sha")
    if base is not None and (not isinstance(base, str) or not _SHA.fullmatch(base)):
        raise BundleError(f"{path}: base_sha must be null or 40 lowercase hex digits")
    metrics = data.get("metrics")
    if not isinstance(metrics, dict):
        raise BundleError(f"{path}: metrics must be an object with head and base")
    head_metrics = _metric_map(metrics.get("head"), "metrics.head")
    base_raw = metrics.get("base")
    base_metrics = None if base_raw is None else _metric_map(base_raw, "metrics.base")
    plots_raw = data.get("plots", [])
    if not isinstance(plots_raw, list) or len(plots_raw) > MAX_PLOTS:
        raise BundleError(f"{path}: plots must be a list of at most {MAX_PLOTS}")
    plots = []
    for index, item in enumerate(plots_raw):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            raise BundleError(f"{path}: plots[{index}] must have a title and a file")
        name = item.get("file")
        if not isinstance(name, str) or not _SAFE_FILE.fullmatch(name):
            raise BundleError(f"{path}: plots[{index}].file {str(name)[:60]!r} is not a plain .png name")
        png = directory / name
        if not png.is_file() or png.is_symlink():
            raise BundleError(f"{png}: listed in plots but missing")
        size = png.stat().st_size
        if size > MAX_PLOT_BYTES:
            raise BundleError(f"{png}: {size} bytes is over the {MAX_PLOT_BYTES}-byte limit")
        with png.open("rb") as fh:
            if fh.read(len(PNG_MAGIC)) != PNG_MAGIC:
                raise BundleError(f"{png}: not a PNG image")
        plots.append(Plot(title=item["title"][:120], file=name))
    notes_raw = data.get("notes", [])
    if not isinstance(notes_raw, list) or not all(isinstance(n, str) for n in notes_raw):
        raise BundleError(f"{path}: notes must be a list of strings")
    return Report(pr, head, base, head_metrics, base_metrics, plots, [n[:300] for n in notes_raw[:10]])


# ---------------------------------------------------------------------------------------------- CLI
def _bundle(args: argparse.Namespace) -> int:
    from cicd import plots as plotting  # matplotlib is only needed where plots are drawn

    head = read_metrics(args.head_metrics)
    if head is None:
        raise SystemExit(f"error: {args.head_metrics} not found; did the pipeline run (make train)?")
    base = read_metrics(args.base_metrics) if args.base_metrics else None
    notes = []
    if base is None:
        notes.append("The base branch produced no metrics file, so there is nothing to compare with.")
    work = args.out.parent / (args.out.name + ".plots")
    rendered, plot_notes = plotting.render_all(args.head_root, args.base_root, work)
    report = Report(
        pr_number=args.pr,
        head_sha=args.head_sha,
        base_sha=args.base_sha or None,
        head_metrics=head,
        base_metrics=base,
        plots=[Plot(title, path.name) for title, path in rendered],
        notes=notes + plot_notes,
    )
    write_bundle(report, {path.name: path for _, path in rendered}, args.out)
    shutil.rmtree(work, ignore_errors=True)
    load_bundle(args.out)  # what the trusted side will accept, checked here first
    gha.add_summary(render(report))
    print(f"report bundle written to {args.out} ({len(report.plots)} plots, {len(head)} metrics)")
    return 0


def _render(args: argparse.Namespace) -> int:
    report = load_bundle(args.bundle)
    text = render(report)
    if args.summary:
        gha.add_summary(text)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.report", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bundle", help="write the report bundle (report.json + plots) for a pull request")
    b.add_argument("--pr", type=int, required=True)
    b.add_argument("--head-sha", required=True)
    b.add_argument("--base-sha", default="")
    b.add_argument("--head-metrics", type=Path, default=Path("reports/metrics.json"))
    b.add_argument("--base-metrics", type=Path, default=None)
    b.add_argument("--head-root", type=Path, default=Path("."), help="checkout whose dvc.yaml plots to draw")
    b.add_argument("--base-root", type=Path, default=None, help="base-branch checkout, drawn alongside")
    b.add_argument("--out", type=Path, default=Path("build/pr-report"))
    r = sub.add_parser("render", help="print the Markdown for a bundle (or add it to the job summary)")
    r.add_argument("bundle", type=Path)
    r.add_argument("--summary", action="store_true")
    args = parser.parse_args(argv)
    try:
        return _bundle(args) if args.command == "bundle" else _render(args)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
