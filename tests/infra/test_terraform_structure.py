"""Structural checks on the parsed HCL of terraform/ (python-hcl2, quotes stripped).

What the modules promise, read from the code: module layout and documentation, provider pins, typed and
described variables, IMDSv2 and encrypted volumes, encryption everywhere, immutable scanned images,
OIDC trust that names repository and environment exactly, no wildcard action on every resource, the
load balancer and Auto Scaling settings, and environments that share one root module (terraform/service),
differ only in their variables and state (terraform/envs/<env>) and tie to project.yaml.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2.utils import SerializationOptions

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
MODULES = ("network", "storage", "ecr", "iam", "sagemaker", "serving_asg", "kms_key")
PROJECT = yaml.safe_load((REPO / "project.yaml").read_text(encoding="utf-8"))
ENVIRONMENTS = tuple(PROJECT["environments"])
SERVICE = TF / "service"


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    options = SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=options)


def tf_files(base: Path = TF) -> list[Path]:
    return sorted(p for p in base.rglob("*.tf") if ".terraform" not in p.parts)


def blocks(kind: str, base: Path = TF) -> Iterator[tuple[Path, str, str, dict[str, Any]]]:
    """(file, type, name, body) of every resource or data block (kind = "resource" | "data")."""
    for path in tf_files(base):
        for block in parse(path).get(kind, []):
            for rtype, named in block.items():
                for name, body in named.items():
                    yield path, rtype, name, body


def resources(rtype: str, base: Path = TF) -> list[tuple[Path, str, dict[str, Any]]]:
    return [(p, n, b) for p, t, n, b in blocks("resource", base) if t == rtype]


def one(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def module_locals(path: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for file in path.glob("*.tf"):
        for block in parse(file).get("locals", []):
            merged.update(block)
    return merged


def resolve(value: Any, local_values: dict[str, Any]) -> Any:
    """Replace a bare ``${local.x}`` reference by the local's literal value (lists of strings)."""
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        if match and match[1] in local_values:
            return resolve(local_values[match[1]], local_values)
    return value


