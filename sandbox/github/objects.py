"""GitHub's JSON shapes, as its OpenAPI description requires them (tests validate them against it).

Only the values the stand-in knows are real; the many URL fields GitHub fills in are derived from
the API's base so that they at least point somewhere sensible.
"""

from __future__ import annotations

from typing import Any

_REPO_URLS = [
    "archive",
    "blobs",
    "branches",
    "collaborators",
    "comments",
    "commits",
    "compare",
    "contents",
    "contributors",
    "deployments",
    "downloads",
    "events",
    "forks",
    "git_commits",
    "git_refs",
    "git_tags",
    "hooks",
    "issue_comment",
    "issue_events",
    "issues",
    "keys",
    "labels",
    "languages",
    "merges",
    "milestones",
    "notifications",
    "pulls",
    "releases",
    "stargazers",
    "statuses",
    "subscribers",
    "subscription",
    "tags",
    "teams",
    "trees",
    "assignees",
]
_USER_URLS = [
    "events",
    "followers",
    "following",
    "gists",
    "organizations",
    "received_events",
    "repos",
    "starred",
    "subscriptions",
]


def user(api: str, web: str, login: str, uid: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {
        "login": login,
        "id": uid,
        "node_id": f"U_{uid}",
        "avatar_url": f"{web}/avatars/{login}",
        "gravatar_id": "",
        "url": f"{api}/users/{login}",
        "html_url": f"{web}/{login}",
        "type": "Bot" if login.endswith("[bot]") else "User",
        "site_admin": False,
    }
    for name in _USER_URLS:
        out[f"{name}_url"] = f"{api}/users/{login}/{name}"
    return out


def repository(
    api: str, web: str, owner: str, name: str, rid: int, default_branch: str, at: str
) -> dict[str, Any]:
    full = f"{owner}/{name}"
    out: dict[str, Any] = {
        "id": rid,
        "node_id": f"R_{rid}",
        "name": name,
        "full_name": full,
        "owner": user(api, web, owner),
        "private": True,
        "html_url": f"{web}/{full}",
        "description": None,
        "fork": False,
        "url": f"{api}/repos/{full}",
        "clone_url": f"{web}/{full}.git",
        "git_url": f"{web}/{full}.git",
        "ssh_url": f"{web}/{full}.git",
        "svn_url": f"{web}/{full}",
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "default_branch": default_branch,
        "license": None,
        "pushed_at": at,
        "created_at": at,
        "updated_at": at,
        "network_count": 0,
        "subscribers_count": 0,
    }
    for flag in ("has_downloads", "has_issues", "has_projects", "has_wiki", "has_pages", "has_discussions"):
        out[flag] = flag == "has_issues"
    for flag in ("archived", "disabled"):
        out[flag] = False
    for count in (
        "forks",
        "forks_count",
        "open_issues",
        "open_issues_count",
        "size",
        "stargazers_count",
        "watchers",
        "watchers_count",
    ):
        out[count] = 0
    for url in _REPO_URLS:
        out[f"{url}_url"] = f"{api}/repos/{full}/{url}"
    return out


def git_ref(api: str, full: str, ref: str, sha: str) -> dict[str, Any]:
    return {
        "ref": ref,
        "node_id": f"REF_{sha[:12]}",
        "url": f"{api}/repos/{full}/git/{ref}",
        "object": {"type": "commit", "sha": sha, "url": f"{api}/repos/{full}/git/commits/{sha}"},
    }


def status(api: str, web: str, full: str, sid: int, entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"{api}/repos/{full}/statuses/{entry['sha']}",
        "avatar_url": None,
        "id": sid,
        "node_id": f"SC_{sid}",
        "state": entry["state"],
        "description": entry.get("description"),
        "target_url": entry.get("target_url"),
        "context": entry["context"],
        "created_at": entry["at"],
        "updated_at": entry["at"],
        "creator": user(api, web, entry["creator"]),
    }


def _link(href: str) -> dict[str, str]:
    return {"href": href}


def pull(api: str, web: str, repo: dict[str, Any], pr: dict[str, Any]) -> dict[str, Any]:
    """A pull request; `repo` is the repository object, `pr` the stand-in's record of it."""
    full = repo["full_name"]
    n = pr["number"]
    url = f"{api}/repos/{full}/pulls/{n}"
    html = f"{web}/{full}/pull/{n}"
    owner = repo["owner"]["login"]
    author = user(api, web, pr["user"], 2)
    merged_by = user(api, web, pr["merged_by"], 3) if pr.get("merged_by") else None
    return {
        "url": url,
        "id": pr["id"],
        "node_id": pr["node_id"],
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/repos/{full}/issues/{n}",
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/repos/{full}/pulls/comments{{/number}}",
        "comments_url": f"{api}/repos/{full}/issues/{n}/comments",
        "statuses_url": f"{api}/repos/{full}/statuses/{pr['head_sha']}",
        "number": n,
        "state": pr["state"],
        "locked": False,
        "title": pr["title"],
        "user": author,
        "body": pr["body"],
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": pr["created_at"],
        "updated_at": pr["updated_at"],
        "closed_at": pr["closed_at"],
        "merged_at": pr["merged_at"],
        "merge_commit_sha": pr["merge_commit_sha"],
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": {
            "label": f"{owner}:{pr['head']}",
            "ref": pr["head"],
            "sha": pr["head_sha"],
            "user": repo["owner"],
            "repo": repo,
        },
        "base": {
            "label": f"{owner}:{pr['base']}",
            "ref": pr["base"],
            "sha": pr["base_sha"],
            "user": repo["owner"],
            "repo": repo,
        },
        "_links": {
            "self": _link(url),
            "html": _link(html),
            "issue": _link(f"{api}/repos/{full}/issues/{n}"),
            "comments": _link(f"{api}/repos/{full}/issues/{n}/comments"),
            "review_comments": _link(f"{url}/comments"),
            "review_comment": _link(f"{api}/repos/{full}/pulls/comments{{/number}}"),
            "commits": _link(f"{url}/commits"),
            "statuses": _link(f"{api}/repos/{full}/statuses/{pr['head_sha']}"),
        },
        "author_association": "MEMBER",
        "auto_merge": None,
        "draft": pr["draft"],
        "merged": pr["merged"],
        "mergeable": None if pr["merged"] else True,
        "rebaseable": None,
        "mergeable_state": "unknown" if pr["merged"] else ("draft" if pr["draft"] else "clean"),
        "merged_by": merged_by,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": pr.get("commits", 0),
        "additions": 0,
        "deletions": 0,
        "changed_files": pr.get("changed_files", 0),
    }


def check_run(api: str, web: str, full: str, run: dict[str, Any]) -> dict[str, Any]:
    rid = run["id"]
    return {
        "id": rid,
        "head_sha": run["head_sha"],
        "node_id": f"CR_{rid}",
        "external_id": None,
        "url": f"{api}/repos/{full}/check-runs/{rid}",
        "html_url": f"{web}/{full}/runs/{rid}",
        "details_url": run.get("details_url"),
        "status": run["status"],
        "conclusion": run.get("conclusion"),
        "started_at": run["at"],
        "completed_at": run["at"] if run["status"] == "completed" else None,
        "output": {
            "title": run.get("title"),
            "summary": run.get("summary"),
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{api}/repos/{full}/check-runs/{rid}/annotations",
        },
        "name": run["name"],
        "check_suite": {"id": rid},
        "app": None,
        "pull_requests": [],
    }


def push_repository(repo: dict[str, Any]) -> dict[str, Any]:
    """The repository as a `push` webhook carries it (a few more fields than the REST answer)."""
    return {**repo, "topics": [], "visibility": "private"}
