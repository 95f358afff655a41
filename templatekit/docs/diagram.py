"""Render a box-and-arrow diagram described in YAML to PNG with matplotlib (no graphviz needed).

The YAML holds ``title``, ``size`` ([width, height] in inches; coordinates use the same units),
``lanes`` (background bands: label, y, height), ``nodes`` (id, label, optional detail, x, y centre,
optional w/h, kind) and ``edges`` (from, to, optional label, style: solid|dashed, optional bend).
Kinds set the colours; see ``KINDS``. The PNG records the sha256 of its source in a text chunk, so a test
can tell a picture that no longer matches its description without comparing pixels.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

# kind -> (fill, edge colour); a muted palette that reads on GitHub's light and dark themes
KINDS: dict[str, tuple[str, str]] = {
    "data": ("#e8f1fb", "#2f6db3"),
    "step": ("#eef7ee", "#2e7d32"),
    "artifact": ("#fff6e0", "#b7791f"),
    "image": ("#f3eefb", "#6b46c1"),
    "target": ("#fdecea", "#c0392b"),
    "gate": ("#fffbea", "#8a6d00"),
    "actor": ("#f1f1f1", "#555555"),
}
SOURCE_KEY = "Source-SHA256"


class DiagramError(ValueError):
    """The description is malformed; the message names the node or edge."""


def source_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _node_box(node: Mapping[str, Any]) -> tuple[float, float, float, float]:
    w, h = float(node.get("w", 2.2)), float(node.get("h", 1.0))
    return float(node["x"]) - w / 2, float(node["y"]) - h / 2, w, h


def validate(spec: Mapping[str, Any]) -> None:
    if not isinstance(spec, Mapping):
        raise DiagramError("the description must be a mapping")
    for key in ("title", "size", "nodes", "edges"):
        if key not in spec:
            raise DiagramError(f"missing top-level key {key!r}")
    ids = set()
    for i, node in enumerate(spec["nodes"]):
        for key in ("id", "label", "x", "y"):
            if key not in node:
                raise DiagramError(f"nodes[{i}] lacks {key!r}")
        if node["id"] in ids:
            raise DiagramError(f"node id {node['id']!r} is used twice")
        if node.get("kind", "step") not in KINDS:
            raise DiagramError(f"node {node['id']!r}: kind must be one of {', '.join(KINDS)}")
        ids.add(node["id"])
    for i, edge in enumerate(spec["edges"]):
        for end in ("from", "to"):
            if edge.get(end) not in ids:
                raise DiagramError(f"edges[{i}]: {end} {edge.get(end)!r} is not a node id")


def render(source: str, out: Path, dpi: int = 110) -> None:
    """Draw the diagram described by ``source`` (YAML text) into ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    spec = yaml.safe_load(source)
    validate(spec)
    width, height = (float(v) for v in spec["size"])
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ax.text(0.3, height - 0.35, spec["title"], fontsize=17, fontweight="bold", va="top", ha="left")
    if spec.get("subtitle"):
        ax.text(0.3, height - 0.8, spec["subtitle"], fontsize=10.5, color="#444444", va="top", ha="left")

    for lane in spec.get("lanes", []):
        y, h = float(lane["y"]), float(lane["height"])
        x, w = float(lane.get("x", 0.15)), float(lane.get("width", width - 0.3))
        ax.add_patch(
            Rectangle((x, y), w, h, facecolor=lane.get("color", "#f5f6f8"), edgecolor="none", zorder=0)
        )
        right = lane.get("label_at") == "right"
        ax.text(
            x + w - 0.15 if right else x + 0.15,
            y + h - 0.12,
            lane["label"],
            fontsize=10,
            color="#555555",
            fontstyle="italic",
            va="top",
            ha="right" if right else "left",
            zorder=1,
        )

    patches = {}
    for node in spec["nodes"]:
        fill, edge = KINDS[node.get("kind", "step")]
        x, y, w, h = _node_box(node)
        style = "round,pad=0.02,rounding_size=0.15" if node.get("kind") != "gate" else "square,pad=0.02"
        patch = FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle=style,
            facecolor=fill,
            edgecolor=edge,
            linewidth=2.2 if node.get("kind") == "gate" else 1.6,
            zorder=3,
        )
        ax.add_patch(patch)
        patches[node["id"]] = patch
        cx, cy = float(node["x"]), float(node["y"])
        if node.get("detail"):
            ax.text(
                cx,
                y + h - 0.14,
                node["label"],
                ha="center",
                va="top",
                fontsize=10.5,
                fontweight="bold",
                color=edge,
                zorder=4,
            )
            ax.text(
                cx,
                y + h - 0.45,
                node["detail"],
                ha="center",
                va="top",
                fontsize=8.6,
                color="#222222",
                linespacing=1.25,
                zorder=4,
            )
        else:
            ax.text(
                cx,
                cy,
                node["label"],
                ha="center",
                va="center",
                fontsize=10,
                fontweight="bold",
                color=edge,
                zorder=4,
            )

    nodes = {n["id"]: n for n in spec["nodes"]}
    for edge in spec["edges"]:
        dashed = edge.get("style") == "dashed"
        a, b = nodes[edge["from"]], nodes[edge["to"]]
        look: dict[str, Any] = {
            "arrowstyle": "-|>",
            "mutation_scale": 14,
            "linewidth": 1.4,
            "linestyle": (0, (4, 3)) if dashed else "solid",
            "color": "#777777" if dashed else "#333333",
            "zorder": 2,
        }
        if edge.get("route") == "elbow":
            # right edge of the source, across to via_x, along it, into the target's left edge: a bus
            from matplotlib.path import Path as MplPath

            ax0, _, aw, _ = _node_box(a)
            bx0, _, _, _ = _node_box(b)
            start, end = (ax0 + aw, float(a["y"])), (bx0, float(b["y"]))
            via = float(edge.get("via_x", (start[0] + end[0]) / 2))
            verts = [start, (via, start[1]), (via, end[1]), end]
            codes = [MplPath.MOVETO] + [MplPath.LINETO] * 3
            arrow = FancyArrowPatch(path=MplPath(verts, codes), shrinkA=0, shrinkB=1, **look)
            lx, ly = (via + end[0]) / 2, end[1]
        else:
            # patchA/patchB clip the line at the boxes; the positions are the boxes' centres
            arrow = FancyArrowPatch(
                posA=(float(a["x"]), float(a["y"])),
                posB=(float(b["x"]), float(b["y"])),
                patchA=patches[edge["from"]],
                patchB=patches[edge["to"]],
                connectionstyle=f"arc3,rad={float(edge.get('bend', 0.0))}",
                shrinkA=2,
                shrinkB=2,
                **look,
            )
            lx, ly = (float(a["x"]) + float(b["x"])) / 2, (float(a["y"]) + float(b["y"])) / 2
        ax.add_patch(arrow)
        if edge.get("label"):
            ax.text(
                lx + float(edge.get("label_dx", 0.0)),
                ly + float(edge.get("label_dy", 0.14)),
                edge["label"],
                ha="center",
                va="bottom",
                fontsize=8.3,
                color="#333333",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            )

    legend = spec.get("legend")
    if legend:
        ax.text(0.3, 0.12, legend, fontsize=8.5, color="#555555", va="bottom")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    fig.savefig(tmp, dpi=dpi, format="png", metadata={"Software": None, SOURCE_KEY: source_digest(source)})
    plt.close(fig)
    tmp.replace(out)


def recorded_digest(png: Path) -> str | None:
    """The source digest a PNG written by ``render`` carries, or None."""
    from PIL import Image

    with Image.open(png) as image:
        value = image.info.get(SOURCE_KEY)
    return str(value) if value is not None else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m templatekit.docs.diagram", description=__doc__)
    parser.add_argument("sources", nargs="+", type=Path, help="diagram descriptions (*.yaml)")
    parser.add_argument(
        "--out-dir", type=Path, required=True, help="where the PNGs go (NAME.png per NAME.yaml)"
    )
    args = parser.parse_args(argv)
    for src in args.sources:
        out = args.out_dir / f"{src.stem}.png"
        try:
            render(src.read_text(encoding="utf-8"), out)
        except (DiagramError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            print(f"error: {src}: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
