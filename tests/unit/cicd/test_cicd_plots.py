"""DVC plot declarations drawn as PNG images, the base branch's next to the head's."""

from __future__ import annotations

from pathlib import Path

import yaml

from cicd import plots
from cicd.report import PNG_MAGIC

REPO = Path(__file__).resolve().parents[3]


def test_this_repositorys_plots_are_found_once_each() -> None:
    specs = plots.declared_plots(yaml.safe_load((REPO / "dvc.yaml").read_text()))
    files = [s.series[0].file for s in specs]
    assert len(files) == len(set(files)), "a stage output drawn again next to its top-level plot"
    assert specs, "dvc.yaml declares plots; the PR report draws them"
    for spec in specs:
        assert spec.series, spec


def test_declared_plots_reads_top_level_and_stage_forms() -> None:
    dvc = {
        "plots": [
            "reports/loss.csv",
            {"reports/cm.csv": {"template": "confusion", "x": "actual", "y": "predicted"}},
            {"Curves": {"x": "fpr", "y": {"reports/roc.csv": "tpr", "reports/roc2.csv": ["tpr", "fnr"]}}},
        ],
        "stages": {"train": {"plots": ["reports/loss.csv", {"reports/extra.json": {"x": "step"}}]}},
    }
    specs = plots.declared_plots(dvc)
    assert [s.title for s in specs] == ["reports/loss.csv", "reports/cm.csv", "Curves", "reports/extra.json"]
    assert specs[1].template == "confusion"
    assert [(s.file, s.x, s.y) for s in specs[2].series] == [
        ("reports/roc.csv", "fpr", "tpr"),
        ("reports/roc2.csv", "fpr", "tpr"),
        ("reports/roc2.csv", "fpr", "fnr"),
    ]


def test_confusion_matrix_counts_rows_by_the_y_field() -> None:
    records = [{"a": "x", "p": "x"}, {"a": "x", "p": "y"}, {"a": "y", "p": "y"}, {"a": "y", "p": "y"}]
    labels, matrix = plots.confusion_matrix(records, row_field="a", column_field="p", normalize=False)
    assert labels == ["x", "y"]
    assert matrix == [[1, 1], [0, 2]]
    _, normalised = plots.confusion_matrix(records, "a", "p", normalize=True)
    assert normalised == [[0.5, 0.5], [0.0, 1.0]]


def test_group_field_comes_from_the_custom_template(tmp_path: Path) -> None:
    (tmp_path / ".dvc" / "plots").mkdir(parents=True)
    (tmp_path / ".dvc" / "plots" / "by_class.json").write_text('{"encoding": {"color": {"field": "class"}}}')
    (tmp_path / ".dvc" / "plots" / "by_rev.json").write_text('{"encoding": {"color": {"field": "rev"}}}')
    assert plots.group_field("by_class", tmp_path) == "class"
    assert plots.group_field("by_rev", tmp_path) is None
    assert plots.group_field("linear", tmp_path) is None


def test_load_records_reads_csv_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x,y\n1,0.5\n2,0.25\n")
    (tmp_path / "b.json").write_text('{"points": [{"x": 1, "y": 2}]}')
    (tmp_path / "c.yaml").write_text("- {x: 1, y: 3}\n")
    assert plots.load_records(tmp_path / "a.csv") == [{"x": 1, "y": 0.5}, {"x": 2, "y": 0.25}]
    assert plots.load_records(tmp_path / "b.json") == [{"x": 1, "y": 2}]
    assert plots.load_records(tmp_path / "c.yaml") == [{"x": 1, "y": 3}]


def _tree(root: Path, tpr: float) -> None:
    (root / "reports").mkdir(parents=True)
    (root / "dvc.yaml").write_text(
        yaml.safe_dump(
            {
                "plots": [
                    {"ROC": {"x": "fpr", "y": {"reports/roc.csv": "tpr"}}},
                    {"CM": {"template": "confusion", "x": "predicted", "y": {"reports/cm.csv": "actual"}}},
                    "reports/missing.csv",
                ]
            }
        )
    )
    (root / "reports" / "roc.csv").write_text(f"fpr,tpr\n0,0\n0.5,{tpr}\n1,1\n")
    (root / "reports" / "cm.csv").write_text("actual,predicted\na,a\nb,b\n")


def test_render_all_draws_pngs_and_notes_what_is_missing(tmp_path: Path) -> None:
    _tree(tmp_path / "head", 0.9)
    _tree(tmp_path / "base", 0.7)
    drawn, notes = plots.render_all(tmp_path / "head", tmp_path / "base", tmp_path / "out")
    assert [title for title, _ in drawn] == ["ROC", "CM"]
    for _, path in drawn:
        assert path.read_bytes().startswith(PNG_MAGIC)
        assert path.stat().st_size > 1000
    assert notes == ["reports/missing.csv: reports/missing.csv is missing on the head side"]


def test_render_all_without_dvc_yaml_draws_nothing(tmp_path: Path) -> None:
    drawn, notes = plots.render_all(tmp_path, None, tmp_path / "out")
    assert drawn == [] and "No dvc.yaml" in notes[0]
