"""A throwaway copy of the repository's DVC pipeline, for tests that run `dvc repro`, push and pull.

Only what the pipeline needs is copied (training/, data/schema.yaml, params.yaml, dvc.yaml, .dvc/ config
and plot templates), then committed to a fresh git repository, like a new clone without dvc.lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PIPELINE_FILES = (
    "training",
    "data/schema.yaml",
    "params.yaml",
    "dvc.yaml",
    ".dvc/config",
    ".dvc/.gitignore",
    ".dvc/plots",
    ".dvcignore",
    ".gitignore",
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "pipeline test",
    "GIT_AUTHOR_EMAIL": "pipeline-test@example.invalid",
    "GIT_COMMITTER_NAME": "pipeline test",
    "GIT_COMMITTER_EMAIL": "pipeline-test@example.invalid",
}


def pipeline_env(**extra: str) -> dict[str, str]:
    """The environment stage commands need: the venv's python first on PATH, no DVC analytics."""
    env = {**os.environ, **GIT_IDENTITY, "DVC_NO_ANALYTICS": "1", **extra}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    return env


def run(repo: Path, *args: str, check: bool = True, timeout: float = 600, env: dict[str, str] | None = None):
    proc = subprocess.run(
        list(args), cwd=repo, env=env or pipeline_env(), capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def dvc(repo: Path, *args: str, **kwargs):
    return run(repo, str(BIN / "dvc"), *args, **kwargs)


def git(repo: Path, *args: str, **kwargs):
    return run(repo, "git", *args, **kwargs)


def copy_pipeline_repo(dest: Path) -> Path:
    """Copy the pipeline's files into ``dest`` and commit them to a new git repository."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PIPELINE_FILES:
        src, dst = REPO / name, dest / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dst)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "pipeline copy")
    return dest


def set_params(repo: Path, **dotted: object) -> None:
    """Change params.yaml keys in the copy, e.g. set_params(repo, **{"data.source": "x.csv"})."""
    path = repo / "params.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in dotted.items():
        node = data
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
