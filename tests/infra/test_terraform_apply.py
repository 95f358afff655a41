"""terraform apply of the storage, ecr and iam modules against moto on 127.0.0.1, then destroy.

The stack (tests/infra/fixtures/moto_stack) is applied once per session; what AWS would hold afterwards
is read back with boto3 and checked here: the promises the modules make (encryption, versioning, no
public access, TLS only, lifecycle, logging, immutable scanned images, rotated keys, the OIDC provider),
that a second plan finds nothing to change, and that destroy leaves nothing behind.
"""

from __future__ import annotations

import pytest

from cicd.project import load as load_project
from tests.conftest import REPO
from tests.infra import tf_moto
from tests.infra.run_once import once_per_run
from tests.infra.terraform_cli import TerraformUnavailable, find_provider_mirror, terraform_binary

pytestmark = [pytest.mark.slow, pytest.mark.needs_terraform, pytest.mark.xdist_group("terraform-moto")]


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


def _statements(policy: dict) -> list[dict]:
    return policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]


def test_apply_converges_and_a_second_plan_changes_nothing(stack: tf_moto.StackSnapshot) -> None:
    plan = stack.plan_after_apply
    assert plan.returncode == 0, (
        f"plan after apply wants changes (exit {plan.returncode}):\n{plan.output[-4000:]}"
    )
    print(f"timings (s): { {k: round(v, 1) for k, v in stack.timings.items()} }")


def test_destroy_removes_everything(stack: tf_moto.StackSnapshot) -> None:
    assert stack.destroy.returncode == 0, stack.destroy.output[-4000:]
    left = dict(stack.left_after_destroy)
    providers = left.pop("oidc_providers")
    assert stack.output("github_oidc_provider_arn") not in providers
    assert not any(left.values()), f"left after destroy: {left}"


def test_data_buckets_are_versioned_kms_encrypted_private_and_logged(stack: tf_moto.StackSnapshot) -> None:
    key_arn = stack.output("kms_key_arn")
    log_bucket = stack.output("log_bucket_name")
    for key, name in stack.output("bucket_names").items():
        bucket = stack.buckets[name]
        assert bucket["versioning"].get("Status") == "Enabled", name
        (rule,) = bucket["encryption"]["ServerSideEncryptionConfiguration"]["Rules"]
        default = rule["ApplyServerSideEncryptionByDefault"]
        assert (default["SSEAlgorithm"], default["KMSMasterKeyID"]) == ("aws:kms", key_arn), name
        assert rule.get("BucketKeyEnabled") is True, name
        block = bucket["public_access_block"]["PublicAccessBlockConfiguration"]
        assert all(
            block[flag]
            for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        ), name
        assert bucket["ownership"]["OwnershipControls"]["Rules"] == [
            {"ObjectOwnership": "BucketOwnerEnforced"}
        ], name
        logging = bucket["logging"]["LoggingEnabled"]
        assert (logging["TargetBucket"], logging["TargetPrefix"]) == (log_bucket, f"s3/{name}/"), name
        rules = bucket["lifecycle"]["Rules"]
        expiry = [
            r["NoncurrentVersionExpiration"]["NoncurrentDays"]
            for r in rules
            if "NoncurrentVersionExpiration" in r
        ]
        assert expiry == [30 if key == "models" else 90], f"{name}: noncurrent version expiry {expiry}"


def test_every_bucket_refuses_plain_http(stack: tf_moto.StackSnapshot) -> None:
    for name, bucket in stack.buckets.items():
        denies = [
            s
            for s in _statements(bucket["policy"])
            if s["Effect"] == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert denies, f"{name}: no Deny on aws:SecureTransport=false"
        resources = denies[0]["Resource"]
        assert f"arn:aws:s3:::{name}" in resources and f"arn:aws:s3:::{name}/*" in resources, name
        assert denies[0]["Action"] == "s3:*", name


def test_log_bucket_uses_sse_s3_and_expires_logs(stack: tf_moto.StackSnapshot) -> None:
    bucket = stack.buckets[stack.output("log_bucket_name")]
    (rule,) = bucket["encryption"]["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["versioning"].get("Status") == "Enabled"
    assert any(r.get("Expiration", {}).get("Days") == 365 for r in bucket["lifecycle"]["Rules"])
    services = [
        s["Principal"].get("Service")
        for s in _statements(bucket["policy"])
        if s["Effect"] == "Allow" and isinstance(s["Principal"], dict)
    ]
    assert "logging.s3.amazonaws.com" in services


def test_repository_is_immutable_scanned_and_kms_encrypted(stack: tf_moto.StackSnapshot) -> None:
    repo = stack.repository
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": stack.output("kms_key_arn")}
    (rule,) = stack.repository_lifecycle["rules"]
    assert rule["selection"]["tagStatus"] == "untagged", "only untagged images may expire"


def test_kms_key_rotates_and_its_policy_names_actions(stack: tf_moto.StackSnapshot) -> None:
    (key,) = stack.kms_keys.values()
    assert key["rotation"] is True
    assert key["metadata"]["KeyManager"] == "CUSTOMER"
    for statement in _statements(key["policy"]):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any("*" in a for a in actions), f"wildcard action in the key policy: {statement}"


def test_github_oidc_provider_trusts_only_sts_audience(stack: tf_moto.StackSnapshot) -> None:
    (provider,) = stack.oidc_providers.values()
    assert provider["Url"].removeprefix("https://") == "token.actions.githubusercontent.com"
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]


def test_deploy_role_trust_names_the_repository_and_environment_exactly(stack: tf_moto.StackSnapshot) -> None:
    provider = stack.output("github_oidc_provider_arn")
    roles = stack.output("deploy_role_arns")
    # The fixture stack's `environments` default is project.yaml's list (staging, production).
    assert sorted(roles) == sorted(load_project(REPO).environments), roles
    for env, arn in roles.items():
        role = stack.roles[arn.rsplit("/", 1)[-1]]
        (statement,) = _statements(role.trust)
        assert statement["Principal"] == {"Federated": provider}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert set(statement["Condition"]) == {"StringEquals"}, "only exact matches, no StringLike"
        assert statement["Condition"]["StringEquals"] == {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{tf_moto.GITHUB_REPOSITORY}:environment:{env}",
        }
