"""The build job's record: commit, model digest, image digest and metrics, as outputs and a job summary.

``python -m cicd.build summary --image NAME --digest sha256:...`` reads ``models/metadata.json`` and
``reports/metrics.json``, writes ``image_ref`` (``NAME@sha256:...``, the only form promotion accepts) and
``model_digest`` to the step outputs, and the table to the job summary. The promote workflow takes the
image digest from here (or resolves it again from the ``sha-<commit>`` tag).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cicd import gha, report
from cicd.images import DIGEST


def render(
    commit: str,
    image_ref: str,
    model: Mapping[str, Any],
    metrics: Mapping[str, Any] | None,
    run_url: str = "",
) -> str:
    name = image_ref.split("@", 1)[0]
    lines = [
        "## Build",
        "",
        "| | |",
        "|---|---|",
        f"| Commit | `{commit}` |",
        f"| Image | `{image_ref}` |",
        f"| Tag | `{name}:sha-{commit}` |",
        f"| Model | {report.escape(str(model.get('name', '?')))} `{model.get('digest', '?')}` |",
        f"| Estimator | {report.escape(str(model.get('estimator', '?')))} |",
    ]
    if metrics:
        lines += ["", "| Metric | Value |", "|---|---:|"]
        lines += [
            f"| {report.escape(k)} | {report.format_value(v)} |" for k, v in report.flatten(metrics).items()
        ]
    lines += [
        "",
        "Promote it with **Actions → promote → Run workflow**, image "
        f"`{image_ref.split('@', 1)[1]}` (or commit `{commit[:12]}`), environment staging first.",
    ]
    if run_url:
        lines.append(f"\n[run]({run_url})")
    return "\n".join(lines) + "\n"


def _model(artifact: Path) -> int:
    from training.artifact import ArtifactError, read_metadata

    try:
        digest = str(read_metadata(artifact)["digest"])
    except ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    gha.set_outputs({"model_digest": digest})
    print(digest)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.build", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("model", help="write the artifact's model_digest to the step outputs")
    m.add_argument("--artifact", type=Path, default=Path("models"))
    s = sub.add_parser("summary")
    s.add_argument("--image", required=True, help="image name without tag or digest")
    s.add_argument("--digest", required=True, help="the pushed image's digest (build-push-action output)")
    s.add_argument("--artifact", type=Path, default=Path("models"))
    s.add_argument("--metrics", type=Path, default=Path("reports/metrics.json"))
    args = parser.parse_args(argv)
    if args.command == "model":
        return _model(args.artifact)
    if not DIGEST.fullmatch(args.digest):
        parser.error(f"--digest {args.digest!r} is not sha256:<64 hex>")
    meta_path = args.artifact / "metadata.json"
    try:
        model = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        parser.error(f"{meta_path}: {exc}")
    metrics = json.loads(args.metrics.read_text(encoding="utf-8")) if args.metrics.is_file() else None
    commit = gha.require_env("GITHUB_SHA")
    image_ref = f"{args.image}@{args.digest}"
    env = os.environ
    run_url = f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"
    gha.set_outputs({"image_ref": image_ref, "model_digest": str(model.get("digest", ""))})
    gha.add_summary(render(commit, image_ref, model, metrics, run_url))
    print(image_ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
