"""Print where the pipeline's artifact, metrics and plots are (used by `make train`).

python -m training.summary [--model models] [--metrics reports/metrics.json] [--plots reports/plots]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from training.artifact import ArtifactError, read_metadata
from training.cli import run
from training.errors import TrainingError


def summary(model: Path, metrics: Path, plots: Path) -> str:
    try:
        meta = read_metadata(model)
    except ArtifactError as exc:
        raise TrainingError(f"no trained model yet: {exc} (run `make train`)") from exc
    lines = [
        f"model:   {model.resolve()}/ ({meta['name']} {meta['version']}, {meta['digest']})",
        f"         estimator {meta.get('estimator')}, classes {', '.join(meta['classes'])}",
    ]
    if metrics.is_file():
        values = json.loads(metrics.read_text(encoding="utf-8"))
        shown = ", ".join(
            f"{k}={v}" for k, v in values.items() if k in ("accuracy", "f1_macro", "roc_auc_ovr")
        )
        lines.append(f"metrics: {metrics.resolve()} ({shown})")
    files = sorted(p.name for p in plots.glob("*.csv")) if plots.is_dir() else []
    if files:
        lines.append(f"plots:   {plots.resolve()}/ ({', '.join(files)}; `make plots` renders them)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.summary", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models"))
    parser.add_argument("--metrics", type=Path, default=Path("reports/metrics.json"))
    parser.add_argument("--plots", type=Path, default=Path("reports/plots"))
    args = parser.parse_args(argv)
    print(summary(args.model, args.metrics, args.plots))


if __name__ == "__main__":
    raise SystemExit(run(main))
