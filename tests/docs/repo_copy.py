"""A scratch copy of the repository's tracked files, for tests that run commands which write files.

The copy shares the real ``.venv`` and ``.tools`` through symlinks (nothing is installed), and ``MAKE_ENV``
keeps `make` from ever re-syncing them from the copy: a sync would point the shared environment's .pth
file at the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STAMPS = (".venv/.synced-dev", ".tools/checkov/.synced", ".tools/node_modules/.synced")


def tracked_files(root: Path = REPO) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name and (root / name).is_file()]


def copy_repository(dest: Path, root: Path = REPO) -> Path:
    """Copy every tracked file (mode and times kept) into ``dest``; link .venv and .tools; ``git init``."""
    for name in tracked_files(root):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target, follow_symlinks=False)
    for shared in (".venv", ".tools"):
        if (root / shared).exists():
            (dest / shared).symlink_to(root / shared)
    git = ["git", "-c", "user.name=docs-test", "-c", "user.email=docs-test@localhost"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "copy"], cwd=dest, check=True)
    return dest


def make_env(copy: Path) -> dict[str, str]:
    """Environment for commands in a copy: the shared tools on PATH, and a `make` that never remakes
    their stamps (``-o``; MAKEFLAGS cannot carry that option)."""
    real_make = shutil.which("make")
    shims = copy / ".scratch-bin"
    shims.mkdir(exist_ok=True)
    if real_make:
        shim = shims / "make"
        old = " ".join(f"-o {stamp}" for stamp in STAMPS)
        shim.write_text(f'#!/bin/sh\nexec {real_make} {old} "$@"\n')
        shim.chmod(0o755)
    with open(copy / ".git" / "info" / "exclude", "a", encoding="utf-8") as fh:
        fh.write(".scratch-bin/\n")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(shims), str(copy / ".venv" / "bin"), env.get("PATH", "")])
    env.pop("VIRTUAL_ENV", None)
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)
    return env
