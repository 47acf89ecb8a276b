"""A GitHub stand-in: REST API, GraphQL's ready-for-review mutation and git over smart HTTP."""

from __future__ import annotations

from pathlib import Path

from sandbox.github.app import GitHubApp
from sandbox.github.state import GitHubState, Repo
from sandbox.server import ServerThread

__all__ = ["GitHubStandIn", "Repo"]


class GitHubStandIn:
    """Start with `.start()`; `api_url` is GITHUB_API_URL, `clone_url(owner, name)` a clone URL."""

    def __init__(self, root: Path, *, token: str | None = None, login: str = "orch-bot") -> None:
        self.state = GitHubState(root=Path(root), tokens={token} if token else set(), login=login)
        self.app = GitHubApp(self.state)
        self._server = ServerThread(self.app.asgi())

    def start(self) -> GitHubStandIn:
        self._server.start()
        self.app.base_url = self._server.base_url
        return self

    def stop(self) -> None:
        self.app.hooks.stop()
        self._server.stop()

    def add_app(self, app_id: int, public_key_pem: str, *, owners: tuple[str, ...] = ()) -> None:
        """Register a GitHub App (its JWTs verify with `public_key_pem`), installed on `owners`."""
        self.state.apps[app_id] = public_key_pem
        for owner in owners:
            self.state.installations.setdefault(owner, self.state.next_id())

    def add_webhook(self, url: str, secret: str) -> None:
        """Deliver `status` and `check_run` events to `url`, signed with `secret`."""
        self.app.hooks.add(url, secret)

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def clone_url(self, owner: str, name: str) -> str:
        return f"{self.base_url}/{owner}/{name}.git"

    def create_repo(
        self, owner: str, name: str, *, seed: Path | None = None, default_branch: str = "main"
    ) -> Repo:
        return self.state.create_repo(owner, name, seed=seed, default_branch=default_branch)

    def repo(self, full_name: str) -> Repo:
        return self.state.repos[full_name]
