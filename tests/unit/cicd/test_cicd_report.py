"""The pull-request report: metric deltas, Markdown, and the bundle read back as untrusted data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cicd import report
from cicd.report import BundleError, Plot, Report

PNG = report.PNG_MAGIC + b"\x00" * 32
HEAD = "a" * 40
BASE = "b" * 40


def test_flatten_nests_with_dots_and_indexes_lists() -> None:
    assert report.flatten({"a": 1, "b": {"c": 0.5, "d": [3, {"e": "x"}]}}) == {
        "a": 1,
        "b.c": 0.5,
        "b.d.0": 3,
        "b.d.1.e": "x",
    }


def test_compare_marks_changed_same_added_removed() -> None:
    rows = report.compare({"acc": 0.9, "f1": 0.8, "new": 1}, {"acc": 0.85, "f1": 0.8, "old": 2})
    by_name = {r.name: r for r in rows}
    assert by_name["acc"].status == "changed"
    assert by_name["acc"].delta == pytest.approx(0.05)
    assert by_name["f1"].status == "same"
    assert by_name["new"].status == "added"
    assert by_name["old"].status == "removed"
    assert [r.name for r in rows] == ["acc", "f1", "new", "old"]


def test_render_has_marker_first_and_a_delta_per_metric() -> None:
    rep = Report(
        7,
        HEAD,
        BASE,
        {"accuracy": 0.97, "log_loss": 0.05, "n": 86},
        {"accuracy": 0.95, "log_loss": 0.05, "n": 86},
    )
    text = report.render(rep, run_url="https://example.test/run/1")
    lines = text.splitlines()
    assert lines[0] == report.MARKER
    assert "| **accuracy** | 0.9500 | 0.9700 | ▲ +0.0200 (+2.1%) |" in lines
    assert "| log_loss | 0.0500 | 0.0500 | 0 |" in lines
    assert "| n | 86 | 86 | 0 |" in lines
    assert "1 of 3 metrics differ from the base branch." in text
    assert f"`{HEAD[:7]}`" in text and f"`{BASE[:7]}`" in text
    assert "[this run](https://example.test/run/1)" in text


def test_render_without_base_says_so_and_shows_no_deltas() -> None:
    text = report.render(Report(7, HEAD, None, {"accuracy": 0.9}, None))
    assert "No base-branch metrics were available" in text
    assert "| accuracy | — | 0.9000 |  |" in text


def test_render_lowers_a_metric_with_a_down_arrow() -> None:
    text = report.render(Report(1, HEAD, BASE, {"acc": 0.5}, {"acc": 1.0}))
    assert "▼ -0.5000 (-50.0%)" in text


def test_render_embeds_plot_images_by_url_and_lists_unpublished_ones() -> None:
    rep = Report(1, HEAD, BASE, {"a": 1}, {"a": 1}, plots=[Plot("ROC", "roc.png"), Plot("PR", "pr.png")])
    text = report.render(rep, {"roc.png": "https://img.test/roc.png"})
    assert "![ROC](https://img.test/roc.png)" in text
    assert "**PR**" in text and "](https" not in text.split("**PR**")[1].split("\n\n")[0]


def test_escape_neutralises_markdown_html_and_mentions() -> None:
    hostile = "a|b <img src=x onerror=alert(1)> @team `code`\nnext"
    out = report.escape(hostile)
    assert "|" not in out.replace("\\|", "")
    assert "<" not in out and ">" not in out
    assert "@\u200bteam" in out
    assert "\n" not in out


def _bundle(tmp_path: Path, data: dict, files: dict[str, bytes] | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "report.json").write_text(json.dumps(data))
    for name, content in (files or {}).items():
        (tmp_path / name).write_bytes(content)
    return tmp_path


def _valid() -> dict:
    return Report(3, HEAD, BASE, {"acc": 0.9}, {"acc": 0.8}, [Plot("ROC", "roc.png")]).to_json()


def test_bundle_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "roc.png"
    src.write_bytes(PNG)
    rep = Report(3, HEAD, BASE, {"acc": 0.9}, {"acc": 0.8}, [Plot("ROC", "roc.png")], ["a note"])
    out = report.write_bundle(rep, {"roc.png": src}, tmp_path / "bundle")
    back = report.load_bundle(out, expected_pr=3, expected_sha=HEAD)
    assert back == rep


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": 2}, "schema must be 1"),
        ({"pr_number": "3"}, "pr_number must be a positive integer"),
        ({"head_sha": "abc"}, "head_sha must be 40 lowercase hex"),
        ({"base_sha": "../../etc"}, "base_sha must be null or 40"),
        ({"metrics": {"head": {"<script>": 1}, "base": None}}, "has characters outside"),
        ({"metrics": {"head": {"acc": {"nested": 1}}, "base": None}}, "must be a number, string"),
        ({"plots": [{"title": "x", "file": "../evil.png"}]}, "is not a plain .png name"),
        ({"plots": [{"title": "x", "file": "missing.png"}]}, "listed in plots but missing"),
    ],
)
def test_load_bundle_rejects_malformed_fields(tmp_path: Path, change: dict, message: str) -> None:
    data = {**_valid(), **change}
    with pytest.raises(BundleError, match=message):
        report.load_bundle(_bundle(tmp_path, data, {"roc.png": PNG}))


def test_load_bundle_rejects_a_non_png_plot(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a PNG image"):
        report.load_bundle(_bundle(tmp_path, _valid(), {"roc.png": b"<svg onload=alert(1)>"}))


def test_load_bundle_rejects_another_pull_request_or_commit(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, _valid(), {"roc.png": PNG})
    with pytest.raises(BundleError, match="is not the pull request 4"):
        report.load_bundle(bundle, expected_pr=4)
    with pytest.raises(BundleError, match="is not the commit"):
        report.load_bundle(bundle, expected_sha="c" * 40)


def test_load_bundle_limits_the_number_of_metrics(tmp_path: Path) -> None:
    data = {
        **_valid(),
        "metrics": {"head": {f"m{i}": i for i in range(report.MAX_METRICS + 1)}, "base": None},
    }
    with pytest.raises(BundleError, match="more than"):
        report.load_bundle(_bundle(tmp_path, data, {"roc.png": PNG}))


def test_bundle_cli_writes_report_and_plots_for_this_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m cicd.report bundle` on a checkout-like tree with DVC plots: the bundle loads back."""
    root = tmp_path / "head"
    (root / "reports" / "plots").mkdir(parents=True)
    (root / "dvc.yaml").write_text(
        "plots:\n  - Confusion:\n      template: confusion\n      x: predicted\n      y:\n        reports/plots/c.csv: actual\n"
    )
    (root / "reports" / "plots" / "c.csv").write_text("actual,predicted\na,a\nb,a\nb,b\n")
    (root / "reports" / "metrics.json").write_text(json.dumps({"accuracy": 0.66}))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    out = tmp_path / "bundle"
    code = report.main(
        [
            "bundle",
            "--pr",
            "5",
            "--head-sha",
            HEAD,
            "--base-sha",
            BASE,
            "--head-metrics",
            str(root / "reports" / "metrics.json"),
            "--base-metrics",
            str(tmp_path / "nowhere.json"),
            "--head-root",
            str(root),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    back = report.load_bundle(out, expected_pr=5, expected_sha=HEAD)
    assert back.head_metrics == {"accuracy": 0.66}
    assert back.base_metrics is None
    assert [p.title for p in back.plots] == ["Confusion"]
    assert any("nothing to compare" in n for n in back.notes)
    assert report.MARKER in (tmp_path / "summary.md").read_text()
