"""A fake GitHub (and registry) behind cicd.github's transport: routes answer, every request is recorded."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from cicd.github import GitHub, HttpRequest, HttpResponse

API = "https://api.example.test"
REPO = "acme/model"

Handler = Callable[[HttpRequest, dict[str, str], Any], HttpResponse | Any]


@dataclass
class FakeApi:
    """Routes are ``(METHOD, regex on the path)``; a handler returns an HttpResponse or JSON-able data."""

    routes: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)
    requests: list[HttpRequest] = field(default_factory=list)

    def on(self, method: str, pattern: str, handler: Handler | Any) -> None:
        fn = handler if callable(handler) else (lambda req, query, body, value=handler: value)
        self.routes.insert(0, (method, re.compile(pattern + r"$"), fn))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        parsed = urllib.parse.urlsplit(request.url)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        path = parsed.path if request.url.startswith(API) else request.url.split("?", 1)[0]
        body = json.loads(request.body) if request.body else None
        for method, pattern, handler in self.routes:
            if method == request.method and pattern.search(path):
                result = handler(request, query, body)
                if isinstance(result, HttpResponse):
                    return result
                return HttpResponse(200, {"content-type": "application/json"}, json.dumps(result).encode())
        return HttpResponse(
            404, {}, json.dumps({"message": f"no fake route for {request.method} {path}"}).encode()
        )

    def sent(self, method: str, pattern: str) -> list[HttpRequest]:
        regex = re.compile(pattern)
        return [r for r in self.requests if r.method == method and regex.search(r.url)]


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def github(api: FakeApi) -> GitHub:
    return GitHub("test-token", REPO, API, transport=api)
