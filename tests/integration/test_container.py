"""The real image, built from the real Dockerfile and run with podman, answers the serving contract.

Built once per session (layers are cached between sessions, and the Debian base image is made once by
docker/build-base-image.sh), run read-only as its non-root user with every capability dropped, then:
every contract payload of tests/contract is replayed against it; the promotion smoke test passes; the
labels and the SageMaker layout are checked; the baked model is served from the inference plan baked
into the image at build time (no scikit-learn import); a model given by MODEL_URI at start is served,
and one with the wrong digest is refused. Image size and cold start (run -> ready) go to
build/container.json.
Skips, with the reason, where a prerequisite is missing (podman, root or debootstrap for the base image,
a reachable package index or Debian mirror): the docker/ scripts say so with exit 3 and "missing
prerequisite: ..."; any other failure of theirs fails the tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from promotion.smoke import http_sender, smoke_test
from tests.conftest import REPO, free_port, require_binary
from tests.contract.contract_matching import assert_matches, expand, model_tokens, prediction_tokens
from tests.contract.test_contract_protocols import CASES, send

pytestmark = [pytest.mark.container, pytest.mark.slow, pytest.mark.xdist_group("container")]

TAG = "localhost/mlops-template:test"
RUN_FLAGS = [
    "--runtime", "runc", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
    "--pull=never", "--read-only", "--tmpfs", "/tmp:rw,size=64m", "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges",
]  # fmt: skip
FIGURES = REPO / "build" / "container.json"


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed ({out.returncode}): {out.stderr[-3000:]}")
    return out


def run_script(script: str, *args: str, timeout: float) -> str:
    """Run docker/<script>; skip on a missing prerequisite (exit 3), fail on any other error. Its stdout."""
    proc = subprocess.run(
        [str(REPO / "docker" / script), *args], capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode == 3 and "missing prerequisite" in proc.stderr:
        pytest.skip(proc.stderr.strip().splitlines()[-1])
    if proc.returncode != 0:
        pytest.fail(f"docker/{script} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def build_context(dest: Path, artifact: Path) -> Path:
    """What the .dockerignore allowlist admits, from the working tree, plus the artifact and wheels."""
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for entry in allowed:
        source = REPO / entry
        if entry.startswith(("models/", "build/")) or not source.exists():
            continue
        target = dest / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    shutil.copytree(artifact, dest / "models")
    wheels = REPO / "build" / "wheels"
    run_script("download-wheels.sh", str(wheels), timeout=600)
    shutil.copytree(wheels, dest / "build" / "wheels")
    return dest


@pytest.fixture(scope="session")
def image(penguins_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    require_binary("podman")
    base = run_script("build-base-image.sh", timeout=900)
    context = build_context(tmp_path_factory.mktemp("image-context"), penguins_artifact)
    meta = json.loads((penguins_artifact / "metadata.json").read_text())
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    started = time.monotonic()
    podman(
        "build", "--pull=never", "--isolation", "chroot", "--runtime", "runc", "--format", "docker", "--layers",
        "--build-arg", f"BASE_IMAGE={base.strip()}", "--build-arg", f"GIT_COMMIT={commit}",
        "--build-arg", f"MODEL_DIGEST={meta['digest']}", "-t", TAG, str(context),
        timeout=1800,
    )  # fmt: skip
    inspect = json.loads(podman("image", "inspect", TAG).stdout)[0]
    return {"build_s": time.monotonic() - started, "inspect": inspect, "meta": meta, "commit": commit}


def wait_ready(url: str, name: str, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        state = podman("inspect", "--format", "{{.State.Status}}", name, check=False).stdout.strip()
        if state in ("exited", "stopped"):
            logs = podman("logs", name, check=False)
            raise AssertionError(
                f"container {name} exited before ready:\n{(logs.stdout + logs.stderr)[-3000:]}"
            )
        try:
            if requests.get(url + "/health/ready", timeout=1).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise AssertionError(f"container {name} not ready after {timeout}s")


def start(name: str, *args: str) -> tuple[str, float]:
    port = free_port()
    podman("rm", "-f", name, check=False)
    started = time.monotonic()
    podman("run", "-d", "--name", name, *RUN_FLAGS, "-p", f"127.0.0.1:{port}:8080", *args, TAG)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, name)
    return url, time.monotonic() - started


@pytest.fixture(scope="session")
def container(image: dict[str, Any]) -> Iterator[dict[str, Any]]:
    name = "mlops-template-test"
    try:
        url, cold_start = start(name)
        size = int(image["inspect"]["Size"])
        figures = {"image_bytes": size, "image_mb": round(size / 1e6), "cold_start_s": round(cold_start, 2),
                   "build_s": round(image["build_s"], 1)}  # fmt: skip
        FIGURES.parent.mkdir(exist_ok=True)
        FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\ncontainer figures: {figures}")
        yield {"url": url, "name": name, **image, "figures": figures}
    finally:
        podman("rm", "-f", "-t", "2", name, check=False)


@pytest.fixture(scope="session")
def reference(penguins_artifact: Path) -> Any:
    from serving.predictor import Predictor

    return Predictor.from_artifact(penguins_artifact, compiled=False, max_rows=10_000)


class Server:
    def __init__(self, url: str) -> None:
        self.url = url


@pytest.mark.parametrize(("case_name", "case"), CASES, ids=[name for name, _ in CASES])
def test_contract_payloads_against_the_container(
    case_name: str, case: dict[str, Any], container: dict[str, Any], reference: Any
) -> None:
    request_id = "container-" + case_name.replace("/", "-")
    response = send(Server(container["url"]), case["request"], reference, request_id)
    want = case["response"]
    assert response.status_code == want["status"], response.text
    tokens = model_tokens(reference)
    if "rows" in case:
        tokens.update(prediction_tokens(reference, case["rows"]))
    if want.get("empty"):
        assert response.content == b""
    elif "csv" not in want:
        assert_matches(response.json(), expand(want["json"], tokens))


def test_promotion_smoke_test_passes(container: dict[str, Any]) -> None:
    result = smoke_test(http_sender(container["url"]), container["meta"]["name"], container["meta"])
    assert result["labels"] == container["meta"]["examples"]["labels"]


def test_image_metadata_user_and_layout(container: dict[str, Any]) -> None:
    config = container["inspect"]["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.revision"] == container["commit"]
    assert labels["mlops.model.digest"] == container["meta"]["digest"]
    assert config["User"] == "10001:10001"
    assert "8080/tcp" in config["ExposedPorts"]
    assert "/opt/app/docker/healthcheck.py" in container["inspect"]["Healthcheck"]["Test"]
    name = container["name"]
    assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
    assert podman("exec", name, "python3", "/opt/app/docker/healthcheck.py", check=False).returncode == 0
    assert podman("exec", name, "touch", "/opt/app/x", check=False).returncode != 0  # read-only root
    for program in sorted(p.name for p in (REPO / "sagemaker" / "container").iterdir() if p.is_file()):
        where = podman("exec", name, "sh", "-c", f"command -v {program}", check=False).stdout.strip()
        assert where == f"/opt/program/{program}", program
    baked = podman(
        "exec",
        name,
        "python3",
        "-c",
        "import json; print(json.load(open('/opt/ml/model/metadata.json'))['digest'])",
    )
    assert baked.stdout.strip() == container["meta"]["digest"]
    absent = podman("exec", name, "python3", "-c", "import importlib.util as u; print([m for m in ('dvc', 'pytest', 'pip', 'moto') if u.find_spec(m)])")  # fmt: skip
    assert absent.stdout.strip() == "[]"


def log_lines(name: str) -> list[dict[str, Any]]:
    """The container's JSON log lines (the server logs to stderr)."""
    logs = podman("logs", name)
    return [json.loads(line) for line in (logs.stderr + logs.stdout).splitlines() if line.startswith("{")]


