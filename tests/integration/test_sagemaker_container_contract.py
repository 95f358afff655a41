"""The container's SageMaker contract, with the real `train` and `serve` executables as processes.

`train` reads a local /opt/ml layout (OPT_ML_ROOT points at a temp dir) built exactly as
promotion.sagemaker_training.run_local (and SageMaker) lays it out, and must leave a loadable artifact;
`serve` must answer /ping and /invocations (JSON and CSV) from that artifact through Gunicorn.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from promotion import sagemaker_registry as registry
from promotion import sagemaker_smoke as smoke
from promotion import sagemaker_training as st
from tests.conftest import REPO, free_port
from tests.integration.test_container import image  # noqa: F401  (the real image, built once per worker)
from training.artifact import file_digest, load_artifact

# One worker runs the whole module: the trained artifact and the server are shared, and the last
# test stops that server.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sagemaker_container")]

TRAIN = REPO / "sagemaker" / "container" / "train"
SERVE = REPO / "sagemaker" / "container" / "serve"
VENV_BIN = str(Path(sys.executable).parent)


def container_env(root: Path, **extra: str) -> dict[str, str]:
    """The image's environment, as far as it matters here: the venv first on PATH, /opt/ml moved."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_SERVER_", "SAGEMAKER_", "SM_"))}
    env.update(PATH=f"{VENV_BIN}:{env.get('PATH', '')}", OPT_ML_ROOT=str(root), PYTHONUNBUFFERED="1", **extra)
    return env


def make_layout(root: Path, frame=None, hyperparameters: dict[str, str] | None = None) -> Path:
    from palmerpenguins import load_penguins

    (root / "input" / "data" / "train").mkdir(parents=True)
    (root / "input" / "data" / "schema").mkdir(parents=True)
    (root / "input" / "config").mkdir(parents=True)
    (load_penguins() if frame is None else frame).to_csv(root / "input/data/train/penguins.csv", index=False)
    shutil.copy(REPO / "data" / "schema.yaml", root / "input/data/schema/schema.yaml")
    hp = st.flatten_hyperparameters(st.load_params()) if hyperparameters is None else hyperparameters
    (root / "input/config/hyperparameters.json").write_text(json.dumps(hp))
    return root


def run_train(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRAIN)], env=container_env(root, **env), capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = make_layout(tmp_path_factory.mktemp("opt_ml"))
    return root, run_train(root, GIT_COMMIT="0123456789abcdef")


def test_train_writes_a_loadable_artifact_to_the_model_dir(trained):
    root, proc = trained
    assert proc.returncode == 0, proc.stderr
    assert not (root / "output" / "failure").exists()
    _, meta = load_artifact(root / "model")
    assert meta["name"] == "penguins" and meta["git_commit"] == "0123456789abcdef"
    assert meta["data_digest"] == file_digest(root / "input/data/train/penguins.csv")
    assert sorted(p.name for p in (root / "model").iterdir()) == ["metadata.json", "model.skops"]
    # The held-out evaluation lands in output/data (SageMaker's output.tar.gz) and matches the metadata.
    assert json.loads((root / "output/data/metrics.json").read_text()) == meta["metrics"]
    assert {"roc.csv", "precision_recall.csv", "confusion.csv"} <= {
        p.name for p in (root / "output/data").iterdir()
    }
    # Every metric the training job's MetricDefinitions look for is printed in their format.
    import re

    request = st.training_request(st.load("staging"), _image(), "s3://b/d/", "s3://b/s/", {}, "job")
    for definition in request["AlgorithmSpecification"]["MetricDefinitions"]:
        found = re.search(definition["Regex"], proc.stdout)
        assert found, f"no line for {definition['Name']} in:\n{proc.stdout}"
        assert float(found.group(1)) == pytest.approx(meta["metrics"][definition["Name"]])


def _image():
    from promotion.refs import ImageRef

    return ImageRef.parse("ghcr.io/your-org/mlops-template@sha256:" + "0" * 64)


