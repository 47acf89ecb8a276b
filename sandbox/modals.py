"""Modals and Home tabs: the per-user view stack Slack keeps, and the hash that guards updates.

All functions expect the caller to hold `state.lock`; they call `state.changed()` themselves.
"""

from __future__ import annotations

from typing import Any

from sandbox.blocks import with_ids
from sandbox.state import APP_ID, BOT_ID, TEAM_ID, ApiError, State

MAX_STACK = 3  # Slack: a modal can have at most two views pushed on top of the first.


def _build(
    state: State, view: dict[str, Any], *, view_id: str, root_id: str, previous: str | None
) -> dict[str, Any]:
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": view["type"],
        "blocks": with_ids(view.get("blocks", []), lambda: state.new_id("sb")),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{int(state.clock())}.{state.new_id('')}",
        "title": view.get("title"),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "previous_view_id": previous,
        "root_view_id": root_id,
        "external_id": view.get("external_id", ""),
        "app_id": APP_ID,
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    }


def _check_external_id(state: State, view: dict[str, Any], keep: str | None = None) -> None:
    external_id = view.get("external_id")
    if external_id and any(v["external_id"] == external_id and v["id"] != keep for _, v in all_views(state)):
        raise ApiError("duplicate_external_id")


def all_views(state: State) -> list[tuple[str, dict[str, Any]]]:
    """(user, view) for every open modal and published Home tab."""
    found = [(user, v) for user, stack in state.modals.items() for v in stack]
    return found + list(state.homes.items())


def find(
    state: State, view_id: str | None = None, external_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    for user, view in all_views(state):
        if (view_id and view["id"] == view_id) or (external_id and view["external_id"] == external_id):
            return user, view
    raise ApiError("not_found")


def open_modal(state: State, user: str, view: dict[str, Any]) -> dict[str, Any]:
    _check_external_id(state, view)
    view_id = state.new_id("V")
    built = _build(state, view, view_id=view_id, root_id=view_id, previous=None)
    # A new modal replaces whatever stack the person had open.
    for old in state.modals.get(user, []):
        state.view_errors.pop(old["id"], None)
    state.modals[user] = [built]
    state.changed()
    return built


def push_modal(state: State, user: str, view: dict[str, Any]) -> dict[str, Any]:
    stack = state.modals.get(user) or []
    if not stack:
        raise ApiError("not_found")
    if len(stack) >= MAX_STACK:
        raise ApiError("push_limit_reached")
    _check_external_id(state, view)
    built = _build(state, view, view_id=state.new_id("V"), root_id=stack[0]["id"], previous=stack[-1]["id"])
    stack.append(built)
    state.changed()
    return built


def update(
    state: State,
    view: dict[str, Any],
    *,
    view_id: str | None = None,
    external_id: str | None = None,
    expected_hash: str | None = None,
) -> dict[str, Any]:
    user, current = find(state, view_id, external_id)
    if expected_hash and expected_hash != current["hash"]:
        raise ApiError("hash_conflict")
    _check_external_id(state, view, keep=current["id"])
    built = _build(
        state,
        view,
        view_id=current["id"],
        root_id=current["root_view_id"],
        previous=current["previous_view_id"],
    )
    if not view.get("external_id"):
        built["external_id"] = current["external_id"]
    if current["type"] == "home":
        state.homes[user] = built
    else:
        stack = state.modals[user]
        stack[stack.index(current)] = built
    state.view_errors.pop(current["id"], None)
    state.changed()
    return built


def close(state: State, user: str, view_id: str) -> list[dict[str, Any]]:
    """Close one modal view and any pushed above it (a submission without response_action)."""
    stack = state.modals.get(user) or []
    index = next((i for i, v in enumerate(stack) if v["id"] == view_id), None)
    if index is None:
        return []
    closed = stack[index:]
    del stack[index:]
    for view in closed:
        state.view_errors.pop(view["id"], None)
    if not stack:
        state.modals.pop(user, None)
    state.changed()
    return closed


def close_top(state: State, user: str) -> dict[str, Any] | None:
    stack = state.modals.get(user) or []
    if not stack:
        return None
    closed = stack.pop()
    state.view_errors.pop(closed["id"], None)
    if not stack:
        state.modals.pop(user, None)
    state.changed()
    return closed


def clear(state: State, user: str) -> list[dict[str, Any]]:
    closed = state.modals.pop(user, [])
    for view in closed:
        state.view_errors.pop(view["id"], None)
    state.changed()
    return closed


def publish_home(
    state: State, user: str, view: dict[str, Any], expected_hash: str | None = None
) -> dict[str, Any]:
    current = state.homes.get(user)
    if current is not None and expected_hash and expected_hash != current["hash"]:
        raise ApiError("hash_conflict")
    view_id = current["id"] if current else state.new_id("V")
    built = _build(state, view, view_id=view_id, root_id=view_id, previous=None)
    state.homes[user] = built
    state.changed()
    return built
