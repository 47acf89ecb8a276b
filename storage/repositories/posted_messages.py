"""The Slack messages the bot posted, by what they show."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import SlackMessage


class SlackMessages:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, *, kind: str, channel: str, ts: str) -> SlackMessage | None:
        return self.session.exec(
            select(SlackMessage).where(
                SlackMessage.kind == kind, SlackMessage.channel == channel, SlackMessage.ts == ts
            )
        ).first()
