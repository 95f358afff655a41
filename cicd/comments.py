"""One pull-request comment per marker: created the first time, edited in place afterwards.

A comment is ours when its body starts with the marker and the workflow's own identity wrote it
(``github-actions[bot]`` for ``GITHUB_TOKEN``), so a marker pasted by someone else is never edited.
"""

from __future__ import annotations

from dataclasses import dataclass

from cicd.github import GitHub

BOT_LOGIN = "github-actions[bot]"
MAX_BODY = 65_000  # GitHub rejects comment bodies over 65,536 characters


@dataclass(frozen=True)
class Upserted:
    comment_id: int
    created: bool
    url: str


def fit(body: str, limit: int = MAX_BODY) -> str:
    if len(body) <= limit:
        return body
    note = "\n\n… (truncated: the full text is in the workflow run's job summary)\n"
    return body[: limit - len(note)] + note


def find(github: GitHub, issue: int, marker: str, author: str = BOT_LOGIN) -> dict | None:
    for comment in github.paginate(f"repos/{{repo}}/issues/{issue}/comments"):
        if (comment.get("user") or {}).get("login") == author and (comment.get("body") or "").startswith(
            marker
        ):
            return comment
    return None


def upsert(github: GitHub, issue: int, marker: str, body: str, author: str = BOT_LOGIN) -> Upserted:
    """Create or update the one comment on ``issue`` whose body starts with ``marker``."""
    if not body.startswith(marker):
        body = f"{marker}\n{body}"
    body = fit(body)
    existing = find(github, issue, marker, author)
    if existing is None:
        made = github.request("POST", f"repos/{{repo}}/issues/{issue}/comments", body={"body": body})
        return Upserted(int(made["id"]), True, str(made.get("html_url", "")))
    if existing.get("body") == body:
        return Upserted(int(existing["id"]), False, str(existing.get("html_url", "")))
    updated = github.request("PATCH", f"repos/{{repo}}/issues/comments/{existing['id']}", body={"body": body})
    return Upserted(int(updated["id"]), False, str(updated.get("html_url", "")))
