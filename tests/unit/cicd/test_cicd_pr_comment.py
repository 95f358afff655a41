"""The trusted workflow_run job: artifact unpacked with limits, bundle checked, plots published, one comment."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from cicd import pr_comment, report
from cicd.comments import BOT_LOGIN
from cicd.github import HttpResponse
from cicd.pr_comment import ArtifactError

HEAD = "a" * 40
PNG = report.PNG_MAGIC + b"\x00" * 64
SERVER = "https://github.example.test"


def _zip(members: dict[str, bytes], link: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _bundle_zip(pr: int = 7, head: str = HEAD) -> bytes:
    rep = report.Report(pr, head, "b" * 40, {"acc": 0.91}, {"acc": 0.9}, [report.Plot("ROC", "roc.png")])
    return _zip({"report.json": json.dumps(rep.to_json()).encode(), "roc.png": PNG})


@pytest.mark.parametrize(
    ("members", "link", "message"),
    [
        ({"../x": b"1"}, None, "is not a plain top-level file"),
        ({"dir/x": b"1"}, None, "is not a plain top-level file"),
        ({}, "link", "is not a plain top-level file"),
        ({f"f{i}": b"" for i in range(pr_comment.MAX_FILES + 1)}, None, "at most"),
    ],
)
def test_unsafe_archives_are_refused(tmp_path, members, link, message) -> None:
    with pytest.raises(ArtifactError, match=message):
        pr_comment.safe_extract(_zip(members, link), tmp_path)


def test_not_a_zip_is_refused(tmp_path) -> None:
    with pytest.raises(ArtifactError, match="not a zip"):
        pr_comment.safe_extract(b"plain text", tmp_path)


def _serve(
    api, archive: bytes, pr_head: str = HEAD, state: str = "open", comments: list | None = None
) -> dict:
    seen: dict = {"trees": [], "comments": []}
    api.on(
        "GET",
        r"/actions/runs/11/artifacts",
        {
            "artifacts": [
                {
                    "name": "pr-report",
                    "expired": False,
                    "archive_download_url": "https://api.example.test/zip/1",
                }
            ]
        },
    )
    api.on("GET", r"/zip/1", HttpResponse(302, {"location": "https://blob.example.test/a.zip"}, b""))
    api.on("GET", r"https://blob\.example\.test/a\.zip", HttpResponse(200, {}, archive))
    api.on("GET", r"/repos/acme/model/pulls/7", {"state": state, "head": {"sha": pr_head}})
    api.on(
        "POST",
        r"/git/blobs",
        lambda req, q, body: {"sha": "blob-" + str(len(base64.b64decode(body["content"])))},
    )
    api.on("POST", r"/git/trees", lambda req, q, body: seen["trees"].append(body) or {"sha": "tree1"})
    api.on("GET", r"/git/ref/heads/ci-plots", {"object": {"sha": "parent1"}})
    api.on(
        "POST", r"/git/commits", lambda req, q, body: seen.setdefault("commit", body) and {"sha": "commit1"}
    )
    api.on("PATCH", r"/git/refs/heads/ci-plots", {"object": {"sha": "commit1"}})
    api.on("GET", r"/issues/7/comments", comments or [])
    api.on(
        "POST",
        r"/issues/7/comments",
        lambda req, q, body: seen["comments"].append(body["body"]) or {"id": 1, "html_url": "u"},
    )
    api.on(
        "PATCH",
        r"/issues/comments/\d+",
        lambda req, q, body: seen["comments"].append(body["body"]) or {"id": 5, "html_url": "u"},
    )
    return seen


def test_end_to_end_posts_one_comment_with_published_images(api, github, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "s.md"))
    seen = _serve(api, _bundle_zip())
    assert pr_comment.run(github, 11, HEAD, SERVER) == 0
    assert seen["trees"][0]["tree"][0]["path"] == f"pr-7/{HEAD}/roc.png"
    assert seen["commit"]["parents"] == ["parent1"]
    (body,) = seen["comments"]
    assert body.startswith(report.MARKER)
    assert f"![ROC]({SERVER}/acme/model/raw/commit1/pr-7/{HEAD}/roc.png)" in body
    assert "▲ +0.0100" in body
    assert f"{SERVER}/acme/model/actions/runs/11" in body
    blob_request = api.sent("GET", r"blob\.example\.test")[0]
    assert "Authorization" not in blob_request.headers


def test_the_second_push_edits_the_same_comment(api, github, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "s.md"))
    old = [{"id": 5, "user": {"login": BOT_LOGIN}, "body": report.MARKER + "\nold"}]
    seen = _serve(api, _bundle_zip(), comments=old)
    pr_comment.run(github, 11, HEAD, SERVER, images=False)
    assert api.sent("PATCH", r"/issues/comments/5") and not api.sent("POST", r"/issues/7/comments")
    assert "![ROC]" not in seen["comments"][0] and "**ROC**" in seen["comments"][0]


def test_a_stale_run_does_not_overwrite_a_newer_report(api, github, capsys) -> None:
    _serve(api, _bundle_zip(), pr_head="f" * 40)
    assert pr_comment.run(github, 11, HEAD, SERVER) == 0
    assert "has moved on" in capsys.readouterr().out
    assert not api.sent("POST", r"/issues/7/comments") and not api.sent("POST", r"/git/blobs")


def test_a_bundle_for_another_commit_is_refused(api, github) -> None:
    _serve(api, _bundle_zip(head="e" * 40))
    with pytest.raises(report.BundleError, match="is not the commit"):
        pr_comment.run(github, 11, HEAD, SERVER)


def test_no_artifact_after_a_failed_run_is_a_notice(api, github, capsys) -> None:
    api.on("GET", r"/actions/runs/11/artifacts", {"artifacts": []})
    assert pr_comment.run(github, 11, HEAD, SERVER, conclusion="failure") == 0
    assert "::notice title=No model report::" in capsys.readouterr().out
    with pytest.raises(ArtifactError, match="no unexpired artifact"):
        pr_comment.run(github, 11, HEAD, SERVER, conclusion="success")
