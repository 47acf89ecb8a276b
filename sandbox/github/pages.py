"""The stand-in's web pages: a repository's pull requests, and one pull request with its body, its
checks and whether it is merged. A person plays CI from the page: "Mark passed" / "Mark failed" adds
a check run on the head (and the webhook tells the bot), so CI can be watched coming back to Slack.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sandbox.github.state import GitHubError, GitHubState, Repo
from sandbox.markdown_html import markdown
from sandbox.mrkdwn import Directory, esc

_STYLE = (
    "body{font:14px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"
    ".state{padding:.1rem .5rem;border-radius:1rem;color:#fff}.open{background:#1a7f37}"
    ".draft{background:#6e7781}.merged{background:#8250df}.closed{background:#cf222e}"
)


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _label(pr: dict[str, Any]) -> str:
    if pr["merged"]:
        return "merged"
    if pr["state"] == "closed":
        return "closed"
    return "draft" if pr["draft"] else "open"


def pulls_page(state: GitHubState, repo: Repo) -> HTMLResponse:
    rows = "".join(
        f"<tr><td><a href='/{esc(repo.full_name)}/pull/{n}'>#{n}</a></td><td>{esc(pr['title'])}</td>"
        f"<td><span class='state {_label(pr)}'>{_label(pr)}</span></td><td>{esc(pr['head'])}</td></tr>"
        for n, pr in sorted(repo.pulls.items(), reverse=True)
    )
    table = f"<table><tr><th>#</th><th>Title</th><th>State</th><th>Branch</th></tr>{rows}</table>"
    return _page(
        f"Pull requests · {repo.full_name}", f"<h1>Pull requests</h1><p>{esc(repo.full_name)}</p>{table}"
    )


def pull_page(state: GitHubState, repo: Repo, number: int) -> HTMLResponse:
    pr = state.pull(repo, number)
    label = _label(pr)
    checks = [
        (r["name"], r["conclusion"] or r["status"])
        for r in reversed(repo.check_runs)
        if r["head_sha"] == pr["head_sha"]
    ]
    checks += [(s["context"], s["state"]) for s in state.latest_statuses(repo, pr["head_sha"])]
    listed = (
        "".join(f"<li>{esc(name)}: <b>{esc(str(result))}</b></li>" for name, result in checks)
        or "<li>none</li>"
    )
    ci = (
        f"<form method='post' action='/{esc(repo.full_name)}/pull/{number}/checks'>"
        "<input name='name' value='ci' size='10'> "
        "<button name='conclusion' value='success'>Mark passed</button> "
        "<button name='conclusion' value='failure'>Mark failed</button></form>"
        if label in ("open", "draft")
        else ""
    )
    merged = f"<p>Merged as <code>{esc(str(pr['merge_commit_sha']))}</code>.</p>" if pr["merged"] else ""
    body = (
        f"<p><a href='/{esc(repo.full_name)}/pulls'>← Pull requests</a></p>"
        f"<h1>{esc(pr['title'])} <small>#{number}</small></h1>"
        f"<p><span class='state {label}'>{label}</span> <code>{esc(pr['head'])}</code> → "
        f"<code>{esc(pr['base'])}</code> at <code>{esc(pr['head_sha'][:7])}</code></p>{merged}"
        f"<div class='body'>{markdown(pr['body'] or '', Directory())}</div>"
        f"<h2>Checks</h2><ul>{listed}</ul>{ci}"
    )
    return _page(pr["title"], body)


async def page_route(state: GitHubState, request: Request) -> Response:
    owner, name = request.path_params["owner"], request.path_params["name"]
    rest = request.path_params.get("rest", "")
    try:
        repo = state.repo(owner, name)
        if rest == "pulls":
            return pulls_page(state, repo)
        parts = rest.split("/")
        if len(parts) >= 2 and parts[0] == "pull" and parts[1].isdigit():
            number = int(parts[1])
            if parts[2:] == ["checks"] and request.method == "POST":
                form = await request.form()
                conclusion = "success" if form.get("conclusion") == "success" else "failure"
                check = str(form.get("name") or "ci")[:100]
                state.add_check_run(
                    repo, name=check, head_sha=state.pull(repo, number)["head_sha"], conclusion=conclusion
                )
                return RedirectResponse(f"/{owner}/{name}/pull/{number}", status_code=303)
            if len(parts) == 2:
                return pull_page(state, repo, number)
    except GitHubError as exc:
        return HTMLResponse(esc(exc.message), status_code=exc.status)
    return HTMLResponse("Not Found", status_code=404)
