"""The persona tests are only as good as their evaluator: its rules, checked on small policies."""

from __future__ import annotations

import pytest

from tests.infra.iam_eval import ALLOW, DENY, Request, UnsupportedPolicy, evaluate

BUCKET = "arn:aws:s3:::data"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: object, resource: object = "*", **extra: object) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: object, resource: object = "*", **extra: object) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def test_nothing_is_allowed_by_default_and_deny_beats_allow() -> None:
    assert evaluate([], Request("s3:GetObject", f"{BUCKET}/x")).effect == DENY
    docs = [policy(allow("s3:*", f"{BUCKET}/*")), policy(deny("s3:DeleteObject", f"{BUCKET}/*"))]
    assert evaluate(docs, Request("s3:GetObject", f"{BUCKET}/x")).effect == ALLOW
    decision = evaluate(docs, Request("s3:DeleteObject", f"{BUCKET}/x"))
    assert decision.effect == DENY and decision.denied_by


def test_actions_ignore_case_resources_do_not() -> None:
    docs = [policy(allow("S3:get*", f"{BUCKET}/Models/*"))]
    assert evaluate(docs, Request("s3:GetObject", f"{BUCKET}/Models/a")).allowed
    assert not evaluate(docs, Request("s3:GetObject", f"{BUCKET}/models/a")).allowed
    assert not evaluate(docs, Request("s3:PutObject", f"{BUCKET}/Models/a")).allowed


def test_wildcards_are_only_star_and_question_mark() -> None:
    docs = [policy(allow("sagemaker:UpdateEndpoint", "arn:aws:sagemaker:r:1:endpoint/p-[s]?"))]
    assert evaluate(
        docs, Request("sagemaker:UpdateEndpoint", "arn:aws:sagemaker:r:1:endpoint/p-[s]1")
    ).allowed
    assert not evaluate(
        docs, Request("sagemaker:UpdateEndpoint", "arn:aws:sagemaker:r:1:endpoint/p-s1")
    ).allowed


def test_not_action_and_not_resource() -> None:
    docs = [policy({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"})]
    assert evaluate(docs, Request("ec2:CreateVpc")).allowed
    assert not evaluate(docs, Request("iam:CreateRole")).allowed
    docs = [
        policy({"Effect": "Deny", "Action": "s3:*", "NotResource": f"{BUCKET}/public/*"}),
        policy(allow("s3:*")),
    ]
    assert evaluate(docs, Request("s3:GetObject", f"{BUCKET}/public/a")).allowed
    assert not evaluate(docs, Request("s3:GetObject", f"{BUCKET}/private/a")).allowed


@pytest.mark.parametrize(
    ("operator", "values", "context", "expected"),
    [
        ("StringEquals", ["a"], {"k": "a"}, True),
        ("StringEquals", ["a"], {"k": "b"}, False),
        ("StringEquals", ["a"], {}, False),  # missing key: positive operators fail
        ("StringNotEquals", ["a"], {}, True),  # ... and negated ones hold
        ("StringNotEquals", ["a", "b"], {"k": "b"}, False),
        ("StringEqualsIfExists", ["a"], {}, True),
        ("StringNotEqualsIfExists", ["a"], {"k": "a"}, False),
        ("StringLike", ["repo:o/r:*"], {"k": "repo:o/r:ref:x"}, True),
        (
            "ArnLike",
            ["arn:aws:ec2:r:1:launch-template/*"],
            {"k": "arn:aws:ec2:r:1:launch-template/lt-1"},
            True,
        ),
        ("ArnEquals", ["arn:aws:iam::aws:policy/A"], {"k": "arn:aws:iam::aws:policy/B"}, False),
        ("Bool", ["true"], {"k": "true"}, True),
        ("Bool", ["true"], {"k": "false"}, False),
        ("NumericLessThan", ["1.2"], {"k": "1.0"}, True),
        ("ForAnyValue:StringEquals", ["a"], {"k": ["x", "a"]}, True),
        ("ForAnyValue:StringEquals", ["a"], {}, False),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "c"]}, False),
        ("Null", ["true"], {}, True),
    ],
)
def test_condition_operators(operator: str, values: list, context: dict, expected: bool) -> None:
    docs = [policy(allow("s3:GetObject", Condition={operator: {"k": values}}))]
    assert evaluate(docs, Request("s3:GetObject", context=context)).allowed is expected


def test_condition_keys_ignore_case_and_every_condition_must_hold() -> None:
    docs = [
        policy(
            allow(
                "iam:PassRole",
                Condition={
                    "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com", "aws:ResourceTag/Env": "s"}
                },
            )
        )
    ]
    assert evaluate(
        docs,
        Request(
            "iam:PassRole", context={"IAM:passedtoservice": "ec2.amazonaws.com", "aws:ResourceTag/Env": "s"}
        ),
    ).allowed
    assert not evaluate(
        docs, Request("iam:PassRole", context={"iam:PassedToService": "ec2.amazonaws.com"})
    ).allowed


def test_principals_in_trust_policies() -> None:
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": "sts:AssumeRole",
        },
        {
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/x"},
            "Action": "sts:AssumeRoleWithWebIdentity",
        },
    )
    user = ("AWS", "arn:aws:iam::111111111111:user/alice")
    assert evaluate([trust], Request("sts:AssumeRole", principal=user)).allowed
    assert not evaluate(
        [trust], Request("sts:AssumeRole", principal=("AWS", "arn:aws:iam::222222222222:user/eve"))
    ).allowed
    assert not evaluate(
        [trust], Request("sts:AssumeRole", principal=("Service", "ec2.amazonaws.com"))
    ).allowed
    oidc = ("Federated", "arn:aws:iam::111111111111:oidc-provider/x")
    assert evaluate([trust], Request("sts:AssumeRoleWithWebIdentity", principal=oidc)).allowed
    assert not evaluate([trust], Request("sts:AssumeRole", principal=oidc)).allowed


def test_unknown_elements_fail_loudly() -> None:
    with pytest.raises(UnsupportedPolicy):
        evaluate(
            [policy(allow("s3:GetObject", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020"}}))],
            Request("s3:GetObject"),
        )
    with pytest.raises(UnsupportedPolicy):
        evaluate(
            [policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "NotPrincipal": {"AWS": "x"}})],
            Request("s3:GetObject"),
        )
    with pytest.raises(UnsupportedPolicy):
        evaluate(
            [policy(allow("s3:GetObject", Condition={"StringEquals": {"k": "a"}}))],
            Request("s3:GetObject", context={"k": ["a", "b"]}),
        )
