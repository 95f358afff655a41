"""ASG promotion and Terraform's user-data template agree: repinning the rendered script gives exactly
what Terraform renders for the new digest.

terraform/modules/serving_asg/templates/user-data.sh.tftpl is rendered by the real ``templatefile``
(``terraform console``: no provider, no network), once with the old digest and once with the new one.
"""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from promotion import asg
from tests.conftest import REPO, require_binary

pytestmark = pytest.mark.needs_terraform

TEMPLATE = REPO / "terraform" / "modules" / "serving_asg" / "templates" / "user-data.sh.tftpl"
REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops-template"
OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64


def render(tmp_path, digest: str, server_environment: dict[str, str]) -> str:
    """templatefile() with the keys modules/serving_asg passes (local.user_data_vars)."""
    terraform = require_binary("terraform")
    variables = {
        "image": f"{REPOSITORY}@{digest}",
        "container_name": "penguins-server",
        "container_port": 8080,
        "container_user": "10001:10001",
        "container_command": [],
        "readiness_path": "/v2/health/ready",
        "readiness_timeout_s": 300,
        "region": "eu-west-1",
        "log_group": "/mlops-template/staging/serving",
        "server_environment": server_environment,
    }
    # JSON is valid HCL for these values; base64 keeps the console's quoting out of the way.
    expression = f"base64encode(templatefile({json.dumps(str(TEMPLATE))}, {json.dumps(variables)}))\n"
    config = tmp_path / "terraformrc"
    config.write_text("")
    proc = subprocess.run(
        [terraform, "console"],
        input=expression,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TF_CLI_CONFIG_FILE": str(config), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return base64.b64decode(proc.stdout.strip().splitlines()[-1].strip('"')).decode()


@pytest.mark.parametrize(
    "server_environment", [{}, {"MODEL_SERVER_MODEL_URI": "s3://bucket/models/penguins/"}]
)
def test_repinning_equals_rendering_with_the_new_digest(tmp_path, server_environment):
    old = render(tmp_path, OLD, server_environment)
    assert f"{REPOSITORY}@{OLD}" in old
    encoded = base64.b64encode(old.encode()).decode()  # what Terraform's base64encode() puts in the template
    repinned, found = asg.repin_user_data(encoded, NEW)
    assert found == OLD
    assert asg.decode_user_data(repinned) == (render(tmp_path, NEW, server_environment), False)


def test_the_rendered_script_pins_by_digest_only(tmp_path):
    text = render(tmp_path, OLD, {})
    # The only digest is the image's: repinning cannot touch anything else.
    assert asg.DIGEST.findall(text) == [OLD]
    assert f"readonly IMAGE='{REPOSITORY}@{OLD}'" in text