def policy_statements(base: Path = TF) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every aws_iam_policy_document (static and dynamic ones)."""
    for path, rtype, name, body in blocks("data", base):
        if rtype != "aws_iam_policy_document":
            continue
        local_values = module_locals(path.parent)
        where = f"{path.relative_to(REPO)}:{name}"
        for statement in body.get("statement", []):
            yield where, {k: resolve(v, local_values) for k, v in statement.items()}
        for dynamic in body.get("dynamic", []):
            for statement in dynamic.get("statement", {}).get("content", []):
                yield where, {k: resolve(v, local_values) for k, v in statement.items()}


# ----------------------------------------------------------------------------------- layout and docs
@pytest.mark.parametrize("module", MODULES)
def test_module_layout_and_readme(module: str) -> None:
    folder = TF / "modules" / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (folder / name).is_file(), f"{folder.relative_to(REPO)} lacks {name}"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    variables = [n for b in parse(folder / "variables.tf")["variable"] for n in b]
    outputs = [n for b in parse(folder / "outputs.tf")["output"] for n in b]
    missing = [n for n in variables + outputs if f"`{n}`" not in readme]
    assert not missing, f"{module}/README.md does not document {missing}"
    assert not parse(folder / "main.tf").get("provider"), "modules take providers from their caller"


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(TF)))
def test_variables_are_typed_and_described_and_outputs_described(path: Path) -> None:
    parsed = parse(path)
    for block in parsed.get("variable", []):
        for name, body in block.items():
            assert "type" in body, f"{path}: variable {name} has no type"
            assert len(str(body.get("description", ""))) > 10, f"{path}: variable {name} has no description"
    for block in parsed.get("output", []):
        for name, body in block.items():
            assert len(str(body.get("description", ""))) > 10, f"{path}: output {name} has no description"


def test_every_configuration_pins_only_hashicorp_aws_5() -> None:
    folders = {p.parent for p in tf_files()} | {REPO / "tests" / "infra" / "fixtures" / "moto_stack"}
    for folder in sorted(folders):
        terraform_blocks = [b for f in folder.glob("*.tf") for b in parse(f).get("terraform", [])]
        providers = [p for b in terraform_blocks for p in b.get("required_providers", [])]
        assert providers == [{"aws": {"source": "hashicorp/aws", "version": "~> 5.0"}}], folder
        assert any("required_version" in b for b in terraform_blocks), f"{folder}: no required_version"


# ------------------------------------------------------------------------------------- serving hosts
def test_launch_template_requires_imdsv2_encrypts_volumes_and_has_no_public_ip() -> None:
    _, _, lt = one(resources("aws_launch_template"))
    metadata = one(lt["metadata_options"])
    assert (metadata["http_tokens"], metadata["http_endpoint"]) == ("required", "enabled")
    nic = one(lt["network_interfaces"])
    assert nic["associate_public_ip_address"] is False
    for mapping in lt["block_device_mappings"]:
        assert one(mapping["ebs"])["encrypted"] is True
    assert lt["ebs_optimized"] is True and one(lt["monitoring"])["enabled"] is True
    assert (
        "templates/user-data.sh.tftpl" in lt["user_data"] and "base64encode(templatefile(" in lt["user_data"]
    )
    assert one(lt["lifecycle"])["ignore_changes"] == ["user_data"], "the promotion module owns later digests"


def test_image_digest_variable_accepts_only_a_sha256_digest() -> None:
    variables = {
        n: b for block in parse(TF / "modules/serving_asg/variables.tf")["variable"] for n, b in block.items()
    }
    condition = one(variables["image_digest"]["validation"])["condition"]
    pattern = re.search(r'regex\("(.+)", var\.image_digest\)', condition)
    assert pattern, condition
    regex = pattern[1].replace("\\\\", "\\")
    assert re.fullmatch(regex, "sha256:" + "0a" * 32)
    for bad in ("latest", "sha256:abc", "v1.2.3", "sha256:" + "0A" * 32):
        assert not re.fullmatch(regex, bad), bad


def test_autoscaling_group_uses_elb_health_instance_refresh_and_target_tracking() -> None:
    _, _, asg = one(resources("aws_autoscaling_group"))
    assert asg["health_check_type"] == "ELB"
    assert asg["vpc_zone_identifier"] == "${var.private_subnet_ids}"
    assert one(asg["launch_template"])["version"] == "${aws_launch_template.this.default_version}"
    assert lt_updates_default(), "Terraform makes each version it creates the default"
    refresh = one(asg["instance_refresh"])
    assert refresh["strategy"] == "Rolling"
    assert one(refresh["preferences"])["auto_rollback"] is True
    _, _, policy = one(resources("aws_autoscaling_policy"))
    assert policy["policy_type"] == "TargetTrackingScaling"
    variables = {
        n: b for block in parse(TF / "modules/serving_asg/variables.tf")["variable"] for n, b in block.items()
    }
    assert (
        "length(var.private_subnet_ids) >= 2"
        in one(variables["private_subnet_ids"]["validation"])["condition"]
    )


def lt_updates_default() -> bool:
    _, _, lt = one(resources("aws_launch_template"))
    return lt["update_default_version"] is True


def test_load_balancer_https_redirect_logs_and_readiness_check() -> None:
    _, _, alb = one(resources("aws_lb"))
    assert alb["drop_invalid_header_fields"] is True
    logs = one(alb["access_logs"])
    assert logs["enabled"] is True and logs["bucket"] == "${var.access_logs_bucket}"
    listeners = {name: body for _, name, body in resources("aws_lb_listener")}
    https, http = listeners["https"], listeners["http_redirect"]
    assert (https["protocol"], https["port"]) == ("HTTPS", 443)
    assert https["ssl_policy"] == "${var.ssl_policy}"
    assert one(https["default_action"])["type"] == "forward"
    action = one(http["default_action"])
    assert action["type"] == "redirect"
    assert one(action["redirect"]) == {
        "protocol": "HTTPS",
        "port": "443",
        "status_code": "HTTP_301",
    }
    _, _, tg = one(resources("aws_lb_target_group"))
    check = one(tg["health_check"])
    assert (check["path"], check["port"]) == ("${var.readiness_path}", "${tostring(var.container_port)}")
    variables = {
        n: b for block in parse(TF / "modules/serving_asg/variables.tf")["variable"] for n, b in block.items()
    }
    assert variables["readiness_path"]["default"] == "/health/ready"
    assert variables["container_port"]["default"] == 8080
    assert variables["ssl_policy"]["default"].startswith("ELBSecurityPolicy-TLS13-1-2")


def test_no_security_group_opens_everything() -> None:
    for rtype in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
        for path, name, rule in resources(rtype):
            assert rule.get("ip_protocol") not in ("-1", "all"), f"{path}:{name} allows every protocol"
            assert rule.get("cidr_ipv4") != "0.0.0.0/0", f"{path}:{name} hard-codes 0.0.0.0/0"
    for path, name, subnet in resources("aws_subnet"):
        assert subnet["map_public_ip_on_launch"] is False, f"{path}:{name}"
    _, _, default_sg = one(resources("aws_default_security_group"))
    assert "ingress" not in default_sg and "egress" not in default_sg
    assert resources("aws_flow_log")


# ------------------------------------------------------------------------------------------ encryption
def test_everything_that_stores_data_is_encrypted() -> None:
    for path, name, key in resources("aws_kms_key"):
        assert key["enable_key_rotation"] is True, f"{path}:{name}"
    for path, name, group in resources("aws_cloudwatch_log_group"):
        assert group.get("kms_key_id"), f"{path}:{name}: log group without a KMS key"
    for path, name, table in resources("aws_dynamodb_table"):
        sse = one(table["server_side_encryption"])
        assert sse["enabled"] is True and sse.get("kms_key_arn"), f"{path}:{name}"
        assert one(table["point_in_time_recovery"])["enabled"] is True
    _, _, domain = one(resources("aws_sagemaker_domain"))
    assert domain["kms_key_id"] == "${var.kms_key_arn}"


def test_every_bucket_has_the_full_set_of_protections() -> None:
    companions = (
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_logging",
    )
    for path, name, _ in resources("aws_s3_bucket"):
        for companion in companions:
            if companion == "aws_s3_bucket_logging" and name == "logs":
                continue  # the log bucket itself (checkov skip explains why)
            found = [
                b
                for _, _, b in resources(companion)
                if re.match(rf"\$\{{aws_s3_bucket\.{name}(\[each\.key\])?\.id\}}", str(b["bucket"]))
            ]
            assert found, f"{path}: aws_s3_bucket.{name} has no {companion}"
            body = one(found)
            if companion == "aws_s3_bucket_versioning":
                assert one(body["versioning_configuration"])["status"] == "Enabled"
            if companion == "aws_s3_bucket_public_access_block":
                assert all(
                    body[f] is True
                    for f in (
                        "block_public_acls",
                        "block_public_policy",
                        "ignore_public_acls",
                        "restrict_public_buckets",
                    )
                )
            if companion == "aws_s3_bucket_server_side_encryption_configuration":
                algorithm = one(one(body["rule"])["apply_server_side_encryption_by_default"])["sse_algorithm"]
                assert algorithm == ("AES256" if name == "logs" else "aws:kms"), name
            if companion == "aws_s3_bucket_lifecycle_configuration":
                assert any("noncurrent_version_expiration" in r for r in body["rule"])
    tls = [
        s
        for w, s in policy_statements(TF / "modules" / "storage")
        if s.get("effect") == "Deny" and "aws:SecureTransport" in str(s.get("condition"))
    ]
    assert len(tls) == 2, "the data buckets' and the log bucket's policies both refuse plain HTTP"


def test_repository_is_immutable_scanned_and_encrypted() -> None:
    _, _, repo = one(resources("aws_ecr_repository"))
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert one(repo["image_scanning_configuration"])["scan_on_push"] is True
    assert one(repo["encryption_configuration"])["encryption_type"] == "KMS"


# -------------------------------------------------------------------------------------------------- IAM
def test_no_allow_statement_grants_wildcard_actions_on_every_resource() -> None:
    checked = 0
    for where, statement in policy_statements():
        if statement.get("effect", "Allow") != "Allow":
            continue
        checked += 1
        actions = statement.get("actions")
        assert isinstance(actions, list), f"{where}: actions must be a literal list, got {actions!r}"
        assert "not_actions" not in statement and "not_resources" not in statement, where
        assert not any(a == "*" or a.endswith(":*") for a in actions), f"{where}: {actions}"
        resources_ = statement.get("resources", [])
        if "*" in (resources_ if isinstance(resources_, list) else []):
            assert not [a for a in actions if "*" in a], f"{where}: wildcard action on '*': {actions}"
    assert checked > 50


def test_github_trust_names_repository_and_environment_exactly() -> None:
    oidc = TF / "modules" / "iam" / "github_oidc.tf"
    trust = {
        name: body
        for _, rtype, name, body in blocks("data", TF / "modules" / "iam")
        if rtype == "aws_iam_policy_document"
    }["github_trust"]
    statement = one(trust["statement"])
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    conditions = {c["variable"]: c for c in statement["condition"]}
    assert set(conditions) == {"${local.github_oidc_host}:aud", "${local.github_oidc_host}:sub"}
    assert all(c["test"] == "StringEquals" for c in conditions.values()), "exact matches only"
    assert conditions["${local.github_oidc_host}:aud"]["values"] == ["sts.amazonaws.com"]
    roles = module_locals(oidc.parent)["oidc_roles"]
    text = str(roles)
    assert "${local.repo_subject}:environment:${env}" in text, (
        "deploy roles trust repo:OWNER/REPO:environment:<env>"
    )
    assert "${local.repo_subject}:environment:infra-${env}" in text
    locals_ = module_locals(oidc.parent)
    assert locals_["repo_subject"] == "repo:${var.github_repository}"
    assert locals_["github_oidc_host"] == "token.actions.githubusercontent.com"
    subjects = re.findall(r"subjects\s*=\s*\[([^\]]*)\]", text)
    assert subjects and not any("*" in s or "?" in s for s in subjects)
    variables = {n: b for block in parse(oidc.parent / "variables.tf")["variable"] for n, b in block.items()}
    assert (
        "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$" in one(variables["github_repository"]["validation"])["condition"]
    )


def test_sagemaker_domain_is_vpc_only_with_a_profile_per_persona() -> None:
    _, _, domain = one(resources("aws_sagemaker_domain"))
    assert (domain["app_network_access_type"], domain["auth_mode"]) == ("VpcOnly", "IAM")
    _, _, profile = one(resources("aws_sagemaker_user_profile"))
    assert profile["for_each"] == "${var.user_profiles}"
    assert one(profile["user_settings"])["execution_role"] == "${each.value}"
    account = parse(TF / "account" / "main.tf")
    sagemaker = one([m["sagemaker"] for m in account["module"] if "sagemaker" in m])
    assert "for persona in local.personas" in sagemaker["user_profiles"]
    personas = module_locals(TF / "account")["personas"]
    assert personas == ["data-scientist", "ml-engineer", "mlops-engineer"]


# ------------------------------------------------------------------------------------------ environments
def _tfvars(path: Path) -> dict[str, Any]:
    return {k: v for k, v in parse(path).items() if not k.startswith("__")}


def _variables(path: Path) -> dict[str, dict[str, Any]]:
    return {name: body for block in parse(path).get("variable", []) for name, body in block.items()}


def test_environment_folders_hold_only_variables_and_backend() -> None:
    """One root module, terraform/service, for every environment; envs/<env>/ holds only what differs."""
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (SERVICE / name).is_file(), f"terraform/service/{name} missing"
    for env in ENVIRONMENTS:
        held = {p.name for p in (TF / "envs" / env).iterdir() if p.name != ".terraform"}
        assert held == {"terraform.tfvars", "backend.hcl"}, (
            f"terraform/envs/{env}/ holds {sorted(held)}: only terraform.tfvars and backend.hcl belong there "
            "(the configuration is terraform/service, shared by every environment)"
        )


def test_service_backend_is_partial_so_each_environment_brings_its_own() -> None:
    (terraform,) = parse(SERVICE / "versions.tf")["terraform"]
    assert terraform["backend"] == [{"s3": {}}], (
        "the backend's settings come from terraform/envs/<env>/backend.hcl"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_variables_match_the_service_declarations(env: str) -> None:
    declared = _variables(SERVICE / "variables.tf")
    required = {name for name, body in declared.items() if "default" not in body}
    values = _tfvars(TF / "envs" / env / "terraform.tfvars")
    undeclared = set(values) - set(declared)
    assert not undeclared, f"terraform/envs/{env}/terraform.tfvars sets undeclared {sorted(undeclared)}"
    missing = required - set(values)
    assert not missing, f"terraform/envs/{env}/terraform.tfvars misses required {sorted(missing)}"
    assert values["environment"] == env


def test_environments_set_the_same_variables() -> None:
    keys = {env: set(_tfvars(TF / "envs" / env / "terraform.tfvars")) for env in ENVIRONMENTS}
    assert len({frozenset(k) for k in keys.values()}) == 1, keys


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_state_key(env: str) -> None:
    # The state keys predate the shared root module; existing state and the roles' policies rely on them.
    backend = parse(TF / "envs" / env / "backend.hcl")
    assert backend["key"] == f"envs/{env}/terraform.tfstate"


def test_names_tie_to_project_yaml() -> None:
    account, region = PROJECT["aws"]["account_id"], PROJECT["aws"]["region"]
    expected = {
        "project": PROJECT["project"],
        "aws_account_id": account,
        "aws_region": region,
    }
    stacks = [TF / "bootstrap", TF / "account", *(TF / "envs" / e for e in ENVIRONMENTS)]
    for stack in stacks:
        values = _tfvars(stack / "terraform.tfvars")
        for key, value in expected.items():
            assert values[key] == value, f"{stack.relative_to(REPO)}/terraform.tfvars: {key}"
        for zone in values.get("availability_zones", []):
            assert zone.startswith(region), f"{stack.name}: zone {zone} is not in {region}"
        if "model_name" in values:
            assert values["model_name"] == PROJECT["model_name"]
    account_vars = _tfvars(TF / "account" / "terraform.tfvars")
    assert account_vars["github_repository"] == PROJECT["github_repository"]
    assert account_vars["environments"] == PROJECT["environments"]
    assert sorted(p.name for p in (TF / "envs").iterdir()) == sorted(PROJECT["environments"])
    state_bucket = f'bucket         = "{PROJECT["project"]}-{account}-tfstate"'
    for backend in [TF / "account" / "backend.hcl", *(TF / "envs" / e / "backend.hcl" for e in ENVIRONMENTS)]:
        text = backend.read_text(encoding="utf-8")
        assert state_bucket in text and f'region         = "{region}"' in text, backend
        assert f'dynamodb_table = "{PROJECT["project"]}-tfstate-lock"' in text, backend
