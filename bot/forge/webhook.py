"""`POST /github/events`: GitHub's webhooks, verified like Slack's requests and turned into deliveries.

The body must carry `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` under
`GITHUB_WEBHOOK_SECRET`; anything else gets 401 and changes nothing. An event about a goal branch
(`orch/<goal-id>`: a commit status, a check run, a push, a pull request) records one `repo.deliver`
for that goal, keyed by the delivery id, so a redelivered event is a no-op. The delivery then does
what the new state allows: for example merge, once the check that branch protection wanted is green.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.services.unit import add_effect
from bot.sop.effect_kinds import Deliver
from storage.db import transaction
from storage.models import Goal

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024
_GOAL_BRANCH = re.compile(r"^(?:refs/heads/)?orch/(G-\d{4,})$")


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    expected = "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.strip())


def goal_ids(event: str, payload: dict[str, Any]) -> set[str]:
    """The goals an event is about, from the branch names it carries."""
    names: list[str] = []
    if event == "status":
        names += [str(b.get("name", "")) for b in payload.get("branches") or [] if isinstance(b, dict)]
    elif event in ("check_run", "check_suite"):
        run = payload.get(event) or {}
        suite = run if event == "check_suite" else run.get("check_suite") or {}
        names.append(str(suite.get("head_branch") or ""))
        names += [str((p.get("head") or {}).get("ref", "")) for p in run.get("pull_requests") or []]
    elif event == "push":
        names.append(str(payload.get("ref") or ""))
    elif event == "pull_request":
        names.append(str(((payload.get("pull_request") or {}).get("head") or {}).get("ref", "")))
    return {m.group(1) for name in names if (m := _GOAL_BRANCH.match(name))}


def github_routes(container: Any) -> list[Route]:
    settings = container.settings
    secret = settings.github_webhook_secret.get_secret_value() if settings.github_webhook_secret else ""

    async def events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "request too large"}, status_code=413)
        if not secret:
            return JSONResponse({"error": "GitHub webhooks are not configured here"}, status_code=404)
        if not signature_ok(secret, body, request.headers.get("x-hub-signature-256")):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "malformed request: body is not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "malformed request: not a JSON object"}, status_code=400)
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")[:100]
        goals = goal_ids(event, payload)
        if goals and container.delivery is not None:
            # In a thread: a database write waits for SQLite's lock, and the loop must not wait with it.
            key = delivery or hashlib.sha256(body).hexdigest()[:32]
            recorded = await asyncio.to_thread(_record, container, goals, key)
            if recorded:
                container.dispatcher.kick()
        return JSONResponse({"ok": True})

    return [Route("/github/events", events, methods=["POST"])]


def _record(container: Any, goals: set[str], delivery: str) -> int:
    recorded = 0
    now = container.clock()
    with transaction(container.engine) as session:
        for goal_id in sorted(goals):
            if session.get(Goal, goal_id) is None:
                continue
            add_effect(
                session,
                key=f"deliver:github:{delivery}:{goal_id}",
                goal_id=goal_id,
                now=now,
                payload=Deliver(),
            )
            recorded += 1
    return recorded
