"""Scheduler wiring, the agent job queue and workers, leader election, SLA reminders and digests.

Entry point for the composition root: `install_jobs(container, agent_handlers)`; the runtime it returns lives at
`container.jobs` and is started and stopped by the server's lifespan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.deps import Deps as Container
    from bot.effects.port import WorkHandler
    from bot.jobs.runtime import JobsRuntime


def install_jobs(container: Container, agent_handlers: dict[str, WorkHandler]) -> JobsRuntime:
    from bot.jobs.runtime import install_jobs as install

    return install(container, agent_handlers)
