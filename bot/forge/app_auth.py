"""GitHub App authentication: the App's key signs a short JWT, the JWT buys an installation access
token per repository, and that token (`ghs_…`) is what REST calls and git over HTTPS carry.

Tokens are kept until shortly before GitHub's `expires_at` (one hour), then bought again; the clock
is injected so the expiry can be tested. Neither the key, the JWT nor a token is ever logged: an
error carries GitHub's message only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import jwt

from bot.forge.port import ForgeError

API_VERSION = "2022-11-28"
JWT_BACKDATE = 60  # seconds: GitHub's clock may run behind ours
JWT_LIFETIME = 9 * 60  # GitHub refuses more than 10 minutes
REFRESH_MARGIN = 5 * 60  # buy a new installation token this long before it expires


class AppCredentialsError(ForgeError):
    """GitHub refused the App's id or key: a person must fix GITHUB_APP_ID / GITHUB_APP_PRIVATE_KEY."""


class AppTokens:
    """Installation access tokens of one GitHub App, per repository, cached until near expiry."""

    def __init__(
        self,
        *,
        app_id: int | str,
        private_key: str,
        api_url: str,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.app_id = str(app_id)
        self._key = private_key
        self._clock = clock
        self._lock = threading.Lock()
        self._installations: dict[str, int] = {}  # owner/name → installation id
        self._tokens: dict[int, tuple[str, float]] = {}  # installation id → (token, expires at)
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "codex-orchestrator",
            },
            timeout=30.0,
            transport=transport,
        )

    def app_jwt(self) -> str:
        """The App's own credential: RS256, issued a minute in the past, valid under ten minutes."""
        now = int(self._clock())
        claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": self.app_id}
        try:
            return jwt.encode(claims, self._key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise AppCredentialsError(
                "GITHUB_APP_PRIVATE_KEY is not a usable RSA private key in PEM form "
                f"({type(exc).__name__}); download a new key from the App's settings page"
            ) from None

    def token_for(self, repo: str) -> str:
        """A valid installation token for `owner/name` (bought, or the cached one)."""
        with self._lock:
            installation = self._installations.get(repo)
            if installation is None:
                installation = self._installation_of(repo)
                self._installations[repo] = installation
            cached = self._tokens.get(installation)
            if cached and self._clock() < cached[1] - REFRESH_MARGIN:
                return cached[0]
            token, expires = self._buy(installation)
            self._tokens[installation] = (token, expires)
            return token

    def source(self, repo: str) -> Callable[[], str]:
        """A zero-argument token source for one repository (what GitHub and Clones take)."""
        return lambda: self.token_for(repo)

    def close(self) -> None:
        self._http.close()

    # -- GitHub ----------------------------------------------------------------------------------

    def _as_app(self, method: str, path: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.app_jwt()}"}
        try:
            resp = self._http.request(method, path, headers=headers)
        except httpx.HTTPError as exc:
            raise ForgeError(f"GitHub could not be reached: {type(exc).__name__}") from None
        if resp.status_code == 401:
            raise AppCredentialsError(
                f"GitHub refused the App's credentials ({_message(resp)}): check GITHUB_APP_ID and "
                "that GITHUB_APP_PRIVATE_KEY is a current key of that App",
                status=401,
            )
        if resp.status_code not in (200, 201):
            raise ForgeError(_message(resp), status=resp.status_code)
        data = resp.json()
        if not isinstance(data, dict):
            raise ForgeError("GitHub answered an unexpected body", status=resp.status_code)
        return data

    def _installation_of(self, repo: str) -> int:
        owner, _, name = repo.partition("/")
        try:
            data = self._as_app("GET", f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}/installation")
        except ForgeError as exc:
            if exc.status == 404:
                raise ForgeError(
                    f"the GitHub App {self.app_id} is not installed on {repo}: install it on the "
                    "repository (or its owner) from the App's settings page",
                    status=404,
                ) from None
            raise
        return int(data["id"])

    def _buy(self, installation: int) -> tuple[str, float]:
        data = self._as_app("POST", f"/app/installations/{int(installation)}/access_tokens")
        expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00")).timestamp()
        return str(data["token"]), expires


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"GitHub answered HTTP {resp.status_code}"
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or f"GitHub answered HTTP {resp.status_code}")[:300]
