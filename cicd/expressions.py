"""An evaluator for GitHub Actions expressions (``${{ ... }}`` and ``if:`` conditions).

Enough of the language to answer "which jobs and steps would run for this event and these settings":
literals, context look-ups (``a.b``, ``a['b']``), ``!``, comparisons, ``&&``/``||`` (which return an operand,
as in JavaScript), and the functions ``contains``, ``startsWith``, ``endsWith``, ``format``, ``join``,
``toJSON``, ``fromJSON``, ``success``, ``failure``, ``always``, ``cancelled``. Semantics follow GitHub's
documentation: ``==`` between strings ignores case, operands of different types are compared as numbers,
and a missing property is ``null``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")


class ExpressionError(ValueError):
    """The expression cannot be parsed or uses something this evaluator does not support."""


# ---------------------------------------------------------------------------------------------- lexer
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>0x[0-9a-fA-F]+|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<string>'(?:[^']|'')*')
    | (?P<op>==|!=|<=|>=|&&|\|\||[!<>().,\[\]*])
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    value: str


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read expression at {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


# ---------------------------------------------------------------------------------------------- values
def truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    return str(value)


def _same_type(a: Any, b: Any) -> bool:
    def kind(v: Any) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, int | float):
            return "number"
        if isinstance(v, str):
            return "string"
        return "object"

    return kind(a) == kind(b)


def equals(a: Any, b: Any) -> bool:
    if _same_type(a, b):
        if isinstance(a, str):
            return a.lower() == b.lower()
        if isinstance(a, Mapping | list):
            return a is b
        return bool(a == b)
    if isinstance(a, Mapping | list) or isinstance(b, Mapping | list):
        return False
    return to_number(a) == to_number(b)


def compare(a: Any, b: Any) -> float:
    """<0, 0, >0; NaN when incomparable (every ordering test is then false)."""
    if isinstance(a, str) and isinstance(b, str):
        s, t = a.lower(), b.lower()
        return (s > t) - (s < t)
    x, y = to_number(a), to_number(b)
    if math.isnan(x) or math.isnan(y):
        return math.nan
    return (x > y) - (x < y)


# ---------------------------------------------------------------------------------------------- parser
class _Parser:
    def __init__(
        self, tokens: list[Token], context: Mapping[str, Any], status: Callable[[str], bool]
    ) -> None:
        self.tokens, self.pos, self.context, self.status = tokens, 0, context, status

    def peek(self, value: str | None = None) -> bool:
        if self.pos >= len(self.tokens):
            return False
        token = self.tokens[self.pos]
        return value is None or (token.kind == "op" and token.value == value)

    def take(self, value: str | None = None) -> Token:
        if self.pos >= len(self.tokens) or (value is not None and not self.peek(value)):
            found = self.tokens[self.pos].value if self.pos < len(self.tokens) else "end of expression"
            raise ExpressionError(f"expected {value or 'a value'}, found {found!r}")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.pos].value!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek("||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.equality()
        while self.peek("&&"):
            self.take()
            right = self.equality()
            value = right if truthy(value) else value
        return value

    def equality(self) -> Any:
        value = self.relation()
        while self.peek("==") or self.peek("!="):
            op = self.take().value
            right = self.relation()
            value = equals(value, right) if op == "==" else not equals(value, right)
        return value

    def relation(self) -> Any:
        value = self.unary()
        while any(self.peek(op) for op in ("<", "<=", ">", ">=")):
            op = self.take().value
            result = compare(value, self.unary())
            if math.isnan(result):
                value = False
            else:
                value = {"<": result < 0, "<=": result <= 0, ">": result > 0, ">=": result >= 0}[op]
        return value

    def unary(self) -> Any:
        if self.peek("!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while True:
            if self.peek("."):
                self.take()
                name = self.take()
                if name.kind == "op" and name.value == "*":
                    value = (
                        list(value.values())
                        if isinstance(value, Mapping)
                        else value
                        if isinstance(value, list)
                        else []
                    )
                    continue
                if name.kind != "name":
                    raise ExpressionError(f"expected a property name after '.', found {name.value!r}")
                value = _lookup(value, name.value)
            elif self.peek("["):
                self.take()
                key = self.or_()
                self.take("]")
                value = _lookup(value, key)
            else:
                return value

    def primary(self) -> Any:
        token = self.take()
        if token.kind == "number":
            number = (
                float(int(token.value, 16)) if token.value.lower().startswith("0x") else float(token.value)
            )
            return int(number) if number.is_integer() else number
        if token.kind == "string":
            return token.value[1:-1].replace("''", "'")
        if token.kind == "op" and token.value == "(":
            value = self.or_()
            self.take(")")
            return value
        if token.kind == "name":
            if token.value in ("true", "false"):
                return token.value == "true"
            if token.value == "null":
                return None
            if self.peek("("):
                return self.call(token.value)
            if token.value not in self.context:
                raise ExpressionError(f"unknown context {token.value!r}")
            return self.context[token.value]
        raise ExpressionError(f"unexpected {token.value!r}")

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while not self.peek(")"):
            args.append(self.or_())
            if not self.peek(")"):
                self.take(",")
        self.take(")")
        return _call(name, args, self.status)


def _lookup(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        if isinstance(key, str):
            for k, v in value.items():  # property names are case-insensitive
                if isinstance(k, str) and k.lower() == key.lower():
                    return v
        return None
    if isinstance(value, list) and isinstance(key, int | float) and not isinstance(key, bool):
        index = int(key)
        return value[index] if 0 <= index < len(value) else None
    if isinstance(value, list) and isinstance(key, str):  # filter: list.*.name
        return [_lookup(item, key) for item in value]
    return None


def _call(name: str, args: list[Any], status: Callable[[str], bool]) -> Any:
    lname = name.lower()
    if lname in STATUS_FUNCTIONS:
        if args:
            raise ExpressionError(f"{name}() takes no arguments")
        return status(lname)
    if lname == "contains":
        haystack, needle = args
        if isinstance(haystack, list):
            return any(equals(item, needle) for item in haystack)
        return to_string(needle).lower() in to_string(haystack).lower()
    if lname == "startswith":
        return to_string(args[0]).lower().startswith(to_string(args[1]).lower())
    if lname == "endswith":
        return to_string(args[0]).lower().endswith(to_string(args[1]).lower())
    if lname == "format":
        text = to_string(args[0])
        return (
            re.sub(r"\{(\d+)\}", lambda m: to_string(args[1 + int(m.group(1))]), text)
            .replace("{{", "{")
            .replace("}}", "}")
        )
    if lname == "join":
        sep = to_string(args[1]) if len(args) > 1 else ","
        return sep.join(to_string(v) for v in args[0]) if isinstance(args[0], list) else to_string(args[0])
    if lname == "tojson":
        return json.dumps(args[0], indent=2)
    if lname == "fromjson":
        return json.loads(to_string(args[0]))
    raise ExpressionError(f"function {name}() is not supported here")


# ---------------------------------------------------------------------------------------------- API
def evaluate(expression: str, context: Mapping[str, Any], status: Callable[[str], bool] | None = None) -> Any:
    """Value of one expression (without the ``${{ }}``)."""
    status = status or (lambda name: name in ("success", "always"))
    return _Parser(tokenize(expression), context, status).parse()


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def interpolate(text: str, context: Mapping[str, Any]) -> str:
    """A string with every ``${{ expr }}`` replaced by its value."""
    return _TEMPLATE.sub(lambda m: to_string(evaluate(m.group(1), context)), text)


def uses_status_function(expression: str) -> bool:
    return any(t.kind == "name" and t.value.lower() in STATUS_FUNCTIONS for t in tokenize(expression))


def condition(raw: Any, context: Mapping[str, Any], status: Callable[[str], bool]) -> bool:
    """Whether an ``if:`` passes. No ``if:`` means ``success()``; an ``if:`` without a status function
    is ``success() && (if)``, as GitHub does."""
    if raw is None:
        return status("success")
    if isinstance(raw, bool):
        return raw and status("success")
    text = str(raw).strip()
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL)
    if match:
        text = match.group(1)
    value = truthy(evaluate(text, context, status))
    return value if uses_status_function(text) else value and status("success")
