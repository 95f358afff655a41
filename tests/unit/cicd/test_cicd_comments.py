"""One comment per marker: created once, edited in place, never someone else's."""

from __future__ import annotations

from cicd import comments
from cicd.comments import BOT_LOGIN

MARKER = "<!-- test:marker -->"


def _comment(cid: int, login: str, body: str) -> dict:
    return {"id": cid, "user": {"login": login}, "body": body, "html_url": f"https://example.test/c/{cid}"}


def test_creates_the_comment_when_none_exists(api, github) -> None:
    api.on("GET", r"/issues/5/comments", [_comment(1, "alice", "hello")])
    api.on(
        "POST",
        r"/issues/5/comments",
        lambda req, q, body: {"id": 9, **body, "html_url": "https://example.test/c/9"},
    )
    result = comments.upsert(github, 5, MARKER, f"{MARKER}\nreport v1")
    assert result.created and result.comment_id == 9
    assert len(api.sent("POST", r"/issues/5/comments")) == 1


def test_updates_the_bot_comment_in_place(api, github) -> None:
    api.on("GET", r"/issues/5/comments", [_comment(1, BOT_LOGIN, f"{MARKER}\nreport v1")])
    api.on("PATCH", r"/issues/comments/1", lambda req, q, body: {"id": 1, **body})
    result = comments.upsert(github, 5, MARKER, f"{MARKER}\nreport v2")
    assert not result.created and result.comment_id == 1
    assert api.sent("PATCH", r"/issues/comments/1")
    assert not api.sent("POST", r"/comments")


def test_never_edits_a_marker_comment_written_by_someone_else(api, github) -> None:
    api.on("GET", r"/issues/5/comments", [_comment(1, "mallory", f"{MARKER}\nfake report")])
    api.on("POST", r"/issues/5/comments", lambda req, q, body: {"id": 2, **body})
    result = comments.upsert(github, 5, MARKER, f"{MARKER}\nreal report")
    assert result.created and result.comment_id == 2
    assert not api.sent("PATCH", r"/comments/")


def test_same_body_is_not_written_again(api, github) -> None:
    api.on("GET", r"/issues/5/comments", [_comment(1, BOT_LOGIN, f"{MARKER}\nsame")])
    comments.upsert(github, 5, MARKER, f"{MARKER}\nsame")
    assert not api.sent("PATCH", r"/comments/") and not api.sent("POST", r"/comments")


def test_marker_is_prepended_and_long_bodies_are_cut() -> None:
    body = comments.fit("x" * 70_000)
    assert len(body) <= comments.MAX_BODY and "truncated" in body
