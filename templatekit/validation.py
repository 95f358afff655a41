"""Checks for every name `make init` accepts. Each raises ``InvalidValue`` naming the field and the rule.

The rules are those of the systems that use the names: Kubernetes (DNS-1123/1035 labels), GitHub
(owner and repository names), OCI image references, AWS (12-digit account ids, region names).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence


class InvalidValue(ValueError):
    """A value breaks its field's rule. ``field`` is the project.yaml key (or flag) at fault."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field}: {value!r} is invalid: {rule}")


# A DNS-1035 label: what Kubernetes demands of Service names and KServe of InferenceService names.
# It is a DNS-1123 label that also starts with a letter, so it is safe for every place a name goes
# (namespaces, labels, SageMaker endpoint names, S3 key prefixes, Python distribution names).
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
# Names YAML 1.1 readers (Kubernetes' among them) take for booleans or null when left unquoted.
_YAML_KEYWORDS = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null"})
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_GITHUB_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_REGION = re.compile(
    r"(?:us-gov|us-iso|us-isob|cn|af|ap|ca|eu|il|me|mx|sa|us)"
    r"-(?:central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9][0-9]?"
)
# An image repository without tag or digest: a registry host (with a dot or a port, or localhost),
# then one or more lowercase path components, as the OCI distribution spec allows.
_HOST = r"(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)+)(?::[0-9]{1,5})?|[a-zA-Z0-9-]+:[0-9]{1,5}"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(rf"(?P<host>{_HOST})(?P<path>(?:/{_COMPONENT})+)")


def dns_label(field: str, value: str, max_len: int = 63) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue(field, value, "must be a non-empty string")
    if len(value) > max_len:
        raise InvalidValue(field, value, f"must be at most {max_len} characters")
    if not _DNS_LABEL.fullmatch(value):
        raise InvalidValue(
            field,
            value,
            "must be a DNS label: lowercase letters, digits and '-', starting with a letter "
            "and ending with a letter or digit",
        )
    if value in _YAML_KEYWORDS:
        raise InvalidValue(field, value, "is read as a boolean or null by YAML; choose another name")
    return value


def github_repository(field: str, value: str) -> str:
    if not isinstance(value, str) or value.count("/") != 1:
        raise InvalidValue(field, value, "must be OWNER/REPO, e.g. octo-org/churn-model")
    owner, repo = value.split("/")
    if not _GITHUB_OWNER.fullmatch(owner):
        raise InvalidValue(
            field,
            value,
            "owner must be 1-39 letters, digits or single hyphens, not starting or ending with '-'",
        )
    if not _GITHUB_REPO.fullmatch(repo) or repo in {".", ".."} or repo.endswith(".git"):
        raise InvalidValue(
            field, value, "repository must be 1-100 letters, digits, '.', '_' or '-' (without .git)"
        )
    return value


def image_repository(field: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue(field, value, "must be a non-empty string")
    if "@" in value or ("/" in value and ":" in value.rsplit("/", 1)[1]):
        raise InvalidValue(field, value, "must name a repository without a tag or digest")
    if len(value) > 255 or not _IMAGE.fullmatch(value):
        raise InvalidValue(
            field,
            value,
            "must be REGISTRY/PATH, e.g. ghcr.io/octo-org/churn-model or "
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-model (lowercase path)",
        )
    return value


def aws_account_id(field: str, value: object) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _ACCOUNT_ID.fullmatch(text):
        raise InvalidValue(field, value, "must be exactly 12 digits (quote it in YAML)")
    return text


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region botocore (the SDK this project is locked to) knows, across all partitions."""
    try:
        import botocore.session
    except ImportError:  # pragma: no cover - botocore is in the lock; kept for a bare interpreter
        return frozenset()
    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        for service in ("ec2", "s3"):
            regions.update(session.get_available_regions(service, partition_name=partition))
    return frozenset(regions)


def aws_region(field: str, value: str, known: Iterable[str] | None = None) -> str:
    if not isinstance(value, str) or not _REGION.fullmatch(value):
        raise InvalidValue(field, value, "must be an AWS region name such as eu-west-1 or us-east-2")
    regions = frozenset(known) if known is not None else known_regions()
    if regions and value not in regions:
        raise InvalidValue(
            field, value, "has the shape of a region but is not one the locked AWS SDK (botocore) knows"
        )
    return value


def environments(field: str, value: Sequence[str]) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise InvalidValue(field, value, "must be a non-empty list of names, in promotion order")
    names = [dns_label(f"{field}[{i}]", name, max_len=30) for i, name in enumerate(value)]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidValue(field, value, f"names must be unique; repeated: {', '.join(duplicates)}")
    return names
