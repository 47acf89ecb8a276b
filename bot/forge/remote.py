"""Git commands that talk to a remote (clone, fetch, push), authenticated without leaking the token.

The token reaches git through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` as an
`http.extraHeader` for that one process: never in a URL (git would store it in `.git/config`), in
argv (visible in `ps` and in our error messages, which list the arguments), in a file or in a log.
Variables that make git trace its HTTP traffic are dropped for these commands.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

from bot.repo.git import Identity
from bot.repo.git import _git_env as git_env
from bot.repo.git import _run_git as run_git

_TRACE_PREFIXES = ("GIT_TRACE", "GIT_CURL_VERBOSE", "GIT_CONFIG_")


def auth_env(token: str | None, url: str) -> dict[str, str]:
    """The environment that authenticates git to an HTTPS remote (nothing for ssh:// or file://)."""
    if not token or urlsplit(url).scheme not in ("http", "https"):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


def run_remote(
    args: Iterable[str],
    *,
    cwd: Path,
    url: str,
    token: str | Callable[[], str] | None,
    identity: Identity | None = None,
    ok_codes: Iterable[int] = (0,),
) -> subprocess.CompletedProcess[str]:
    """Run `git <args>` in `cwd` with the remote's credentials in the environment only."""
    ident = identity or Identity()
    env = {k: v for k, v in git_env(ident).items() if not k.startswith(_TRACE_PREFIXES)}
    if callable(token) and urlsplit(url).scheme in ("http", "https"):
        token = token()  # a GitHub App's installation token, bought or cached
    env.update(auth_env(token if isinstance(token, str) else None, url))
    return run_git(list(args), cwd=cwd, env=env, identity=ident, ok_codes=ok_codes)


def repo_slug(url: str) -> str:
    """`owner/name` from a clone URL's path (`https://host/acme/billing.git` → `acme/billing`)."""
    path = urlsplit(url).path if "://" in url else url.rpartition(":")[2]
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 2:
        raise ValueError(f"the clone URL names no owner/repository: {url}")
    name = parts[-1].removesuffix(".git")
    return f"{parts[-2]}/{name}"
