"""manifest.yml is a valid Slack app manifest and asks for exactly what the code uses."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from slack_sdk import WebClient

from bot.manifest_facts import (
    BOT_EVENTS,
    EVENT_SCOPES,
    MESSAGE_SHORTCUTS,
    SLASH_COMMANDS,
    WEB_API_METHODS_TO_SCOPES,
    missing_scopes,
    required_scopes,
)

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "manifest.yml"
VENDORED_SCHEMA_DIR = REPO / "tests" / "data" / "slack"
# The team keeps the upstream schema in a shared folder beside the checkout; the vendored copy wins so
# a clean clone validates on its own.
SHARED_SCHEMA_DIR = REPO.parent / "shared" / "slack"
ROOT_SCHEMA = "manifest.schema.json"
BOLT_ENDPOINT_PATH = "/slack/events"


def _schema_dir() -> Path:
    for candidate in (VENDORED_SCHEMA_DIR, SHARED_SCHEMA_DIR):
        if (candidate / ROOT_SCHEMA).is_file():
            return candidate
    raise FileNotFoundError(f"{ROOT_SCHEMA} is neither vendored in tests/data/slack nor shared")


def _external_refs(node: Any) -> Iterator[str]:
    """Every `$ref` that names another document (local `#/...` pointers are resolved in place)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            yield ref
        for value in node.values():
            yield from _external_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _external_refs(value)


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _validator() -> Draft7Validator:
    """A draft-07 validator whose remote `$ref`s resolve to the files next to the root schema.

    The registry has no retriever, so a reference without a local file fails loudly instead of
    reaching for the network.
    """
    schema_dir = _schema_dir()
    root = _load_json(schema_dir / ROOT_SCHEMA)
    resources = []
    for url in sorted(set(_external_refs(root))):
        local = schema_dir / Path(urlsplit(url).path).name
        resources.append((url, Resource.from_contents(_load_json(local), default_specification=DRAFT7)))
    registry: Registry[Any] = Registry().with_resources(resources)
    Draft7Validator.check_schema(root)
    return Draft7Validator(root, registry=registry)


def _leaf_messages(error: ValidationError) -> Iterator[str]:
    """`oneOf` failures only say "not valid under any"; the useful reasons sit in their context."""
    if not error.context:
        yield f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
    for child in error.context or ():
        yield from _leaf_messages(child)


def _errors(document: Any) -> list[str]:
    return [message for error in _validator().iter_errors(document) for message in _leaf_messages(error)]


def _manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


# Schema validity, and proof the validation bites.


def test_the_manifest_is_valid_against_slacks_published_schema() -> None:
    assert _errors(_manifest()) == []


def test_a_name_longer_than_35_characters_is_rejected() -> None:
    manifest = _manifest()
    manifest["display_information"]["name"] = "Codex Orchestrator For Every Team Ever"
    assert len(manifest["display_information"]["name"]) > 35

    assert any("display_information/name" in message for message in _errors(manifest))


def test_a_long_description_under_175_characters_is_rejected() -> None:
    manifest = _manifest()
    manifest["display_information"]["long_description"] = "Too short to tell anyone anything."

    assert any("long_description" in message for message in _errors(manifest))


def test_a_misspelt_feature_key_is_rejected() -> None:
    manifest = _manifest()
    manifest["features"]["slash_command"] = manifest["features"].pop("slash_commands")

    assert any("slash_command" in message for message in _errors(manifest))


def test_a_slash_command_without_its_slash_is_rejected() -> None:
    manifest = _manifest()
    manifest["features"]["slash_commands"][0]["command"] = "orch"

    assert any("slash_commands/0/command" in message for message in _errors(manifest))


def test_a_manifest_version_slack_does_not_publish_is_rejected() -> None:
    manifest = _manifest()
    manifest["_metadata"]["major_version"] = 3

    assert _errors(manifest) != []


def test_the_vendored_schema_holds_every_document_the_root_schema_references() -> None:
    root = _load_json(VENDORED_SCHEMA_DIR / ROOT_SCHEMA)
    referenced = {Path(urlsplit(url).path).name for url in _external_refs(root)}

    assert referenced == {"manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json"}
    for name in [*referenced, "manifest.schema.LICENSE"]:
        assert (VENDORED_SCHEMA_DIR / name).is_file(), name


