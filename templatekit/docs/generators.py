"""Generators for the generated parts of the docs. Each takes the repository root, returns Markdown."""

from __future__ import annotations

import re
from pathlib import Path


def _table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        # outside code spans, < and > would be read as HTML and vanish on GitHub
        parts = text.replace("|", "\\|").replace("\n", " ").split("`")
        return "`".join(
            p if i % 2 else p.replace("<", "&lt;").replace(">", "&gt;") for i, p in enumerate(parts)
        )

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- make targets
_TARGET = re.compile(r"^(?P<target>[a-zA-Z0-9_.-]+):[^#\n=]*?##\s*(?P<doc>.+)$", re.MULTILINE)


def tracked(root: Path, pattern: str) -> list[Path]:
    """Files matching ``pattern`` that git tracks (all matching files outside a git checkout), so that a
    generated part never describes a file a fresh clone does not have."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", pattern], cwd=root, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return sorted(root.glob(pattern))
    return sorted(root / name for name in out.decode().split("\0") if name)


def make_targets(root: Path) -> str:
    """Every documented make target (what `make help` prints), with the file that defines it."""
    rows = []
    for path in [root / "Makefile", *tracked(root, "mk/*.mk")]:
        for match in _TARGET.finditer(path.read_text(encoding="utf-8")):
            rows.append(
                [f"`make {match.group('target')}`", match.group("doc").strip(), f"`{path.relative_to(root)}`"]
            )
    rows.sort(key=lambda row: row[0])
    return _table(["Target", "What it does", "Defined in"], rows)


# --------------------------------------------------------------------------- make init
def init_flags(root: Path) -> str:
    """The flags of `make init`, the project.yaml field each sets, and the rule it must pass."""
    from templatekit.cli import FIELDS

    rules = {
        "project": "DNS label: lowercase letters, digits, `-`; starts with a letter; at most 63",
        "model_name": "DNS label, as above",
        "github_repository": "`OWNER/REPO` as GitHub allows them",
        "image": "`REGISTRY/PATH` with a registry host, lowercase path, no tag or digest",
        "aws_account_id": "exactly 12 digits",
        "aws_region": "a region name the locked AWS SDK knows, such as `eu-west-1`",
        "environments": "comma-separated DNS labels, unique, in promotion order",
    }
    yaml_key = {"aws_account_id": "aws.account_id", "aws_region": "aws.region"}
    rows = [
        [f"`{flag}`", f"`{yaml_key.get(name, name)}`", rules[name]] for name, (flag, _, _) in FIELDS.items()
    ]
    return _table(["Flag", "project.yaml", "Must be"], rows)


def places_table(root: Path) -> str:
    """Which files `make init` rewrites, and which names each holds (from templatekit/places.py)."""
    from templatekit.places import ENVIRONMENT_DIRS, PLACES

    holds: dict[str, list[str]] = {}
    for place in PLACES:
        names = re.findall(r"\{(\w+)\}", place.value)
        entry = holds.setdefault(place.path, [])
        for name in names:
            if name not in entry:
                entry.append(name)
    rows = [[f"`{path}`", ", ".join(f"`{n}`" for n in names)] for path, names in holds.items()]
    rows += [[f"`{d}/`", "one folder per environment: copied, renamed or removed"] for d in ENVIRONMENT_DIRS]
    return _table(["File (`{env}`: each environment; `**`: any folder)", "Names it holds"], rows)


# --------------------------------------------------------------------------- serving benchmark
BENCH_RESULTS = Path("benchmarks/serving/results")
MODEL_NAMES = {"logistic": "logistic regression", "hgb": "histogram gradient boosting"}


def latest_benchmark(root: Path) -> Path:
    """The newest committed results file (their names sort by UTC start time)."""
    found = sorted((root / BENCH_RESULTS).glob("serving-*.json"))
    if not found:
        raise ValueError(f"no results in {BENCH_RESULTS}/: run `make bench-serving` and commit them")
    return found[-1]


def _bench(root: Path) -> tuple[Path, dict]:
    import json

    path = latest_benchmark(root)
    return path, json.loads(path.read_text(encoding="utf-8"))


def serving_benchmark_setup(root: Path) -> str:
    """Where and how the figures below were measured, from the results file's meta block."""
    path, data = _bench(root)
    meta = data["meta"]
    versions = meta.get("library_versions", {})
    servers = sorted({v.get("server", "?") for v in meta.get("targets", {}).values()})
    lines = [
        f"- **Results file**: [`{path.name}`](../{BENCH_RESULTS}/{path.name}), started "
        f"{meta.get('started_utc', '?')} at commit `{str(meta.get('git_commit', '?'))[:12]}`.",
        f"- **Machine**: {meta.get('cpus', '?')} CPUs, {meta.get('platform', '?')}, Python {meta.get('python', '?')}; "
        f"1-minute load average {meta['loadavg_start'][0]:.2f} at the start and {meta['loadavg_end'][0]:.2f} "
        "at the end (the machine was shared, so absolute figures are lower than on a quiet one).",
        f"- **Load**: `wrk` with {meta.get('wrk_threads', 1)} thread, {meta.get('rounds', '?')} interleaved "
        f"rounds of {meta.get('seconds_per_run', '?')} s per cell, {', '.join(str(c) for c in meta.get('connections', []))} "
        f"keep-alive connections, 1 or {meta.get('batch_rows', '?')} rows per request.",
        f"- **Servers**: {', '.join(servers)}; the same fitted model in each, answers checked against "
        "scikit-learn before measuring.",
    ]
    if versions:
        shown = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()) if isinstance(v, str))
        if shown:
            lines.append(f"- **Versions**: {shown}.")
    if meta.get("note"):
        lines.append(f"- **Note**: {meta['note']}")
    return "\n".join(lines) + "\n"


