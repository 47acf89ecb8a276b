"""Read-only copies of what a test looks at: a message, a modal or Home tab.

They are deep copies taken under the lock, so the server thread can keep changing the workspace
while a test inspects them. `Sandbox.click` looks the message or view up again by id, so a click
always acts on the current version, as a person's would.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.blocks import button_labels, input_blocks, text_of
from sandbox.render import plain_text, view_text

if TYPE_CHECKING:
    from sandbox.delivery import Delivery


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    user: str | None
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    raw: dict[str, Any] = field(repr=False)
    ephemeral_to: str | None = None
    delivery: Delivery | None = field(
        default=None, repr=False
    )  # set by Sandbox.post when it emitted an event

    @classmethod
    def of(cls, channel: str, raw: dict[str, Any], ephemeral_to: str | None = None) -> Message:
        raw = copy.deepcopy(raw)
        return cls(
            channel=channel,
            ts=raw["ts"],
            text=raw.get("text", ""),
            user=raw.get("user"),
            blocks=raw.get("blocks") or [],
            thread_ts=raw.get("thread_ts"),
            raw=raw,
            ephemeral_to=ephemeral_to,
        )

    @property
    def buttons(self) -> list[str]:
        return button_labels(self.blocks)

    @property
    def is_reply(self) -> bool:
        return bool(self.thread_ts) and self.thread_ts != self.ts

    @property
    def reply_count(self) -> int:
        return int(self.raw.get("reply_count", 0))

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.raw.get("files") or [])

    @property
    def edited(self) -> bool:
        return "edited" in self.raw

    @property
    def content(self) -> str:
        """All readable text: the fallback text, every block's text, file names."""
        return plain_text(self.raw)


@dataclass
class View:
    id: str
    user: str
    type: str
    callback_id: str
    private_metadata: str
    title: str
    blocks: list[dict[str, Any]]
    hash: str
    errors: dict[str, str]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, user: str, raw: dict[str, Any], errors: dict[str, str] | None) -> View:
        raw = copy.deepcopy(raw)
        return cls(
            id=raw["id"],
            user=user,
            type=raw.get("type", ""),
            callback_id=raw.get("callback_id", ""),
            private_metadata=raw.get("private_metadata", ""),
            title=text_of(raw.get("title")),
            blocks=raw.get("blocks") or [],
            hash=raw.get("hash", ""),
            errors=dict(errors or {}),
            raw=raw,
        )

    @property
    def buttons(self) -> list[str]:
        return button_labels(self.blocks)

    @property
    def inputs(self) -> list[str]:
        """The labels of the input blocks, the names `submit_view(values=...)` accepts."""
        return [text_of(b.get("label")) for b in input_blocks(self.blocks)]

    def render(self) -> str:
        return view_text(self.raw, self.errors)
