"""A small IAM policy evaluator for the persona tests: identity policies and role trust policies.

It implements the part of AWS's evaluation logic our policies rely on, for one account:

- a request is allowed when some statement allows it and no statement denies it (explicit Deny wins,
  no match means implicit deny);
- ``Action``/``NotAction`` match case-insensitively with ``*`` and ``?`` wildcards; ``Resource``/
  ``NotResource`` match case-sensitively with the same wildcards;
- ``Condition``: every operator and every key must hold (AND); any value of a key may match (OR);
  operators StringEquals/NotEquals/Like/NotLike (and IgnoreCase), ArnEquals/ArnLike (and Not), Bool,
  Numeric*, Null, with ``...IfExists`` and the ``ForAnyValue:``/``ForAllValues:`` set qualifiers. A key
  missing from the request makes positive operators false and negated ones true; ``IfExists`` makes a
  missing key true. Keys compare case-insensitively.
- ``Principal`` (trust policies): ``"*"``, or a type (AWS, Service, Federated) and values; an account
  root ARN (``arn:aws:iam::<id>:root``) matches every principal of that account.

Any operator or element it does not know raises ``UnsupportedPolicy``, so a policy that grows beyond
what this evaluator understands fails the tests loudly instead of being judged wrongly. Not modelled:
resource-based policies of the target, permission boundaries, SCPs, session policies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALLOW = "allow"
DENY = "deny"

_KNOWN_STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
}
_ACCOUNT_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")


class UnsupportedPolicy(ValueError):
    """The policy uses an element or operator this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    context: Mapping[str, Any] = field(default_factory=dict)
    # For trust policies: (principal type, principal value), e.g. ("Federated", "arn:aws:iam::1:oidc-...").
    principal: tuple[str, str] | None = None


@dataclass(frozen=True)
class Decision:
    effect: str  # ALLOW or DENY
    allowed_by: tuple[str, ...] = ()
    denied_by: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect == ALLOW


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _glob(pattern: str, value: str, *, ignore_case: bool) -> bool:
    # IAM wildcards are * and ? only; brackets are literal characters.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, action, ignore_case=True)


def resource_matches(pattern: str, resource: str) -> bool:
    return _glob(pattern, resource, ignore_case=False)


# ------------------------------------------------------------------------------------------ conditions
def _string_op(base: str) -> tuple[bool, Any]:
    """(negated, predicate(policy_value, request_value))."""
    table = {
        "StringEquals": (False, lambda p, r: str(p) == str(r)),
        "StringNotEquals": (True, lambda p, r: str(p) == str(r)),
        "StringEqualsIgnoreCase": (False, lambda p, r: str(p).lower() == str(r).lower()),
        "StringNotEqualsIgnoreCase": (True, lambda p, r: str(p).lower() == str(r).lower()),
        "StringLike": (False, lambda p, r: _glob(str(p), str(r), ignore_case=False)),
        "StringNotLike": (True, lambda p, r: _glob(str(p), str(r), ignore_case=False)),
        "ArnEquals": (False, lambda p, r: str(p) == str(r)),
        "ArnNotEquals": (True, lambda p, r: str(p) == str(r)),
        "ArnLike": (False, lambda p, r: _glob(str(p), str(r), ignore_case=False)),
        "ArnNotLike": (True, lambda p, r: _glob(str(p), str(r), ignore_case=False)),
        "Bool": (False, lambda p, r: str(p).lower() == str(r).lower()),
        "NumericEquals": (False, lambda p, r: float(r) == float(p)),
        "NumericNotEquals": (True, lambda p, r: float(r) == float(p)),
        "NumericLessThan": (False, lambda p, r: float(r) < float(p)),
        "NumericLessThanEquals": (False, lambda p, r: float(r) <= float(p)),
        "NumericGreaterThan": (False, lambda p, r: float(r) > float(p)),
        "NumericGreaterThanEquals": (False, lambda p, r: float(r) >= float(p)),
    }
    if base not in table:
        raise UnsupportedPolicy(f"condition operator {base!r} is not supported by the test evaluator")
    return table[base]


