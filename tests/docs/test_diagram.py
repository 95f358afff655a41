"""The diagram renderer: a description becomes a PNG that records its source's digest; bad ones fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from templatekit.docs import diagram

SPEC = """\
title: Tiny
size: [4, 3]
lanes: [{label: lane, y: 0.2, height: 2.0, label_at: right}]
nodes:
  - {id: a, label: A, detail: "first\\nbox", x: 1, y: 1.5, w: 1.2, h: 1, kind: data}
  - {id: b, label: B, x: 3, y: 1.5, w: 1, h: 0.6, kind: gate}
edges:
  - {from: a, to: b, label: then}
  - {from: a, to: b, route: elbow, style: dashed}
"""


def test_render_writes_a_png_carrying_its_source_digest(tmp_path: Path) -> None:
    out = tmp_path / "tiny.png"
    diagram.render(SPEC, out, dpi=50)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert diagram.recorded_digest(out) == diagram.source_digest(SPEC)
    assert diagram.recorded_digest(out) != diagram.source_digest(SPEC + "# edited\n")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SPEC.replace("to: b, label", "to: c, label"), r"edges\[0\]: to 'c' is not a node id"),
        (SPEC.replace("kind: gate", "kind: cloud"), "node 'b': kind must be one of"),
        (SPEC.replace("id: b,", "id: a,"), "node id 'a' is used twice"),
        (SPEC.replace("title: Tiny\n", ""), "missing top-level key 'title'"),
    ],
)
def test_bad_descriptions_name_the_culprit(spec: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(diagram.DiagramError, match=message):
        diagram.render(spec, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_cli(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(SPEC)
    assert diagram.main([str(tmp_path / "tiny.yaml"), "--out-dir", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "tiny.png").is_file()
    (tmp_path / "bad.yaml").write_text("title: x\n")
    assert diagram.main([str(tmp_path / "bad.yaml"), "--out-dir", str(tmp_path / "out")]) == 1