@pytest.mark.parametrize(
    ("variable", "path", "message"),
    [
        ("SM_CHANNEL_TRAIN", "no-such-channel", "no-such-channel: training channel not found"),
        ("SM_CHANNEL_SCHEMA", "no-schema", "no-schema/schema.yaml: schema channel not found"),
        ("SM_INPUT_CONFIG_DIR", "no-config", "no-config/hyperparameters.json: not found"),
    ],
)
def test_train_honours_the_training_toolkit_variables(tmp_path, trained, variable, path, message):
    # Each SM_* variable moves one path; pointing it at nothing shows it was read (and fails fast).
    root, _ = trained
    proc = run_train(root, **{variable: str(tmp_path / path)})
    assert proc.returncode == 1
    assert message in (root / "output" / "failure").read_text()
    (root / "output" / "failure").unlink()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_column", "island"),
        ("no_hyperparameters", "hyperparameters.json: not found"),
        ("two_tables", "expected exactly one"),
    ],
)
def test_train_failure_is_reported_where_sagemaker_reads_it(tmp_path, case, message):
    from palmerpenguins import load_penguins

    frame = load_penguins()
    params = st.flatten_hyperparameters(st.load_params())
    if case == "missing_column":
        frame = frame.drop(columns=["island"])
    root = make_layout(tmp_path / "opt_ml", frame, params)
    if case == "no_hyperparameters":
        (root / "input/config/hyperparameters.json").unlink()
    if case == "two_tables":
        shutil.copy(root / "input/data/train/penguins.csv", root / "input/data/train/more.csv")
    proc = run_train(root)
    assert proc.returncode == 1
    reason = (root / "output" / "failure").read_text()
    assert message in reason, reason
    assert len(reason) <= 1025
    assert not (root / "model" / "metadata.json").exists()


# --------------------------------------------------------------------------- serve
def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _post(url: str, body: bytes, content_type: str, accept: str | None = None) -> tuple[int, str, bytes]:
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def start_serve(root: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(SERVE)],
        env=container_env(
            root,
            MODEL_SERVER_HOST="127.0.0.1",
            SAGEMAKER_BIND_TO_PORT=str(port),
            MODEL_SERVER_WORKERS="1",
            **env,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_ping(proc: subprocess.Popen[bytes], url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            if _get(url + "/ping", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url}/ping not 200 within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@pytest.fixture(scope="module")
def served(trained):
    root, proc = trained
    assert proc.returncode == 0, proc.stderr
    port = free_port()
    server = start_serve(root, port)
    try:
        wait_ping(server, f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}", json.loads((root / "model" / "metadata.json").read_text()), server
    finally:
        stop(server)


def test_ping_answers_200(served):
    url, _, _ = served
    assert _get(url + "/ping") == (200, b"")


def test_invocations_json_gives_the_recorded_examples(served):
    url, meta, _ = served
    status, ctype, body = _post(
        url + "/invocations", smoke.encode_rows(meta, "application/json"), "application/json"
    )
    assert status == 200 and ctype.startswith("application/json")
    # The promotion smoke test's own check accepts the real server's answer...
    assert smoke.check_answer(meta, body, "serve")["labels"] == meta["examples"]["labels"]


def test_invocations_csv_in_and_out(served):
    url, meta, _ = served
    payload = smoke.encode_rows(meta, "text/csv")
    status, ctype, body = _post(url + "/invocations", payload, "text/csv", accept="text/csv")
    assert status == 200 and ctype.startswith("text/csv")
    lines = body.decode().strip().splitlines()
    assert [line.split(",")[0] for line in lines] == meta["examples"]["labels"]
    assert all(len(line.split(",")) == 1 + len(meta["classes"]) for line in lines)
    # CSV in, JSON out: what the smoke test does when the endpoint is configured for CSV.
    status, _, body = _post(url + "/invocations", payload, "text/csv", accept="application/json")
    assert status == 200 and smoke.check_answer(meta, body, "serve")["rows"] == len(lines)


def test_invocations_refuses_what_it_cannot_read(served):
    url, _, _ = served
    status, _, body = _post(url + "/invocations", b"<x/>", "application/xml")
    assert status == 415 and b"application/json or text/csv" in body
    status, _, body = _post(url + "/invocations", b"1,2\n", "text/csv")
    assert status == 400 and b"CSV row 1" in body


def test_a_model_with_another_digest_is_never_served(trained):
    # The registry pins MODEL_SERVER_MODEL_DIGEST in the model package; a mismatch stops the server.
    root, _ = trained
    server = start_serve(root, free_port(), **{registry.EXPECTED_DIGEST_ENV: "sha256:" + "e" * 64})
    try:
        assert server.wait(timeout=120) != 0
        assert b"does not match" in server.stderr.read()
    finally:
        stop(server)


# --------------------------------------------------------------------------- serve's defaults (no Gunicorn)
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {},
            {
                "MODEL_SERVER_MODEL_URI": "/opt/ml/model",
                "MODEL_SERVER_HOST": "0.0.0.0",
                "MODEL_SERVER_PORT": "8080",
                "MODEL_SERVER_MAX_BODY_BYTES": "6291456",
            },
        ),
        ({"MODEL_SERVER_PORT": "8080", "SAGEMAKER_BIND_TO_PORT": "9001"}, {"MODEL_SERVER_PORT": "9001"}),
        ({"SAGEMAKER_MODEL_SERVER_WORKERS": "3"}, {"MODEL_SERVER_WORKERS": "3"}),
        ({"SAGEMAKER_MODEL_SERVER_TIMEOUT": "90"}, {"MODEL_SERVER_TIMEOUT": "90"}),
        ({"MODEL_SERVER_MODEL_URI": "s3://b/m/"}, {"MODEL_SERVER_MODEL_URI": "s3://b/m/"}),
        ({"OPT_ML_ROOT": "/tmp/x"}, {"MODEL_SERVER_MODEL_URI": "/tmp/x/model"}),
    ],
)
def test_serve_defaults(tmp_path, env, expected):
    fake = tmp_path / "bin" / "gunicorn"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$*"\nenv | grep -E "^MODEL_SERVER_" | sort\n')
    fake.chmod(0o755)
    base = {"PATH": f"{fake.parent}:/usr/bin:/bin"}
    out = subprocess.run(
        ["sh", str(SERVE)], env={**base, **env}, capture_output=True, text=True, check=True
    ).stdout
    args, *lines = out.splitlines()
    assert args == "--config python:serving.gunicorn_conf"
    seen = dict(line.split("=", 1) for line in lines)
    for key, value in expected.items():
        assert seen[key] == value


