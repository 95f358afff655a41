"""Every shell block in README.md and docs/ without a skip or covered-by marker runs, in order, in a
scratch copy of the repository, and must exit 0. Blocks that cannot run offline carry a marker saying why
(see templatekit/docs/markdown.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from templatekit.docs import __main__ as docs_cli
from templatekit.docs import markdown

from .repo_copy import REPO, copy_repository, make_env

RUNNABLE = [
    path for path in docs_cli.doc_files(REPO) if any(b.kind == "run" for b in markdown.shell_blocks(path))
]


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(REPO)))
def test_shell_blocks_run(page: Path, tmp_path: Path) -> None:
    for block in markdown.shell_blocks(page):
        for alternatives in block.needs:
            if not any(shutil.which(name) for name in alternatives):
                pytest.skip(f"{block.where} needs {' or '.join(alternatives)}, which is not installed here")
    copy = copy_repository(tmp_path / "repo")
    env = make_env(copy)
    for block in markdown.shell_blocks(copy / page.relative_to(REPO)):
        if block.kind != "run":
            continue
        script = "\n".join(block.commands()) if block.language == "console" else block.body
        try:
            proc = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", script],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                timeout=block.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"{page.relative_to(REPO)}:{block.line}: still running after {block.timeout:.0f}s")
        assert proc.returncode == 0, (
            f"{page.relative_to(REPO)}:{block.line}: exit {proc.returncode}\n{script}\n"
            f"--- stdout\n{_tail(proc.stdout)}\n--- stderr\n{_tail(proc.stderr)}"
        )
