"""The Markdown reader behind the docs tests: shell blocks and their markers, links, GitHub anchors."""

from __future__ import annotations

from pathlib import Path

import pytest

from templatekit.docs import markdown as md

PAGE = """\
# Title

See [the guide](guide.md#set-up-the-fork) and ![picture](images/a.png).
A [site](https://example.com) and <img src="images/missing.png" alt="x">.
`[not a link](nowhere.md)` inside code.

```bash
make init ARGS="--project churn \\
  --dry-run"
# a comment
make test
```

<!-- docs-test: skip needs an AWS account -->
```sh
aws s3 ls
```

<!-- docs-test: covered-by tests/integration/test_x.py -->

```console
$ make run
serving on http://127.0.0.1:8080
```

```python
print("not a shell block")
```
"""

GUIDE = """\
# Guide
## Set up the fork
## Set up the fork
## `make init` & friends!
<a name="custom"></a>
"""


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "page.md").write_text(PAGE)
    (tmp_path / "guide.md").write_text(GUIDE)
    (tmp_path / "images").mkdir()
    (tmp_path / "images/a.png").write_bytes(b"\x89PNG")
    return tmp_path


def test_shell_blocks_markers_and_commands(docs: Path) -> None:
    blocks = md.shell_blocks(docs / "page.md")
    assert [(b.language, b.kind, b.argument) for b in blocks] == [
        ("bash", "run", ""),
        ("sh", "skip", "needs an AWS account"),
        ("console", "covered-by", "tests/integration/test_x.py"),
    ]
    assert blocks[0].commands() == ['make init ARGS="--project churn --dry-run"', "make test"]
    assert blocks[0].line == 7 and blocks[0].timeout == 120.0
    assert blocks[2].commands() == ["make run"]  # output lines of a console block are not commands


def test_a_skip_marker_needs_a_reason(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text("<!-- docs-test: skip -->\n```bash\nls\n```\n")
    with pytest.raises(md.MarkdownError, match=r"p\.md:1: docs-test: skip needs a reason"):
        md.shell_blocks(tmp_path / "p.md")


def test_a_misspelt_marker_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text("<!-- docs-test: skipp because -->\n```bash\nls\n```\n")
    with pytest.raises(md.MarkdownError, match="unreadable docs-test marker"):
        md.shell_blocks(tmp_path / "p.md")


def test_run_marker_options(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text(
        "<!-- docs-test: run timeout=300 needs=kustomize|kubectl,git -->\n```bash\nls\n```\n"
    )
    block = md.shell_blocks(tmp_path / "p.md")[0]
    assert block.timeout == 300.0
    assert block.needs == [["kustomize", "kubectl"], ["git"]]


def test_github_anchors(docs: Path) -> None:
    assert md.anchors(docs / "guide.md") == {
        "guide",
        "set-up-the-fork",
        "set-up-the-fork-1",
        "make-init--friends",
        "custom",
    }


def test_broken_links_are_named_with_file_and_line(docs: Path) -> None:
    assert md.broken_links(docs / "page.md", docs) == ["page.md:4: images/missing.png does not exist"]
    (docs / "page.md").write_text("[x](guide.md#nowhere)\n[y](../outside.md)\n[z](#title)\n# Title\n")
    assert md.broken_links(docs / "page.md", docs) == [
        "page.md:1: guide.md#nowhere: no heading with anchor #nowhere",
        "page.md:2: ../outside.md points outside the repository",
    ]