def serving_benchmark_figure(root: Path) -> str:
    path, _ = _bench(root)
    png = path.with_suffix(".png")
    if not png.is_file():
        raise ValueError(f"{png.relative_to(root)} is missing next to {path.name}")
    rel = f"../{BENCH_RESULTS}/{png.name}"
    return (
        f"![Throughput (rows/s) and p99 latency against connections, per server and protocol, for each model "
        f"and request size; from {path.name}]({rel})\n"
    )


def serving_benchmark_tables(root: Path) -> str:
    """Median requests/s and p99 latency per target and cell, one table per model."""
    _, data = _bench(root)
    summary = data["summary"]
    cells = sorted({(s["rows"], s["connections"]) for s in summary})
    parts = []
    for model in dict.fromkeys(s["model"] for s in summary):
        items = [s for s in summary if s["model"] == model]
        targets = list(dict.fromkeys(s["target"] for s in sorted(items, key=lambda s: s["target"])))
        index = {(s["target"], s["rows"], s["connections"]): s for s in items}
        header = ["Target", *(f"{r} row{'s' if r > 1 else ''}, {c} conn." for r, c in cells)]
        rows = []
        for target in targets:
            row = [f"`{target}`"]
            for r, c in cells:
                s = index.get((target, r, c))
                row.append(
                    "-" if s is None else f"{s['requests_per_s']:,.0f} req/s, p99 {s['p99_ms']:.1f} ms"
                )
            rows.append(row)
        parts.append(f"**{MODEL_NAMES.get(model, model)}** (median over rounds)\n\n" + _table(header, rows))
    return "\n".join(parts)


def serving_benchmark_ratios(root: Path) -> str:
    """Ours against each other server, same protocol: throughput and p99 ratios, above 1 favours ours."""
    import statistics

    _, data = _bench(root)
    ratios = data.get("ratios") or []
    if not ratios:
        raise ValueError("the results file has no ratios")
    pairs = list(dict.fromkeys((r["ours"], r["theirs"]) for r in ratios))
    rows = []
    for ours, theirs in pairs:
        items = [r for r in ratios if (r["ours"], r["theirs"]) == (ours, theirs)]
        tp = [r["throughput_ratio"] for r in items]
        p99 = [r["p99_ratio"] for r in items]
        rows.append(
            [
                f"`{ours}` vs `{theirs}`",
                str(len(items)),
                f"{statistics.median(tp):.2f} ({min(tp):.2f} to {max(tp):.2f})",
                f"{statistics.median(p99):.2f} ({min(p99):.2f} to {max(p99):.2f})",
            ]
        )
    return _table(
        [
            "Pair (same protocol)",
            "Cells",
            "Throughput ours/theirs: median (range)",
            "p99 theirs/ours: median (range)",
        ],
        rows,
    )


# --------------------------------------------------------------------------- IAM personas
PERSONA_TABLE = Path("tests/infra/iam_personas.yaml")
_RESOURCE_NAMES = {
    "{sm}:": "",
    "{roles}/": "role/",
    "{dvc}": "DVC bucket",
    "{models}": "models bucket",
    "{key}": "data KMS key",
    "{repo}": "ECR repository",
    "{oidc}": "GitHub OIDC provider",
}


def _resource(text: str) -> str:
    for old, new in _RESOURCE_NAMES.items():
        text = text.replace(old, new)
    text = re.sub(r"^arn:aws:[a-z0-9-]+:\{region\}:\{account\}:[^/]*/", "", text)
    text = re.sub(r"^arn:aws:autoscaling:.*:autoScalingGroupName/", "autoScalingGroup/", text)
    return re.sub(r"\{(\w+)\}", r"<\1>", text)


def _context(context: dict | None) -> str:
    if not context:
        return ""
    return "; ".join(f"`{k.split(':')[-1]}` = `{_resource(str(v))}`" for k, v in context.items())


def personas(root: Path) -> str:
    """Every row of the IAM tests' table of expectations, by role: what is allowed, what is denied, why."""
    import yaml

    table = yaml.safe_load((root / PERSONA_TABLE).read_text(encoding="utf-8"))
    parts = []
    by_role: dict[str, list[dict]] = {}
    for row in table["permissions"]:
        by_role.setdefault(row["role"], []).append(row)
    for role, rows in by_role.items():
        lines = []
        for row in rows:
            on = f"`{_resource(str(row.get('resource', '*')))}`"
            if row.get("context"):
                on += f" when {_context(row['context'])}"
            verdict = "**allowed**" if row["expect"] == "allow" else "denied"
            lines.append([f"`{row['action']}`", on, verdict, str(row.get("why", ""))])
        parts.append(f"#### `{role}`\n\n" + _table(["Action", "On", "Result", "Why"], lines))
    trust = [
        [
            f"`{row['role']}`",
            f"`{_resource(str((row.get('context') or {}).get('token.actions.githubusercontent.com:sub', '-')))}`",
            f"`{(row.get('context') or {}).get('token.actions.githubusercontent.com:aud', '-')}`",
            "**allowed**" if row["expect"] == "allow" else "denied",
            str(row.get("why", "")),
        ]
        for row in table.get("trust", [])
    ]
    if trust:
        parts.append(
            "#### Who may assume the GitHub Actions roles\n\n"
            + _table(["Role", "Token subject", "Audience", "Result", "Why"], trust)
        )
    return "\n".join(parts)
