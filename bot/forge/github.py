"""The GitHub adapter of the forge port, over GitHub's REST API (and GraphQL for one mutation).

Plain httpx, like the SDK-free integrations of the field: the bot uses a dozen endpoints, and a
typed SDK would pin us to its generated models. The token travels only in the Authorization
header; errors carry GitHub's message, never the request's headers.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import quote

import httpx

from bot.forge.port import Check, ForgeError, MergeMethod, MergeRefused, PullRequest, StatusState

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"


def graphql_url(api_url: str) -> str:
    """GitHub.com serves GraphQL at `/graphql` beside REST; GitHub Enterprise Server at `/api/graphql`."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


def _pr(data: dict[str, Any]) -> PullRequest:
    return PullRequest(
        number=int(data["number"]),
        url=str(data["html_url"]),
        node_id=str(data["node_id"]),
        state="open" if data["state"] == "open" else "closed",
        draft=bool(data.get("draft")),
        merged=bool(data.get("merged") or data.get("merged_at")),
        head=str(data["head"]["ref"]),
        head_sha=str(data["head"]["sha"]),
        base=str(data["base"]["ref"]),
        title=str(data["title"]),
        body=str(data.get("body") or ""),
        merge_sha=str(data["merge_commit_sha"])
        if data.get("merged_at") and data.get("merge_commit_sha")
        else None,
    )


Token = str | Callable[[], str]  # a fixed token, or a source of a current one (a GitHub App's)


def resolve(token: Token | None) -> str | None:
    return token() if callable(token) else token


class _Bearer(httpx.Auth):
    """Sets the Authorization header per request, so a GitHub App's renewed token is picked up."""

    def __init__(self, token: Token) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {resolve(self._token)}"
        yield request


