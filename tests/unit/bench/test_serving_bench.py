"""Pure logic of the serving benchmark (benchmarks/serving): request bodies, answer checks, report, CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks.serving import payloads, report, run, wrk
from benchmarks.serving.cpu import group_cpu_seconds
from benchmarks.serving.payloads import AnswerError, compare, decode_answer
from tests.helpers.artifacts import build_artifact
from training.artifact import load_artifact


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Features, classes, 8 complete rows and scikit-learn's answer for them, from a real artifact."""
    artifact = build_artifact(tmp_path_factory.mktemp("artifact"))
    metadata = json.loads((artifact / "metadata.json").read_text())
    features = metadata["input_schema"]["features"]
    rows = payloads.complete_rows(features, 8)
    estimator, _ = load_artifact(artifact)
    proba = estimator.predict_proba(pd.DataFrame(rows, columns=[f["name"] for f in features]))
    labels = [metadata["classes"][i] for i in proba.argmax(axis=1)]
    return {
        "features": features,
        "classes": metadata["classes"],
        "rows": rows,
        "proba": proba,
        "labels": labels,
    }


# --------------------------------------------------------------------------- payloads
def test_complete_rows_are_the_first_complete_penguins_typed_per_schema(model: dict[str, Any]) -> None:
    from palmerpenguins import load_penguins

    features, rows = model["features"], model["rows"]
    names = [f["name"] for f in features]
    assert len(rows) == 8 and all(list(row) == names for row in rows)
    first = load_penguins()[names].dropna().iloc[0]
    for f in features:
        want_type = {"float64": float, "int64": int, "category": str}[f["dtype"]]
        assert all(type(row[f["name"]]) is want_type for row in rows), f["name"]
        assert rows[0][f["name"]] == first[f["name"]]
        if f["dtype"] == "category":
            assert {row[f["name"]] for row in rows} <= set(f["categories"])
        if f["dtype"] == "float64":
            assert all(math.isfinite(row[f["name"]]) for row in rows)
    with pytest.raises(SystemExit, match="complete rows"):
        payloads.complete_rows(features, 100_000)


def test_native_and_v1_bodies_wrap_the_same_rows(model: dict[str, Any]) -> None:
    rows = model["rows"]
    assert payloads.native_body(rows) == {"rows": rows}
    assert payloads.v1_body(rows) == {"instances": rows}


def test_v2_body_has_one_tensor_per_feature(model: dict[str, Any]) -> None:
    features, rows = model["features"], model["rows"][:3]
    body = json.loads(json.dumps(payloads.v2_body(rows, features)))
    assert body["parameters"] == {"content_type": "pd"} and "outputs" not in body
    assert [t["name"] for t in body["inputs"]] == [f["name"] for f in features]
    datatypes = {t["name"]: t["datatype"] for t in body["inputs"]}
    assert datatypes == {"island": "BYTES", "sex": "BYTES", "year": "INT64"} | {
        f["name"]: "FP64" for f in features if f["dtype"] == "float64"
    }
    for tensor in body["inputs"]:
        assert tensor["shape"] == [3]
        assert tensor["data"] == [row[tensor["name"]] for row in rows]
        want = {"content_type": "str"} if tensor["datatype"] == "BYTES" else None
        assert tensor.get("parameters") == want
    asked = payloads.v2_body(rows, features, ["predict_proba"])
    assert asked["outputs"] == [{"name": "predict_proba"}]


# --------------------------------------------------------------------------- answers
def _answers(labels: list[str], proba: np.ndarray, classes: list[str]) -> dict[str, tuple[str, Any]]:
    """Each server's answer shape for the given labels and probabilities."""
    n, nested = len(labels), proba.tolist()
    pairs = zip(labels, nested, strict=True)
    objects = [
        {"predicted_label": lab, "probabilities": dict(zip(classes, p, strict=True))} for lab, p in pairs
    ]
    flat = {"name": "probabilities", "shape": [n, 3], "data": proba.reshape(-1).tolist()}
    return {
        "ours-native": ("native", {"classes": classes, "labels": labels, "probabilities": nested}),
        "ours-v1": ("v1", {"predictions": labels}),
        "objects-v1": ("v1", {"predictions": objects}),
        "ours-v2": ("v2", {"outputs": [{"name": "label", "shape": [n], "data": labels}, flat]}),
        "mlserver-v2": ("v2", {"outputs": [{"name": "predict_proba", "shape": [n, 3], "data": nested}]}),
    }


@pytest.mark.parametrize("target", ["ours-native", "ours-v1", "objects-v1", "ours-v2", "mlserver-v2"])
def test_answers_equal_to_scikit_learn_within_tolerance_are_accepted(
    model: dict[str, Any], target: str
) -> None:
    close = model["proba"] + 5e-7  # inside the 1e-6 tolerance
    protocol, answer = _answers(model["labels"], close, model["classes"])[target]
    labels, proba = decode_answer(protocol, json.loads(json.dumps(answer)), model["classes"], 8)
    assert labels == model["labels"]
    if target == "ours-v1":
        assert proba is None  # labels only, as KServe's sklearnserver answers
    else:
        assert proba is not None and proba.shape == (8, 3)
        np.testing.assert_allclose(proba, close)
    assert compare(labels, proba, model["labels"], model["proba"], tolerance=1e-6) is None


