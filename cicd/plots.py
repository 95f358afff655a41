"""Draw the DVC plots that ``dvc.yaml`` declares as PNG images, the base branch's next to this branch's.

DVC renders plots as Vega-Lite for a browser; a pull-request comment needs plain images. This module reads
the same declarations (top-level ``plots:`` and stages' ``plots:`` outputs, see DVC's dvc.yaml reference),
loads the data files (JSON, CSV, TSV, YAML) and draws them with matplotlib:

- ``confusion`` / ``confusion_normalized`` templates: a count (or row-normalised) matrix, base and head
  side by side;
- other templates: one line (or scatter, or horizontal bars) per series, the base dashed behind;
- image outputs (``.png``): copied as they are.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

IMAGE_SUFFIXES = (".png",)
DATA_SUFFIXES = (".json", ".csv", ".tsv", ".yaml", ".yml")
CONFUSION = ("confusion", "confusion_normalized")

Record = dict[str, Any]


@dataclass(frozen=True)
class Series:
    file: str
    x: str | None  # None: the record index ("step")
    y: str | None  # None: the last field of the records


@dataclass(frozen=True)
class PlotSpec:
    title: str
    template: str
    series: tuple[Series, ...]
    x_label: str | None = None
    y_label: str | None = None

    @property
    def is_image(self) -> bool:
        return len(self.series) == 1 and self.series[0].file.lower().endswith(IMAGE_SUFFIXES)


def slug(title: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return (text or "plot")[:60]


# ---------------------------------------------------------------------------------------------- specs
def _series_from(props: Mapping[str, Any], default_file: str | None) -> list[Series]:
    x = props.get("x")
    y = props.get("y")
    if isinstance(y, Mapping):
        out = []
        for file, fields in y.items():
            fx = x.get(file) if isinstance(x, Mapping) else x
            for field in [fields] if isinstance(fields, str) or fields is None else list(fields):
                out.append(Series(str(file), fx, field))
        return out
    if default_file is None:
        return []
    fx = x.get(default_file) if isinstance(x, Mapping) else x
    ys = [y] if isinstance(y, str) or y is None else list(y)
    return [Series(default_file, fx, field) for field in ys]


def _spec(title: str, props: Mapping[str, Any] | None, default_file: str | None) -> PlotSpec | None:
    props = props or {}
    series = _series_from(props, default_file)
    if not series:
        return None
    return PlotSpec(
        title=str(props.get("title") or title),
        template=str(props.get("template") or "linear"),
        series=tuple(series),
        x_label=props.get("x_label"),
        y_label=props.get("y_label"),
    )


def declared_plots(dvc_yaml: Mapping[str, Any]) -> list[PlotSpec]:
    """Every plot ``dvc.yaml`` declares, in file order. Directories are not expanded."""
    specs: list[PlotSpec | None] = []
    for entry in dvc_yaml.get("plots") or []:
        if isinstance(entry, str):
            specs.append(_spec(entry, None, entry))
        elif isinstance(entry, Mapping):
            for key, props in entry.items():
                is_file = str(key).lower().endswith(DATA_SUFFIXES + IMAGE_SUFFIXES)
                specs.append(_spec(str(key), props, str(key) if is_file else None))
    # Stage outputs a top-level plot already draws are not drawn a second time on their own.
    covered = {series.file for spec in specs if spec is not None for series in spec.series}
    for stage in (dvc_yaml.get("stages") or {}).values():
        for out in (stage or {}).get("plots") or []:
            items = {out: None} if isinstance(out, str) else dict(out) if isinstance(out, Mapping) else {}
            for path, props in items.items():
                if str(path) not in covered:
                    specs.append(_spec(str(path), props if isinstance(props, Mapping) else None, str(path)))
    return [s for s in specs if s is not None]


# ---------------------------------------------------------------------------------------------- data
def load_records(path: Path) -> list[Record]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ","))
        return [{k: _number(v) for k, v in row.items()} for row in rows]
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    if isinstance(data, Mapping):  # {"name": [records]}: DVC takes the first list
        data = next((v for v in data.values() if isinstance(v, list)), [])
    if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
        raise ValueError(f"{path}: expected a list of records (or an object holding one)")
    return [dict(r) for r in data]


def _number(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text


def _xy(records: Sequence[Record], series: Series) -> tuple[list[Any], list[Any], str, str]:
    if not records:
        return [], [], series.x or "step", series.y or "value"
    yfield = series.y or [k for k in records[0] if k != series.x][-1]
    xs = [r.get(series.x) for r in records] if series.x else list(range(len(records)))
    return xs, [r.get(yfield) for r in records], series.x or "step", yfield


def confusion_matrix(
    records: Sequence[Record], row_field: str, column_field: str, normalize: bool
) -> tuple[list[str], list[list[float]]]:
    """Counts of (row value, column value) pairs over the union of labels; rows sum to 1 if normalised."""
    labels = sorted({str(r.get(row_field)) for r in records} | {str(r.get(column_field)) for r in records})
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0.0] * len(labels) for _ in labels]
    for r in records:
        matrix[index[str(r.get(row_field))]][index[str(r.get(column_field))]] += 1
    if normalize:
        matrix = [[v / (sum(row) or 1) for v in row] for row in matrix]
    return labels, matrix


def group_field(template: str, root: Path) -> str | None:
    """The field a custom template colours lines by (``encoding.color.field``), if it is a data field."""
    path = root / ".dvc" / "plots" / f"{template}.json"
    if not path.is_file():
        return None
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    color = ((spec.get("encoding") or {}).get("color") or {}) if isinstance(spec, dict) else {}
    field = color.get("field") if isinstance(color, dict) else None
    if not isinstance(field, str) or field == "rev" or field.startswith("<"):
        return None
    return field


# ---------------------------------------------------------------------------------------------- drawing
def _draw_confusion(spec: PlotSpec, head: list[Record], base: list[Record] | None, out: Path) -> None:
    import matplotlib.pyplot as plt

    series = spec.series[0]
    # DVC's confusion template puts the x field on the horizontal axis and the y field on the vertical.
    column_field, row_field = series.x or "actual", series.y or "predicted"
    normalize = spec.template == "confusion_normalized"
    panels = [("base", base), ("this PR", head)] if base else [("this PR", head)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    for ax, (name, records) in zip(axes[0], panels, strict=True):
        labels, matrix = confusion_matrix(records or [], row_field, column_field, normalize)
        ax.imshow(matrix, cmap="Blues", vmin=0)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel(spec.x_label or column_field)
        ax.set_ylabel(spec.y_label or row_field)
        ax.set_title(name)
        peak = max((max(row) for row in matrix), default=0) or 1
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                text = f"{value:.2f}" if normalize else f"{value:g}"
                ax.text(j, i, text, ha="center", va="center", color="white" if value > peak / 2 else "black")
    fig.suptitle(spec.title)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def _groups(records: list[Record], field: str | None) -> list[tuple[str, list[Record]]]:
    if not field:
        return [("", records)]
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(str(record.get(field)), []).append(record)
    return list(groups.items())


def _draw_series(
    spec: PlotSpec,
    head: Mapping[str, list[Record]],
    base: Mapping[str, list[Record]] | None,
    out: Path,
    group_by: str | None = None,
) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    xlabel = ylabel = ""
    colors: dict[str, Any] = {}
    for series in spec.series:
        for name, data, style in (("base", base, {"linestyle": "--", "alpha": 0.6}), ("this PR", head, {})):
            if data is None or series.file not in data:
                continue
            for group, records in _groups(data[series.file], group_by):
                xs, ys, xlabel, ylabel = _xy(records, series)
                label = " ".join(p for p in (group, ylabel if len(spec.series) > 1 else "", f"({name})") if p)
                key = f"{group}/{series.y}"
                if key in colors:
                    style = {**style, "color": colors[key]}
                artist = _draw_one(ax, spec.template, name, xs, ys, label, style)
                colors.setdefault(key, artist)
    ax.set_xlabel(spec.x_label or xlabel)
    ax.set_ylabel(spec.y_label or ylabel)
    ax.set_title(spec.title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def _draw_one(
    ax: Any, template: str, name: str, xs: list[Any], ys: list[Any], label: str, style: dict[str, Any]
) -> Any:
    """Draw one series; returns the colour used, so the base and head lines of a group match."""
    alpha = 0.6 if name == "base" else 1.0
    if template == "scatter":
        return ax.scatter(xs, ys, label=label, s=12, alpha=alpha, color=style.get("color")).get_facecolor()[0]
    if template.startswith("bar_horizontal"):
        positions = [i + (0.4 if name == "base" else 0.0) for i in range(len(ys))]
        bars = ax.barh(positions, ys, height=0.4, label=label, alpha=alpha, color=style.get("color"))
        ax.set_yticks(range(len(xs)), [str(x) for x in xs])
        return bars.patches[0].get_facecolor() if bars.patches else None
    (line,) = ax.plot(xs, ys, label=label, **style)
    return line.get_color()


def _load_all(root: Path, spec: PlotSpec, notes: list[str], side: str) -> dict[str, list[Record]] | None:
    out: dict[str, list[Record]] = {}
    for series in spec.series:
        path = root / series.file
        if series.file in out:
            continue
        if not path.is_file():
            notes.append(f"{spec.title}: {series.file} is missing on the {side} side")
            return None
        out[series.file] = load_records(path)
    return out


def render_all(
    head_root: Path, base_root: Path | None, out_dir: Path
) -> tuple[list[tuple[str, Path]], list[str]]:
    """Draw every declared plot into ``out_dir``; returns ``[(title, png)]`` and notes on what was skipped."""
    import matplotlib

    matplotlib.use("Agg")
    notes: list[str] = []
    dvc_file = head_root / "dvc.yaml"
    if not dvc_file.is_file():
        return [], ["No dvc.yaml in this branch, so no plots."]
    specs = declared_plots(yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {})
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn: list[tuple[str, Path]] = []
    used: set[str] = set()
    for spec in specs:
        name = slug(spec.title)
        while name in used:
            name += "-x"
        used.add(name)
        target = out_dir / f"{name}.png"
        if spec.is_image:
            source = head_root / spec.series[0].file
            if source.is_file():
                shutil.copyfile(source, target)
                drawn.append((spec.title, target))
            else:
                notes.append(f"{spec.title}: image {spec.series[0].file} is missing")
            continue
        head = _load_all(head_root, spec, notes, "head")
        if head is None:
            continue
        base = _load_all(base_root, spec, [], "base") if base_root else None
        if spec.template in CONFUSION:
            records = next(iter(head.values()))
            base_records = next(iter(base.values())) if base else None
            _draw_confusion(spec, records, base_records, target)
        else:
            _draw_series(spec, head, base, target, group_field(spec.template, head_root))
        drawn.append((spec.title, target))
    return drawn, notes
