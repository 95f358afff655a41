"""Dockerfile: hadolint clean, multi-stage, pinned base, non-root, labels, healthcheck; and one test that
ties the container port and health paths across the Dockerfile, k8s/, kserve/ and the server itself."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()
BIN = Path(sys.executable).parent


def instructions(name: str) -> list[str]:
    """Arguments of every ``name`` instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.*)$", text, re.MULTILINE)]


def env() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in instructions("ENV"):
        values.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return values


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (it comes with the dev lock: make venv)")
    out = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_multi_stage_with_a_base_pinned_by_digest() -> None:
    (default,) = [a for a in instructions("ARG") if a.startswith("BASE_IMAGE=")]
    assert re.fullmatch(r"BASE_IMAGE=[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", default)
    assert instructions("FROM") == ["${BASE_IMAGE} AS build", "${BASE_IMAGE} AS runtime"]


def test_dependencies_come_from_the_hashed_lock_only() -> None:
    (install,) = [r for r in instructions("RUN") if "pip install" in r]
    for flag in (
        "--require-hashes",
        "--no-deps",
        "--no-index",
        "-r requirements/image.txt",
        "--only-binary=:all:",
    ):
        assert flag in install
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    assert "pip install" not in runtime and "apt-get" not in runtime


def test_runtime_is_non_root_with_a_fixed_uid_and_sagemaker_layout() -> None:
    uid = next(a.split("=", 1)[1] for a in instructions("ARG") if a.startswith("APP_UID="))
    assert int(uid) >= 10000
    assert instructions("USER")[-1] == "${APP_UID}:${APP_UID}"
    assert "/opt/ml/model/" in DOCKERFILE and "/opt/ml/input" in DOCKERFILE
    assert any("sagemaker/container/ /opt/program/" in c for c in instructions("COPY"))
    assert env()["PATH"].startswith("/opt/program:")
    labels = " ".join(instructions("LABEL"))
    for key in ('org.opencontainers.image.revision="${GIT_COMMIT}"', 'mlops.model.digest="${MODEL_DIGEST}"'):
        assert key in labels
    (healthcheck,) = instructions("HEALTHCHECK")
    assert "docker/healthcheck.py" in healthcheck


def test_dockerignore_admits_exactly_what_is_copied() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    assert (REPO / ".dockerignore").read_text().splitlines()[1] == "*", "allowlist: ignore everything first"
    sources: list[str] = []
    for copy in instructions("COPY"):
        if "--from=" in copy:
            continue
        sources += copy.split()[:-1]
    sources += ["build/wheels"]  # bind-mounted into the build stage
    for source in sources:
        path = source.replace("${MODEL_DIR}", "models").rstrip("/")
        assert any(path == a or path.startswith(a + "/") for a in allowed), (
            f"{source} is not in .dockerignore"
        )


def _k8s_container() -> dict[str, Any]:
    deployment = yaml.safe_load((REPO / "k8s/base/deployment.yaml").read_text())
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _runtime_container() -> dict[str, Any]:
    runtime = yaml.safe_load((REPO / "kserve/base/servingruntime.yaml").read_text())
    return runtime["spec"]["containers"][0]


def test_port_health_paths_and_uid_agree_everywhere(penguins_artifact: Path) -> None:
    """EXPOSE == MODEL_SERVER_PORT in the image == the server's default port == every containerPort and
    probe port; every probe path is a route the real app answers 200 on; the image UID is the pods' UID."""
    from serving.app import create_app
    from serving.settings import Settings

    (exposed,) = instructions("EXPOSE")
    port = int(exposed)
    assert int(env()["MODEL_SERVER_PORT"]) == port == Settings().port == 8080  # SageMaker requires 8080
    k8s, kserve = _k8s_container(), _runtime_container()
    assert [p["containerPort"] for p in k8s["ports"]] == [port]
    assert [p["containerPort"] for p in kserve["ports"]] == [port]

    probes = [c[name]["httpGet"] for c in (k8s, kserve) for name in c if name.endswith("Probe")]
    assert len(probes) == 5  # k8s: startup, liveness, readiness; KServe: liveness, readiness
    assert all(probe["port"] in (port, "http") for probe in probes)
    assert {k8s["readinessProbe"]["httpGet"]["path"], kserve["readinessProbe"]["httpGet"]["path"]} == {
        "/health/ready"
    }
    assert {k8s["livenessProbe"]["httpGet"]["path"], kserve["livenessProbe"]["httpGet"]["path"]} == {
        "/health/live"
    }
    assert "/health/ready" in (REPO / "docker/healthcheck.py").read_text()

    client = create_app(Settings(model_uri=str(penguins_artifact))).test_client()
    for path in {probe["path"] for probe in probes}:
        assert client.get(path).status_code == 200, path

    uid = int(next(a.split("=", 1)[1] for a in instructions("ARG") if a.startswith("APP_UID=")))
    pod = yaml.safe_load((REPO / "k8s/base/deployment.yaml").read_text())["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == k8s["securityContext"]["runAsUser"] == uid
    assert kserve["securityContext"]["runAsUser"] == uid


def test_image_settings_are_settings_the_server_knows() -> None:
    from serving.settings import PREFIX, Settings

    known = {PREFIX + name.upper() for name in Settings.__dataclass_fields__}
    image_settings = {k for k in env() if k.startswith(PREFIX)}
    assert image_settings and image_settings <= known
    runtime_settings = {e["name"] for e in _runtime_container()["env"] if e["name"].startswith(PREFIX)}
    assert runtime_settings <= known
