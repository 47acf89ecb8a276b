"""The pure parts of delivery: settings for a remote repository, names from clone URLs, the pull
request's description, and git credentials that stay out of argv."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import ConfigError, clone_dir_name, is_clone_url, load_settings
from bot.forge.body import ArtifactRow, pr_body, pr_title
from bot.forge.github import graphql_url
from bot.forge.remote import auth_env, repo_slug

TOKEN = "ghp_" + "x" * 36


@pytest.fixture(autouse=True)
def _no_github_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token or remote in the machine's environment must not decide these tests."""
    for name in (
        "GITHUB_TOKEN",
        "GITHUB_API_URL",
        "GITHUB_WEBHOOK_SECRET",
        "ORCH_DELIVERY",
        "ORCH_REPO_URL",
        "ORCH_REPO_BASE",
        "ORCH_DATA_DIR",
        "ORCH_IMPLEMENTER",
    ):
        monkeypatch.delenv(name, raising=False)


def test_a_clone_url_in_orch_repo_becomes_the_remote_and_the_bot_works_in_its_own_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_REPO", "https://github.com/acme/billing.git")
    monkeypatch.setenv("ORCH_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    assert settings.repo_url == "https://github.com/acme/billing.git"
    assert settings.repo == (tmp_path / "data" / "repos" / "acme+billing" / "clone").resolve()
    assert settings.delivery == "local"  # no token: nothing leaves the machine
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert load_settings().delivery == "pull_request"


def test_a_local_path_keeps_todays_local_delivery(tmp_path: Path) -> None:
    settings = load_settings(repo=tmp_path, github_token=TOKEN)
    assert settings.repo == tmp_path and settings.repo_url is None and settings.delivery == "local"


def test_pull_request_delivery_without_a_remote_or_token_is_refused_with_what_to_set() -> None:
    with pytest.raises(ConfigError, match="GITHUB_TOKEN"):
        load_settings(delivery="pull_request", repo_url="https://github.com/acme/billing.git")
    with pytest.raises(ConfigError, match="clone URL"):
        load_settings(delivery="pull_request", github_token=TOKEN)


@pytest.mark.parametrize(
    ("url", "slug", "folder"),
    [
        ("https://github.com/acme/billing.git", "acme/billing", "acme+billing"),
        ("ssh://git@github.com/acme/billing.git", "acme/billing", "acme+billing"),
        ("git@github.com:acme/billing.git", "acme/billing", "acme+billing"),
        ("file:///srv/git/acme/billing.git", "acme/billing", "acme+billing"),
        ("http://127.0.0.1:8080/acme/billing", "acme/billing", "acme+billing"),
    ],
)
def test_owner_and_name_come_from_the_clone_urls_path(url: str, slug: str, folder: str) -> None:
    assert is_clone_url(url)
    assert repo_slug(url) == slug
    assert clone_dir_name(url) == folder


def test_local_paths_are_not_clone_urls() -> None:
    assert not is_clone_url("/srv/repo")
    assert not is_clone_url("relative/repo")
    assert not is_clone_url("C:/src/repo")


def test_graphql_lives_beside_rest_on_github_com_and_under_api_on_enterprise_server() -> None:
    assert graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_url("https://ghe.example/api/v3/") == "https://ghe.example/api/graphql"


def test_the_token_reaches_git_as_a_header_in_the_environment_only_for_https() -> None:
    env = auth_env(TOKEN, "https://github.com/acme/billing.git")
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")
    assert TOKEN not in env["GIT_CONFIG_VALUE_0"]  # base64, and in no argv or URL either
    assert auth_env(TOKEN, "ssh://git@github.com/acme/billing.git") == {}
    assert auth_env(None, "https://github.com/acme/billing.git") == {}


def test_the_description_lists_each_approved_artifact_with_its_hash_and_links_the_thread() -> None:
    at = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)
    rows = [
        ArtifactRow("PRD", 2, "a" * 64, ["U_APP1", "U|APP2"], at),
        ArtifactRow("Implementation (task 1)", 1, "b" * 64, [], at),
    ]
    body = pr_body(
        goal_id="G-0007",
        brief="Export invoices.\n\nAs CSV.",
        thread_url="https://acme.slack.com/archives/C1/p1",
        rows=rows,
        state_line="2 approved; waiting on Implementation",
    )
    assert "> Export invoices.\n>\n> As CSV." in body
    assert "**Slack thread:** https://acme.slack.com/archives/C1/p1" in body
    assert "| PRD | v2 | `aaaaaaaaaaaa` | U_APP1, U\\|APP2 | 2026-12-06 22:30 UTC |" in body
    assert "| Implementation (task 1) | v1 | `bbbbbbbbbbbb` | — |" in body
    assert pr_title("G-0007", "Export\n invoices") == "G-0007: Export invoices"
    assert "No gate approved yet." in pr_body(
        goal_id="G-0007", brief="", thread_url=None, rows=[], state_line="0 approved"
    )


