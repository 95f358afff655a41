"""``python -m templatekit.docs``: build and check the documentation.

diagrams   render docs/diagrams/*.yaml to docs/images/*.png
generate   rewrite the generated parts of README.md and docs/*.md from their sources
check      exit 1 if a generated part or a picture is stale, or a relative link or image is broken
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from templatekit.docs import diagram, markdown, sections


def doc_files(root: Path) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    files = [root / "README.md"] if (root / "README.md").is_file() else []
    return files + sorted((root / "docs").rglob("*.md"))


def diagram_sources(root: Path) -> list[Path]:
    return sorted((root / "docs" / "diagrams").glob("*.yaml"))


def png_for(root: Path, source: Path) -> Path:
    return root / "docs" / "images" / f"{source.stem}.png"


def problems(root: Path) -> list[str]:
    found = []
    for path in sections.stale(doc_files(root), root):
        found.append(f"{path.relative_to(root)}: generated parts are stale; run `make docs`")
    for source in diagram_sources(root):
        png = png_for(root, source)
        if not png.is_file():
            found.append(f"{png.relative_to(root)}: missing; run `make docs-diagrams`")
        elif diagram.recorded_digest(png) != diagram.source_digest(source.read_text(encoding="utf-8")):
            found.append(
                f"{png.relative_to(root)}: drawn from an older {source.name}; run `make docs-diagrams`"
            )
    for path in doc_files(root):
        found += markdown.broken_links(path, root)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m templatekit.docs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["diagrams", "generate", "check"])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (default: here)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        if args.command == "diagrams":
            for source in diagram_sources(root):
                diagram.render(source.read_text(encoding="utf-8"), png_for(root, source))
                print(f"wrote {png_for(root, source).relative_to(root)}")
        elif args.command == "generate":
            for path in sections.write_all(doc_files(root), root):
                print(f"updated {path.relative_to(root)}")
        else:
            found = problems(root)
            for line in found:
                print(line, file=sys.stderr)
            if found:
                return 1
            print(
                f"OK: {len(doc_files(root))} Markdown file(s), {len(diagram_sources(root))} diagram(s) in step"
            )
    except (sections.SectionError, diagram.DiagramError, markdown.MarkdownError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
