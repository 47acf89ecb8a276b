"""The pull requests a goal's branch was delivered as, and their CI state."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import PullRequestLink


class PullRequests:
    """The goals' pull requests on the Git host, as delivery last saw them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self) -> list[PullRequestLink]:
        return list(self.session.exec(select(PullRequestLink).where(PullRequestLink.state == "open")).all())
