"""Persona separation, evaluated against the policies Terraform really creates.

The iam module is applied to the moto emulator (tests/infra/tf_moto.py); every role's trust policy and
attached/inline policies are read back with boto3 and judged by tests/infra/iam_eval.py, row by row of
tests/infra/iam_personas.yaml. Parliament lints every customer policy, and a few rules hold for all of
them: who may pass which role to which service, no wildcard action on "*", and AWS's size limits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra import parliament_lint, tf_moto
from tests.infra.iam_eval import ALLOW, DENY, Request, evaluate, statements
from tests.infra.run_once import once_per_run
from tests.infra.terraform_cli import TerraformUnavailable, find_provider_mirror, terraform_binary

pytestmark = [pytest.mark.slow, pytest.mark.needs_terraform, pytest.mark.xdist_group("terraform-moto")]

TABLE_FILE = Path(__file__).with_name("iam_personas.yaml")
TABLE = yaml.safe_load(TABLE_FILE.read_text(encoding="utf-8"))
PERSONAS = ("data-scientist", "ml-engineer", "mlops-engineer")
ENVIRONMENTS = ("staging", "production")


@dataclass(frozen=True)
class Row:
    role: str
    action: str
    resource: str
    expect: str
    why: str
    context: dict[str, Any]
    principal: tuple[str, str] | None = None

    @property
    def id(self) -> str:
        target = self.principal[1] if self.principal else self.resource
        return f"{self.role}|{self.action}|{target.rsplit(':', 1)[-1]}|{self.expect}"


def _rows(section: str) -> list[Row]:
    rows = []
    for raw in TABLE[section]:
        principal = tuple(raw["principal"]) if "principal" in raw else None
        rows.append(
            Row(
                role=raw["role"],
                action=raw["action"],
                resource=raw.get("resource", "*"),
                expect=raw["expect"],
                why=raw["why"],
                context=dict(raw.get("context") or {}),
                principal=principal,  # type: ignore[arg-type]
            )
        )
    return rows


PERMISSIONS = _rows("permissions")
TRUST = _rows("trust")


def role_name(key: str, project: str) -> str:
    """Table role keys -> IAM role names (terraform/modules/iam)."""
    if key in PERSONAS:
        return f"{project}-{key}"
    if key.endswith("-studio"):
        return f"{project}-{key}"
    if key.startswith("deploy-"):
        return f"{project}-{key.removeprefix('deploy-')}-deploy"
    if key.startswith("apply-"):
        return f"{project}-{key.removeprefix('apply-')}-terraform-apply"
    if key in ("ci", "terraform-plan", "sagemaker-execution"):
        return f"{project}-{key}"
    raise KeyError(f"{TABLE_FILE.name}: unknown role {key!r}")


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> tf_moto.StackSnapshot:
    try:
        terraform_binary()
        find_provider_mirror()
    except TerraformUnavailable as exc:
        pytest.skip(str(exc))
    return once_per_run(
        tmp_path_factory,
        worker_id,
        "terraform-moto-stack",
        lambda: tf_moto.snapshot(request.getfixturevalue("moto_server")),
    )


@pytest.fixture(scope="module")
def names(stack: tf_moto.StackSnapshot) -> dict[str, str]:
    account = stack.account_id
    buckets = stack.output("bucket_names")
    return {
        "project": stack.project,
        "account": account,
        "region": tf_moto.REGION,
        "model": "penguins",
        "sm": f"arn:aws:sagemaker:{tf_moto.REGION}:{account}",
        "roles": f"arn:aws:iam::{account}:role",
        "dvc": f"arn:aws:s3:::{buckets['dvc']}",
        "models": f"arn:aws:s3:::{buckets['models']}",
        "key": stack.output("kms_key_arn"),
        "repo": stack.repository["repositoryArn"],
        "oidc": stack.output("github_oidc_provider_arn"),
        "github": tf_moto.GITHUB_REPOSITORY,
    }


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(names)
    if isinstance(value, dict):
        return {_fill(k, names): _fill(v, names) for k, v in value.items()}
    return value


def _explain(row: Row, decision: Any) -> str:
    return (
        f"{row.role} {row.action} on {row.resource}: expected {row.expect} ({row.why}), got {decision.effect}; "
        f"allowed by {list(decision.allowed_by)}, denied by {list(decision.denied_by)}"
    )


# ------------------------------------------------------------------------------------------------ table
def test_the_table_covers_every_persona_both_ways() -> None:
    assert len(PERMISSIONS) >= 30, "the persona table needs at least 30 permission rows"
    for persona in PERSONAS:
        verdicts = {row.expect for row in PERMISSIONS if row.role == persona}
        assert verdicts == {ALLOW, DENY}, f"{persona} needs rows that are allowed and rows that are denied"
    for env in ENVIRONMENTS:
        assert any(row.role == f"deploy-{env}" for row in PERMISSIONS), f"no rows for deploy-{env}"
        assert any(row.role == f"deploy-{env}" for row in TRUST), f"no trust rows for deploy-{env}"
    assert all(row.expect in (ALLOW, DENY) and row.why for row in PERMISSIONS + TRUST)


@pytest.mark.parametrize("row", PERMISSIONS, ids=lambda r: r.id)
def test_persona_permission(stack: tf_moto.StackSnapshot, names: dict[str, str], row: Row) -> None:
    role = stack.roles[role_name(row.role, stack.project)]
    request = Request(_fill(row.action, names), _fill(row.resource, names), _fill(row.context, names))
    decision = evaluate(role.documents(), request)
    assert decision.effect == row.expect, _explain(row, decision)


@pytest.mark.parametrize("row", TRUST, ids=lambda r: r.id)
def test_role_trust(stack: tf_moto.StackSnapshot, names: dict[str, str], row: Row) -> None:
    role = stack.roles[role_name(row.role, stack.project)]
    assert row.principal is not None
    principal = (row.principal[0], _fill(row.principal[1], names))
    request = Request(row.action, context=_fill(row.context, names), principal=principal)
    decision = evaluate([role.trust], request)
    assert decision.effect == row.expect, _explain(row, decision)


# ------------------------------------------------------------------------------------------- pass role
def test_only_the_roles_that_must_may_pass_roles_and_only_the_ones_they_need(
    stack: tf_moto.StackSnapshot, names: dict[str, str]
) -> None:
    p = stack.project
    candidates = sorted(
        {role.arn for role in stack.roles.values()}
        | {
            f"{names['roles']}/{p}-{env}-{suffix}"
            for env in ENVIRONMENTS
            for suffix in ("serving-instance", "flow-logs")
        }
    )
    services = (
        "sagemaker.amazonaws.com",
        "ec2.amazonaws.com",
        "vpc-flow-logs.amazonaws.com",
        "lambda.amazonaws.com",
    )
    execution = f"{p}-sagemaker-execution"
    expected: dict[str, set[tuple[str, str]]] = {
        "data-scientist": {(execution, "sagemaker")},
        "ml-engineer": {(execution, "sagemaker"), (f"{p}-staging-serving-instance", "ec2")},
        "mlops-engineer": {(execution, "sagemaker")}
        | {(f"{p}-{persona}-studio", "sagemaker") for persona in PERSONAS}
        | {(f"{p}-{env}-serving-instance", "ec2") for env in ENVIRONMENTS},
        "ci": set(),
        "terraform-plan": set(),
        "sagemaker-execution": set(),
        **{f"{persona}-studio": set() for persona in PERSONAS},
    }
    for env in ENVIRONMENTS:
        expected[f"deploy-{env}"] = {(execution, "sagemaker"), (f"{p}-{env}-serving-instance", "ec2")}
        expected[f"apply-{env}"] = {
            (f"{p}-{env}-{suffix}", service)
            for suffix in ("serving-instance", "flow-logs")
            for service in ("ec2", "vpc-flow-logs")
        }
    expected["data-scientist-studio"] = expected["data-scientist"]
    expected["ml-engineer-studio"] = expected["ml-engineer"]
    expected["mlops-engineer-studio"] = expected["mlops-engineer"]

    for key, wanted in expected.items():
        role = stack.roles[role_name(key, p)]
        granted = set()
        for arn in candidates:
            for service in services:
                request = Request("iam:PassRole", arn, {"iam:PassedToService": service})
                if evaluate(role.documents(), request).allowed:
                    granted.add((arn.rsplit("/", 1)[-1], service.split(".")[0]))
        assert granted == wanted, f"{key} may pass {sorted(granted)}, should pass exactly {sorted(wanted)}"
    # And no role may pass a role without naming the service it goes to.
    for role in stack.roles.values():
        for arn in candidates:
            assert not evaluate(role.documents(), Request("iam:PassRole", arn)).allowed, (
                f"{role.name} may pass {arn} to any service"
            )


# ------------------------------------------------------------------------------------ policy hygiene
def _customer_documents(stack: tf_moto.StackSnapshot) -> dict[str, dict[str, Any]]:
    docs = {f"policy {name}": doc for name, doc in stack.customer_policies.items()}
    for role in stack.roles.values():
        for name, doc, aws_managed in role.policies:
            if not aws_managed and not name.startswith("arn:"):
                docs[f"inline {role.name}/{name}"] = doc
    return docs


def test_parliament_reports_nothing(stack: tf_moto.StackSnapshot) -> None:
    reported = {}
    for name, document in _customer_documents(stack).items():
        found = parliament_lint.findings(document)
        if found:
            reported[name] = found
    assert not reported, json.dumps(reported, indent=1, default=str)


def test_no_allow_statement_grants_a_wildcard_action_on_every_resource(stack: tf_moto.StackSnapshot) -> None:
    for name, document in _customer_documents(stack).items():
        for statement in statements([document]):
            if statement["Effect"] != "Allow":
                continue
            assert "NotAction" not in statement and "NotResource" not in statement, f"{name}: {statement}"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            assert not any(a == "*" or a.endswith(":*") for a in actions), (
                f"{name}: service-wide action in {statement}"
            )
            if "*" in resources:
                wild = [a for a in actions if "*" in a or "?" in a]
                assert not wild, f"{name}: wildcard actions {wild} on Resource '*'"


def test_policies_fit_aws_limits(stack: tf_moto.StackSnapshot) -> None:
    for name, document in stack.customer_policies.items():
        size = len(json.dumps(document, separators=(",", ":")))
        assert size <= 6144, f"managed policy {name} is {size} characters; AWS allows 6,144"
    for role in stack.roles.values():
        attached = [name for name, _, _ in role.policies if name.startswith("arn:")]
        assert len(attached) <= 10, (
            f"{role.name} has {len(attached)} managed policies; the default quota is 10"
        )
        inline = sum(
            len(json.dumps(doc, separators=(",", ":")))
            for n, doc, _ in role.policies
            if not n.startswith("arn:")
        )
        assert inline <= 10240, f"{role.name}: inline policies total {inline} characters; AWS allows 10,240"


def test_aws_managed_policies_are_the_reviewed_few(stack: tf_moto.StackSnapshot) -> None:
    allowed = {
        "terraform-plan": {"ReadOnlyAccess"},
        **{f"apply-{env}": {"PowerUserAccess"} for env in ENVIRONMENTS},
    }
    for key in [
        *PERSONAS,
        "ci",
        "terraform-plan",
        "sagemaker-execution",
        *(f"deploy-{e}" for e in ENVIRONMENTS),
        *(f"apply-{e}" for e in ENVIRONMENTS),
    ]:
        role = stack.roles[role_name(key, stack.project)]
        managed = {name.rsplit("/", 1)[-1] for name, _, aws in role.policies if aws}
        assert managed == allowed.get(key, set()), (
            f"{role.name} carries AWS managed policies {sorted(managed)}"
        )