def test_a_webhook_signature_is_the_hmac_of_the_raw_body_under_the_secret() -> None:
    from bot.forge.webhook import signature_ok
    from sandbox.github.hooks import sign

    body = b'{"zen": "Keep it logically awesome."}'
    assert signature_ok("s3cret", body, sign("s3cret", body))
    assert not signature_ok("s3cret", body + b" ", sign("s3cret", body))
    assert not signature_ok("s3cret", body, sign("other", body))
    assert not signature_ok("s3cret", body, None)
    assert not signature_ok("", body, sign("", body))  # no secret configured: nothing is trusted


def test_webhooks_name_their_goals_by_the_goal_branches_they_carry() -> None:
    from bot.forge.webhook import goal_ids

    assert goal_ids("status", {"branches": [{"name": "orch/G-0001"}, {"name": "main"}]}) == {"G-0001"}
    run = {"check_suite": {"head_branch": "orch/G-0002"}, "pull_requests": [{"head": {"ref": "orch/G-0003"}}]}
    assert goal_ids("check_run", {"check_run": run}) == {"G-0002", "G-0003"}
    assert goal_ids("push", {"ref": "refs/heads/orch/G-0004"}) == {"G-0004"}
    assert goal_ids("pull_request", {"pull_request": {"head": {"ref": "feature/x"}}}) == set()
    assert goal_ids("status", {"branches": [{"name": "orch/G-1; rm -rf"}]}) == set()


def test_the_ci_line_counts_results_and_links_the_failing_checks() -> None:
    from bot.forge.body import ci_text
    from bot.forge.port import Check

    sha = "0123456789abcdef"
    assert ci_text([], sha) is None
    line = ci_text(
        [Check("lint", "passed"), Check("tests", "failed", "https://ci.example/1"), Check("e2e", "pending")],
        sha,
    )
    assert line == "❌ CI on `0123456`: 1 passed, 1 failed, 1 pending — failing: <https://ci.example/1|tests>"
    assert ci_text([Check("lint", "passed")], sha) == "✅ CI on `0123456`: 1 passed"
    assert ci_text([Check("lint", "pending")], sha) == "⏳ CI on `0123456`: 1 pending"


def test_pull_request_delivery_works_with_either_implementer() -> None:
    url = "https://github.com/acme/billing.git"
    assert load_settings(repo_url=url, github_token=TOKEN, implementer="manager").delivery == "pull_request"
    assert load_settings(repo_url=url, github_token=TOKEN, implementer="direct").delivery == "pull_request"


def test_a_clone_url_with_credentials_in_it_is_refused() -> None:
    with pytest.raises(ConfigError, match="GITHUB_TOKEN") as refused:
        load_settings(repo="https://x-access-token:" + TOKEN + "@github.com/acme/billing.git")
    assert TOKEN not in str(refused.value) and refused.value.__cause__ is None
    assert load_settings(repo="ssh://git@github.com/acme/billing.git").repo_url is not None


