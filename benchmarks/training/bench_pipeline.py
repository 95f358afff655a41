"""Time each pipeline stage and measure its peak memory on the penguins data scaled up synthetically.

    .venv/bin/python benchmarks/training/bench_pipeline.py [--rows 10000,100000,1000000]
        [--estimator logistic_regression] [--format csv] [--no-dvc]

For each size the script writes a synthetic source file (penguin rows drawn with replacement, numeric
columns jittered within the schema's ranges, missing values kept), then runs the four stage commands from
dvc.yaml in a scratch folder, each in its own process, recording wall time, CPU time and peak resident
memory (from wait4). CPU time is shown beside wall time because other work on a shared machine inflates
it less. The CPU cost of start-up alone (interpreter and imports) is measured per stage and left out of
the growth figures. Unless --no-dvc, a full `dvc repro --force` of the default pipeline in a copy of the
repository is timed first.
Nothing is written inside the repository.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers.pipeline_repo import BIN, copy_pipeline_repo, dvc, pipeline_env  # noqa: E402
from training.schema import load_schema  # noqa: E402
from training.sources import read_source  # noqa: E402

STAGES = ("ingest", "validate", "train", "evaluate")


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` penguins drawn with replacement; numeric values jittered by 5% of the column's spread."""
    schema = load_schema(REPO / "data" / "schema.yaml")
    base = read_source("builtin:penguins")
    rng = np.random.default_rng(seed)
    frame = base.iloc[rng.integers(0, len(base), rows)].reset_index(drop=True)
    for spec in schema.columns:
        if spec.dtype == "float64":
            column = frame[spec.name]
            noisy = column + rng.normal(0, 0.05 * float(base[spec.name].std()), rows)
            frame[spec.name] = noisy.clip(spec.min, spec.max).round(1)
    return frame


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run ``cmd``; return (wall seconds, CPU seconds, peak RSS in MiB). CPU time covers the process and
    the children it waited for (wait4 reports both); peak RSS is the largest single process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime  # less sensitive than wall time to other load on the machine
    return wall, cpu, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def stage_commands() -> dict[str, list[str]]:
    """The stage commands exactly as dvc.yaml runs them, with this interpreter for ``python``."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    commands = {name: shlex.split(stages[name]["cmd"]) for name in STAGES}
    return {name: [sys.executable if a == "python" else a for a in cmd] for name, cmd in commands.items()}


def bench_size(rows: int, estimator: str, fmt: str, root: Path) -> dict[str, tuple[float, float, float]]:
    work = root / f"rows-{rows}"
    work.mkdir()
    source = work / f"source.{fmt}"
    frame = synthetic(rows)
    frame.to_csv(source, index=False) if fmt == "csv" else frame.to_parquet(source, index=False)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"]["source"] = str(source)
    params["train"]["estimator"] = estimator
    params["evaluate"]["gate"] = {}  # the benchmark measures cost, not quality
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    (work / "data").mkdir()
    shutil.copy(REPO / "data" / "schema.yaml", work / "data" / "schema.yaml")
    results = {}
    for stage, cmd in stage_commands().items():
        results[stage] = timed(cmd, work)
        wall, cpu, mem = results[stage]
        print(f"  {rows:>9,} rows  {stage:<9} {wall:7.1f} s wall {cpu:7.1f} s CPU {mem:7.0f} MiB", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,1000000", help="comma-separated sizes")
    parser.add_argument("--estimator", default="logistic_regression")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv", help="synthetic source format")
    parser.add_argument("--no-dvc", action="store_true", help="skip the `dvc repro --force` timing")
    args = parser.parse_args()
    sizes = [int(r) for r in args.rows.split(",")]

    print(f"cores: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    startup = {stage: timed([sys.executable, "-c", f"import training.{stage}"], REPO) for stage in STAGES}
    shown = ", ".join(f"{stage} {cpu:.1f} s" for stage, (_, cpu, _) in startup.items())
    print(f"start-up CPU (interpreter and imports, no work): {shown}")
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        root = Path(tmp)
        if not args.no_dvc:
            repo = copy_pipeline_repo(root / "repo")
            dvc(repo, "repro")  # warm-up: DVC's first run in a new repository is not what we measure
            wall, cpu, _ = timed([str(BIN / "dvc"), "repro", "--force"], repo, pipeline_env())
            print(
                f"default pipeline, `dvc repro --force` (344 rows, 4 stages): {wall:.1f} s wall, {cpu:.1f} s CPU"
            )
        table = {rows: bench_size(rows, args.estimator, args.format, root) for rows in sizes}

    print(f"\nestimator {args.estimator}, source {args.format}. Per stage: wall s / CPU s / peak RSS MiB")
    print("of its process, start-up included.")
    header = f"{'rows':>10} | " + " | ".join(f"{s:^19}" for s in STAGES)
    header += f" | {'wall s':>7} | {'CPU s':>7} | {'peak MiB':>8}"
    print(header)
    print("-" * len(header))
    for rows, results in table.items():
        cells = " | ".join(f"{w:5.1f} /{c:5.1f} /{m:5.0f}" for w, c, m in (results[s] for s in STAGES))
        wall = sum(r[0] for r in results.values())
        cpu = sum(r[1] for r in results.values())
        peak = max(r[2] for r in results.values())
        print(f"{rows:>10,} | {cells} | {wall:7.1f} | {cpu:7.1f} | {peak:8.0f}")
    if len(sizes) > 1:
        print("\ngrowth: CPU seconds above start-up, against the previous size")
        previous: tuple[int, float] | None = None
        for rows, results in table.items():
            net = sum(max(results[s][1] - startup[s][1], 0.01) for s in STAGES)
            note = f"x{net / previous[1]:.1f} for x{rows / previous[0]:.0f} rows" if previous else ""
            print(f"{rows:>10,}: {net:7.1f} s  {note}")
            previous = (rows, net)


if __name__ == "__main__":
    main()
