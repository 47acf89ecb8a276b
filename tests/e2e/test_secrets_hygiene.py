"""Known fake secrets in the environment, a brief and a thread never reach the database, the repo,
`.runs/`, the logs or anything the bot posts, after two whole goals run to done."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.local.stack import BotThread
from bot.manifest_facts import GOAL_FROM_THREAD_SHORTCUT
from bot.observability.logging import JsonFormatter
from bot.redact import install_log_redaction
from sandbox import Sandbox
from tests.conftest import Live, make_settings
from tests.support.leaks import database_places, file_places, leaks, repo_places, sandbox_places

pytestmark = pytest.mark.slow

# Fake, but shaped like the real thing (the redaction knows them by shape, the grep by value).
BOT_TOKEN = "xoxb-218430958162-3710592836475-Qm7RtZ2vWp9LkX4cNs8dJh1F"
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
APP_TOKEN = (
    "xapp-1-A07LKQ2N4TB-7412589630258-9c3e1f7a5b2d4c6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e"
)
USER_TOKEN = "xoxp-218430958162-3710592836476-5193726481503-1f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"
OPENAI_ENV_KEY = "sk-proj-Zq4Xw8Ev2Rt6Yu0Io3Pa7Sd1Fg5Hj9Kl2Zx6Cv0Bn4Mq8Wn3Eb7Rc1Tv5Ym9"
BRIEF_OPENAI_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6lMn9oPq2r"
BRIEF_BOT_TOKEN = "xoxb-992837465012-1122334455667-ZmFrZVNlY3JldFRva2VuMDE"
GITHUB_TOKEN = "ghp_R4nd0mL00k1ngT0k3nV4lu3F0rT3st1ngXyZ9"
DB_PASSWORD = "Vq8!rT2#mK9zLp4w"
THREAD_PASSWORD = "Tr0ub4dor-3xyzzy-Qw9"
ENV = {"SLACK_APP_TOKEN": APP_TOKEN, "SLACK_USER_TOKEN": USER_TOKEN, "OPENAI_API_KEY": OPENAI_ENV_KEY}
SECRETS = [
    BOT_TOKEN,
    SIGNING_SECRET,
    APP_TOKEN,
    USER_TOKEN,
    OPENAI_ENV_KEY,
    BRIEF_OPENAI_KEY,
    BRIEF_BOT_TOKEN,
    GITHUB_TOKEN,
    DB_PASSWORD,
    THREAD_PASSWORD,
]

BRIEF = (
    "Add a CSV export of monthly invoices. Finance downloads it from the admin page.\n"
    f"Our OpenAI key is {BRIEF_OPENAI_KEY} and the old bot token was {BRIEF_BOT_TOKEN}.\n"
    f"CI pushes with {GITHUB_TOKEN}; the report database is postgres://finance:{DB_PASSWORD}@db.internal:5432/fin"
)
THREAD = [
    "We need a health endpoint for the payments service, answering 200 when the database is reachable.",
    f"Staging login for the checks: DB_PASSWORD={THREAD_PASSWORD} (and my user token is {USER_TOKEN})",
]


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every record of the process at DEBUG, through the product's JSON formatter and redaction."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved_level, saved_filters = root.level, list(root.filters)
    # SQL echo is a separate switch, off in production; the Web API client's own request dumps are
    # what the sandbox's call log already holds (searched below), and slow to redact at this volume.
    quiet = {"sqlalchemy": logging.WARNING, "slack_sdk": logging.INFO}
    saved = {name: logging.getLogger(name).level for name in quiet}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)
    install_log_redaction()
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        root.filters[:] = saved_filters
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def secret_live(tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    sb = Sandbox(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN).start()
    settings = make_settings(
        tmp_path,
        target_repo,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=sb.api_url,
        runs_dir=tmp_path / ".runs",
    )
    assert settings.openai_api_key is not None and settings.agent_backend == "offline"
    bot = BotThread(settings).start()
    sb.request_url = f"{bot.url}/slack/events"
    live = Live(sb=sb, bot=bot, settings=settings)
    try:
        yield live
    finally:
        bot.stop()
        sb.stop()


def test_no_known_secret_is_kept_anywhere_after_two_goals_run_to_done(
    secret_live: Live, captured_logs: io.StringIO, tmp_path: Path
) -> None:
    live, sb = secret_live, secret_live.sb
    sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = sb.wait_for_message("C_DEV", text_contains="G-0001")
    assert live.decide_all("U_APP1", card.ts) >= 5

    first = sb.post("U_REQ", "C_DEV", THREAD[0])
    sb.post("U_REQ", "C_DEV", THREAD[1], thread_ts=first.ts)
    sb.shortcut("U_APP2", "C_DEV", first.ts, GOAL_FROM_THREAD_SHORTCUT)
    sb.wait_for_message("C_DEV", thread_ts=first.ts, text_contains="G-0002")
    for _ in range(
        2
    ):  # the scaffold check and the PRD, drafted from the quoted thread, approved and committed
        gate = sb.wait_for_message("C_DEV", thread_ts=first.ts, button="Approve", timeout=30)
        sb.click("U_APP1", gate, "Approve")
        sb.wait_for(
            lambda g=gate: "Approve" not in sb.message("C_DEV", g.ts).buttons,
            timeout=30,
            what="the decision to replace the buttons",
        )
    sb.wait_for_message("C_DEV", thread_ts=first.ts, button="Approve", timeout=30)  # the task list is next
    sb.post("U_REQ", "C_DEV", "/orch status G-0002 please")  # an ordinary message in between
    sb.slash("U_REQ", "C_DEV", "status G-0001")
    sb.slash("U_REQ", "C_DEV", "list")
    live.bot.stop()

    places = [
        *sandbox_places(sb),
        *repo_places(live.repo),
        *file_places(tmp_path / ".runs", ".runs"),
        *database_places(tmp_path / "orch.db"),
        ("captured logs", captured_logs.getvalue()),
    ]
    assert leaks(SECRETS, places) == []

    # The goals were really built from those texts, with the secrets replaced rather than dropped.
    goals = {m.text for m in sb.messages("C_DEV")}
    assert any("CSV export of monthly invoices" in text for text in goals)
    stored = "\n".join(text for where, text in places if where.startswith("database"))
    assert "sk-proj-[REDACTED:" in stored and "health endpoint" in stored
    assert len(sb.state.calls) > 20 and (live.repo / "docs" / "PRD.md").exists()


def test_log_lines_from_a_real_flow_are_json_with_request_goal_and_actor(
    secret_live: Live, captured_logs: io.StringIO
) -> None:
    live, sb = secret_live, secret_live.sb
    sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = sb.wait_for_message("C_DEV", text_contains="G-0001")
    scaffold = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve")
    sb.click("U_APP1", scaffold, "Approve")
    sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", after=scaffold, timeout=30)
    live.bot.stop()

    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert lines, "nothing was logged"
    in_requests = [line for line in lines if "request_id" in line]
    assert {line.get("actor") for line in in_requests} >= {"U_REQ", "U_APP1"}
    assert len({line["request_id"] for line in in_requests}) >= 2  # one id per Slack request
    in_effects = [line for line in lines if line.get("goal_id") == "G-0001"]
    assert any("effect" in str(line["msg"]) for line in in_effects)
    assert leaks(SECRETS, [("captured logs", captured_logs.getvalue())]) == []


# What people type into modals, and the shapes that used to slip through: an AWS key pair pasted
# with no "aws" near it, GitHub, Slack and OpenAI tokens, a private key, a YAML `password: hunter2`
# and passwords holding `&`. Each is fake and appears nowhere but where this test types it.
PAIR_ID = "AKIAZ3QX7RT2WB9PLM4K"
PAIR_SECRET = "Kx7Qp2Wz9Rt4Lm8Vb3Nc6Hd1Fj5Gs0Ya2Ue7Io4T"
GH_PAT = "github_pat_11AQ7Z3XK0m8Rt2Wz9Lp4Vb6_Nc1Hd5Fj8Gs3Ya7Ue2Io6Kq0Tx4Mz9Rb2Wc5Ln8Pv1"
GH_APP = "ghs_Qm7Rt2Wz9Lp4Vb6Nc1Hd5Fj8Gs3Ya7Ue2Io6K"
SLACK_MODAL = "xoxb-773920148365-9182736450192-Hq4Wz8Xc2Vb6Nm0Qa3Sd7Fg1"
OPENAI_MODAL = "sk-proj-Jt5Yh2Gf8Ds4Aq1Zw7Xe3Rc9Vb6Nm0Lk4Pj8Oi2Uh6Ty1Gr5Fe3Dc7Sx9"
PEM_BODY = "MIIEpAIBAAKCAQEAv9Zq3Xw7Rt2Lm8Pk4Vb6Nc1Hd5Fj8Gs3Ya7Ue2Io6Kq0Tx4Mz9Rb2Wc5Ln8"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\nQm7Rt2Wz9Lp4Vb6Nc1Hd5Fj8Gs3Ya7Ue2Io6K\n-----END RSA PRIVATE KEY-----"
YAML_PASSWORD = "hunter2"
AMP_PASSWORD = "Pa55&w0rd9"
AMP_PASSWORD_2 = "abc&def7q"
MODAL_SECRETS = [
    PAIR_ID,
    PAIR_SECRET,
    GH_PAT,
    GH_APP,
    SLACK_MODAL,
    OPENAI_MODAL,
    PEM_BODY,
    f"password: {YAML_PASSWORD}",
    AMP_PASSWORD,
    AMP_PASSWORD_2,
]
BRIEF_YAML = (
    "Add a nightly export of the ledger to the finance bucket.\n"
    f"The config it reads:\n```\nledger:\n  user: finance\n  password: {YAML_PASSWORD}\n```\n"
    f"Sign-in for checks: https://ledger.example.com/login?user=bob&password={AMP_PASSWORD} and "
    f"the bucket pair is {PAIR_ID} {PAIR_SECRET}."
)
THREAD_YAML = [
    "We need a retry for the invoice mailer when the SMTP server is down.",
    f"The mailer config:\n```\nsmtp:\n  password: {YAML_PASSWORD}\n```\nand the relay login is password={AMP_PASSWORD_2}",
]
FEEDBACK = f"Use the upload pair {PAIR_ID} {PAIR_SECRET} and the deploy token {GH_PAT}; the key is\n{PEM}"
JUSTIFICATION = (
    f"The tests post to Slack with {SLACK_MODAL}, call the API with {OPENAI_MODAL} "
    f"and clone with {GH_APP}; password: {YAML_PASSWORD}"
)
# What Codex writes into the worktree in the MCP run: its own work product there, but it must not
# come back out through the MCP result, the run record, the database or the logs.
CODEX_PAIR_ID = "ASIAW4NB7QZ2XK9RT3LP"
CODEX_PAIR_SECRET = "Zr8Tq3Wm6Yp1Ks5Vn9Bx2Lc7Hf4Jd0Ga6Ue3Io8R"
REJECT_REASON = f"Wrong place: this needs {PAIR_ID} {PAIR_SECRET} and password={AMP_PASSWORD_2} first.\n{PEM}"


def _modal(live: Live, user: str, message: Any, button: str, view: str, values: dict[str, str]) -> None:
    live.sb.click(user, message, button)
    live.sb.wait_for_view(user, view)
    assert live.sb.submit_view(user, values).outcome == "closed"


def _mcp_codex_run(live: Live, tmp_path: Path, target_repo: Path) -> Any:
    """`orch_run_codex` over an in-memory MCP client: Codex writes a key pair into the worktree and
    runs `env`, with the provider key in Codex's own environment. None without the codex CLI."""
    import asyncio

    from mcp import Client

    from bot.agent_api.mcp_server import build_mcp_server
    from bot.app import build_container
    from bot.codex.binary import find_codex
    from sandbox.models import ResponsesServer, apply_patch, exec_command, message

    codex = find_codex()
    if codex is None:
        return None
    patch = (
        "*** Begin Patch\n*** Add File: upload.env\n"
        f"+UPLOAD_KEY_ID={CODEX_PAIR_ID}\n+UPLOAD_SECRET={CODEX_PAIR_SECRET}\n*** End Patch"
    )
    script = [
        [apply_patch(patch)],
        [exec_command("env > seen-env.txt; echo $ORCH_CODEX_API_KEY $OPENAI_API_KEY > key.txt")],
        [message("Wrote upload.env.")],
    ]
    with ResponsesServer(script) as model:
        settings = make_settings(
            tmp_path,
            target_repo,
            runs_dir=tmp_path / ".runs",
            codex_provider_url=model.base_url,
            codex_bin=str(codex),
        )
        assert settings.openai_api_key is not None  # the provider key Codex gets: OPENAI_ENV_KEY
        c = build_container(settings)

        async def call() -> Any:
            async with Client(build_mcp_server(c)) as client:
                return await client.call_tool(
                    "orch_run_codex", {"goal_id": "G-0001", "prompt": f"Store {GH_PAT} as the deploy token"}
                )

        try:
            result = asyncio.run(call())
        finally:
            c.engine.dispose()
    assert not result.is_error and result.structured_content["ok"], result
    return result


