"""Bring your own model and data, exactly as docs/bring-your-own-model.md says, on a copy of the repository.

The page's commands, its data/schema.yaml, its params.yaml changes and its estimator patch are read from
the page itself. A synthetic churn table (binary target, integer, decimal and categorical columns with
gaps, an identifier to drop) goes through the DVC pipeline; the server then starts on the new artifact and
every protocol answers from the model's metadata, with nothing under serving/ or promotion/ changed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from templatekit.config import load
from templatekit.docs import markdown
from templatekit.rewrite import plan
from tests.conftest import free_port
from tests.docs.repo_copy import REPO, copy_repository, make_env

PAGE = REPO / "docs" / "bring-your-own-model.md"
HERE = "tests/integration/test_byo_dataset.py"
FEATURES = ["tenure_months", "monthly_charges", "contract", "payment_method", "support_calls"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def churn_table(n: int = 600, seed: int = 7) -> pd.DataFrame:
    """Customers who churn more on monthly contracts, with more support calls and higher charges."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, n)
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n, p=[0.55, 0.25, 0.2])
    payment = rng.choice(["card", "bank-transfer", "electronic-check"], n, p=[0.35, 0.3, 0.35]).astype(object)
    charges = np.round(rng.uniform(18, 120, n), 2)
    calls = rng.poisson(1.5, n)
    logit = (
        -1.0 - 0.05 * tenure + 0.02 * charges + 0.45 * calls
        + np.select([contract == "month-to-month", contract == "one-year"], [1.4, 0.0], -1.2)
        + np.where(payment == "electronic-check", 0.6, 0.0)
    )  # fmt: skip
    churned = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    charges[rng.random(n) < 0.03] = np.nan
    payment[rng.random(n) < 0.04] = None
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "tenure_months": tenure,
            "monthly_charges": charges,
            "contract": contract,
            "payment_method": payment,
            "support_calls": calls,
            "churned": churned,
        }
    )


def _block(language: str, first_line: str) -> str:
    found = [
        b.body
        for b in markdown.fenced_blocks(PAGE)
        if b.language == language and b.body.startswith(first_line)
    ]
    assert len(found) == 1, f"{PAGE.name}: expected one ```{language} block starting {first_line!r}"
    return found[0] + "\n"


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "gate":
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
    return out