def test_each_thread_note_is_keyed_to_be_said_once() -> None:
    from bot.forge.outcome import Outcome, retry_offered, thread_notes

    opened = thread_notes("G-0001", Outcome(opened="https://gh/acme/b/pull/3", number=3), base="main")
    assert opened == [
        ("note:G-0001:pr-opened", "📬 Draft pull request opened: <https://gh/acme/b/pull/3|#3>")
    ]
    merged = thread_notes("G-0001", Outcome(number=3, merged="f" * 40), base="trunk")
    assert merged[0][1] == "🔀 Pull request #3 merged into `trunk` (`ffffffffffff`)."
    first = thread_notes(
        "G-0001", Outcome(number=3, refused='Required status check "ci" is expected.'), base="m"
    )
    again = thread_notes(
        "G-0001", Outcome(number=3, refused='Required status check "ci" is expected.'), base="m"
    )
    other = thread_notes("G-0001", Outcome(number=3, refused="Pull Request is not mergeable"), base="m")
    assert first == again and first[0][0] != other[0][0]  # once per reason
    assert other[0][1].startswith("⚠️ GitHub would not merge pull request #3: Pull Request is not mergeable. ")
    assert retry_offered(first[0][0]) and not retry_offered(opened[0][0])
    pushed = thread_notes("G-0001", Outcome(push_rejected="orch/G-0001", remote_head="abc"), base="m")
    assert pushed[0][0] == "note:G-0001:push-rejected:abc" and retry_offered(pushed[0][0])


def test_named_repositories_get_their_delivery_and_refuse_bad_names_and_shared_channels() -> None:
    url = "https://github.com/acme/billing.git"
    settings = load_settings(
        github_token=TOKEN,
        repos={
            "billing": {"url": url, "approvers": ["U1", "S0GROUP"], "channels": ["C1"]},
            "ops": {"url": "ssh://git@example.com/acme/ops.git", "delivery": "push"},
            "docs": {"url": "/srv/docs"},
        },
    )
    billing = settings.repos["billing"]
    assert billing.delivery == "pull_request" and billing.approver_groups == ["S0GROUP"]
    assert billing.approver_users == ["U1"] and settings.repo_for_channel("C1") == "billing"
    assert settings.repos["docs"].delivery == "local" and settings.repo_for_channel("C2") is None
    assert load_settings(repos={"ops": {"url": url}}).repos["ops"].delivery == "push"  # no token
    with pytest.raises(ConfigError, match="repository name"):
        load_settings(repos={"Billing!": {"url": url}})
    with pytest.raises(ConfigError, match="channel C1 is the default of both"):
        load_settings(repos={"a": {"url": url, "channels": ["C1"]}, "b": {"url": url, "channels": ["C1"]}})
    with pytest.raises(ConfigError, match="needs a clone URL"):
        load_settings(repos={"docs": {"url": "/srv/docs", "delivery": "push"}})
    with pytest.raises(ConfigError, match="GITHUB_TOKEN"):
        load_settings(repos={"b": {"url": "https://x-access-token:" + TOKEN + "@github.com/a/b.git"}})


def test_repository_approvers_count_on_that_repository_only() -> None:
    from bot.services.authority import ApproverDirectory

    directory = ApproverDirectory(
        users=frozenset({"U_GLOBAL"}),
        resolve_group=lambda group: ["U_GROUPED"] if group == "S_BILL" else [],
        repos={"billing": (frozenset({"U_BILL"}), ("S_BILL",))},
    )
    assert directory.may_decide("U_BILL", repo="billing") and directory.may_decide(
        "U_GROUPED", repo="billing"
    )
    assert not directory.may_decide("U_BILL") and not directory.may_decide("U_GROUPED", repo="ops")
    assert directory.may_decide("U_GLOBAL", repo="billing") and directory.may_decide("U_GLOBAL")
    assert directory.approvers(repo="billing") == {"U_GLOBAL", "U_BILL", "U_GROUPED"}
    assert not directory.may_decide("U_BILL", ["U_GLOBAL"], repo="billing")  # narrowed by the goal's choice