def test_modal_inputs_yaml_passwords_mcp_and_codex_leave_no_secret_anywhere(
    secret_live: Live, captured_logs: io.StringIO, tmp_path: Path, target_repo: Path
) -> None:
    live, sb = secret_live, secret_live.sb
    sb.slash("U_REQ", "C_DEV", f"start {BRIEF_YAML}")
    card = sb.wait_for_message("C_DEV", text_contains="G-0001")
    scaffold = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve")
    _modal(live, "U_APP1", scaffold, "Request changes", "orch_feedback_modal", {"feedback": FEEDBACK})
    v2 = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", text_contains="v2", timeout=30)
    _modal(
        live,
        "U_REQ",
        sb.message("C_DEV", card.ts),
        "Request elevated mode",
        "orch_elevate_modal",
        {"mode": "workspace-write", "justification": JUSTIFICATION},
    )
    ask = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Grant workspace-write", timeout=30)
    sb.click("U_APP1", ask, "Grant workspace-write")
    sb.wait_for(lambda: live.container.goals.get("G-0001").mode == "workspace-write", what="the grant")
    sb.click("U_APP2", v2, "Approve")
    sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", after=v2, timeout=30)

    first = sb.post("U_REQ", "C_DEV", THREAD_YAML[0])
    sb.post("U_REQ", "C_DEV", THREAD_YAML[1], thread_ts=first.ts)
    sb.shortcut("U_APP2", "C_DEV", first.ts, GOAL_FROM_THREAD_SHORTCUT)
    gate = sb.wait_for_message("C_DEV", thread_ts=first.ts, button="Approve", timeout=30)
    _modal(live, "U_APP1", gate, "Reject", "orch_reject_modal", {"reason": REJECT_REASON})
    sb.wait_for(lambda: live.container.goals.get("G-0002").state == "rejected", what="the rejection")

    mcp_result = _mcp_codex_run(live, tmp_path, target_repo)
    live.bot.stop()

    env = {
        **os.environ,
        "ORCH_DATABASE_URL": live.settings.database_url,
        "ORCH_REPO": str(live.repo),
    }
    exported = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "export"], capture_output=True, text=True, env=env, check=True
    ).stdout
    places = [
        *sandbox_places(sb),
        *repo_places(live.repo),
        *file_places(tmp_path / ".runs", ".runs"),
        *database_places(tmp_path / "orch.db"),
        ("captured logs", captured_logs.getvalue()),
        ("orch audit export", exported),
    ]
    if mcp_result is not None:
        places.append(("MCP orch_run_codex result", json.dumps(mcp_result.model_dump(mode="json"))))
        # The run worked in a scratch worktree that is gone now: what its commands wrote comes back
        # in the diff (tests/integration/test_codex_runner.py reads the commands' env unredacted).
        assert "seen-env.txt" in json.dumps(mcp_result.model_dump(mode="json"))
    worktree = live.repo / ".orch" / "worktrees"
    codex_wrote = [(w, t) for w, t in places if w.startswith(f"repo file {worktree.relative_to(live.repo)}")]
    found = leaks([*SECRETS, *MODAL_SECRETS], places)
    found += leaks([CODEX_PAIR_ID, CODEX_PAIR_SECRET], [p for p in places if p not in codex_wrote])
    assert found == [], "\n".join(found)

    # The texts really went through, with the secrets replaced rather than dropped.
    stored = "\n".join(text for where, text in places if where.startswith("database"))
    assert "nightly export of the ledger" in stored and "invoice mailer" in stored
    assert "Use the upload pair" in stored and "Wrong place: this needs" in stored
    assert "The tests post to Slack with" in exported