def test_compare_names_a_wrong_label_or_probability(model: dict[str, Any]) -> None:
    want_labels, want = model["labels"], model["proba"]
    other = next(c for c in model["classes"] if c != want_labels[2])
    labels = [*want_labels[:2], other, *want_labels[3:]]
    problem = compare(labels, want, want_labels, want, tolerance=1e-6)
    assert problem is not None and "1 label(s) differ, first at row 2" in problem and other in problem
    off = want.copy()
    off[5, 1] += 1e-5
    problem = compare(want_labels, off, want_labels, want, tolerance=1e-6)
    assert problem is not None and "probabilities differ by up to 1e-05" in problem
    off[5, 1] = np.nan
    assert "probabilities differ" in (compare(want_labels, off, want_labels, want, tolerance=1e-6) or "")


@pytest.mark.parametrize(
    ("protocol", "answer", "n_rows", "message"),
    [
        ("v2", {"outputs": [{"name": "label", "data": ["Adelie"]}]}, 1, "no probability output"),
        ("native", {"labels": ["Adelie"]}, 1, "no probabilities among answer fields"),
        ("v1", {"predictions": [{"predicted_label": "Adelie"}]}, 1, "no probabilities among prediction"),
        ("v1", {"predictions": "Adelie"}, 1, "unexpected answer shape"),
        ("v1", {"predictions": ["Adelie", "Gentoo"]}, 1, "2 labels for 1 rows"),
        ("native", {"labels": ["Adelie"], "probabilities": [[1, 0, 0]]}, 2, "not 2 x 3"),
        ("v2", {"outputs": [{"name": "probabilities", "data": [1, 0, 0] * 2}]}, 1, "not 1 x 3"),
        ("v1", {"predictions": [{"label": "Adelie", "probabilities": {"Adelie": 1.0}}]}, 1, "not 1 x 3"),
        (
            "v2",
            {"outputs": [{"name": "probability", "data": [1, 0, 0]}, {"name": "label", "data": []}]},
            1,
            "0 labels",
        ),
    ],
)
def test_unreadable_answers_raise_answer_error(protocol: str, answer: Any, n_rows: int, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        decode_answer(protocol, answer, ["Adelie", "Chinstrap", "Gentoo"], n_rows)


# --------------------------------------------------------------------------- report
# fmt: off
def _run(target: str, rps: float, p99_ms: float, *, model: str = "logistic", rows: int = 1, conns: int = 4,
         errors: int = 0, cpu: float | None = None) -> dict[str, Any]:
    """One raw run as run.py records it (see results/serving-*.json, key ``runs``)."""
    return {
        "model": model, "rows": rows, "connections": conns, "target": target, "requests_per_s": rps,
        "latency_us": {"p50": p99_ms * 500, "p99": p99_ms * 1000}, "error_count": errors,
        "server_cpu_ms_per_request": cpu, "other_cpu_share": None,
    }
# fmt: on


def test_summarise_takes_medians_over_rounds() -> None:
    runs = [
        _run("ours-v2", 100, 12, rows=64, errors=1, cpu=2.0),
        _run("ours-v2", 120, 10, rows=64, errors=2, cpu=None),
        _run("ours-v2", 90, 30, rows=64, cpu=4.0),
        _run("kserve-v2", 0, 5),
    ]
    [kserve, ours] = report.summarise(runs)  # sorted by (model, rows, connections, target)
    assert ours["target"] == "ours-v2" and ours["rounds"] == 3
    assert ours["requests_per_s"] == 100 and ours["rows_per_s"] == 6400
    assert ours["p99_ms"] == 12 and ours["p50_ms"] == 6
    assert ours["spread"] == pytest.approx(0.3)
    assert ours["errors"] == 3
    assert ours["server_cpu_ms_per_request"] == 3.0 and ours["other_cpu_share"] is None
    assert kserve["target"] == "kserve-v2" and kserve["spread"] is None


def _summary() -> list[dict[str, Any]]:
    runs = [
        _run("ours-v1", 200, 10, cpu=1.0),
        _run("kserve-v1", 100, 30, cpu=3.0),
        _run("ours-v2", 150, 20),
        _run("kserve-v2", 300, 10),
        _run("mlserver-v2", 50, 80),
        _run("kserve-v1", 999, 1, conns=16),  # no ours-v1 at 16 connections: no pair
        _run("ours-v1", 50, 40, model="hgb", cpu=2.0),
        _run("kserve-v1", 25, 80, model="hgb"),
        _run("mlserver-v2", 10, 90, model="hgb", rows=64),  # no logistic base for it
    ]
    return report.summarise(runs)


def test_ratios_pair_ours_with_theirs_in_the_same_cell() -> None:
    got = {(r["model"], r["ours"], r["theirs"]): r for r in report.ratios(_summary())}
    assert list(got) == [  # logistic before hgb, pairs in PAIRS order
        ("logistic", "ours-v1", "kserve-v1"),
        ("logistic", "ours-v2", "kserve-v2"),
        ("logistic", "ours-v2", "mlserver-v2"),
        ("hgb", "ours-v1", "kserve-v1"),
    ]
    v1 = got[("logistic", "ours-v1", "kserve-v1")]
    assert (v1["rows"], v1["connections"]) == (1, 4)
    assert (v1["throughput_ratio"], v1["p99_ratio"], v1["cpu_per_request_ratio"]) == (2.0, 3.0, 3.0)
    v2 = got[("logistic", "ours-v2", "kserve-v2")]
    assert (v2["throughput_ratio"], v2["p99_ratio"], v2["cpu_per_request_ratio"]) == (0.5, 0.5, None)
    assert got[("logistic", "ours-v2", "mlserver-v2")]["throughput_ratio"] == 3.0
    assert got[("hgb", "ours-v1", "kserve-v1")]["p99_ratio"] == 2.0


def test_model_ratios_divide_hgb_by_logistic_per_target() -> None:
    assert report.model_ratios(_summary()) == [
        {"target": "kserve-v1", "rows": 1, "connections": 4, "hgb_over_logistic": 0.25},
        {"target": "ours-v1", "rows": 1, "connections": 4, "hgb_over_logistic": 0.25},
    ]


def test_format_tables_and_plot(tmp_path: Path) -> None:
    summary = _summary()
    text = report.format_tables(summary, report.ratios(summary), report.model_ratios(summary))
    for target in ("ours-v1", "ours-v2", "kserve-v1", "kserve-v2", "mlserver-v2"):
        assert target in text
    assert "== logistic regression" in text and "== hist gradient boosting" in text
    assert text.index("== logistic regression") < text.index("== hist gradient boosting")
    assert "logistic: ours-v1 / kserve-v1" in text and "2.00" in text and "3.00" in text
    png = tmp_path / "out" / "plot.png"
    report.plot(summary, png, "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- wrk, run, cpu
def test_run_wrk_reads_the_bench_json_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = {
        "requests": 1000, "duration_us": 2_000_000, "latency_us": {"p50": 900, "p99": 5000},
        "errors": {"connect": 1, "read": 0, "write": 0, "status": 100, "timeout": 2},
    }  # fmt: skip
    seen: dict[str, Any] = {}

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.update(command=command, env=kwargs["env"])
        out = "Running 2s test\n" + wrk.MARK + json.dumps(figures) + "\n"
        return subprocess.CompletedProcess(command, 0, out, "")

    monkeypatch.setattr(wrk, "wrk_binary", lambda: "/usr/bin/wrk")
    monkeypatch.setattr(wrk.subprocess, "run", fake_run)
    got = wrk.run_wrk("http://127.0.0.1:8080/predict", tmp_path / "body.json", 16, 2)
    assert got["requests_per_s"] == 450  # (1000 - 100 non-2xx) / 2 s
    assert got["error_count"] == 103
    assert {"-t1", "-c16", "-d2s"} <= set(seen["command"]) and seen["command"][-1].endswith("/predict")
    assert seen["env"]["BENCH_BODY"] == str(tmp_path / "body.json")
    monkeypatch.setattr(wrk.subprocess, "run", lambda c, **k: subprocess.CompletedProcess(c, 0, "x\n", ""))
    with pytest.raises(RuntimeError, match="no figures"):
        wrk.run_wrk("http://127.0.0.1:8080/predict", tmp_path / "body.json", 16, 2)
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        wrk.run_wrk("http://example.com:8080/predict", tmp_path / "body.json", 16, 2)


def test_route_and_targets() -> None:
    assert run.route("v1", "penguins") == "/v1/models/penguins:predict"
    assert run.route("v2", "penguins") == "/v2/models/penguins/infer"
    assert run.route("native", "penguins") == "/predict"
    for name, (_server, protocol, variant) in run.TARGETS.items():
        assert run.route(protocol, "m") and variant.split("-")[0] == protocol, name
        assert name in report.COLOURS
    assert {t for pair in report.PAIRS for t in pair} <= set(run.TUNED)


def test_parse_args() -> None:
    args = run.parse_args([])
    assert (args.rounds, args.seconds, args.connections, args.batch) == (3, 4.0, [4, 16, 64], 64)
    assert args.targets == run.TUNED and args.defaults is False and args.models == ["logistic", "hgb"]
    quick = run.parse_args(["--quick", "--rounds", "5", "--seconds", "9"])
    assert (quick.rounds, quick.seconds) == (1, 2.0)
    assert run.parse_args(["--rounds", "5", "--defaults"]).rounds == 5
    with pytest.raises(SystemExit):
        run.parse_args(["--targets", "nobody-v3"])


def test_group_cpu_seconds_counts_this_process_group() -> None:
    mine = sum(os.times()[:2])
    assert group_cpu_seconds(os.getpgrp()) >= mine - 0.05
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    assert group_cpu_seconds(pid_max + 1) == 0.0
