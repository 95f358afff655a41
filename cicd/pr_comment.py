"""Post the model report of a pull request's CI run as ONE comment, updated in place on every push.

Runs in ``.github/workflows/pr-report.yml``, triggered by ``workflow_run`` when CI completes. That job
runs this repository's default-branch code with a token that may write comments; the pull request's code
never runs here. What the pull request's run produced (the ``pr-report`` artifact) is treated as data:

1. download the artifact of run ``--run-id`` and unpack it with strict limits (flat names, sizes);
2. validate ``report.json`` (``cicd.report.load_bundle``): numbers and plain names only, real PNGs;
3. check that the pull request it names really has ``--head-sha`` as its head (a fork cannot aim the
   comment at another pull request, and a stale run does not overwrite a newer report);
4. publish the plots as images on the ``ci-plots`` branch (one commit per report; links pin that commit);
5. render the Markdown here and create-or-update the comment that starts with ``cicd.report.MARKER``.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from cicd import comments, gha, report
from cicd.github import GitHub, GitHubError

ARTIFACT = "pr-report"
PLOTS_BRANCH = "ci-plots"
MAX_FILES = 40
MAX_TOTAL_BYTES = 40 * 1024 * 1024


class ArtifactError(RuntimeError):
    """The report artifact is missing or unsafe to unpack."""


def find_artifact(github: GitHub, run_id: int, name: str = ARTIFACT) -> dict:
    for artifact in github.paginate(f"repos/{{repo}}/actions/runs/{run_id}/artifacts", key="artifacts"):
        if artifact.get("name") == name and not artifact.get("expired"):
            return artifact
    raise ArtifactError(f"run {run_id} has no unexpired artifact named {name!r}")


def safe_extract(data: bytes, dest: Path) -> list[Path]:
    """Unpack a flat zip (no folders, links or oversized members) into ``dest``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ArtifactError(f"artifact is not a zip archive: {exc}") from exc
    members = archive.infolist()
    if len(members) > MAX_FILES:
        raise ArtifactError(f"artifact holds {len(members)} files; at most {MAX_FILES} are accepted")
    if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
        raise ArtifactError(f"artifact unpacks to more than {MAX_TOTAL_BYTES} bytes")
    written = []
    for member in members:
        name = member.filename
        is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
        if member.is_dir() or "/" in name or "\\" in name or name in ("", ".", "..") or is_link:
            raise ArtifactError(f"artifact member {name[:80]!r} is not a plain top-level file")
        target = dest / name
        with archive.open(member) as src:
            target.write_bytes(src.read(member.file_size + 1)[: member.file_size])
        written.append(target)
    return written


def check_pull_request(github: GitHub, number: int, head_sha: str) -> str | None:
    """None when pull request ``number`` is open with head ``head_sha``; otherwise why not to comment."""
    pull = github.get(f"repos/{{repo}}/pulls/{number}")
    if pull.get("state") != "open":
        return f"pull request #{number} is {pull.get('state')}; not commenting"
    actual = (pull.get("head") or {}).get("sha")
    if actual != head_sha:
        return f"pull request #{number} has moved on to {str(actual)[:7]}; a newer run will report"
    return None


def publish_plots(
    github: GitHub, rep: report.Report, bundle: Path, server_url: str, attempts: int = 3
) -> dict[str, str]:
    """Commit the PNGs to ``PLOTS_BRANCH`` and return ``{file: image URL}`` pinned to that commit."""
    if not rep.plots:
        return {}
    prefix = f"pr-{rep.pr_number}/{rep.head_sha}"
    tree = []
    for plot in rep.plots:
        content = base64.b64encode((bundle / plot.file).read_bytes()).decode()
        blob = github.request(
            "POST", "repos/{repo}/git/blobs", body={"content": content, "encoding": "base64"}
        )
        tree.append({"path": f"{prefix}/{plot.file}", "mode": "100644", "type": "blob", "sha": blob["sha"]})
    # Only this report's files in the tree: old images stay reachable through the commits that hold them.
    tree_sha = github.request("POST", "repos/{repo}/git/trees", body={"tree": tree})["sha"]
    for attempt in range(attempts):
        try:
            parent = github.get(f"repos/{{repo}}/git/ref/heads/{PLOTS_BRANCH}")["object"]["sha"]
        except GitHubError as exc:
            if exc.status != 404:
                raise
            parent = None
        commit = github.request(
            "POST",
            "repos/{repo}/git/commits",
            body={
                "message": f"plots for #{rep.pr_number} at {rep.head_sha[:7]}",
                "tree": tree_sha,
                "parents": [parent] if parent else [],
            },
        )["sha"]
        try:
            if parent:
                github.request(
                    "PATCH",
                    f"repos/{{repo}}/git/refs/heads/{PLOTS_BRANCH}",
                    body={"sha": commit, "force": False},
                )
            else:
                github.request(
                    "POST", "repos/{repo}/git/refs", body={"ref": f"refs/heads/{PLOTS_BRANCH}", "sha": commit}
                )
            break
        except GitHubError as exc:
            if exc.status not in (409, 422) or attempt == attempts - 1:
                raise  # 422: another report moved the branch first; read it again and retry
    base = f"{server_url.rstrip('/')}/{github.repository}/raw/{commit}/{prefix}"
    return {plot.file: f"{base}/{plot.file}" for plot in rep.plots}


def run(
    github: GitHub,
    run_id: int,
    head_sha: str,
    server_url: str,
    images: bool = True,
    conclusion: str = "success",
) -> int:
    try:
        artifact = find_artifact(github, run_id)
    except ArtifactError as exc:
        if conclusion == "success":
            raise
        gha.annotate("notice", f"{exc}; the CI run ended with {conclusion}", title="No model report")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp)
        safe_extract(github.download(artifact["archive_download_url"]), bundle)
        rep = report.load_bundle(bundle, expected_sha=head_sha)
        reason = check_pull_request(github, rep.pr_number, head_sha)
        if reason:
            gha.annotate("notice", reason, title="Report not posted")
            return 0
        urls = publish_plots(github, rep, bundle, server_url) if images else {}
    run_url = f"{server_url.rstrip('/')}/{github.repository}/actions/runs/{run_id}"
    body = report.render(rep, urls, run_url)
    result = comments.upsert(github, rep.pr_number, report.MARKER, body)
    verb = "created" if result.created else "updated"
    print(f"{verb} comment {result.url or result.comment_id} on #{rep.pr_number}")
    gha.add_summary(f"Model report {verb} on #{rep.pr_number}: {result.url}\n\n{body}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.pr_comment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-id", type=int, required=True, help="the CI run (github.event.workflow_run.id)")
    parser.add_argument(
        "--head-sha", required=True, help="its head commit (github.event.workflow_run.head_sha)"
    )
    parser.add_argument("--conclusion", default="success", help="github.event.workflow_run.conclusion")
    parser.add_argument("--no-images", action="store_true", help="list plots without publishing images")
    args = parser.parse_args(argv)
    github = GitHub.from_env()
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    try:
        return run(github, args.run_id, args.head_sha, server, not args.no_images, args.conclusion)
    except (ArtifactError, report.BundleError) as exc:
        gha.annotate("error", str(exc), title="Model report rejected")
        return 1


if __name__ == "__main__":
    sys.exit(main())
