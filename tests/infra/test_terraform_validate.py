"""terraform fmt and terraform validate on every module, stack and test fixture, offline.

Providers come from the local mirror (tests/infra/terraform_cli.py); roots are initialised once each in
a private copy of the tree and validated two at a time. `make tf-validate` runs the same code.
"""

from __future__ import annotations

import pytest

from tests.infra.run_once import once_per_run
from tests.infra.terraform_cli import (
    TerraformUnavailable,
    Workspace,
    describe_diagnostics,
    find_provider_mirror,
    fmt_check,
    terraform_binary,
    terraform_roots,
)

pytestmark = [pytest.mark.needs_terraform, pytest.mark.xdist_group("terraform-validate")]

ROOTS = terraform_roots()
EXPECTED_ROOTS = {
    *(
        f"terraform/modules/{m}"
        for m in ("network", "storage", "ecr", "iam", "sagemaker", "serving_asg", "kms_key")
    ),
    "terraform/service",  # every environment's root module; terraform/envs/<env> holds only its variables
    "terraform/account",
    "terraform/bootstrap",
    "tests/infra/fixtures/moto_stack",
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, dict]:
    try:
        terraform_binary()
        find_provider_mirror()
    except TerraformUnavailable as exc:
        pytest.skip(str(exc))

    def validate_all() -> dict[str, dict]:
        return Workspace(tmp_path_factory.mktemp("tf-validate")).validate_all(ROOTS, threads=2)

    return once_per_run(tmp_path_factory, worker_id, "terraform-validate", validate_all)


def test_every_root_is_checked() -> None:
    assert set(ROOTS) >= EXPECTED_ROOTS, f"missing: {sorted(EXPECTED_ROOTS - set(ROOTS))}"


def test_terraform_fmt() -> None:
    try:
        terraform_binary()
    except TerraformUnavailable as exc:
        pytest.skip(str(exc))
    result = fmt_check()
    assert result.returncode == 0, f"run `make tf-format`:\n{result.output}"


@pytest.mark.slow
@pytest.mark.parametrize("root", ROOTS)
def test_terraform_validate(reports: dict[str, dict], root: str) -> None:
    report = reports[root]
    assert report["valid"], describe_diagnostics(report)
    assert report["warning_count"] == 0, describe_diagnostics(report)
