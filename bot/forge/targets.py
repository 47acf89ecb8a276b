"""The repositories goals are delivered to: the deployment's one (`ORCH_REPO`) and the named ones of
`[repos.<name>]`, each with its own clones under this process's data directory and its own host.

A goal records its repository's name (None: the deployment's one); every piece of delivery asks the
goal's `Target` where its work happens (`root`) and where it goes (`clones`, `forge`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.forge.clones import Clones
from bot.forge.port import Forge


@dataclass
class Target:
    name: str | None  # None: the deployment's ORCH_REPO
    mode: str  # pull_request | push | local
    clones: Clones | None = None  # a remote repository: this process's clones of it
    forge: Forge | None = None  # pull_request: the host's API
    slug: str = ""  # owner/name on the host
    path: Path | None = None  # where a `local` goal's work happens (None: the settings' repository)

    @property
    def delivered(self) -> bool:
        """Goal branches are pushed (pull_request or push), not kept on this disk."""
        return self.clones is not None and self.mode != "local"

    def root(self, goal_id: str) -> Path | None:
        """The repository the goal's work happens in; None: the settings' repository as it is."""
        if self.delivered:
            assert self.clones is not None
            return self.clones.goal_clone(goal_id)
        return self.path


def build_targets(settings: Any) -> dict[str | None, Target]:
    """Every repository of the settings, with its clones made or fetched (remote ones)."""
    from bot.forge.github import GitHub
    from bot.forge.remote import repo_slug
    from bot.repo.git import Identity

    token = settings.github_token.get_secret_value() if settings.github_token else None
    apps: dict[str, Any] = {}  # API URL → that host's AppTokens (a GitHub App is set)

    def app_source(api_url: str, slug: str) -> Any:
        from bot.forge.app_auth import AppTokens

        key = api_url.rstrip("/")
        if key not in apps:
            apps[key] = AppTokens(
                app_id=settings.github_app_id,
                private_key=settings.github_app_private_key.get_secret_value(),
                api_url=key,
            )
        return apps[key].source(slug)

    use_app = settings.github_app_id is not None and settings.github_app_private_key is not None
    identity = Identity(name=settings.git_name, email=settings.git_email)
    targets: dict[str | None, Target] = {}

    def remote(name: str | None, url: str, base: str | None, mode: str, api_url: str, root: Path) -> Target:
        slug = repo_slug(url)
        # A GitHub App (when set) wins over GITHUB_TOKEN: its installation token of this repository.
        source: Any = app_source(api_url, slug) if use_app else token
        clones = Clones(url=url, root=root, token=source, identity=identity, base=base)
        forge = GitHub(token=source, api_url=api_url) if mode == "pull_request" and source else None
        target = Target(name=name, mode=mode, clones=clones, forge=forge, slug=slug)
        if mode == "local":  # commits stay in this process's clone
            target.path = clones.process_clone(root / "clone") if name is not None else None
        return target

    if settings.repo_url:
        target = remote(
            None,
            settings.repo_url,
            settings.repo_base,
            str(settings.delivery),
            settings.github_api_url,
            Path(settings.repo).parent,
        )
        assert target.clones is not None
        target.clones.process_clone(Path(settings.repo))  # what the deployment's default repository reads
        targets[None] = target
    else:
        targets[None] = Target(name=None, mode="local")
    for name, repo in settings.repos.items():
        if repo.is_remote:
            root = settings.data_path / "repos" / name
            api = repo.api_url or settings.github_api_url
            targets[name] = remote(name, repo.url, repo.base, str(repo.delivery), api, root.resolve())
        else:
            targets[name] = Target(name=name, mode="local", path=Path(repo.url).expanduser().resolve())
    return targets