def _sh(cmd: str, root: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", cmd],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _call(
    port: int, method: str, path: str, body: Any = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # loopback only
            raw, status = resp.read(), resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    root = copy_repository(tmp_path_factory.mktemp("byo") / "repo")
    env = make_env(root)
    shell = [b for b in markdown.shell_blocks(PAGE) if b.kind == "covered-by" and b.argument == HERE]
    assert len(shell) == 2, "the page has two command blocks: track the data; name, train, serve"
    track, run = shell

    churn_table().to_csv(root / "data" / "churn.csv", index=False)  # "put it at data/churn.csv"
    _sh(track.body, root, env)
    (root / "data" / "schema.yaml").write_text(_block("yaml", "# data/schema.yaml"), encoding="utf-8")
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    changes = yaml.safe_load(_block("yaml", "# params.yaml"))
    (root / "params.yaml").write_text(
        yaml.safe_dump(_merge(params, changes), sort_keys=False), encoding="utf-8"
    )
    patch = root / "estimator.patch"
    patch.write_text(_block("diff", "--- a/training/train.py"), encoding="utf-8")
    _sh(f"git apply {patch.name} && rm {patch.name}", root, env)

    commands = run.commands()
    assert commands == ['make init ARGS="--model-name churn"', "make train", "make serve"]
    for cmd in commands[:-1]:
        _sh(cmd, root, env, timeout=480)

    port = free_port()
    log = root / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", commands[-1]], cwd=root, env={**env, "MODEL_SERVER_PORT": str(port)},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`make serve` exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if _call(port, "GET", "/v2/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"`make serve` not ready in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        meta = json.loads((root / "models" / "metadata.json").read_text())
        yield root, port, meta
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_the_artifact_describes_the_new_model(served: tuple[Path, int, dict[str, Any]]) -> None:
    root, _, meta = served
    assert (meta["name"], meta["estimator"], meta["target"]) == ("churn", "random_forest", "churned")
    assert meta["classes"] == ["no", "yes"]
    assert [f["name"] for f in meta["input_schema"]["features"]] == FEATURES  # customer_id dropped
    dtypes = {f["name"]: f["dtype"] for f in meta["input_schema"]["features"]}
    assert dtypes == {"tenure_months": "int64", "monthly_charges": "float64", "contract": "category",
                      "payment_method": "category", "support_calls": "int64"}  # fmt: skip
    assert meta["metrics"]["roc_auc_ovr"] >= 0.70
    assert json.loads((root / "reports" / "metrics.json").read_text()) == meta["metrics"]


def test_nothing_outside_data_params_training_and_renamed_places_changed(
    served: tuple[Path, int, dict[str, Any]],
) -> None:
    root = served[0]
    changed = subprocess.run(
        ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    paths = {line[3:] for line in changed.splitlines()}
    assert {"data/schema.yaml", "params.yaml", "training/train.py", "dvc.yaml"} <= paths
    # beyond the four files the page edits, only `make init`'s places (the model's name) changed
    config = load(root)
    renamed = {finding.path for finding in plan(root, config, config).findings}
    outside = [
        p for p in paths if p.startswith(("serving/", "promotion/", "sagemaker/")) and p not in renamed
    ]
    assert not outside, outside


def test_native_protocol(served: tuple[Path, int, dict[str, Any]]) -> None:
    _, port, meta = served
    rows, labels = meta["examples"]["rows"], meta["examples"]["labels"]
    status, body = _call(port, "POST", "/predict", {"rows": rows})
    assert status == 200, body
    assert body["labels"] == labels and body["classes"] == ["no", "yes"]
    np.testing.assert_allclose(body["probabilities"], meta["examples"]["probabilities"], atol=1e-5)
    status, body = _call(port, "GET", "/metadata")
    assert status == 200 and body["digest"] == meta["digest"]


def test_kserve_v1(served: tuple[Path, int, dict[str, Any]]) -> None:
    _, port, meta = served
    status, body = _call(port, "POST", "/v1/models/churn:predict", {"instances": meta["examples"]["rows"]})
    assert status == 200 and body == {"predictions": meta["examples"]["labels"]}


def test_kserve_v2(served: tuple[Path, int, dict[str, Any]]) -> None:
    _, port, meta = served
    status, body = _call(port, "GET", "/v2/models/churn")
    assert status == 200
    assert [(t["name"], t["datatype"]) for t in body["inputs"]] == [
        ("tenure_months", "INT64"), ("monthly_charges", "FP64"), ("contract", "BYTES"),
        ("payment_method", "BYTES"), ("support_calls", "INT64"),
    ]  # fmt: skip
    rows = meta["examples"]["rows"]
    types = {t["name"]: t["datatype"] for t in body["inputs"]}
    inputs = [
        {"name": n, "datatype": types[n], "shape": [len(rows)], "data": [r[n] for r in rows]}
        for n in FEATURES
    ]
    status, body = _call(port, "POST", "/v2/models/churn/infer", {"inputs": inputs})
    assert status == 200, body
    label = next(o for o in body["outputs"] if o["name"] == "label")
    assert label["data"] == meta["examples"]["labels"]


def test_sagemaker(served: tuple[Path, int, dict[str, Any]]) -> None:
    _, port, meta = served
    assert _call(port, "GET", "/ping")[0] == 200
    status, body = _call(port, "POST", "/invocations", {"instances": meta["examples"]["rows"]})
    assert status == 200
    assert [p["predicted_label"] for p in body["predictions"]] == meta["examples"]["labels"]
    status, text = _call(
        port, "POST", "/invocations", b"12,70.5,month-to-month,card,4\n60,,two-year,,0\n", "text/csv"
    )
    assert status == 200 and [line.split(",")[0] for line in text.strip().splitlines()] == ["yes", "no"]


def test_requests_are_checked_against_the_new_schema(served: tuple[Path, int, dict[str, Any]]) -> None:
    _, port, meta = served
    row = dict(meta["examples"]["rows"][0], contract="weekly")
    status, body = _call(port, "POST", "/predict", {"rows": [row]})
    assert 400 <= status < 500 and "contract" in json.dumps(body)
    status, body = _call(port, "POST", "/v1/models/churn:predict", {"instances": [{"tenure_months": 3}]})
    assert 400 <= status < 500
    assert "monthly_charges" in json.dumps(body) or "contract" in json.dumps(body), body
