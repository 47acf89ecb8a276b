"""Git's smart HTTP protocol, served by `git http-backend` as a CGI program.

Clone, fetch and push therefore speak the real protocol against real bare repositories; this module
only turns a request into the CGI environment and the program's output back into a response.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CGI_TIMEOUT = 120.0


def run_backend(
    root: Path,
    *,
    method: str,
    path_info: str,
    query: str,
    content_type: str | None,
    content_encoding: str | None,
    git_protocol: str | None,
    body: bytes,
    remote_user: str,
) -> tuple[int, list[tuple[str, str]], bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        # http-backend enables receive-pack (push) only for an authenticated user.
        "REMOTE_USER": remote_user,
        "REMOTE_ADDR": "127.0.0.1",
    }
    if content_type:
        env["CONTENT_TYPE"] = content_type
    if content_encoding:
        env["HTTP_CONTENT_ENCODING"] = content_encoding
    if git_protocol:
        env["GIT_PROTOCOL"] = git_protocol
    proc = subprocess.run(
        ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=CGI_TIMEOUT, check=False
    )
    return parse_cgi(proc.stdout)


def parse_cgi(output: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Split CGI output into status, headers and body (`Status:` gives the code, default 200)."""
    sep = output.find(b"\r\n\r\n")
    skip = 4
    lf = output.find(b"\n\n")
    if sep < 0 or (0 <= lf < sep):
        sep, skip = lf, 2
    if sep < 0:
        return 502, [], b"bad gateway: no CGI headers"
    status = 200
    headers: list[tuple[str, str]] = []
    for line in output[:sep].decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return status, headers, output[sep + skip :]
