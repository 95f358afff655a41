"""Apply the storage, ecr and iam modules to the moto emulator, read back what they made, then destroy.

``snapshot(moto_url)`` runs tests/infra/fixtures/moto_stack once per process (cached): ``terraform
apply``, a second ``terraform plan -detailed-exitcode`` (must show no changes), a read-back of every
bucket, the repository, the key and every role with its policies through boto3, then ``terraform
destroy`` and a check of what is left. Tests assert on the returned snapshot, so nothing outlives the
call and the order of tests does not matter.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.infra.terraform_cli import Result, Workspace

ROOT = "tests/infra/fixtures/moto_stack"
REGION = "us-east-1"
GITHUB_REPOSITORY = "your-org/mlops-template"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}


@dataclass
class RoleSnapshot:
    name: str
    arn: str
    trust: dict[str, Any]
    # (policy name or ARN, document, AWS managed?) for every attached and inline policy.
    policies: list[tuple[str, dict[str, Any], bool]]

    def documents(self) -> list[dict[str, Any]]:
        return [doc for _, doc, _ in self.policies]


@dataclass
class StackSnapshot:
    project: str
    account_id: str
    outputs: dict[str, Any]
    timings: dict[str, float]
    plan_after_apply: Result
    destroy: Result
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    repository: dict[str, Any] = field(default_factory=dict)
    repository_lifecycle: dict[str, Any] = field(default_factory=dict)
    kms_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, RoleSnapshot] = field(default_factory=dict)
    customer_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    oidc_providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    left_after_destroy: dict[str, list[str]] = field(default_factory=dict)

    def output(self, name: str) -> Any:
        return self.outputs[name]["value"]


def _clients(moto_url: str) -> dict[str, Any]:
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return {name: session.client(name, endpoint_url=moto_url) for name in ("s3", "iam", "ecr", "kms")}


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """The response, or the error code when the configuration does not exist."""
    from botocore.exceptions import ClientError

    try:
        return fn(*args, **kwargs)
    except ClientError as exc:
        return {"Error": exc.response["Error"]["Code"]}


def _read_buckets(s3: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in names:
        policy = _call(s3.get_bucket_policy, Bucket=name)
        out[name] = {
            "versioning": _call(s3.get_bucket_versioning, Bucket=name),
            "encryption": _call(s3.get_bucket_encryption, Bucket=name),
            "public_access_block": _call(s3.get_public_access_block, Bucket=name),
            "policy": json.loads(policy["Policy"]) if "Policy" in policy else policy,
            "lifecycle": _call(s3.get_bucket_lifecycle_configuration, Bucket=name),
            "logging": _call(s3.get_bucket_logging, Bucket=name),
            "ownership": _call(s3.get_bucket_ownership_controls, Bucket=name),
        }
    return out


def _read_role(iam: Any, name: str) -> RoleSnapshot:
    role = iam.get_role(RoleName=name)["Role"]
    policies: list[tuple[str, dict[str, Any], bool]] = []
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        policies.append((arn, document, ":aws:policy/" in arn))
    for inline in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=name, PolicyName=inline)["PolicyDocument"]
        policies.append((inline, document, False))
    return RoleSnapshot(name, role["Arn"], role["AssumeRolePolicyDocument"], policies)


def _leftovers(clients: dict[str, Any], project: str) -> dict[str, list[str]]:
    iam, s3, ecr = clients["iam"], clients["s3"], clients["ecr"]
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(project + "-")]
    policies = [
        p["PolicyName"]
        for p in iam.list_policies(Scope="Local")["Policies"]
        if p["PolicyName"].startswith(project + "-")
    ]
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(project + "-")]
    repositories = [
        r["repositoryName"]
        for r in ecr.describe_repositories()["repositories"]
        if r["repositoryName"] == project
    ]
    providers = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    return {
        "roles": roles,
        "policies": policies,
        "buckets": buckets,
        "repositories": repositories,
        "oidc_providers": providers,
    }


def _take_snapshot(moto_url: str) -> StackSnapshot:
    directory = Path(tempfile.mkdtemp(prefix="tf-moto-"))
    workspace = Workspace(directory)
    project = f"tft{uuid.uuid4().hex[:6]}"
    variables = [
        "-var",
        f"endpoint={moto_url}",
        "-var",
        f"project={project}",
        "-var",
        f"github_repository={GITHUB_REPOSITORY}",
    ]
    clients = _clients(moto_url)
    timings: dict[str, float] = {}

    start = time.monotonic()
    workspace.init(ROOT)
    timings["init"] = time.monotonic() - start

    github = "https://token.actions.githubusercontent.com"
    existing = clients["iam"].list_open_id_connect_providers()["OpenIDConnectProviderList"]
    if any(p["Arn"].endswith("/" + github.removeprefix("https://")) for p in existing):
        raise RuntimeError(
            f"the emulator already holds an OIDC provider for {github}; this stack must create it"
        )

    try:
        start = time.monotonic()
        workspace.run(
            ROOT, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=20", *variables,
            env=DUMMY_CREDENTIALS,
        )  # fmt: skip
        timings["apply"] = time.monotonic() - start
        outputs = json.loads(workspace.run(ROOT, "output", "-json", env=DUMMY_CREDENTIALS).stdout)
        start = time.monotonic()
        plan = workspace.run(
            ROOT, "plan", "-detailed-exitcode", "-input=false", "-no-color", "-parallelism=20", *variables,
            env=DUMMY_CREDENTIALS, check=False,
        )  # fmt: skip
        timings["plan_after_apply"] = time.monotonic() - start

        bucket_names = [*outputs["bucket_names"]["value"].values(), outputs["log_bucket_name"]["value"]]
        buckets = _read_buckets(clients["s3"], bucket_names)
        ecr = clients["ecr"]
        repository = ecr.describe_repositories(repositoryNames=[outputs["repository_name"]["value"]])[
            "repositories"
        ][0]
        lifecycle = json.loads(
            ecr.get_lifecycle_policy(repositoryName=repository["repositoryName"])["lifecyclePolicyText"]
        )
        kms = clients["kms"]
        key_arn = outputs["kms_key_arn"]["value"]
        kms_keys = {
            key_arn: {
                "metadata": kms.describe_key(KeyId=key_arn)["KeyMetadata"],
                "rotation": kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"],
                "policy": json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]),
            }
        }
        iam = clients["iam"]
        role_names = [
            r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(project + "-")
        ]
        roles = {name: _read_role(iam, name) for name in role_names}
        customer_policies = {}
        for policy in iam.list_policies(Scope="Local")["Policies"]:
            if policy["PolicyName"].startswith(project + "-"):
                version = iam.get_policy_version(
                    PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
                )
                customer_policies[policy["PolicyName"]] = version["PolicyVersion"]["Document"]
        oidc = {}
        provider_arn = outputs["github_oidc_provider_arn"]["value"]
        oidc[provider_arn] = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    finally:
        start = time.monotonic()
        destroy = workspace.run(
            ROOT, "destroy", "-auto-approve", "-input=false", "-no-color", "-refresh=false", "-parallelism=20",
            *variables, env=DUMMY_CREDENTIALS, check=False,
        )  # fmt: skip
        timings["destroy"] = time.monotonic() - start
    account_id = roles[f"{project}-sagemaker-execution"].arn.split(":")[4]
    snapshot = StackSnapshot(
        project=project,
        account_id=account_id,
        outputs=outputs,
        timings=timings,
        plan_after_apply=plan,
        destroy=destroy,
        buckets=buckets,
        repository=repository,
        repository_lifecycle=lifecycle,
        kms_keys=kms_keys,
        roles=roles,
        customer_policies=customer_policies,
        oidc_providers=oidc,
    )
    snapshot.left_after_destroy = _leftovers(clients, project)
    return snapshot


_CACHE: dict[str, StackSnapshot] = {}
_LOCK = threading.Lock()


def snapshot(moto_url: str) -> StackSnapshot:
    """The stack applied to the moto server at ``moto_url``, read back and destroyed (once per process)."""
    with _LOCK:
        if moto_url not in _CACHE:
            _CACHE[moto_url] = _take_snapshot(moto_url)
        return _CACHE[moto_url]
