"""Delivery with GitHub App credentials instead of a token, over real HTTP: the bot signs its JWT,
buys an installation token from the GitHub stand-in, pushes the goal branch with it, opens the pull
request and merges it on the last approval. No installation token is left in logs, rows or posts."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.github import GitHubStandIn
from tests.conftest import init_repo, start_live

APP_ID = 31337
HOOK_SECRET = "hook-secret-for-app-tests"
BRIEF = "Add a CSV export of monthly invoices. Finance downloads it from the admin page."


def test_a_goal_is_delivered_and_merged_with_github_app_credentials(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    key_file = tmp_path / "app.pem"
    key_file.write_text(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hub = GitHubStandIn(tmp_path / "github").start()  # no personal token at all
    hub.add_app(APP_ID, public.decode(), owners=("acme",))
    hub.create_repo("acme", "billing", seed=init_repo(tmp_path / "seed"))
    live = start_live(
        tmp_path,
        hub.clone_url("acme", "billing"),  # type: ignore[arg-type]
        github_token=None,
        github_app_id=APP_ID,
        github_app_private_key_path=key_file,
        github_api_url=hub.api_url,
        github_webhook_secret=HOOK_SECRET,
        data_dir=tmp_path / "data",
    )
    hub.add_webhook(f"{live.bot.url}/github/events", HOOK_SECRET)
    try:
        assert live.settings.delivery == "pull_request"
        live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
        card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
        live.sb.wait_for(
            lambda: any("pull request opened" in m.text for m in live.sb.thread("C_DEV", card.ts)),
            timeout=30,
            what="the draft pull request's note in the thread",
        )
        remote = hub.repo("acme/billing")
        pr = remote.pulls[1]
        assert pr["draft"] and pr["head"] == "orch/G-0001" and pr["base"] == "main"
        bought = [r for r in hub.state.requests if r["path"].endswith("/access_tokens")]
        assert bought and any(r["path"] == "/repos/acme/billing/installation" for r in hub.state.requests)

        live.decide_all("U_APP1", card.ts)
        live.sb.wait_for(
            lambda: any("merged into `main`" in m.text for m in live.sb.thread("C_DEV", card.ts)),
            timeout=30,
            what="the merge note in the thread",
        )
        assert pr["merged"] and pr["state"] == "closed"
        log = subprocess.run(
            ["git", "-C", str(remote.path), "log", "--format=%B", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "Merge pull request #1 from acme/orch/G-0001" in log

        tokens = list(hub.state.installation_tokens)
        assert tokens and all(t.startswith("ghs_") for t in tokens)
        pattern = re.compile("|".join(re.escape(t) for t in tokens) + "|BEGIN RSA PRIVATE KEY")
        assert not pattern.search(caplog.text) and not pattern.search(log)
        db = Path(str(live.settings.database_url).removeprefix("sqlite:///"))
        for path in db.parent.glob(db.name + "*"):  # the database and its WAL
            assert not pattern.search(path.read_bytes().decode("latin-1"))
        for message in live.sb.messages("C_DEV"):
            assert not pattern.search(message.content)
            for reply in live.sb.thread("C_DEV", message.ts):
                assert not pattern.search(reply.content)
        for config in Path(str(live.settings.data_dir)).rglob("config"):
            assert not pattern.search(config.read_text(errors="replace"))
    finally:
        live.bot.stop()
        live.sb.stop()
        hub.stop()
