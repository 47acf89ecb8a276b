"""manifest.yml asks for exactly what the code uses: the Bolt listeners really registered, the
builders' buttons and modals, and every Web API method the code calls (with its scopes)."""

from __future__ import annotations

import ast
import inspect
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot import blocks as builders
from bot.app import build_container
from bot.manifest_facts import (
    BOT_EVENTS,
    MESSAGE_SHORTCUTS,
    SLASH_COMMANDS,
    WEB_API_METHODS_TO_SCOPES,
    required_scopes,
)
from bot.web.bolt import build_bolt_app
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((REPO / "manifest.yml").read_text())
REGISTRARS = ("command", "event", "shortcut", "action", "view", "options", "message")
# Bolt's helpers that call the Web API for a listener: `say` posts, `respond` uses a response_url.
BOLT_HELPERS = {"say": {"chat.postMessage"}, "respond": set()}


class Recorder:
    """Stands in for the Bolt app while the handlers register: notes what each listener is for."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: dict[str, list[Any]] = defaultdict(list)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.app, name)
        if name not in REGISTRARS:
            return target

        def register(constraints: Any, *args: Any, **kwargs: Any) -> Any:
            self.seen[name].append(constraints)
            return target(constraints, *args, **kwargs)

        return register


def registered(tmp_path: Path) -> tuple[dict[str, list[Any]], int]:
    settings = make_settings(
        tmp_path,
        tmp_path,
        slack_bot_token="xoxb-manifest-test",
        slack_signing_secret="manifest-test-secret",
        slack_api_url="http://127.0.0.1:9/api/",
    )
    container = build_container(settings)
    bare = build_bolt_app(container)
    app = type(bare)(client=container.slack, request_verification_enabled=False, signing_secret="x")
    recorder = Recorder(app)
    handlers.register_all(recorder, container)  # type: ignore[arg-type]
    # Every listener the app holds was seen registering: none slipped past the recorder.
    assert (
        len(app._async_listeners) == sum(len(v) for v in recorder.seen.values()) == len(bare._async_listeners)
    )
    return recorder.seen, len(app._async_listeners)


def test_the_listeners_registered_are_exactly_what_the_manifest_declares(tmp_path: Path) -> None:
    seen, count = registered(tmp_path)
    assert count >= 12

    commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert set(seen["command"]) == commands == set(SLASH_COMMANDS)

    shortcuts = {s["callback_id"] for s in MANIFEST["features"]["shortcuts"] if s["type"] == "message"}
    assert set(seen["shortcut"]) == shortcuts == set(MESSAGE_SHORTCUTS)

    # A manifest subscription like `message.im` is delivered as the event type `message`.
    subscribed = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert set(seen["event"]) == {e.split(".")[0] for e in subscribed}
    assert set(subscribed) == set(BOT_EVENTS)
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True  # buttons, modals, shortcuts


def test_every_button_and_modal_the_builders_make_has_a_listener_and_no_listener_is_orphaned(
    tmp_path: Path,
) -> None:
    seen, _ = registered(tmp_path)
    buttons = {
        builders.APPROVE_ACTION,
        builders.REQUEST_CHANGES_ACTION,
        builders.REJECT_ACTION,
        builders.REQUEST_ELEVATION_ACTION,
        builders.GRANT_MODE_ACTION,
        builders.DENY_MODE_ACTION,
    }
    modals = {builders.START_MODAL, builders.FEEDBACK_MODAL, builders.REJECT_MODAL, builders.ELEVATE_MODAL}
    made = set(re.findall(r"'action_id': '(orch_[a-z_]+)'", str(_sample_blocks())))
    assert made == buttons
    # Every button and modal the builders make reaches a listener…
    assert buttons <= set(seen["action"]) and modals <= set(seen["view"])
    # …and every listener waits for something the bot itself names (a typo would wait forever).
    named = set()
    for path in (REPO / "bot").rglob("*.py"):
        named |= set(re.findall(r"[\"']((?:orch|codex)_[a-z_]+)[\"']", path.read_text(encoding="utf-8")))
    waited = set(seen["action"]) | set(seen["view"])
    plain = {w for w in waited if isinstance(w, str)}
    assert plain <= named
    # A listener on a pattern (one listener for a family of buttons) must match a name the bot uses.
    assert all(any(pattern.match(name) for name in named) for pattern in waited - plain)


def _sample_blocks() -> list[Any]:
    from datetime import UTC, datetime

    from bot.sop.phases import GoalState, Mode, Phase, PhaseStatus

    sha = "a" * 64
    card = builders.GoalCardView(
        goal_id="G-0001",
        title="t",
        requester="U1X",
        phase=Phase.PRD,
        phase_label="PRD",
        status=PhaseStatus.AWAITING_APPROVAL,
        state=GoalState.ACTIVE,
        mode=Mode.READ_ONLY,
        offer_elevation=True,
    )
    artifact = builders.ArtifactView(
        goal_id="G-0001",
        phase=Phase.PRD,
        phase_label="PRD",
        version=1,
        sha256=sha,
        markdown="# PRD",
        summary="s",
        drafted_by="offline",
    )
    diff = builders.DiffView(
        goal_id="G-0001",
        task_id=1,
        task_title="t",
        version=1,
        sha256=sha,
        diff_text="diff --git a/x b/x\n+x\n",
    )
    mode = builders.ModeRequestView(
        request_id=1,
        goal_id="G-0001",
        mode=Mode.FULL_ACCESS,
        justification="j" * 30,
        requested_by="U1X",
        decided_at=datetime.now(UTC),
    )
    return [
        builders.build_goal_card(card),
        builders.build_artifact_message(artifact)[0],
        builders.build_diff_message(diff)[0],
        builders.build_mode_request_message(mode),
    ]


def _client_methods() -> dict[str, set[str]]:
    """AsyncWebClient's Python method names and the Web API methods each one calls, transitively."""
    direct: dict[str, tuple[set[str], set[str]]] = {}
    for name, fn in inspect.getmembers(AsyncWebClient, inspect.iscoroutinefunction):
        if name.startswith("_"):
            continue
        source = inspect.getsource(fn)
        direct[name] = (
            set(re.findall(r'api_call\(\s*"([a-zA-Z.]+)"', source)),
            set(re.findall(r"self\.([a-z]+_[A-Za-z_0-9]+)\(", source)) - {name},
        )

    def resolve(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        calls, inner = direct.get(name, (set(), set()))
        found = set(calls)
        for other in inner - seen:
            found |= resolve(other, seen | {name})
        return found

    return {name: resolve(name) for name in direct}


def web_api_methods_called() -> dict[str, set[str]]:
    """Every Web API method our code calls, with where: a scan of bot/ and handlers/."""
    methods = _client_methods()
    used: dict[str, set[str]] = defaultdict(set)
    for path in sorted([*(REPO / "bot").rglob("*.py"), *(REPO / "handlers").rglob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            for api in methods.get(name, set()) | BOLT_HELPERS.get(name, set()):
                used[api].add(str(path.relative_to(REPO)))
    return used


def test_the_manifest_scopes_cover_exactly_the_web_api_methods_the_code_calls() -> None:
    used = web_api_methods_called()
    assert {
        "chat.postMessage",
        "chat.update",
        "chat.getPermalink",
        "views.publish",
        "files.getUploadURLExternal",
    } <= set(used)
    assert set(used) == set(WEB_API_METHODS_TO_SCOPES), (
        f"called but not in manifest_facts: {sorted(set(used) - set(WEB_API_METHODS_TO_SCOPES))}; "
        f"in manifest_facts but never called: {sorted(set(WEB_API_METHODS_TO_SCOPES) - set(used))}"
    )
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == required_scopes()
