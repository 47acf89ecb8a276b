"""Who is at the keyboard: the CLI is an operator's tool, and `--as` is a claim, not a login.

Anyone who can run `orch` can read the database and the signing secret anyway, so the CLI does not
pretend to authenticate the Slack identity given with `--as`. What it can do is say who really ran
the command: every audit entry a CLI command makes carries the operating-system user next to the
claimed identity.
"""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services.unit import Actor


def os_user() -> str:
    """The operating-system account running this process (its uid when it has no name)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (a bare container)
        return f"uid:{os.getuid()}"


def cli_actor(claimed: str) -> Actor:
    """The actor for a CLI command: the identity claimed with `--as`, and who ran the command."""
    from bot.services.unit import Actor  # the CLI keeps its start-up imports light

    return Actor(claimed, os_user=os_user())
