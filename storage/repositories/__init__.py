"""Repositories: every query the bot runs, one module per aggregate.

Each repository is a thin object over the caller's `Session` (the caller owns the transaction):
goals (with the goal counter and delivery keys), artifacts, approvals, effects (the outbox), jobs
(with the recorded SLA reminders), the audit log's reads and the smaller records around a goal
(mode requests, Slack messages, reviews). Services, jobs and views call these instead of building
SQL, and the pure rules (`bot.sop`) never see them. New methods take keyword arguments and return
rows, plain values or small dataclasses.
"""

from storage.repositories.approvals import APPROVE, Approvals
from storage.repositories.artifacts import Artifacts
from storage.repositories.audit import AuditReads
from storage.repositories.effects import Effects
from storage.repositories.goals import Counters, Deliveries, Goals
from storage.repositories.jobs import Jobs, Reminders
from storage.repositories.mode_requests import ModeRequests
from storage.repositories.posted_messages import SlackMessages
from storage.repositories.pull_requests import PullRequests
from storage.repositories.raw import StateRows
from storage.repositories.reviews import ArtifactReviews
from storage.repositories.runs import AgentRuns

__all__ = [
    "APPROVE",
    "AgentRuns",
    "Approvals",
    "ArtifactReviews",
    "Artifacts",
    "AuditReads",
    "Counters",
    "Deliveries",
    "Effects",
    "Goals",
    "Jobs",
    "ModeRequests",
    "PullRequests",
    "Reminders",
    "SlackMessages",
    "StateRows",
]
