#!/usr/bin/env bash
# Reproduce the base branch's DVC pipeline so a pull request's metrics and plots can be compared with it.
# Usage: base-metrics.sh BASE_SHA DIR
# Checks BASE_SHA out as a git worktree in DIR and runs `dvc repro` there with this checkout's .venv
# tools on PATH (the base's own code runs: `python -m training.*` imports from DIR). A base without a
# pipeline, or whose pipeline fails, leaves no metrics: a notice says so and the job goes on, and the
# report then shows this branch's metrics without deltas.
set -euo pipefail
sha="${1:-}"
dir="${2:-}"
if [[ ! "$sha" =~ ^[0-9a-f]{40}$ ]] || [[ -z "$dir" ]]; then
  echo "usage: base-metrics.sh BASE_SHA DIR (BASE_SHA: 40 lowercase hex digits, got '${sha}')" >&2
  exit 2
fi
venv_bin="$(pwd)/.venv/bin"
if ! git cat-file -e "${sha}^{commit}" 2>/dev/null; then
  git fetch --quiet --no-tags --depth=1 origin "$sha"
fi
if [[ -e "$dir" ]]; then
  git worktree remove --force "$dir" 2>/dev/null || rm -rf "$dir"
fi
git worktree prune
git worktree add --quiet --detach "$dir" "$sha"
if [[ ! -f "$dir/dvc.yaml" ]]; then
  echo "::notice title=No base metrics::the base commit ${sha:0:7} has no dvc.yaml; the report shows no deltas"
  exit 0
fi
if ! (cd "$dir" && PATH="$venv_bin:$PATH" dvc repro --quiet); then
  rm -f "$dir/reports/metrics.json"
  echo "::warning title=Base pipeline failed::dvc repro failed at ${sha:0:7}; the report shows no deltas"
  exit 0
fi
echo "base metrics at ${sha:0:7}: $dir/reports/metrics.json"