def test_the_vendored_schema_matches_the_shared_copy_when_the_shared_folder_is_there() -> None:
    if not (SHARED_SCHEMA_DIR / ROOT_SCHEMA).is_file():
        pytest.skip("no shared schema folder beside this checkout")
    for shared in sorted(SHARED_SCHEMA_DIR.glob("manifest.schema*")):
        assert (VENDORED_SCHEMA_DIR / shared.name).read_bytes() == shared.read_bytes(), shared.name


# The manifest against what the code registers and calls.


def test_the_manifest_declares_exactly_the_slash_commands_the_code_handles() -> None:
    commands = [entry["command"] for entry in _manifest()["features"]["slash_commands"]]

    assert sorted(commands) == sorted(SLASH_COMMANDS)


def test_the_manifest_declares_exactly_the_message_shortcuts_the_code_handles() -> None:
    shortcuts = _manifest()["features"]["shortcuts"]

    assert sorted(entry["callback_id"] for entry in shortcuts) == sorted(MESSAGE_SHORTCUTS)
    assert {entry["type"] for entry in shortcuts} == {"message"}


def test_the_manifest_subscribes_to_exactly_the_bot_events_the_code_handles() -> None:
    events = _manifest()["settings"]["event_subscriptions"]["bot_events"]

    assert sorted(events) == sorted(BOT_EVENTS)


def test_the_manifest_requests_exactly_the_scopes_the_code_needs() -> None:
    scopes = _manifest()["oauth_config"]["scopes"]

    assert set(scopes) == {"bot"}, "the bot acts with its own token only; no user scopes"
    assert len(scopes["bot"]) == len(set(scopes["bot"])), "a scope is listed twice"
    assert set(scopes["bot"]) - required_scopes() == set(), "granted but unused"
    assert required_scopes() - set(scopes["bot"]) == set(), "used but not granted"


def test_every_request_url_is_the_one_https_bolt_endpoint() -> None:
    manifest = _manifest()
    urls = {
        *(entry["url"] for entry in manifest["features"]["slash_commands"]),
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
    }

    assert len(urls) == 1
    (url,) = urls
    assert urlsplit(url).scheme == "https"
    assert urlsplit(url).path == BOLT_ENDPOINT_PATH


def test_http_mode_is_on_and_the_manifest_says_how_to_switch_to_socket_mode() -> None:
    settings = _manifest()["settings"]
    text = MANIFEST.read_text(encoding="utf-8")

    assert settings["socket_mode_enabled"] is False
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    assert "socket_mode_enabled to true" in text
    assert "connections:write" in text


def test_the_app_home_has_a_home_tab_and_a_writable_messages_tab() -> None:
    features = _manifest()["features"]

    # views.publish answers `not_enabled` without the Home tab; SLA reminders arrive as DMs.
    assert features["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": False,
    }
    assert features["bot_user"] == {"display_name": "orch", "always_online": True}


# The facts module itself.


def test_every_web_api_method_named_is_one_slack_sdk_offers() -> None:
    unknown = [m for m in WEB_API_METHODS_TO_SCOPES if not hasattr(WebClient, m.replace(".", "_"))]

    assert unknown == []


def test_every_bot_event_has_its_scope_recorded() -> None:
    assert set(EVENT_SCOPES) == set(BOT_EVENTS)


def test_required_scopes_are_the_union_of_methods_events_and_commands() -> None:
    assert required_scopes() == {
        "commands",
        "chat:write",
        "im:write",
        "im:history",
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "usergroups:read",
        "files:write",
        "reactions:read",
    }


def test_required_scopes_drop_commands_when_there_is_no_command_or_shortcut() -> None:
    assert "commands" not in required_scopes(slash_commands=(), message_shortcuts=())
    assert "commands" in required_scopes(slash_commands=(), message_shortcuts=MESSAGE_SHORTCUTS)


def test_required_scopes_refuse_a_method_whose_scope_is_not_recorded() -> None:
    with pytest.raises(KeyError):
        required_scopes(methods=("chat.delete",))


def test_missing_scopes_names_what_an_installation_lacks() -> None:
    header = "commands, chat:write,im:write, im:history,app_mentions:read,channels:history,groups:history"

    assert missing_scopes(header.split(",")) == {
        "usergroups:read",
        "files:write",
        "reactions:read",
    }
    assert missing_scopes(required_scopes() | {"chat:write.public"}) == set()