class GitHub:
    """One GitHub (or GitHub Enterprise Server, or a stand-in) reached with one token (or token source)."""

    def __init__(
        self, *, token: Token, api_url: str = DEFAULT_API_URL, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.api_url,
            auth=_Bearer(token),
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "codex-orchestrator",
            },
            timeout=30.0,
            transport=transport,
        )

    def close_client(self) -> None:
        self._http.close()

    # -- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201), **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ForgeError(f"GitHub could not be reached: {type(exc).__name__}") from exc
        if resp.status_code not in ok:
            raise ForgeError(_message(resp), status=resp.status_code)
        return resp

    @staticmethod
    def _repo(repo: str) -> str:
        owner, _, name = repo.partition("/")
        if not owner or not name or "/" in name:
            raise ForgeError(f"not an owner/name repository: {repo!r}")
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    # -- branches ------------------------------------------------------------------------------

    def default_branch(self, repo: str) -> str:
        return str(self._call("GET", self._repo(repo)).json()["default_branch"])

    def branch_head(self, repo: str, branch: str) -> str | None:
        resp = self._call("GET", f"{self._repo(repo)}/git/ref/heads/{quote(branch)}", ok=(200, 404))
        return None if resp.status_code == 404 else str(resp.json()["object"]["sha"])

    def create_branch(self, repo: str, branch: str, sha: str) -> None:
        self._call("POST", f"{self._repo(repo)}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": sha})

    # -- pull requests ---------------------------------------------------------------------------

    def find_pull_request(self, repo: str, head: str) -> PullRequest | None:
        owner = repo.partition("/")[0]
        found = self._call(
            "GET", f"{self._repo(repo)}/pulls", params={"head": f"{owner}:{head}", "state": "all"}
        ).json()
        if not found:
            return None
        newest = max(found, key=lambda p: int(p["number"]))
        # The list leaves out `merged`; the pull request itself says it.
        return self.get_pull_request(repo, int(newest["number"]))

    def get_pull_request(self, repo: str, number: int) -> PullRequest:
        return _pr(self._call("GET", f"{self._repo(repo)}/pulls/{int(number)}").json())

    def open_pull_request(
        self, repo: str, *, head: str, base: str, title: str, body: str, draft: bool = True
    ) -> PullRequest:
        data = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        return _pr(self._call("POST", f"{self._repo(repo)}/pulls", json=data).json())

    def update_pull_request(
        self, repo: str, number: int, *, title: str | None = None, body: str | None = None
    ) -> PullRequest:
        data = {k: v for k, v in (("title", title), ("body", body)) if v is not None}
        return _pr(self._call("PATCH", f"{self._repo(repo)}/pulls/{int(number)}", json=data).json())

    def close(self, repo: str, number: int) -> None:
        self._call("PATCH", f"{self._repo(repo)}/pulls/{int(number)}", json={"state": "closed"})

    def mark_ready(self, pr: PullRequest) -> None:
        # REST ignores `draft` on PATCH; only this mutation takes a pull request out of draft.
        query = (
            "mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) "
            "{ pullRequest { isDraft } } }"
        )
        try:
            resp = self._http.post(
                graphql_url(self.api_url), json={"query": query, "variables": {"id": pr.node_id}}
            )
        except httpx.HTTPError as exc:
            raise ForgeError(f"GitHub could not be reached: {type(exc).__name__}") from exc
        if resp.status_code != 200:
            raise ForgeError(_message(resp), status=resp.status_code)
        errors = resp.json().get("errors")
        if errors:
            raise ForgeError("; ".join(str(e.get("message", e)) for e in errors), status=200)

    def merge(self, repo: str, number: int, *, sha: str | None, method: MergeMethod = "merge") -> str:
        data: dict[str, Any] = {"merge_method": method}
        if sha:
            data["sha"] = sha  # GitHub answers 409 if the head moved since we looked
        resp = self._call(
            "PUT", f"{self._repo(repo)}/pulls/{int(number)}/merge", json=data, ok=(200, 405, 409, 422)
        )
        if resp.status_code != 200:
            raise MergeRefused(_message(resp), status=resp.status_code)
        return str(resp.json()["sha"])

    # -- statuses ------------------------------------------------------------------------------

    def set_status(
        self,
        repo: str,
        sha: str,
        *,
        state: StatusState,
        context: str,
        description: str,
        target_url: str | None,
    ) -> None:
        data: dict[str, Any] = {"state": state, "context": context, "description": description[:140]}
        if target_url:
            data["target_url"] = target_url
        self._call("POST", f"{self._repo(repo)}/statuses/{quote(sha)}", json=data)

    def checks_of(self, repo: str, sha: str, *, ignore: str | None = None) -> list[Check]:
        runs = self._call("GET", f"{self._repo(repo)}/commits/{quote(sha)}/check-runs").json()
        out = [
            _check(
                str(r.get("name")),
                r.get("status"),
                r.get("conclusion"),
                r.get("details_url") or r.get("html_url"),
            )
            for r in runs.get("check_runs", [])
        ]
        combined = self._call("GET", f"{self._repo(repo)}/commits/{quote(sha)}/status").json()
        for status in combined.get("statuses", []):
            if status.get("context") == ignore:
                continue
            state = {"success": "passed", "pending": "pending"}.get(str(status.get("state")), "failed")
            out.append(Check(str(status.get("context")), state, status.get("target_url")))  # type: ignore[arg-type]
        # A re-run check appears once per run: the newest (listed first by GitHub) counts.
        seen: dict[str, Check] = {}
        for check in out:
            seen.setdefault(check.name, check)
        return list(seen.values())

    def status_of(self, repo: str, sha: str, context: str) -> StatusState | None:
        combined = self._call("GET", f"{self._repo(repo)}/commits/{quote(sha)}/status").json()
        for status in combined.get("statuses", []):
            if status.get("context") == context:
                state = status.get("state")
                if state in ("pending", "success", "failure", "error"):
                    return state  # type: ignore[no-any-return]
        return None


_RUN_FAILED = {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"}


def _check(name: str, status: str | None, conclusion: str | None, url: str | None) -> Check:
    if status != "completed":
        return Check(name, "pending", url)
    return Check(name, "failed" if conclusion in _RUN_FAILED else "passed", url)


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"GitHub answered HTTP {resp.status_code}"
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or f"GitHub answered HTTP {resp.status_code}")[:500]
