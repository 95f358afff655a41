"""Image references for promotion: a digest, a full reference, or a commit resolved through the registry.

CI pushes every default-branch build as ``<image>:sha-<40-hex commit>``. Promotion then addresses it by
digest only. ``resolve`` turns what a person types into the dispatch form into ``<image>@sha256:<64 hex>``:

- ``sha256:<64 hex>``: this repository's image at that digest;
- ``<image>@sha256:<64 hex>``: accepted when ``<image>`` is this repository's image;
- a commit (7-40 hex): expanded to the full SHA, then the registry's digest for tag ``sha-<sha>``.

The registry is asked through the OCI distribution API (token from the registry's token endpoint, the
manifest's ``Docker-Content-Digest``), with the same injectable transport as ``cicd.github``.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass

from cicd.github import GitHub, GitHubError, HttpRequest, Transport, urllib_transport

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
COMMIT = re.compile(r"[0-9a-f]{7,40}")
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class ResolveError(ValueError):
    """The input names no image this workflow may promote; the message says which part is wrong."""


def tag_for(commit: str) -> str:
    return f"sha-{commit}"


@dataclass(frozen=True)
class Resolved:
    image: str  # NAME@sha256:...
    digest: str
    commit: str | None  # the source commit when known


class Registry:
    """Read-only access to one image repository (``host/owner/name``)."""

    def __init__(
        self, image: str, username: str, password: str, transport: Transport = urllib_transport
    ) -> None:
        host, _, path = image.partition("/")
        if not host or not path:
            raise ResolveError(f"image {image!r} must be HOST/PATH")
        self.host, self.path = host, path
        self.username, self.password = username, password
        self.transport = transport
        self._token: str | None = None

    def _bearer(self) -> str:
        if self._token is None:
            scope = urllib.parse.quote(f"repository:{self.path}:pull")
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            response = self.transport(
                HttpRequest(
                    "GET",
                    f"https://{self.host}/token?scope={scope}&service={self.host}",
                    {"Authorization": f"Basic {basic}"},
                )
            )
            if response.status != 200:
                raise ResolveError(
                    f"registry {self.host} refused a pull token for {self.path} (HTTP {response.status})"
                )
            self._token = str(json.loads(response.body).get("token", ""))
        return self._token

    def digest_of(self, reference: str) -> str | None:
        """The manifest digest for a tag or digest, or None when the registry does not have it."""
        response = self.transport(
            HttpRequest(
                "HEAD",
                f"https://{self.host}/v2/{self.path}/manifests/{reference}",
                {"Authorization": f"Bearer {self._bearer()}", "Accept": MANIFEST_TYPES},
            )
        )
        if response.status == 404:
            return None
        if response.status != 200:
            raise ResolveError(f"registry {self.host}: HEAD manifest {reference} -> HTTP {response.status}")
        digest = response.header("docker-content-digest")
        if not DIGEST.fullmatch(digest):
            raise ResolveError(f"registry {self.host} returned no usable digest for {reference}")
        return digest

    def config_labels(self, digest: str) -> dict[str, str]:
        """The image's OCI labels (from its config blob): revision, model digest, source."""
        bearer = {"Authorization": f"Bearer {self._bearer()}"}
        manifest = self.transport(
            HttpRequest(
                "GET",
                f"https://{self.host}/v2/{self.path}/manifests/{digest}",
                {**bearer, "Accept": MANIFEST_TYPES},
            )
        )
        if manifest.status != 200:
            raise ResolveError(f"registry {self.host}: manifest {digest} -> HTTP {manifest.status}")
        config = json.loads(manifest.body).get("config", {}).get("digest")
        if not isinstance(config, str) or not DIGEST.fullmatch(config):
            return {}  # an index, not an image manifest: no single config to read
        blob = self.transport(
            HttpRequest("GET", f"https://{self.host}/v2/{self.path}/blobs/{config}", bearer)
        )
        if blob.status != 200:
            raise ResolveError(f"registry {self.host}: config blob {config} -> HTTP {blob.status}")
        labels = (json.loads(blob.body).get("config") or {}).get("Labels") or {}
        return {str(k): str(v) for k, v in labels.items()}


REVISION_LABEL = "org.opencontainers.image.revision"
MODEL_LABEL = "mlops.model.digest"


def find_build_run(
    github: GitHub, commit: str, workflow: str = "ci.yml", artifact: str = "model"
) -> int | None:
    """The successful default-branch CI run of ``commit`` that still holds its model artifact."""
    try:
        runs = list(
            github.paginate(
                f"repos/{{repo}}/actions/workflows/{workflow}/runs",
                key="workflow_runs",
                limit=20,
                head_sha=commit,
                event="push",
                status="success",
            )
        )
    except GitHubError as exc:
        if exc.status == 404:  # no such workflow (renamed?): no run to take the model from
            return None
        raise
    for run in runs:
        names = {
            a.get("name")
            for a in github.paginate(f"repos/{{repo}}/actions/runs/{run['id']}/artifacts", key="artifacts")
            if not a.get("expired")
        }
        if artifact in names:
            return int(run["id"])
    return None


def expand_commit(github: GitHub, commit: str) -> str:
    try:
        return str(github.get(f"repos/{{repo}}/commits/{commit}")["sha"])
    except GitHubError as exc:
        raise ResolveError(f"commit {commit!r} is not in {github.repository} ({exc.status})") from exc


def resolve(
    text: str,
    image: str,
    github: GitHub | None = None,
    registry: Registry | None = None,
) -> Resolved:
    """Turn a digest, a reference or a commit into ``Resolved``; checks the registry when one is given."""
    value = text.strip()
    if not value:
        raise ResolveError("give an image digest (sha256:...), a full image@sha256 reference or a commit SHA")
    if "@" in value:
        name, _, digest = value.partition("@")
        if name != image:
            raise ResolveError(f"image {name!r} is not this repository's image {image!r}")
        value = digest
    if value.startswith("sha256:"):
        if not DIGEST.fullmatch(value):
            raise ResolveError(f"digest {value!r} must be sha256: followed by 64 lowercase hex digits")
        if registry is not None and registry.digest_of(value) is None:
            raise ResolveError(f"{image}@{value} does not exist in the registry")
        return Resolved(f"{image}@{value}", value, None)
    if not COMMIT.fullmatch(value):
        raise ResolveError(
            f"{value!r} is neither a digest (sha256:<64 hex>) nor a commit SHA (7-40 lowercase hex digits)"
        )
    if github is None or registry is None:
        raise ResolveError("resolving a commit needs the GitHub API and the registry (GITHUB_TOKEN)")
    commit = expand_commit(github, value) if len(value) < 40 else value
    found = registry.digest_of(tag_for(commit))
    if found is None:
        raise ResolveError(
            f"no image {image}:{tag_for(commit)}: CI builds images only for commits on the default branch"
        )
    return Resolved(f"{image}@{found}", found, commit)
