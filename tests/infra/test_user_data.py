"""The serving instances' bootstrap script (terraform/modules/serving_asg/templates/user-data.sh.tftpl).

Rendered by Terraform itself (``templatefile`` through ``terraform console``, no providers needed) with
the same keys the module passes, linted with shellcheck, then run under bash with stand-ins for docker,
curl, aws and systemctl that record their arguments: the container must run by digest, read-only, as a
non-root user, with a restart policy, the server's port and settings, and CloudWatch logging. Ties keep
the module's defaults in step with the Dockerfile and the server's settings.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2.utils import SerializationOptions

from tests.conftest import require_binary

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "terraform" / "modules" / "serving_asg"
TEMPLATE = MODULE / "templates" / "user-data.sh.tftpl"
DIGEST = "sha256:" + "ab" * 32
ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-template"
INSTANCE_ID = "i-0123456789abcdef0"

pytestmark = pytest.mark.needs_terraform


def _parse(path: Path) -> dict[str, Any]:
    options = SerializationOptions(strip_string_quotes=True, with_comments=False)
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=options)


def _variable_defaults() -> dict[str, Any]:
    parsed = _parse(MODULE / "variables.tf")
    return {name: body.get("default") for block in parsed["variable"] for name, body in block.items()}


def _module_template_keys() -> set[str]:
    parsed = _parse(MODULE / "main.tf")
    for block in parsed["locals"]:
        if "user_data_vars" in block:
            return set(block["user_data_vars"]) - {"__is_block__"}
    raise AssertionError("serving_asg/main.tf has no local.user_data_vars")


def template_vars(**overrides: Any) -> dict[str, Any]:
    """The variables the module passes, with the module's defaults."""
    defaults = _variable_defaults()
    values = {
        "image": f"{ECR_IMAGE}@{DIGEST}",
        "container_name": "penguins-server",
        "container_port": defaults["container_port"],
        "container_user": defaults["container_user"],
        "container_command": defaults["container_command"],
        "readiness_path": defaults["readiness_path"],
        "readiness_timeout_s": 5,
        "region": "eu-west-1",
        "log_group": "/mlops-template/staging/serving",
        "server_environment": {"MODEL_SERVER_LOG_LEVEL": "INFO", "MODEL_SERVER_WORKERS": "2"},
    }
    values.update(overrides)
    return values


