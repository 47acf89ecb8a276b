"""The stand-in's HTTP face: GitHub's REST API under `/api`, GraphQL at `/api/graphql` and git's smart
HTTP at `/<owner>/<name>.git/…`, the way GitHub.com splits api.github.com from github.com.

Every API call needs `Authorization: Bearer <token>` (or `token <token>`), every git call a token as
Basic password or Bearer; a wrong or missing one gets 401, as on GitHub.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from datetime import UTC, datetime
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.github import objects
from sandbox.github.git_http import run_backend
from sandbox.github.hooks import Hooks
from sandbox.github.pages import page_route
from sandbox.github.state import GitHubError, GitHubState, Repo, git

DOCS = "https://docs.github.com/rest"
_APP_PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "statuses": "write",
    "checks": "write",
    "metadata": "read",
}


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "token"):
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode("utf-8").partition(":")[2]
        except ValueError:
            return None
    return None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"message": message, "documentation_url": DOCS, "status": str(status)}, status_code=status
    )


class GitHubApp:
    def __init__(self, state: GitHubState) -> None:
        self.state = state
        self.base_url = ""  # set once the server has a port (`/api` and the web root derive from it)
        self.hooks = Hooks()
        state.listeners.append(self._webhook)

    def _webhook(self, event: str, repo: Repo, record: dict[str, Any]) -> None:
        """A status or check run happened: tell the webhook receivers, with the branches it is on."""
        full = repo.full_name
        common = {
            "repository": self._repo_json(repo),
            "sender": objects.user(self.api, self.base_url, self.state.login),
        }
        if event == "status":
            sid = record["id"]
            branches = [
                {
                    "name": b,
                    "commit": {
                        "sha": record["sha"],
                        "url": f"{self.api}/repos/{full}/commits/{record['sha']}",
                    },
                    "protected": b in repo.required_contexts,
                }
                for b in self.state.branches_at(repo, record["sha"])
            ]
            status = objects.status(self.api, self.base_url, full, sid, record)
            payload = {
                "id": sid,
                "sha": record["sha"],
                "name": full,
                "branches": branches,
                "commit": self._commit_json(repo, record["sha"]),
                **{
                    k: status[k]
                    for k in ("state", "context", "description", "target_url", "created_at", "updated_at")
                },
                **common,
            }
        else:
            run = objects.check_run(self.api, self.base_url, full, record)
            run["details_url"] = run["details_url"] or ""  # strings in the webhook, unlike the API
            run["external_id"] = run["external_id"] or ""
            heads = self.state.branches_at(repo, record["head_sha"])
            run["check_suite"] = {
                "id": run["check_suite"]["id"],
                "head_branch": heads[0] if heads else None,
                "head_sha": record["head_sha"],
            }
            payload = {
                "action": "completed" if record["status"] == "completed" else "created",
                "check_run": run,
                **common,
            }
        self.hooks.send(event, payload)

    @property
    def api(self) -> str:
        return f"{self.base_url}/api"

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        return objects.repository(
            self.api, self.base_url, repo.owner, repo.name, repo.id, repo.default_branch, repo.created_at
        )

    def _pull_json(self, repo: Repo, pr: dict[str, Any]) -> dict[str, Any]:
        return objects.pull(self.api, self.base_url, self._repo_json(repo), pr)

    # -- the API -----------------------------------------------------------------------------

    async def api_route(self, request: Request) -> Response:
        raw = await request.body()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "Problems parsing JSON")
        path = "/" + request.path_params["path"]
        with self.state.lock:
            self.state.requests.append(
                {"method": request.method, "path": path, "query": dict(request.query_params), "json": body}
            )
        parts = path.strip("/").split("/")
        as_app = (len(parts) == 4 and parts[0] == "repos" and parts[3] == "installation") or (
            len(parts) == 4 and parts[:2] == ["app", "installations"] and parts[3] == "access_tokens"
        )
        if as_app:
            app_id, refused = self._app_jwt(_token(request))
            if refused:
                return _error(401, refused)
            try:
                status, answer = self.app_dispatch(request.method, parts, app_id)
            except GitHubError as exc:
                return _error(exc.status, exc.message)
            return JSONResponse(answer, status_code=status)
        if not self.state.authorized(_token(request)):
            return _error(401, "Bad credentials")
        try:
            status, answer = await run_in_threadpool(self.dispatch, request.method, path, request, body)
        except GitHubError as exc:
            return _error(exc.status, exc.message)
        if status == 204:
            return Response(status_code=204)
        return JSONResponse(answer, status_code=status)

    # -- GitHub Apps ---------------------------------------------------------------------------

    def _app_jwt(self, token: str | None) -> tuple[int, str | None]:
        """The App a JWT is signed by, or GitHub's reason to refuse it."""
        if not token or token.count(".") != 2:
            return 0, "A JSON web token could not be decoded"
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            app_id = int(str(issuer))
        except (jwt.PyJWTError, ValueError):
            return 0, "A JSON web token could not be decoded"
        key = self.state.apps.get(app_id)
        if key is None:
            return 0, f"Integration not found for 'Issuer' claim ('iss'): {app_id}"
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return 0, "A JSON web token could not be decoded"
        now = self.state.clock()
        if int(claims["exp"]) <= now:
            return (
                0,
                "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
            )
        if int(claims["exp"]) - int(claims["iat"]) > 600 or int(claims["iat"]) > now + 60:
            return 0, "'Expiration time' claim ('exp') is too far in the future"
        return app_id, None

    def app_dispatch(self, method: str, parts: list[str], app_id: int) -> tuple[int, Any]:
        if parts[0] == "repos" and method == "GET":
            repo = self.state.repo(parts[1], parts[2])
            installation = self.state.installations.get(repo.owner)
            if installation is None:
                raise GitHubError(404, "Not Found")
            return 200, self._installation_json(installation, repo.owner, app_id)
        if parts[0] == "app" and method == "POST" and parts[2].isdigit():
            owner = next((o for o, i in self.state.installations.items() if i == int(parts[2])), None)
            if owner is None:
                raise GitHubError(404, "Not Found")
            alphabet = string.ascii_letters + string.digits
            token = "ghs_" + "".join(secrets.choice(alphabet) for _ in range(36))
            expires = self.state.clock() + 3600
            with self.state.lock:
                self.state.installation_tokens[token] = (expires, owner)
            at = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return 201, {
                "token": token,
                "expires_at": at,
                "permissions": dict(_APP_PERMISSIONS),
                "repository_selection": "all",
            }
        raise GitHubError(404, "Not Found")

    def _installation_json(self, installation: int, owner: str, app_id: int) -> dict[str, Any]:
        at = "2026-01-01T00:00:00Z"
        return {
            "id": installation,
            "account": objects.user(self.api, self.base_url, owner),
            "repository_selection": "all",
            "access_tokens_url": f"{self.api}/app/installations/{installation}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.base_url}/settings/installations/{installation}",
            "app_id": app_id,
            "app_slug": "codex-orchestrator",
            "target_id": 1,
            "target_type": "Organization",
            "permissions": dict(_APP_PERMISSIONS),
            "events": ["check_run", "push", "status"],
            "created_at": at,
            "updated_at": at,
            "single_file_name": None,
            "suspended_by": None,
            "suspended_at": None,
        }

    def dispatch(self, method: str, path: str, request: Request, body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if path == "/graphql" and method == "POST":
            return self.graphql(body or {})
        if len(parts) < 3 or parts[0] != "repos":
            raise GitHubError(404, "Not Found")
        repo = self.state.repo(parts[1], parts[2])
        rest, full = parts[3:], repo.full_name
        body = body if isinstance(body, dict) else {}
        if not rest and method == "GET":
            return 200, self._repo_json(repo)
        head = rest[0] if rest else ""
        if rest[:2] == ["git", "ref"] and method == "GET":
            ref = "refs/" + "/".join(rest[2:])
            sha = repo.sha(ref)
            if sha is None:
                raise GitHubError(404, "Not Found")
            return 200, objects.git_ref(self.api, full, ref, sha)
        if rest == ["git", "refs"] and method == "POST":
            ref, sha = str(body.get("ref", "")), str(body.get("sha", ""))
            self.state.create_ref(repo, ref, sha)
            return 201, objects.git_ref(self.api, full, ref, repo.sha(ref) or sha)
        if rest[:2] == ["git", "refs"] and method == "DELETE":
            self.state.delete_ref(repo, "/".join(rest[2:]))
            return 204, None
        if rest == ["pulls"] and method == "GET":
            return 200, self._list_pulls(repo, request)
        if rest == ["pulls"] and method == "POST":
            pr = self.state.open_pull(
                repo,
                title=str(body.get("title", "")),
                head=str(body.get("head", "")),
                base=str(body.get("base", "")),
                body=str(body.get("body") or ""),
                draft=bool(body.get("draft", False)),
            )
            return 201, self._pull_json(repo, pr)
        if head == "pulls" and len(rest) >= 2 and rest[1].isdigit():
            number = int(rest[1])
            if len(rest) == 2 and method == "GET":
                return 200, self._pull_json(repo, self.state.pull(repo, number))
            if len(rest) == 2 and method == "PATCH":
                return 200, self._pull_json(repo, self.state.update_pull(repo, number, body))
            if rest[2:] == ["merge"] and method == "PUT":
                sha = self.state.merge(
                    repo,
                    number,
                    sha=body.get("sha"),
                    method=str(body.get("merge_method") or "merge"),
                    title=body.get("commit_title"),
                )
                return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
        if head == "statuses" and len(rest) == 2 and method == "POST":
            sid, record = self.state.add_status(repo, rest[1], body)
            return 201, objects.status(self.api, self.base_url, full, sid, record)
        if head == "commits" and len(rest) >= 3:
            sha = repo.sha(rest[1])
            if sha is None:
                raise GitHubError(422, f"No commit found for SHA: {rest[1]}")
            if rest[2:] == ["status"] and method == "GET":
                return 200, self._combined(repo, sha)
            if rest[2:] == ["statuses"] and method == "GET":
                records = [r for r in reversed(repo.statuses) if r["sha"] == sha]
                return 200, [objects.status(self.api, self.base_url, full, r["id"], r) for r in records]
            if rest[2:] == ["check-runs"] and method == "GET":
                runs = [
                    objects.check_run(self.api, self.base_url, full, r)
                    for r in reversed(repo.check_runs)  # newest first, as GitHub lists them
                    if r["head_sha"] == sha
                ]
                return 200, {"total_count": len(runs), "check_runs": runs}
        if rest == ["check-runs"] and method == "POST":
            if not str(_token(request) or "").startswith("ghs_"):
                raise GitHubError(403, "You must authenticate via a GitHub App.")
            run = self.state.add_check_run(
                repo,
                name=str(body.get("name", "")),
                head_sha=str(body.get("head_sha", "")),
                status=str(body.get("status") or "queued"),
                conclusion=body.get("conclusion"),
                details_url=body.get("details_url"),
            )
            return 201, objects.check_run(self.api, self.base_url, full, run)
        raise GitHubError(404, "Not Found")

    def _commit_json(self, repo: Repo, sha: str) -> dict[str, Any]:
        """The commit object a `status` webhook carries, read from the bare repository."""
        fmt = "%T%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B"
        tree, parents, an, ae, ad, cn, ce, cd, message = git(
            repo.path, "show", "-s", f"--format={fmt}", sha
        ).stdout.split("\x1f", 8)
        full, api = repo.full_name, f"{self.api}/repos/{repo.full_name}"
        return {
            "sha": sha,
            "node_id": f"C_{sha[:12]}",
            "url": f"{api}/commits/{sha}",
            "html_url": f"{self.base_url}/{full}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "author": None,
            "committer": None,
            "commit": {
                "author": {"name": an, "email": ae, "date": ad},
                "committer": {"name": cn, "email": ce, "date": cd},
                "message": message.strip(),
                "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
                "url": f"{api}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{self.base_url}/{full}/commit/{p}"}
                for p in parents.split()
            ],
        }

    def _list_pulls(self, repo: Repo, request: Request) -> list[dict[str, Any]]:
        state = request.query_params.get("state", "open")
        head = request.query_params.get("head")
        out = []
        for pr in sorted(repo.pulls.values(), key=lambda p: -p["number"]):
            self.state.refresh(repo, pr)
            if state != "all" and pr["state"] != state:
                continue
            if head and f"{repo.owner}:{pr['head']}" != head:
                continue
            out.append(self._pull_json(repo, pr))
        return out

    def _combined(self, repo: Repo, sha: str) -> dict[str, Any]:
        latest = self.state.latest_statuses(repo, sha)
        states = {r["state"] for r in latest}
        overall = (
            "failure"
            if states & {"failure", "error"}
            else "pending"
            if "pending" in states or not states
            else "success"
        )
        return {
            "state": overall,
            "sha": sha,
            "total_count": len(latest),
            "statuses": [
                {
                    k: v
                    for k, v in objects.status(self.api, self.base_url, repo.full_name, r["id"], r).items()
                    if k != "creator"
                }
                for r in latest
            ],
            "repository": self._minimal_repo(repo),
            "commit_url": f"{self.api}/repos/{repo.full_name}/commits/{sha}",
            "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}/status",
        }

    def _minimal_repo(self, repo: Repo) -> dict[str, Any]:
        return self._repo_json(repo)

    def graphql(self, body: dict[str, Any]) -> tuple[int, Any]:
        query = str(body.get("query", ""))
        variables = body.get("variables") or {}
        if "markPullRequestReadyForReview" not in query:
            return 200, {"errors": [{"message": "The stand-in answers only markPullRequestReadyForReview"}]}
        try:
            self.state.mark_ready(str(variables.get("id", "")))
        except GitHubError as exc:
            return 200, {"errors": [{"type": "NOT_FOUND", "message": exc.message}]}
        return 200, {"data": {"markPullRequestReadyForReview": {"pullRequest": {"isDraft": False}}}}

    # -- git over smart HTTP -------------------------------------------------------------------

    async def git_route(self, request: Request) -> Response:
        owner, name = request.path_params["owner"], request.path_params["name"]
        if f"{owner}/{name}" not in self.state.repos:
            return PlainText404()
        if not self.state.authorized(_token(request)):
            return Response(
                "Authentication required\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="GitHub"'},
            )
        body = await request.body()
        pushing = request.method == "POST" and request.path_params["rest"] == "git-receive-pack"
        repo = self.state.repos[f"{owner}/{name}"]
        before = await run_in_threadpool(_refs, repo) if pushing else {}
        status, headers, out = await run_in_threadpool(
            run_backend,
            self.state.root,
            method=request.method,
            path_info=f"/{owner}/{name}.git/{request.path_params['rest']}",
            query=request.url.query,
            content_type=request.headers.get("content-type"),
            content_encoding=request.headers.get("content-encoding"),
            git_protocol=request.headers.get("git-protocol"),
            body=body,
            remote_user=self.state.login,
        )
        if pushing:
            after = await run_in_threadpool(_refs, repo)
            for ref in sorted(set(before) | set(after)):
                if before.get(ref) != after.get(ref):
                    await run_in_threadpool(self._push_hook, repo, ref, before.get(ref), after.get(ref))
        return Response(out, status_code=status, headers=dict(headers))

    def _push_hook(self, repo: Repo, ref: str, old: str | None, new: str | None) -> None:
        """The `push` webhook for one ref a git push moved (as GitHub sends after a push)."""
        zero = "0" * 40
        commits = []
        if new:
            span = f"{old}..{new}" if old else new
            fmt = "%H%x1f%T%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B%x1e"
            out = git(repo.path, "log", "--reverse", "-n", "50", f"--format={fmt}", span).stdout
            for record in out.split("\x1e"):
                parts = record.strip().split("\x1f", 8)
                if len(parts) < 9:
                    continue
                sha, tree, an, ae, ad, cn, ce, cd, message = parts
                commits.append(
                    {
                        "id": sha,
                        "tree_id": tree,
                        "distinct": True,
                        "message": message.strip(),
                        "timestamp": cd,
                        "url": f"{self.base_url}/{repo.full_name}/commit/{sha}",
                        "author": {"name": an, "email": ae, "date": ad},
                        "committer": {"name": cn, "email": ce, "date": cd},
                        "added": [],
                        "removed": [],
                        "modified": [],
                    }
                )
        repo_json = objects.push_repository(self._repo_json(repo))
        payload = {
            "ref": ref,
            "before": old or zero,
            "after": new or zero,
            "created": old is None,
            "deleted": new is None,
            "forced": False,
            "base_ref": None,
            "compare": f"{self.base_url}/{repo.full_name}/compare/{(old or zero)[:12]}...{(new or zero)[:12]}",
            "commits": commits,
            "head_commit": commits[-1] if commits else None,
            "repository": repo_json,
            "pusher": {"name": self.state.login, "email": None},
            "sender": objects.user(self.api, self.base_url, self.state.login),
        }
        self.hooks.send("push", payload)

    def routes(self) -> list[Route]:
        methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
        return [
            Route("/api/{path:path}", self.api_route, methods=methods),
            Route("/{owner}/{name}.git/{rest:path}", self.git_route, methods=["GET", "POST"]),
            Route("/{owner}/{name}/{rest:path}", self.page_route, methods=["GET", "POST"]),
        ]

    async def page_route(self, request: Request) -> Response:
        # The pages are for a person at the sandbox: no token, as on a public repository's page.
        return await page_route(self.state, request)

    def asgi(self) -> Starlette:
        return Starlette(routes=self.routes())


def _refs(repo: Repo) -> dict[str, str]:
    out = git(repo.path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/").stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def PlainText404() -> Response:
    return Response("Repository not found.\n", status_code=404)