def test_dockerfile_and_serve_agree_on_the_model_dir():
    text = (REPO / "Dockerfile").read_text()
    assert "MODEL_SERVER_MODEL_URI=/opt/ml/model" in text
    assert "COPY sagemaker/container/ /opt/program/" in text
    assert "/opt/program" in next(line for line in text.splitlines() if "PATH=" in line)


def test_serve_stops_cleanly_on_sigterm(served):
    """After every other test of the shared server on purpose: it stops it (as SageMaker stops containers)."""
    _, _, server = served
    assert stop(server) == 0


# --------------------------------------------------------------------------- the same, inside the real image
# In the worker that builds the image for tests/integration/test_container.py (its fixture, imported).
@pytest.mark.container
@pytest.mark.xdist_group("container")
def test_train_then_serve_inside_the_image(image, tmp_path):  # noqa: F811
    """`docker run IMAGE train` then `docker run IMAGE serve`, as SageMaker runs them: /opt/ml mounted,
    read-only root, the image's non-root user, no network for training (network isolation)."""
    from tests.integration.test_container import RUN_FLAGS, TAG, podman

    root = make_layout(tmp_path / "opt_ml")
    for sub in ("model", "output"):
        (root / sub).mkdir()
    for path in [root, *root.rglob("*")]:  # the image's user (10001) writes model/ and output/
        path.chmod(0o777 if path.is_dir() else 0o666)
    trained = podman("run", "--rm", *RUN_FLAGS, "--network", "none", "-v", f"{root}:/opt/ml", TAG, "train",
                     timeout=600, check=False)  # fmt: skip
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    assert "metric accuracy=" in trained.stdout
    _, meta = load_artifact(root / "model")

    name, port = f"sagemaker-serve-{os.getpid()}", free_port()
    podman("rm", "-f", name, check=False)
    podman("run", "-d", "--name", name, *RUN_FLAGS, "-p", f"127.0.0.1:{port}:8080",
           "-v", f"{root / 'model'}:/opt/ml/model:ro", TAG, "serve")  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if _get(url + "/ping", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            state = podman("inspect", "--format", "{{.State.Status}}", name, check=False).stdout.strip()
            assert state == "running" and time.monotonic() < deadline, podman(
                "logs", name, check=False
            ).stderr[-3000:]
            time.sleep(0.2)
        status, _, body = _post(
            url + "/invocations", smoke.encode_rows(meta, "application/json"), "application/json"
        )
        assert (
            status == 200 and smoke.check_answer(meta, body, "image")["labels"] == meta["examples"]["labels"]
        )
        status, _, body = _post(
            url + "/invocations", smoke.encode_rows(meta, "text/csv"), "text/csv", "text/csv"
        )
        assert (
            status == 200 and [r.split(",")[0] for r in body.decode().split()] == meta["examples"]["labels"]
        )
        logs = podman("logs", name, check=False)
        assert meta["digest"] in logs.stdout + logs.stderr  # it serves the model train just wrote
        podman("stop", "-t", "30", name)
        assert podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        podman("rm", "-f", "-t", "2", name, check=False)
