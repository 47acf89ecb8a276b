"""What the code asks of Slack: commands, shortcuts, events, Web API methods and the scopes they need.

The handlers register their listeners from these constants, and a unit test holds `manifest.yml` to
them in both directions. So a listener added without a manifest entry (Slack never delivers it), or a
scope granted that no code uses (a needless permission an admin has to approve), fails the tests
instead of surfacing at install time.

Pure data and pure functions: no I/O, nothing to build at import time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType

ORCH_COMMAND = "/orch"
GOAL_FROM_THREAD_SHORTCUT = "orch_goal_from_thread"

SLASH_COMMANDS: tuple[str, ...] = (ORCH_COMMAND,)
MESSAGE_SHORTCUTS: tuple[str, ...] = (GOAL_FROM_THREAD_SHORTCUT,)
BOT_EVENTS: tuple[str, ...] = (
    "app_mention",
    "app_home_opened",
    "message.im",
    # A change to an approver group drops it from the approver cache at once.
    "subteam_members_changed",
    "subteam_updated",
    "reaction_added",  # `:x:` on a build's status message stops it
    # A reply in a goal's thread while its build runs steers Codex (requester and approvers only).
    "message.channels",
    "message.groups",
)

_NONE: frozenset[str] = frozenset()

# Each Web API method the bot calls, with the bot scopes Slack checks for it. An empty set means the
# method needs no scope (Slack's method metadata lists `"scopes": {}` for it).
WEB_API_METHODS_TO_SCOPES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "chat.postMessage": frozenset({"chat:write"}),
        "chat.update": frozenset({"chat:write"}),
        # A running build's live log, where the workspace supports streaming messages.
        "chat.startStream": frozenset({"chat:write"}),
        "chat.appendStream": frozenset({"chat:write"}),
        "chat.stopStream": frozenset({"chat:write"}),
        "chat.postEphemeral": frozenset({"chat:write"}),
        "chat.getPermalink": _NONE,
        # Threads live in public and private channels; each kind has its own history scope.
        "conversations.replies": frozenset({"channels:history", "groups:history"}),
        # Finding a message posted before a crash, when the goal has no thread yet.
        "conversations.history": frozenset({"channels:history", "groups:history"}),
        # Opening the DM that carries SLA reminders; posting into it is then plain chat:write.
        "conversations.open": frozenset({"im:write"}),
        "views.open": _NONE,
        "views.publish": _NONE,
        "usergroups.users.list": frozenset({"usergroups:read"}),
        "files.getUploadURLExternal": frozenset({"files:write"}),
        "files.completeUploadExternal": frozenset({"files:write"}),
        "auth.test": _NONE,
    }
)

# The scope Slack requires before it delivers each bot event.
EVENT_SCOPES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "app_mention": frozenset({"app_mentions:read"}),
        "message.im": frozenset({"im:history"}),
        "app_home_opened": _NONE,
        "subteam_members_changed": frozenset({"usergroups:read"}),
        "subteam_updated": frozenset({"usergroups:read"}),
        "reaction_added": frozenset({"reactions:read"}),  # `:x:` on a build's status message stops it
        "message.channels": frozenset({"channels:history"}),  # thread replies steer a running build
        "message.groups": frozenset({"groups:history"}),
    }
)


def required_scopes(
    *,
    slash_commands: Collection[str] = SLASH_COMMANDS,
    message_shortcuts: Collection[str] = MESSAGE_SHORTCUTS,
    bot_events: Iterable[str] = BOT_EVENTS,
    methods: Iterable[str] = tuple(WEB_API_METHODS_TO_SCOPES),
) -> set[str]:
    """The bot scopes the code needs: exactly what `manifest.yml` should request.

    Called without arguments it answers for this bot; the arguments let a caller ask about a subset.
    An event or method without a recorded scope raises KeyError rather than being guessed at.
    """
    scopes: set[str] = set()
    for method in methods:
        scopes |= WEB_API_METHODS_TO_SCOPES[method]
    for event in bot_events:
        scopes |= EVENT_SCOPES[event]
    # Slash commands and shortcuts are both delivered only to apps holding `commands`.
    if slash_commands or message_shortcuts:
        scopes.add("commands")
    return scopes


def missing_scopes(granted: Iterable[str]) -> set[str]:
    """Required scopes absent from `granted`.

    `granted` is what the installation actually holds, e.g. the comma-separated `x-oauth-scopes`
    header of any Web API response split on commas; a non-empty answer means the app must be
    reinstalled from the current manifest.
    """
    return required_scopes() - {scope.strip() for scope in granted if scope.strip()}
