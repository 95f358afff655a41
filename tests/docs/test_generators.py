"""Generated parts of the docs: written from their sources, refreshed in place, stale ones detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from templatekit.docs import generators, sections

RESULTS = {
    "meta": {
        "started_utc": "2026-12-01T10:00:00+00:00",
        "git_commit": "0123456789abcdef",
        "cpus": 2,
        "platform": "Linux-6",
        "python": "3.11.7",
        "library_versions": {"scikit-learn": "1.9.1", "kserve": "0.21.0"},
        "loadavg_start": [1.5, 1.0, 0.5],
        "loadavg_end": [2.25, 1.0, 0.5],
        "rounds": 3,
        "seconds_per_run": 4,
        "connections": [4, 16],
        "batch_rows": 64,
        "wrk_threads": 1,
        "note": "",
        "targets": {"ours-v2": {"server": "ours"}, "kserve-v2": {"server": "kserve"}},
    },
    "summary": [
        {
            "model": "logistic",
            "rows": 1,
            "connections": 4,
            "target": "ours-v2",
            "requests_per_s": 1500.0,
            "p99_ms": 4.0,
        },
        {
            "model": "logistic",
            "rows": 1,
            "connections": 4,
            "target": "kserve-v2",
            "requests_per_s": 500.0,
            "p99_ms": 12.0,
        },
        {
            "model": "logistic",
            "rows": 1,
            "connections": 16,
            "target": "ours-v2",
            "requests_per_s": 1600.0,
            "p99_ms": 15.0,
        },
    ],
    "ratios": [
        {
            "model": "logistic",
            "rows": 1,
            "connections": 4,
            "ours": "ours-v2",
            "theirs": "kserve-v2",
            "throughput_ratio": 3.0,
            "p99_ratio": 3.0,
        },
        {
            "model": "logistic",
            "rows": 64,
            "connections": 4,
            "ours": "ours-v2",
            "theirs": "kserve-v2",
            "throughput_ratio": 1.5,
            "p99_ratio": 2.0,
        },
    ],
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    results = tmp_path / "benchmarks/serving/results"
    results.mkdir(parents=True)
    (results / "serving-20261101T0900Z.json").write_text(json.dumps({**RESULTS, "summary": []}))
    (results / "serving-20261201T1000Z.json").write_text(json.dumps(RESULTS))
    (results / "serving-20261201T1000Z.png").write_bytes(b"\x89PNG")
    (tmp_path / "Makefile").write_text("include mk/*.mk\nhelp: ## Show this help\n\t@true\n")
    (tmp_path / "mk").mkdir()
    (tmp_path / "mk/a.mk").write_text("build: venv ## Build it\n\t@true\nhidden:\n\t@true\n")
    return tmp_path


def test_benchmark_parts_come_from_the_newest_results_file(root: Path) -> None:
    setup = generators.serving_benchmark_setup(root)
    assert "serving-20261201T1000Z.json" in setup and "`0123456789ab`" in setup
    assert "load average 1.50 at the start and 2.25 at the end" in setup
    assert "4, 16 keep-alive connections, 1 or 64 rows" in setup
    figure = generators.serving_benchmark_figure(root)
    assert "(../benchmarks/serving/results/serving-20261201T1000Z.png)" in figure
    tables = generators.serving_benchmark_tables(root)
    assert "| `ours-v2` | 1,500 req/s, p99 4.0 ms | 1,600 req/s, p99 15.0 ms |" in tables
    assert "| `kserve-v2` | 500 req/s, p99 12.0 ms | - |" in tables
    ratios = generators.serving_benchmark_ratios(root)
    assert "| `ours-v2` vs `kserve-v2` | 2 | 2.25 (1.50 to 3.00) | 2.50 (2.00 to 3.00) |" in ratios


def test_benchmark_parts_fail_clearly_without_results(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no results in benchmarks/serving/results"):
        generators.serving_benchmark_setup(tmp_path)


def test_make_targets_lists_documented_targets_only(root: Path) -> None:
    table = generators.make_targets(root)
    assert "| `make build` | Build it | `mk/a.mk` |" in table
    assert "| `make help` | Show this help | `Makefile` |" in table
    assert "hidden" not in table


def test_refresh_rewrites_only_between_markers(root: Path) -> None:
    page = root / "page.md"
    page.write_text("intro\n<!-- generated:make-targets -->\nold\n<!-- /generated:make-targets -->\nend\n")
    assert sections.stale([page], root) == [page]
    assert sections.write_all([page], root) == [page]
    text = page.read_text()
    assert text.startswith("intro\n<!-- generated:make-targets -->\n| Target |") and text.endswith(
        "<!-- /generated:make-targets -->\nend\n"
    )
    assert "old" not in text
    assert sections.stale([page], root) == []


def test_an_unknown_or_failing_part_is_named(root: Path) -> None:
    with pytest.raises(sections.SectionError, match="unknown generated part 'nope'"):
        sections.refresh("<!-- generated:nope -->\n<!-- /generated:nope -->", root, "p.md")
    empty = root / "empty"
    empty.mkdir()
    with pytest.raises(sections.SectionError, match="'serving-benchmark-setup' failed: no results"):
        sections.refresh(
            "<!-- generated:serving-benchmark-setup -->\n<!-- /generated:serving-benchmark-setup -->",
            empty,
            "p.md",
        )


def test_personas_come_from_the_iam_tests_table(tmp_path: Path) -> None:
    table = tmp_path / "tests/infra/iam_personas.yaml"
    table.parent.mkdir(parents=True)
    table.write_text(
        """
permissions:
  - {role: ml-engineer, action: sagemaker:UpdateEndpoint, resource: "{sm}:endpoint/{project}-production",
     expect: deny, why: never deploys to production}
  - {role: ml-engineer, action: kms:Decrypt, resource: "{key}", context: {"kms:ViaService": "s3.{region}.amazonaws.com"},
     expect: allow, why: reads through S3}
trust:
  - {role: deploy-staging, principal: [Federated, "{oidc}"], action: sts:AssumeRoleWithWebIdentity,
     context: {"token.actions.githubusercontent.com:sub": "repo:{github}:environment:staging",
               "token.actions.githubusercontent.com:aud": sts.amazonaws.com}, expect: allow, why: the staging job}
"""
    )
    text = generators.personas(tmp_path)
    assert "#### `ml-engineer`" in text
    assert (
        "| `sagemaker:UpdateEndpoint` | `endpoint/<project>-production` | denied | never deploys to production |"
        in text
    )
    assert (
        "| `kms:Decrypt` | `data KMS key` when `ViaService` = `s3.<region>.amazonaws.com` | **allowed** |"
        in text
    )
    assert (
        "| `deploy-staging` | `repo:<github>:environment:staging` | `sts.amazonaws.com` | **allowed** | the staging job |"
        in text
    )
