"""The GitHub client: errors that name the call, pagination, downloads that drop the token on redirect."""

from __future__ import annotations

import json

import pytest

from cicd.github import GitHub, GitHubError, HttpRequest, HttpResponse, next_link

API = "https://api.example.test"


def test_error_names_the_call_status_and_github_message() -> None:
    def transport(request: HttpRequest) -> HttpResponse:
        return HttpResponse(
            422, {}, json.dumps({"message": "Validation Failed", "errors": [{"code": "invalid"}]}).encode()
        )

    gh = GitHub("t", "acme/model", API, transport)
    with pytest.raises(
        GitHubError,
        match=r"POST https://api.example.test/repos/acme/model/deployments -> HTTP 422: Validation Failed",
    ):
        gh.request("POST", "repos/{repo}/deployments", body={})


def test_paginate_follows_next_links_and_stops_at_limit() -> None:
    pages = {
        f"{API}/repos/acme/model/items?per_page=100": (
            [1, 2],
            f'<{API}/page2>; rel="next", <{API}/last>; rel="last"',
        ),
        f"{API}/page2": ([3], ""),
    }

    def transport(request: HttpRequest) -> HttpResponse:
        body, link = pages[request.url]
        return HttpResponse(200, {"link": link}, json.dumps(body).encode())

    gh = GitHub("t", "acme/model", API, transport)
    assert list(gh.paginate("repos/{repo}/items")) == [1, 2, 3]
    assert list(gh.paginate("repos/{repo}/items", limit=2)) == [1, 2]


def test_next_link_parses_the_link_header() -> None:
    assert next_link('<https://x/p2>; rel="next", <https://x/p9>; rel="last"') == "https://x/p2"
    assert next_link('<https://x/p9>; rel="last"') is None


def test_download_follows_the_redirect_without_the_token() -> None:
    seen: list[HttpRequest] = []

    def transport(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        if request.url.startswith(API):
            return HttpResponse(302, {"location": "https://blob.example.test/zip?sig=1"}, b"")
        return HttpResponse(200, {}, b"PK-bytes")

    gh = GitHub("secret-token", "acme/model", API, transport)
    assert gh.download(f"{API}/repos/acme/model/actions/artifacts/1/zip") == b"PK-bytes"
    assert "Authorization" in seen[0].headers
    assert "Authorization" not in seen[1].headers
    assert "secret-token" not in json.dumps(dict(seen[1].headers))


def test_repository_must_be_owner_slash_name() -> None:
    with pytest.raises(ValueError, match="OWNER/NAME"):
        GitHub("t", "not a repo", API)


def test_from_env_requires_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit, match="GITHUB_TOKEN is not set"):
        GitHub.from_env({"GITHUB_REPOSITORY": "acme/model"})