def _lookup(context: Mapping[str, Any], key: str) -> tuple[bool, list[Any]]:
    for name, value in context.items():
        if name.lower() == key.lower():
            return True, _as_list(value)
    return False, []


def condition_holds(
    operator: str, key: str, policy_values: Sequence[Any], context: Mapping[str, Any]
) -> bool:
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise UnsupportedPolicy(f"condition qualifier {qualifier!r} is not supported")
    present, request_values = _lookup(context, key)
    if operator == "Null":
        wants_missing = str(policy_values[0]).lower() == "true"
        return (not present) == wants_missing
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated, equal = _string_op(base)
    if not present:
        if qualifier == "ForAllValues":
            return True  # vacuously true over an empty set
        return if_exists or (negated and qualifier is None)

    def one(value: Any) -> bool:
        hit = any(equal(p, value) for p in policy_values)
        return not hit if negated else hit

    if qualifier == "ForAnyValue":
        return any(one(v) for v in request_values)
    if qualifier == "ForAllValues":
        return all(one(v) for v in request_values)
    if len(request_values) != 1:
        raise UnsupportedPolicy(f"key {key!r} has several values; use ForAnyValue/ForAllValues")
    return one(request_values[0])


def conditions_hold(condition: Mapping[str, Mapping[str, Any]] | None, context: Mapping[str, Any]) -> bool:
    for operator, keys in (condition or {}).items():
        for key, values in keys.items():
            if not condition_holds(operator, key, _as_list(values), context):
                return False
    return True


# ------------------------------------------------------------------------------------------- principals
def principal_matches(principal: Any, request: tuple[str, str]) -> bool:
    kind, value = request
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        raise UnsupportedPolicy(f"principal {principal!r} is neither '*' nor a mapping")
    for ptype, pvalues in principal.items():
        if ptype not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise UnsupportedPolicy(f"principal type {ptype!r} is not supported")
        if ptype != kind:
            continue
        for pvalue in _as_list(pvalues):
            if pvalue == "*" or pvalue == value:
                return True
            root = _ACCOUNT_ROOT.match(str(pvalue))
            if kind == "AWS" and root:
                account = _ARN_ACCOUNT.match(value)
                if account and account.group(1) == root.group(1):
                    return True
    return False


# ------------------------------------------------------------------------------------------- statements
def statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    unknown = set(statement) - _KNOWN_STATEMENT_KEYS
    if unknown:
        raise UnsupportedPolicy(f"statement elements {sorted(unknown)} are not supported")
    if request.principal is not None and not (
        "Principal" in statement and principal_matches(statement["Principal"], request.principal)
    ):
        return False
    if "Action" in statement:
        if not any(action_matches(p, request.action) for p in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(action_matches(p, request.action) for p in _as_list(statement["NotAction"])):
            return False
    else:
        raise UnsupportedPolicy("statement has neither Action nor NotAction")
    if "Resource" in statement:
        if not any(resource_matches(p, request.resource) for p in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(resource_matches(p, request.resource) for p in _as_list(statement["NotResource"])):
            return False
    elif request.principal is None:
        raise UnsupportedPolicy("identity statement has neither Resource nor NotResource")
    return conditions_hold(statement.get("Condition"), request.context)


def statements(documents: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for document in documents:
        out.extend(_as_list(document.get("Statement")))
    return out


def evaluate(documents: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """Evaluate ``request`` against the policies a role carries (or against its trust policy)."""
    allowed: list[str] = []
    denied: list[str] = []
    for index, statement in enumerate(statements(documents)):
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise UnsupportedPolicy(f"statement effect {effect!r}")
        if statement_matches(statement, request):
            (allowed if effect == "Allow" else denied).append(str(statement.get("Sid") or f"#{index}"))
    if denied:
        return Decision(DENY, tuple(allowed), tuple(denied))
    return Decision(ALLOW if allowed else DENY, tuple(allowed), ())