def render(variables: dict[str, Any]) -> str:
    """templatefile() evaluated by the terraform CLI, exactly as the launch template's user data."""
    terraform = require_binary("terraform")
    vars_json = json.dumps(variables).replace("${", "$${").replace("%{", "%%{")
    expression = (
        f"base64encode(templatefile({json.dumps(str(TEMPLATE))}, jsondecode({json.dumps(vars_json)})))\n"
    )
    proc = subprocess.run(
        [terraform, "console"],
        input=expression,
        capture_output=True,
        text=True,
        cwd=REPO / "tests",  # no .tf files here: console needs no init and no providers
        env={**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return base64.b64decode(json.loads(proc.stdout.strip())).decode("utf-8")


@pytest.fixture(scope="module")
def script() -> str:
    return render(template_vars())


# -------------------------------------------------------------------------------------------- stand-ins
_STUB = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
with open(os.environ["STUB_LOG"], "a", encoding="utf-8") as fh:
    fh.write(json.dumps([name, *sys.argv[1:]]) + "\\n")
args = sys.argv[1:]
if name == "curl":
    url = args[-1]
    if url.endswith("/latest/api/token"):
        print("token-123", end="")
    elif url.endswith("/meta-data/instance-id"):
        print("{instance_id}", end="")
    elif url.startswith("http://127.0.0.1:"):
        sys.exit(int(os.environ.get("STUB_READY_EXIT", "0")))
    else:
        sys.exit(7)
elif name == "docker":
    if args[:1] == ["login"]:
        sys.stdin.read()
    if args[:1] == ["run"]:
        print("c0ffee")
elif name == "aws":
    print("not-a-real-password")
"""


def run_script(
    tmp_path: Path, text: str, ready_exit: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "stub.py"
    stub.write_text(_STUB.format(python=sys.executable, instance_id=INSTANCE_ID), encoding="utf-8")
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    for name in ("docker", "curl", "aws", "systemctl", "dnf"):
        (bin_dir / name).symlink_to(stub)
    path = tmp_path / "user-data.sh"
    path.write_text(text, encoding="utf-8")
    log = tmp_path / "calls.jsonl"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "STUB_LOG": str(log),
        "STUB_READY_EXIT": str(ready_exit),
        "HOME": str(tmp_path),
    }
    proc = subprocess.run(
        ["bash", str(path)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls


def _docker(calls: list[list[str]], sub: str) -> list[list[str]]:
    return [c[1:] for c in calls if c[0] == "docker" and c[1:2] == [sub]]


def _pairs(argv: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(argv))


# ---------------------------------------------------------------------------------------------- tests
def test_the_test_renders_with_exactly_the_modules_template_keys() -> None:
    assert set(template_vars()) == _module_template_keys()
    text = TEMPLATE.read_text()
    loops = re.findall(r"%\{\s*for\s+(?:(\w+)\s*,\s*)?(\w+)\s+in\s+([a-z_]+)", text)
    loop_names = {name for key, value, _ in loops for name in (key, value) if name}
    referenced = set(re.findall(r"(?<!\$)\$\{\s*([a-z_]+)", text)) - loop_names
    referenced |= {source for _, _, source in loops}
    assert referenced == _module_template_keys(), referenced ^ _module_template_keys()


def test_rendered_script_is_shellcheck_clean(tmp_path: Path, script: str) -> None:
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        shellcheck = Path(require_binary("shellcheck"))
    for name, text in {
        "default": script,
        "no-extras": render(template_vars(server_environment={}, container_command=[])),
    }.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(text, encoding="utf-8")
        proc = subprocess.run(
            [str(shellcheck), "--shell=bash", "--severity=style", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, f"{name}:\n{proc.stdout}{proc.stderr}"


def test_runs_the_container_by_digest_with_the_expected_flags(tmp_path: Path, script: str) -> None:
    proc, calls = run_script(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    image = f"{ECR_IMAGE}@{DIGEST}"
    (pull,) = _docker(calls, "pull")
    assert pull[-1] == image, "pulls by digest"
    (run,) = _docker(calls, "run")
    pairs = _pairs(run)
    for flag in ("--detach", "--read-only"):
        assert flag in run, f"docker run lacks {flag}: {shlex.join(run)}"
    for pair in [
        ("--restart", "unless-stopped"),
        ("--user", "10001:10001"),
        ("--cap-drop", "ALL"),
        ("--security-opt", "no-new-privileges:true"),
        ("--publish", "8080:8080"),
        ("--log-driver", "awslogs"),
        ("--log-opt", "awslogs-region=eu-west-1"),
        ("--log-opt", "awslogs-group=/mlops-template/staging/serving"),
        ("--log-opt", f"awslogs-stream={INSTANCE_ID}"),
        ("--env", "MODEL_SERVER_HOST=0.0.0.0"),
        ("--env", "MODEL_SERVER_PORT=8080"),
        ("--env", "MODEL_SERVER_LOG_LEVEL=INFO"),
        ("--env", "MODEL_SERVER_WORKERS=2"),
    ]:
        assert pair in pairs, f"docker run lacks {' '.join(pair)}: {shlex.join(run)}"
    assert any(a == "--tmpfs" and b.startswith("/tmp:") and "noexec" in b for a, b in pairs), (
        "writable /tmp only"
    )
    assert run[-2:] == [image, "serve"], "the image by digest, then the serve entry point"
    order = [c[1] for c in calls if c[0] == "docker" and c[1] in ("login", "pull", "run")]
    assert order == ["login", "pull", "run"]
    # IMDSv2: a token first, then the instance ID with it.
    curls = [c for c in calls if c[0] == "curl"]
    assert "PUT" in curls[0] and curls[0][-1].endswith("/latest/api/token")
    assert "X-aws-ec2-metadata-token: token-123" in curls[1]
    assert curls[-1][-1] == "http://127.0.0.1:8080/health/ready", "waits for the readiness path"
    (login,) = _docker(calls, "login")
    assert login[-1] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert ["aws", "ecr", "get-login-password", "--region", "eu-west-1"] in calls
    assert ["systemctl", "enable", "--now", "docker"] in calls


def test_refuses_an_image_that_is_not_pinned_by_digest(tmp_path: Path) -> None:
    proc, calls = run_script(tmp_path, render(template_vars(image=f"{ECR_IMAGE}:latest")))
    assert proc.returncode != 0
    assert "not pinned by digest" in proc.stderr
    assert not [c for c in calls if c[0] == "docker"], "nothing is pulled or run"


def test_refuses_to_run_the_container_as_root(tmp_path: Path) -> None:
    proc, calls = run_script(tmp_path, render(template_vars(container_user="0:0")))
    assert proc.returncode != 0 and "non-root" in proc.stderr
    assert not _docker(calls, "run")


def test_fails_when_the_server_never_becomes_ready(tmp_path: Path) -> None:
    proc, calls = run_script(tmp_path, render(template_vars(readiness_timeout_s=1)), ready_exit=22)
    assert proc.returncode != 0
    assert "did not become ready" in proc.stderr
    assert _docker(calls, "logs"), "shows the container's last log lines"


def test_other_registries_need_no_ecr_login(tmp_path: Path) -> None:
    image = f"ghcr.io/your-org/mlops-template@{DIGEST}"
    proc, calls = run_script(tmp_path, render(template_vars(image=image)))
    assert proc.returncode == 0, proc.stderr
    assert not _docker(calls, "login") and not [c for c in calls if c[0] == "aws"]
    assert _docker(calls, "pull") == [["pull", "--quiet", image]]


def test_the_image_reference_is_one_line_the_promotion_module_can_replace(script: str) -> None:
    lines = [line for line in script.splitlines() if DIGEST in line]
    assert lines == [f"readonly IMAGE='{ECR_IMAGE}@{DIGEST}'"]


# ------------------------------------------------------------------------------------------------- ties
def test_defaults_match_the_dockerfile_and_the_server() -> None:
    from serving.settings import Settings

    defaults = _variable_defaults()
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    exposed = re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.MULTILINE)
    assert exposed == [str(defaults["container_port"])]
    assert Settings().port == defaults["container_port"]
    (uid,) = re.findall(r"^ARG APP_UID=(\d+)", dockerfile, re.MULTILINE)
    assert defaults["container_user"] == f"{uid}:{uid}"
    openapi = yaml.safe_load((REPO / "serving" / "openapi.yaml").read_text(encoding="utf-8"))
    assert defaults["readiness_path"] in openapi["paths"]
    assert (REPO / "sagemaker" / "container" / defaults["container_command"][0]).exists(), (
        "the image's serve entry point"
    )


def test_every_server_setting_the_script_sets_exists(script: str) -> None:
    from serving.settings import PREFIX, Settings

    known = {PREFIX + name.upper() for name in Settings.__dataclass_fields__}
    used = set(re.findall(r"--env (MODEL_SERVER_[A-Z0-9_]+)=", script))
    used |= set(re.findall(r"\b(MODEL_SERVER_[A-Z0-9_]+)\b", (MODULE / "main.tf").read_text()))
    assert used and used <= known, f"unknown settings: {sorted(used - known)}"


def test_the_promotion_module_repins_the_rendered_script(tmp_path: Path, script: str) -> None:
    """promotion/asg.py replaces the one digest in this very user data; the result still runs."""
    from promotion import asg

    encoded = base64.b64encode(script.encode("utf-8")).decode("ascii")
    assert len(encoded) < 16384, "EC2 user data is limited to 16 KiB (base64)"
    new_digest = "sha256:" + "cd" * 32
    repinned, old = asg.repin_user_data(encoded, new_digest)
    assert old == DIGEST
    proc, calls = run_script(tmp_path, base64.b64decode(repinned).decode("utf-8"))
    assert proc.returncode == 0, proc.stderr
    (run,) = _docker(calls, "run")
    assert run[-2] == f"{ECR_IMAGE}@{new_digest}"
