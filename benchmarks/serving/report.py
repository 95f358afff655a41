"""Medians, ratios, the printed tables and the PNG plot, from the raw runs of one benchmark."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

# Pairs compared in the ratio table: (ours, theirs). Same protocol where both speak it; MLServer only
# speaks V2.
PAIRS = (("ours-v1", "kserve-v1"), ("ours-v2", "kserve-v2"), ("ours-v2", "mlserver-v2"))
COLOURS = {
    "ours-v1": "#d62728",
    "ours-v2": "#ff7f0e",
    "ours-native": "#8c564b",
    "kserve-v1": "#1f77b4",
    "kserve-v2": "#17becf",
    "kserve-default-v2": "#7f7f7f",
    "mlserver-v2": "#2ca02c",
    "mlserver-default-v2": "#bcbd22",
}
MODEL_LABELS = {"logistic": "logistic regression", "hgb": "hist gradient boosting"}


def _median_or_none(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, rows, connections, target): medians over rounds."""
    groups: dict[tuple[str, int, int, str], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        groups[(run["model"], run["rows"], run["connections"], run["target"])].append(run)
    out = []
    for (model, rows, conns, target), items in sorted(groups.items()):
        rps = statistics.median(r["requests_per_s"] for r in items)
        out.append(
            {
                "model": model,
                "rows": rows,
                "connections": conns,
                "target": target,
                "rounds": len(items),
                "requests_per_s": round(rps, 1),
                "rows_per_s": round(rps * rows, 1),
                "p50_ms": round(statistics.median(r["latency_us"]["p50"] for r in items) / 1000, 2),
                "p99_ms": round(statistics.median(r["latency_us"]["p99"] for r in items) / 1000, 2),
                "server_cpu_ms_per_request": _median_or_none(
                    r.get("server_cpu_ms_per_request") for r in items
                ),
                "other_cpu_share": _median_or_none(r.get("other_cpu_share") for r in items),
                "errors": sum(r["error_count"] for r in items),
                "spread": round(
                    (max(r["requests_per_s"] for r in items) - min(r["requests_per_s"] for r in items)) / rps,
                    3,
                )
                if rps
                else None,
            }
        )
    return out


def _index(summary: list[dict[str, Any]]) -> dict[tuple[str, int, int, str], dict[str, Any]]:
    return {(s["model"], s["rows"], s["connections"], s["target"]): s for s in summary}


def ratios(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Throughput ours/theirs (>1: we serve more) and p99 theirs/ours (>1: our tail is shorter)."""
    index = _index(summary)
    order = {name: i for i, name in enumerate(MODEL_LABELS)}
    cells = sorted(
        {(s["model"], s["rows"], s["connections"]) for s in summary}, key=lambda c: (order.get(c[0], 99), c)
    )
    out = []
    for model, rows, conns in cells:
        for ours, theirs in PAIRS:
            a, b = index.get((model, rows, conns, ours)), index.get((model, rows, conns, theirs))
            if a is None or b is None or not b["requests_per_s"] or not a["p99_ms"]:
                continue
            out.append(
                {
                    "model": model,
                    "rows": rows,
                    "connections": conns,
                    "ours": ours,
                    "theirs": theirs,
                    "throughput_ratio": round(a["requests_per_s"] / b["requests_per_s"], 2),
                    "p99_ratio": round(b["p99_ms"] / a["p99_ms"], 2),
                    "cpu_per_request_ratio": round(
                        b["server_cpu_ms_per_request"] / a["server_cpu_ms_per_request"], 2
                    )
                    if a.get("server_cpu_ms_per_request") and b.get("server_cpu_ms_per_request")
                    else None,
                }
            )
    return out


def model_ratios(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gradient boosting's throughput as a fraction of the logistic model's, per target and cell."""
    index = _index(summary)
    out = []
    for s in summary:
        if s["model"] != "hgb":
            continue
        base = index.get(("logistic", s["rows"], s["connections"], s["target"]))
        if base and base["requests_per_s"]:
            out.append(
                {
                    "target": s["target"],
                    "rows": s["rows"],
                    "connections": s["connections"],
                    "hgb_over_logistic": round(s["requests_per_s"] / base["requests_per_s"], 2),
                }
            )
    return out


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _cell(rows: int, conns: int) -> str:
    return f"{rows}r c{conns}"


def _matrix(items: list[dict[str, Any]], row_key: Any, value: str, fmt: str = "{:.2f}") -> tuple[list, list]:
    """Rows keyed by ``row_key(item)``, one column per (rows, connections) cell."""
    cells = sorted({(i["rows"], i["connections"]) for i in items})
    grid: dict[str, dict[tuple[int, int], Any]] = {}
    for item in items:
        grid.setdefault(row_key(item), {})[(item["rows"], item["connections"])] = item.get(value)
    headers = ["", *(_cell(*c) for c in cells)]
    body = [
        [name, *("-" if values.get(c) is None else fmt.format(values[c]) for c in cells)]
        for name, values in grid.items()
    ]
    return headers, body


def format_tables(
    summary: list[dict[str, Any]], pair_ratios: list[dict[str, Any]], by_model: list[dict[str, Any]]
) -> str:
    parts = []
    order = {name: i for i, name in enumerate(MODEL_LABELS)}
    for model in sorted(dict.fromkeys(s["model"] for s in summary), key=lambda m: order.get(m, 99)):
        rows = [
            [
                s["target"],
                s["rows"],
                s["connections"],
                f"{s['requests_per_s']:.0f}",
                f"{s['rows_per_s']:.0f}",
                f"{s['p50_ms']:.2f}",
                f"{s['p99_ms']:.2f}",
                "-"
                if s.get("server_cpu_ms_per_request") is None
                else f"{s['server_cpu_ms_per_request']:.2f}",
                "-" if s.get("other_cpu_share") is None else f"{s['other_cpu_share']:.0%}",
                s["errors"],
                f"{s['spread']:.0%}" if s["spread"] is not None else "-",
            ]
            for s in summary
            if s["model"] == model
        ]
        rows.sort(key=lambda r: (r[1], r[2], r[0]))
        parts.append(f"== {MODEL_LABELS.get(model, model)}: medians over rounds")
        headers = ["target", "rows", "conns", "req/s", "rows/s", "p50 ms", "p99 ms", "cpu ms/req", "others"]
        parts.append(_table([*headers, "errors", "spread"], rows))
    pair_name = lambda r: f"{r['model']}: {r['ours']} / {r['theirs']}"  # noqa: E731
    if pair_ratios:
        for value, title in (
            ("throughput_ratio", "throughput, ours / theirs (requests/s; rows/s for the same rows)"),
            ("p99_ratio", "p99 latency, theirs / ours"),
            ("cpu_per_request_ratio", "server CPU time per request, theirs / ours"),
        ):
            parts.append(f"== {title}: above 1 favours ours; columns are rows per request and connections")
            parts.append(_table(*_matrix(pair_ratios, pair_name, value)))
    if by_model:
        parts.append("== gradient boosting throughput / logistic throughput, per target (1.00 = no slowdown)")
        parts.append(_table(*_matrix(by_model, lambda r: r["target"], "hgb_over_logistic")))
    return "\n\n".join(parts)


def plot(summary: list[dict[str, Any]], path: Path, title: str) -> None:
    """Throughput and p99 latency per target against connections, one row of panels per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = {name: i for i, name in enumerate(MODEL_LABELS)}
    models = sorted(dict.fromkeys(s["model"] for s in summary), key=lambda m: order.get(m, 99))
    sizes = sorted({s["rows"] for s in summary})
    targets = list(dict.fromkeys(s["target"] for s in summary))
    styles = {
        t: {
            "marker": marker,
            "color": COLOURS.get(t, "black"),
            "linestyle": "-" if t.startswith("ours") else (":" if "default" in t else "--"),
        }
        for t, marker in zip(targets, "osD^v<>ph*", strict=False)
    }
    fig, axes = plt.subplots(
        len(models), 2 * len(sizes), figsize=(4.2 * 2 * len(sizes), 3.6 * len(models)), squeeze=False
    )
    for i, model in enumerate(models):
        for j, size in enumerate(sizes):
            ax_tp, ax_lat = axes[i][2 * j], axes[i][2 * j + 1]
            for target in targets:
                points = sorted(
                    (
                        s
                        for s in summary
                        if s["model"] == model and s["rows"] == size and s["target"] == target
                    ),
                    key=lambda s: s["connections"],
                )
                if not points:
                    continue
                x = [p["connections"] for p in points]
                ax_tp.plot(x, [p["rows_per_s"] for p in points], label=target, **styles[target])
                ax_lat.plot(x, [p["p99_ms"] for p in points], label=target, **styles[target])
            unit = "requests/s" if size == 1 else "rows/s"
            ax_tp.set_title(f"{MODEL_LABELS.get(model, model)}, {size}-row: {unit}", fontsize=9)
            ax_lat.set_title(f"{MODEL_LABELS.get(model, model)}, {size}-row: p99 latency (ms)", fontsize=9)
            ax_lat.set_yscale("log")
            for ax in (ax_tp, ax_lat):
                ax.set_xscale("log", base=2)
                ax.set_xticks(sorted({s["connections"] for s in summary}))
                ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
                ax.set_xlabel("connections", fontsize=8)
                ax.grid(True, alpha=0.3)
                ax.tick_params(labelsize=8)
            ax_tp.set_ylim(bottom=0)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
