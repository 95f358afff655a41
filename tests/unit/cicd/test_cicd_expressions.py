"""The workflow-expression evaluator behind the fork simulation."""

from __future__ import annotations

import pytest

from cicd.expressions import ExpressionError, condition, evaluate, interpolate

CTX = {
    "github": {
        "event_name": "pull_request",
        "repository": "Acme/Model",
        "event": {"pull_request": {"head": {"repo": {"full_name": "acme/model"}}}},
    },
    "vars": {},
    "inputs": {"dry_run": False, "target": "kserve"},
    "steps": {"cloud": {"outputs": {"configured": "true"}}},
    "matrix": {"environment": "staging"},
}


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("github.event_name == 'pull_request'", True),
        ("github.event.pull_request.head.repo.full_name == github.repository", True),  # case-insensitive
        ("vars.MISSING", None),
        ("vars.MISSING || 'fallback'", "fallback"),
        ("vars.MISSING != ''", False),  # null == '' after coercion to numbers
        ("!inputs.dry_run && inputs.target == 'kserve'", True),
        ("steps.cloud.outputs.configured == 'true'", True),
        ("steps['cloud'].outputs.configured", "true"),
        ("format('infra-{0}', matrix.environment)", "infra-staging"),
        ("contains(fromJSON('[\"a\",\"b\"]'), 'B')", True),
        ("startsWith('refs/heads/main', 'refs/heads/')", True),
        ("1 < 2 && '10' > 9", True),
        ("null == 0", True),
        ("'abc' == 0", False),
        ("0x10 == 16", True),
    ],
)
def test_values(expression: str, value: object) -> None:
    assert evaluate(expression, CTX) == value


def test_if_without_a_status_function_also_needs_success() -> None:
    failed = lambda fn: fn in ("failure", "always")  # noqa: E731
    assert condition("true", CTX, failed) is False
    assert condition("${{ always() }}", CTX, failed) is True
    assert condition(None, CTX, lambda fn: fn == "success") is True


def test_interpolate_replaces_each_expression() -> None:
    assert (
        interpolate("make x ENV=${{ matrix.environment }} T=${{ inputs.target }}", CTX)
        == "make x ENV=staging T=kserve"
    )


@pytest.mark.parametrize("bad", ["github.", "(1", "nope.x", "hashFiles('x')", "'unterminated"])
def test_errors_are_reported(bad: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(bad, CTX)