def test_the_baked_model_is_served_from_the_baked_plan(container: dict[str, Any]) -> None:
    """The Dockerfile's build-time `python -m serving check` left the model's verified plan in the read-only
    PLAN_DIR; the start served it (after the digest and version checks) without loading scikit-learn."""
    name = container["name"]
    served = [
        line
        for line in log_lines(name)
        if line.get("message") == "serving the inference plan cached for this digest"
    ]
    hex_digest = container["meta"]["digest"].split(":", 1)[1]
    assert [line["path"] for line in served] == [f"/opt/app/plans/{hex_digest}.npz"], log_lines(name)
    assert not any(line.get("message") == "inference plan not cached" for line in log_lines(name))
    maps = podman("exec", name, "cat", "/proc/1/maps").stdout  # the Gunicorn master, which loaded the model
    assert "/opt/venv/lib" in maps and "/sklearn/" not in maps and "/scipy/" not in maps


def test_model_uri_at_start_and_digest_refusal(
    container: dict[str, Any], penguins_artifact: Path, tmp_path: Path
) -> None:
    digest = container["meta"]["digest"]
    models = tmp_path / "models"  # readable by the image's non-root user
    shutil.copytree(penguins_artifact, models)
    models.chmod(0o755)
    for file in models.iterdir():
        file.chmod(0o644)
    mount = ["-v", f"{models}:/models:ro", "-e", "MODEL_SERVER_MODEL_URI=/models"]
    name = "mlops-template-test-uri"
    try:
        url, _ = start(name, *mount, "-e", f"MODEL_SERVER_MODEL_DIGEST={digest}")
        assert requests.get(url + "/health/ready", timeout=5).status_code == 200
        text = podman("logs", name).stderr + podman("logs", name).stdout
        assert "/models" in text or digest in text
    finally:
        podman("rm", "-f", "-t", "1", name, check=False)
    wrong = "sha256:" + "f" * 64
    bad = "mlops-template-test-bad"
    try:
        podman(
            "run", "-d", "--name", bad, *RUN_FLAGS, *mount, "-e", f"MODEL_SERVER_MODEL_DIGEST={wrong}", TAG
        )
        deadline = time.monotonic() + 60
        while podman("inspect", "--format", "{{.State.Status}}", bad).stdout.strip() not in (
            "exited",
            "stopped",
        ):
            assert time.monotonic() < deadline, "a model with the wrong digest was not refused"
            time.sleep(0.2)
        code = int(podman("inspect", "--format", "{{.State.ExitCode}}", bad).stdout.strip())
        assert code != 0
        logs = podman("logs", bad)
        assert "digest" in (logs.stdout + logs.stderr).lower()
    finally:
        podman("rm", "-f", "-t", "1", bad, check=False)
