"""A small GitHub REST client: JSON requests, pagination and artifact downloads.

The transport is a plain function from request to response, so tests pass a fake that answers from a
table and the real one (``urllib_transport``) never follows redirects on its own: an artifact download
answers with a redirect to blob storage, and the token must not travel with that second request.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API = "https://api.github.com"
JSON_MEDIA = "application/vnd.github+json"
API_VERSION = "2022-11-28"


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


Transport = Callable[[HttpRequest], HttpResponse]


class GitHubError(RuntimeError):
    """A GitHub API call failed; the message names the call, the status and GitHub's own message."""

    def __init__(self, method: str, url: str, status: int, detail: str) -> None:
        self.status = status
        super().__init__(f"{method} {url} -> HTTP {status}: {detail}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def,unused-ignore]
        return None  # surface 3xx to the caller instead of following it


_OPENER = urllib.request.build_opener(_NoRedirect)


def urllib_transport(request: HttpRequest, timeout: float = 60.0) -> HttpResponse:
    req = urllib.request.Request(  # noqa: S310 - URLs come from GitHub's API or the runner's GITHUB_API_URL
        request.url, data=request.body, headers=dict(request.headers), method=request.method
    )
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return HttpResponse(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as exc:
        return HttpResponse(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')


def next_link(link_header: str) -> str | None:
    match = _NEXT_LINK.search(link_header or "")
    return match.group(1) if match else None


class GitHub:
    """Calls to one repository's API with one token."""

    def __init__(
        self,
        token: str,
        repository: str,
        api_url: str = DEFAULT_API,
        transport: Transport = urllib_transport,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
            raise ValueError(f"repository {repository!r} is not OWNER/NAME")
        self.token = token
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self.transport = transport

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, transport: Transport | None = None) -> GitHub:
        env = os.environ if environ is None else environ
        token = env.get("GITHUB_TOKEN", "")
        if not token:
            raise SystemExit("error: GITHUB_TOKEN is not set; pass it to the step as env: GITHUB_TOKEN")
        repository = env.get("GITHUB_REPOSITORY", "")
        if not repository:
            raise SystemExit("error: GITHUB_REPOSITORY is not set (is this running in GitHub Actions?)")
        return cls(token, repository, env.get("GITHUB_API_URL", DEFAULT_API), transport or urllib_transport)

    # ------------------------------------------------------------------ plumbing
    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        path = path.replace("{repo}", self.repository)
        url = path if path.startswith("https://") else f"{self.api_url}/{path.lstrip('/')}"
        if params:
            query = {k: str(v) for k, v in params.items() if v is not None}
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
        return url

    def _headers(self, accept: str = JSON_MEDIA) -> dict[str, str]:
        return {
            "Accept": accept,
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "mlops-template-cicd",
        }

    def _send(self, method: str, url: str, body: Any = None) -> HttpResponse:
        headers = self._headers()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        response = self.transport(HttpRequest(method, url, headers, data))
        if response.status >= 400:
            raise GitHubError(method, url, response.status, _detail(response.body))
        return response

    # ------------------------------------------------------------------ API
    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        """One call; the parsed JSON answer (``None`` for an empty body)."""
        response = self._send(method, self.url(path, params), body)
        return json.loads(response.body) if response.body else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def paginate(
        self, path: str, *, key: str | None = None, limit: int = 1000, **params: Any
    ) -> Iterator[Any]:
        """Every item of a list endpoint, following ``Link: rel="next"``; ``key`` names the list in an object."""
        url: str | None = self.url(path, {"per_page": 100, **params})
        seen = 0
        while url:
            response = self._send("GET", url)
            page: Any = json.loads(response.body) if response.body else []
            items = page.get(key, []) if key and isinstance(page, dict) else page
            for item in items:
                yield item
                seen += 1
                if seen >= limit:
                    return
            url = next_link(response.header("link"))

    def download(self, url: str, max_bytes: int = 200 * 1024 * 1024) -> bytes:
        """Bytes behind an API download URL. The redirect target is fetched without the token."""
        response = self._send("GET", self.url(url))
        hops = 0
        while response.status in (301, 302, 303, 307, 308):
            location = response.header("location")
            if not location or hops >= 3:
                raise GitHubError("GET", url, response.status, "redirect without a usable Location")
            hops += 1
            response = self.transport(HttpRequest("GET", location, {"User-Agent": "mlops-template-cicd"}))
            if response.status >= 400:
                raise GitHubError("GET", location.split("?", 1)[0], response.status, _detail(response.body))
        if len(response.body) > max_bytes:
            raise GitHubError("GET", url, response.status, f"download larger than {max_bytes} bytes")
        return response.body


def _detail(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace") or "(empty body)"
    if isinstance(data, dict):
        message = str(data.get("message", ""))
        errors = data.get("errors")
        return f"{message} {json.dumps(errors)}" if errors else message or json.dumps(data)[:200]
    return json.dumps(data)[:200]
