"""Serving benchmark: our Flask + Gunicorn server against KServe's ModelServer and MLServer.

    python -m benchmarks.serving.run [--rounds 3] [--seconds 4] [--defaults] [--quick]   (make bench-serving)

1. Fits the logistic and gradient-boosting pipelines once (the project's artifact) and gives the very same
   fitted estimators to KServe and MLServer (joblib), whose environments pin the same library versions.
2. Starts every server on 127.0.0.1 with 2 worker processes and one OpenMP/BLAS thread per worker (with
   --defaults, KServe and MLServer at their own defaults too), one at a time, timing how long each took
   to be ready.
3. Sends the same single-row and 64-row payloads through every target and compares the answers with the
   in-process scikit-learn prediction: a target that answers wrongly is reported and not measured.
4. Runs wrk (one thread) for every cell (model x rows x connections), the targets interleaved round-robin
   in a rotating order, for several rounds; prints medians and ratios, saves the raw runs as JSON and
   draws a PNG under benchmarks/serving/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.serving import payloads, report, servers
from benchmarks.serving.cpu import CpuMeter
from benchmarks.serving.models import build_models, check_versions
from benchmarks.serving.wrk import run_wrk, wrk_binary

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# target name -> (server name, protocol, body variant)
TARGETS: dict[str, tuple[str, str, str]] = {
    "ours-v1": ("ours", "v1", "v1"),
    "ours-v2": ("ours", "v2", "v2"),
    "kserve-v1": ("kserve", "v1", "v1"),
    "kserve-v2": ("kserve", "v2", "v2"),
    "mlserver-v2": ("mlserver", "v2", "v2-mlserver"),
    "ours-native": ("ours", "native", "native"),
    "kserve-default-v2": ("kserve-default", "v2", "v2"),
    "mlserver-default-v2": ("mlserver-default", "v2", "v2-mlserver"),
}
TUNED = ["ours-v1", "ours-v2", "kserve-v1", "kserve-v2", "mlserver-v2"]
DEFAULTS = ["kserve-default-v2", "mlserver-default-v2"]


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def route(protocol: str, model_name: str) -> str:
    return {
        "v1": f"/v1/models/{model_name}:predict",
        "v2": f"/v2/models/{model_name}/infer",
        "native": "/predict",
    }[protocol]


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds per cell (medians over them)"
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="wrk duration of each run")
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--batch", type=int, default=64, help="rows in the batch request")
    parser.add_argument("--models", nargs="+", default=["logistic", "hgb"], choices=["logistic", "hgb"])
    parser.add_argument("--targets", nargs="+", default=TUNED, choices=sorted(TARGETS))
    parser.add_argument(
        "--defaults",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also measure KServe and MLServer at their own defaults (at --defaults-connections only)",
    )
    parser.add_argument("--defaults-connections", type=int, nargs="+", default=[16])
    parser.add_argument("--quick", action="store_true", help="sanity run: 1 round of 2 s, no defaults")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench-serving")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--name", default=None, help="results file stem (default: serving-<UTC time>)")
    parser.add_argument("--note", default="", help="free text saved with the results")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds = 1, 2.0
    return args


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`, which stops every server started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    wrk_binary()
    pythons = {
        "ours": str(ROOT / ".venv" / "bin" / "python"),
        "kserve": str(servers.KSERVE_PY),
        "mlserver": str(servers.MLSERVER_BIN.parent / "python"),
    }
    for name, python in pythons.items():
        if not Path(python).exists():
            raise SystemExit(f"error: {python} missing ({name}); run `make bench-envs` first")
    versions = check_versions(pythons)
    targets = list(dict.fromkeys(args.targets + (DEFAULTS if args.defaults else [])))
    started = dt.datetime.now(dt.UTC)
    load_start = loadavg()
    print(f"load average at start: {load_start} on {os.cpu_count()} CPUs", flush=True)

    # ---------------------------------------------------------------- models, rows, bodies, reference
    all_models = {m.key: m for m in build_models(args.work / "models", "penguins")}
    models = [all_models[key] for key in args.models]
    model_name = models[0].metadata["name"]
    bodies_dir = args.work / "bodies"
    bodies_dir.mkdir(parents=True, exist_ok=True)
    sizes = [1, args.batch]
    bodies: dict[tuple[str, str, int], Path] = {}
    reference: dict[tuple[str, int], tuple[list[str], np.ndarray]] = {}
    rows_by_model: dict[str, list[dict[str, Any]]] = {}
    import pandas as pd

    from training.artifact import load_artifact

    for m in models:
        features = m.metadata["input_schema"]["features"]
        rows = payloads.complete_rows(features, args.batch)
        rows_by_model[m.key] = rows
        estimator, _ = load_artifact(m.artifact)
        classes = m.metadata["classes"]
        for size in sizes:
            chunk = rows[:size]
            proba = estimator.predict_proba(pd.DataFrame(chunk, columns=[f["name"] for f in features]))
            reference[(m.key, size)] = ([classes[i] for i in proba.argmax(axis=1)], proba)
            variants = {
                "native": payloads.native_body(chunk),
                "v1": payloads.v1_body(chunk),
                "v2": payloads.v2_body(chunk, features),
                "v2-mlserver": payloads.v2_body(chunk, features, ["predict_proba"]),
            }
            for variant, body in variants.items():
                path = bodies_dir / f"{m.key}-{variant}-{size}.json"
                path.write_text(json.dumps(body))
                bodies[(m.key, variant, size)] = path

    # ---------------------------------------------------------------- servers
    logs = args.work / "logs"
    wanted_servers = {TARGETS[t][0] for t in targets}
    running: dict[tuple[str, str], servers.Server] = {}
    results: dict[str, Any] = {}
    try:
        for m in models:
            factories = {
                "ours": lambda m=m: servers.our_server(m.key, m.artifact, logs),
                "kserve": lambda m=m: servers.kserve_server(m.key, m.kserve, model_name, logs, default=False),
                "kserve-default": lambda m=m: servers.kserve_server(
                    m.key, m.kserve, model_name, logs, default=True
                ),
                "mlserver": lambda m=m: servers.mlserver_server(
                    m.key, m.mlserver, model_name, logs, default=False
                ),
                "mlserver-default": lambda m=m: servers.mlserver_server(
                    m.key, m.mlserver, model_name, logs, default=True
                ),
            }
            for name in [s for s in factories if s in wanted_servers]:
                server = factories[name]()
                if name == "ours":
                    server.notes.update(servers.our_backend(m.artifact))
                running[(name, m.key)] = server  # stopped in `finally`, ready or not
                server.start()
                server.wait_ready(timeout=180)
                print(
                    f"{name:17s} {m.key:9s} ready after {server.ready_after_s:5.2f} s on port {server.port}",
                    flush=True,
                )

        # ------------------------------------------------------------ same answers everywhere
        verification: dict[str, str] = {}
        good: set[tuple[str, str]] = set()
        for m in models:
            classes = m.metadata["classes"]
            for target in targets:
                server_name, protocol, variant = TARGETS[target]
                server = running[(server_name, m.key)]
                problems = []
                for size in sizes:
                    url = server.base_url + route(protocol, model_name)
                    status, answer = servers.post_json(
                        url, json.loads(bodies[(m.key, variant, size)].read_text())
                    )
                    if status != 200:
                        problems.append(f"{size}-row: HTTP {status}: {str(answer)[:200]}")
                        continue
                    try:
                        labels, proba = payloads.decode_answer(protocol, answer, classes, size)
                    except payloads.AnswerError as err:
                        problems.append(f"{size}-row: {err}")
                        continue
                    want_labels, want_proba = reference[(m.key, size)]
                    problem = payloads.compare(labels, proba, want_labels, want_proba, tolerance=1e-6)
                    if problem:
                        problems.append(f"{size}-row: {problem}")
                key = f"{target}/{m.key}"
                verification[key] = (
                    "; ".join(problems) if problems else "same answers as scikit-learn in process"
                )
                print(
                    f"check {key:28s} {'OK' if not problems else 'WRONG: ' + verification[key]}", flush=True
                )
                if not problems:
                    good.add((target, m.key))

        # ------------------------------------------------------------ warm-up, then interleaved rounds
        for target, model in sorted(good):
            server_name, protocol, variant = TARGETS[target]
            url = running[(server_name, model)].base_url + route(protocol, model_name)
            for size in sizes:
                run_wrk(url, bodies[(model, variant, size)], 16, 1)
        cells = [
            (m.key, size, conns)
            for m in models
            for size in sizes
            for conns in sorted(
                set(args.connections) | (set(args.defaults_connections) if args.defaults else set())
            )
        ]
        schedule = []
        for r in range(args.rounds):
            for c, (model, size, conns) in enumerate(cells):
                here = [
                    t
                    for t in targets
                    if (t, model) in good
                    and (
                        conns in args.connections if t not in DEFAULTS else conns in args.defaults_connections
                    )
                ]
                shift = (r + c) % len(here) if here else 0
                schedule += [(r, model, size, conns, t) for t in here[shift:] + here[:shift]]
        eta = len(schedule) * (args.seconds + 0.3)
        print(f"{len(schedule)} runs of {args.seconds:g} s: about {eta / 60:.1f} min", flush=True)
        runs = []
        ncpu = os.cpu_count() or 1
        for i, (r, model, size, conns, target) in enumerate(schedule):
            server_name, protocol, variant = TARGETS[target]
            server = running[(server_name, model)]
            url = server.base_url + route(protocol, model_name)
            before = loadavg()[0]
            assert server.process is not None
            meter = CpuMeter(server.process.pid).start()
            figures = run_wrk(url, bodies[(model, variant, size)], conns, args.seconds)
            figures.update(meter.stop())
            served = figures["requests"] - figures["errors"]["status"]
            figures["server_cpu_ms_per_request"] = (
                round(figures["server_cpu_s"] * 1000 / served, 3) if served else None
            )
            figures["other_cpu_share"] = round(
                figures["other_cpu_s"] / (figures["duration_us"] / 1e6) / ncpu, 3
            )
            figures.update(
                round=r, model=model, rows=size, connections=conns, target=target, loadavg_1m=before
            )
            runs.append(figures)
            print(
                f"[{i + 1:3d}/{len(schedule)}] round {r} {model:8s} {size:3d} rows c={conns:<3d} {target:20s}"
                f" {figures['requests_per_s']:8.0f} req/s  p99 {figures['latency_us']['p99'] / 1000:7.2f} ms"
                f"  cpu/req {figures['server_cpu_ms_per_request']} ms  errors {figures['error_count']}"
                f"  others' cpu {figures['other_cpu_share']:.0%}  load {before:.2f}",
                flush=True,
            )
    finally:
        for server in running.values():
            server.terminate()
        for server in running.values():
            server.stop()

    # -------------------------------------------------------------------- results
    summary = report.summarise(runs)
    pair_ratios = report.ratios(summary)
    by_model = report.model_ratios(summary)
    load_end = loadavg()
    stem = args.name or "serving-" + started.strftime("%Y%m%dT%H%MZ")
    results = {
        "meta": {
            "started_utc": started.isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "wrk": subprocess.run([wrk_binary(), "-v"], capture_output=True, text=True).stdout.splitlines()[
                0:1
            ],
            "library_versions": versions,
            "loadavg_start": load_start,
            "loadavg_end": load_end,
            "rounds": args.rounds,
            "seconds_per_run": args.seconds,
            "connections": args.connections,
            "batch_rows": args.batch,
            "wrk_threads": 1,
            "note": args.note,
            "servers": {
                f"{s.name}/{s.model}": {
                    "command": [str(c).replace(str(ROOT) + "/", "") for c in s.command],
                    "ready_after_s": s.ready_after_s,
                    **s.notes,
                }
                for s in running.values()
            },
            "targets": {t: {"server": TARGETS[t][0], "protocol": TARGETS[t][1]} for t in targets},
        },
        "verification": verification,
        "summary": summary,
        "ratios": pair_ratios,
        "hgb_over_logistic": by_model,
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = args.out / f"{stem}.json", args.out / f"{stem}.png"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(json_path)
    title = (
        f"Serving benchmark, {os.cpu_count()} CPUs, 2 workers each, wrk -t1, {args.rounds}x{args.seconds:g} s "
        f"medians; load avg {load_start[0]:.1f} -> {load_end[0]:.1f} ({started:%Y-%m-%d})"
    )
    report.plot(summary, png_path, title)
    print()
    print(report.format_tables(summary, pair_ratios, by_model))
    print(f"\nload average: start {load_start}, end {load_end}")
    print(f"results: {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}")
    print(f"plot:    {png_path.relative_to(ROOT) if png_path.is_relative_to(ROOT) else png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
