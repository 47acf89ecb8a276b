"""The GitHub adapter against the GitHub stand-in over real HTTP, git over real smart HTTP, and every
answer and request checked against GitHub's published OpenAPI description."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.forge.github import GitHub
from bot.forge.port import ForgeError, MergeRefused
from bot.forge.remote import repo_slug, run_remote
from sandbox.github import GitHubStandIn
from tests.support import github_openapi as oas

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[GitHubStandIn]:
    server = GitHubStandIn(tmp_path / "github", token=TOKEN).start()
    server.create_repo("acme", "billing")
    try:
        yield server
    finally:
        server.stop()


def _push_branch(hub: GitHubStandIn, work: Path, branch: str, files: dict[str, str]) -> str:
    url = hub.clone_url("acme", "billing")
    if not work.exists():
        run_remote(["clone", "--quiet", "--", url, str(work)], cwd=work.parent, url=url, token=TOKEN)
    run_remote(["checkout", "-q", "-B", branch, "origin/main"], cwd=work, url=url, token=TOKEN)
    for name, text in files.items():
        (work / name).write_text(text)
    run_remote(["add", "--", *files], cwd=work, url=url, token=TOKEN)
    run_remote(["commit", "-q", "-m", f"change on {branch}"], cwd=work, url=url, token=TOKEN)
    run_remote(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], cwd=work, url=url, token=TOKEN)
    return run_remote(["rev-parse", "HEAD"], cwd=work, url=url, token=TOKEN).stdout.strip()


def test_a_draft_pull_request_is_opened_gated_marked_ready_and_really_merged(
    hub: GitHubStandIn, tmp_path: Path
) -> None:
    gh = GitHub(token=TOKEN, api_url=hub.api_url)
    repo = repo_slug(hub.clone_url("acme", "billing"))
    assert repo == "acme/billing" and gh.default_branch(repo) == "main"
    head = _push_branch(hub, tmp_path / "work", "orch/G-0001", {"feature.txt": "hello\n"})
    assert gh.branch_head(repo, "orch/G-0001") == head
    assert gh.branch_head(repo, "orch/nothing") is None

    pr = gh.open_pull_request(repo, head="orch/G-0001", base="main", title="G-0001: export", body="brief")
    assert pr.draft and pr.state == "open" and pr.head_sha == head and pr.url.endswith("/acme/billing/pull/1")
    assert gh.find_pull_request(repo, "orch/G-0001") == pr
    pr = gh.update_pull_request(repo, pr.number, body="brief\n\n| phase |")
    assert pr.body.endswith("| phase |")

    gh.set_status(
        repo, head, state="pending", context="orch/gates", description="2 gates open", target_url=None
    )
    assert gh.status_of(repo, head, "orch/gates") == "pending"

    with pytest.raises(MergeRefused, match="still a draft"):
        gh.merge(repo, pr.number, sha=head)
    gh.mark_ready(pr)
    hub.state.require_status("acme/billing", "main", "orch/gates")
    with pytest.raises(MergeRefused, match='"orch/gates" is pending'):
        gh.merge(repo, pr.number, sha=head)
    gh.set_status(
        repo, head, state="success", context="orch/gates", description="all approved", target_url=None
    )
    merged = gh.merge(repo, pr.number, sha=head)

    fresh = tmp_path / "fresh"
    url = hub.clone_url("acme", "billing")
    run_remote(["clone", "--quiet", "--", url, str(fresh)], cwd=tmp_path, url=url, token=TOKEN)
    assert (fresh / "feature.txt").read_text() == "hello\n"
    parents = subprocess.run(
        ["git", "-C", str(fresh), "log", "-1", "--format=%H %P"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert parents[0] == merged and parents[2] == head  # a merge commit: the branch's commits survive
    done = gh.find_pull_request(repo, "orch/G-0001")
    assert done is not None and done.merged and done.state == "closed"


def test_closing_and_bad_credentials(hub: GitHubStandIn, tmp_path: Path) -> None:
    gh = GitHub(token=TOKEN, api_url=hub.api_url)
    _push_branch(hub, tmp_path / "work", "orch/G-0002", {"x.txt": "x\n"})
    pr = gh.open_pull_request("acme/billing", head="orch/G-0002", base="main", title="t", body="b")
    gh.close("acme/billing", pr.number)
    closed = gh.find_pull_request("acme/billing", "orch/G-0002")
    assert closed is not None and closed.state == "closed" and not closed.merged
    with pytest.raises(ForgeError) as refused:
        GitHub(token="ghp_" + "Z" * 36, api_url=hub.api_url).default_branch("acme/billing")
    assert refused.value.status == 401
    url = hub.clone_url("acme", "billing")
    denied = run_remote(["ls-remote", "--", url], cwd=tmp_path, url=url, token=None, ok_codes=(0, 128))
    assert denied.returncode == 128  # git over HTTP needs the token too


def test_the_stand_in_and_the_adapter_speak_githubs_published_shapes(
    hub: GitHubStandIn, tmp_path: Path
) -> None:
    oas.document()  # skips when the description is not beside the checkout
    gh = GitHub(token=TOKEN, api_url=hub.api_url)
    head = _push_branch(hub, tmp_path / "work", "orch/G-0003", {"y.txt": "y\n"})
    pr = gh.open_pull_request("acme/billing", head="orch/G-0003", base="main", title="t", body="b")
    gh.set_status(
        "acme/billing",
        head,
        state="pending",
        context="orch/gates",
        description="d",
        target_url="https://slack.example/thread",
    )
    gh.create_branch("acme/billing", "orch/extra", head)
    hub.state.add_check_run(hub.repo("acme/billing"), name="tests", head_sha=head, conclusion="failure")
    gh.mark_ready(pr)
    gh.merge("acme/billing", pr.number, sha=head)

    client = httpx.Client(base_url=hub.api_url, headers={"Authorization": f"Bearer {TOKEN}"})
    answers = {
        ("repos/get", 200): client.get("/repos/acme/billing"),
        ("git/get-ref", 200): client.get("/repos/acme/billing/git/ref/heads/orch/G-0003"),
        ("pulls/list", 200): client.get("/repos/acme/billing/pulls", params={"state": "all"}),
        ("pulls/get", 200): client.get(f"/repos/acme/billing/pulls/{pr.number}"),
        ("repos/get-combined-status-for-ref", 200): client.get(f"/repos/acme/billing/commits/{head}/status"),
        ("repos/list-commit-statuses-for-ref", 200): client.get(
            f"/repos/acme/billing/commits/{head}/statuses"
        ),
        ("checks/list-for-ref", 200): client.get(f"/repos/acme/billing/commits/{head}/check-runs"),
        ("git/create-ref", 201): client.post(
            "/repos/acme/billing/git/refs", json={"ref": "refs/heads/more", "sha": head}
        ),
        ("repos/create-commit-status", 201): client.post(
            f"/repos/acme/billing/statuses/{head}", json={"state": "success", "context": "ci"}
        ),
        ("pulls/update", 200): client.patch(f"/repos/acme/billing/pulls/{pr.number}", json={"body": "new"}),
    }
    problems = {}
    for (operation, status), resp in answers.items():
        assert resp.status_code == status, (operation, resp.text)
        found = oas.response_errors(operation, status, resp.json())
        if found:
            problems[operation] = found[:3]
    assert problems == {}

    # What the adapter sent is what GitHub's description says these operations take.
    sent = {
        (r["method"], r["path"].split("/")[-1] if r["method"] != "PUT" else "merge"): r["json"]
        for r in hub.state.requests
        if r["json"] is not None
    }
    assert oas.request_errors("pulls/create", sent[("POST", "pulls")]) == []
    assert oas.request_errors("repos/create-commit-status", sent[("POST", head)]) == []
    assert oas.request_errors("git/create-ref", sent[("POST", "refs")]) == []
    assert oas.request_errors("pulls/merge", sent[("PUT", "merge")]) == []
    assert oas.request_errors("pulls/update", sent[("PATCH", str(pr.number))]) == []


def test_the_pull_request_page_shows_body_checks_and_state_and_plays_ci(
    hub: GitHubStandIn, tmp_path: Path
) -> None:
    gh = GitHub(token=TOKEN, api_url=hub.api_url)
    head = _push_branch(hub, tmp_path / "work", "orch/G-0004", {"z.txt": "z\n"})
    body = "### Brief\n> Export invoices\n\n| Phase | Version |\n|---|---|\n| PRD | v1 |\n"
    pr = gh.open_pull_request(
        "acme/billing", head="orch/G-0004", base="main", title="G-0004: export", body=body
    )
    web = httpx.Client(base_url=hub.base_url)
    page = web.get(pr.url.removeprefix(hub.base_url))
    assert page.status_code == 200 and "G-0004: export" in page.text and "draft" in page.text
    assert "<table>" in page.text and "Export invoices" in page.text
    assert "G-0004: export" in web.get("/acme/billing/pulls").text

    # A person plays CI from the page: the check run lands on the head, as CI's would.
    marked = web.post(
        f"/acme/billing/pull/{pr.number}/checks", data={"name": "tests", "conclusion": "failure"}
    )
    assert marked.status_code == 303
    assert [c.state for c in gh.checks_of("acme/billing", head) if c.name == "tests"] == ["failed"]
    assert "tests: <b>failure</b>" in web.get(f"/acme/billing/pull/{pr.number}").text

    gh.mark_ready(pr)
    gh.merge("acme/billing", pr.number, sha=head)
    merged = web.get(f"/acme/billing/pull/{pr.number}").text
    assert "merged" in merged and "Mark passed" not in merged


def test_the_stand_ins_webhooks_are_signed_and_shaped_as_github_publishes_them(hub: GitHubStandIn) -> None:
    oas.document()
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bot.forge.webhook import signature_ok
    from sandbox.server import ServerThread

    received: list[tuple[str, dict[str, object], bool]] = []
    both = threading.Event()

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        ok = signature_ok("hook-secret", body, request.headers.get("x-hub-signature-256"))
        received.append((request.headers["x-github-event"], json.loads(body), ok))
        if len(received) == 2:
            both.set()
        return JSONResponse({"ok": True})

    receiver = ServerThread(Starlette(routes=[Route("/hook", receive, methods=["POST"])])).start()
    try:
        hub.add_webhook(f"{receiver.base_url}/hook", "hook-secret")
        remote = hub.repo("acme/billing")
        sha = remote.branch_sha("main") or ""
        hub.state.add_status(remote, sha, {"state": "success", "context": "ci"})
        hub.state.add_check_run(remote, name="tests", head_sha=sha, conclusion="failure")
        assert both.wait(10), "the webhooks did not arrive"
    finally:
        receiver.stop()
    schemas = {"status": "webhook-status", "check_run": "webhook-check-run-completed"}
    for event, payload, signed in received:
        assert signed
        assert oas.errors({"$ref": f"#/components/schemas/{schemas[event]}"}, payload) == []
    assert received[0][1]["branches"] == [
        {
            "name": "main",
            "commit": {"sha": sha, "url": f"{hub.api_url}/repos/acme/billing/commits/{sha}"},
            "protected": False,
        }
    ]


def test_a_git_push_to_the_stand_in_sends_a_push_webhook_that_follows_the_description(
    hub: GitHubStandIn, tmp_path: Path
) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bot.forge.webhook import goal_ids, signature_ok
    from sandbox.server import ServerThread

    received: list[tuple[str, dict[str, object], bool]] = []
    arrived = threading.Event()

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        ok = signature_ok("hook-secret", body, request.headers.get("x-hub-signature-256"))
        received.append((request.headers["x-github-event"], json.loads(body), ok))
        arrived.set()
        return JSONResponse({"ok": True})

    receiver = ServerThread(Starlette(routes=[Route("/hook", receive, methods=["POST"])])).start()
    try:
        hub.add_webhook(f"{receiver.base_url}/hook", "hook-secret")
        sha = _push_branch(hub, tmp_path / "work", "orch/G-0007", {"NOTES.md": "a person's note\n"})
        assert arrived.wait(10), "the push webhook did not arrive"
    finally:
        receiver.stop()
    [(event, payload, signed)] = received
    assert event == "push" and signed
    assert payload["ref"] == "refs/heads/orch/G-0007" and payload["after"] == sha and payload["created"]
    assert oas.errors({"$ref": "#/components/schemas/webhook-push"}, payload) == []
    assert goal_ids("push", payload) == {"G-0007"}
