"""GitHub App authentication against the GitHub stand-in over real HTTP: the App's JWT buys an
installation token per repository, the token is cached until shortly before it expires (injected
clock), and REST calls and git over smart HTTP both carry it. A wrong key is refused clearly."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.forge.app_auth import REFRESH_MARGIN, AppCredentialsError, AppTokens
from bot.forge.github import GitHub
from bot.forge.port import ForgeError
from bot.forge.remote import run_remote
from bot.redact import redact
from sandbox.github import GitHubStandIn
from tests.support import github_openapi as oas

APP_ID = 4242


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hub(
    tmp_path: Path, keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey], clock: Clock
) -> Iterator[GitHubStandIn]:
    server = GitHubStandIn(tmp_path / "github").start()
    server.state.clock = clock
    public = (
        keys[0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    server.add_app(APP_ID, public.decode(), owners=("acme",))
    server.create_repo("acme", "billing")
    server.create_repo("acme", "ledger")
    server.create_repo("other", "thing")
    try:
        yield server
    finally:
        server.stop()


def _bought(hub: GitHubStandIn) -> int:
    return sum(1 for r in hub.state.requests if r["path"].endswith("/access_tokens"))


def test_an_installation_token_is_cached_until_shortly_before_it_expires(
    hub: GitHubStandIn, keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey], clock: Clock
) -> None:
    app = AppTokens(app_id=APP_ID, private_key=_pem(keys[0]), api_url=hub.api_url, clock=clock)
    first = app.token_for("acme/billing")
    assert first.startswith("ghs_") and _bought(hub) == 1
    assert redact(f"token {first}") != f"token {first}"  # installation tokens are in the redaction set
    assert app.token_for("acme/billing") == first
    assert app.token_for("acme/ledger") == first  # one installation (the owner's), one token
    assert _bought(hub) == 1

    clock.now += 3600 - REFRESH_MARGIN - 1  # still a little more than the margin left
    assert app.token_for("acme/billing") == first and _bought(hub) == 1
    clock.now += 2  # inside the margin: a new token is bought before the old one expires
    second = app.token_for("acme/billing")
    assert second != first and _bought(hub) == 2
    assert hub.state.authorized(first) and hub.state.authorized(second)
    clock.now += REFRESH_MARGIN
    assert not hub.state.authorized(first)  # the stand-in lets the first one expire, like GitHub

    # The JWT: RS256, issued a minute in the past, valid under ten minutes.
    claims = jwt.decode(
        app.app_jwt(),
        keys[0].public_key(),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == str(APP_ID) and claims["iat"] == int(clock.now) - 60
    assert 0 < claims["exp"] - claims["iat"] <= 600

    with pytest.raises(ForgeError, match="not installed on other/thing"):
        app.token_for("other/thing")


def test_rest_and_git_over_https_carry_the_installation_token(
    hub: GitHubStandIn, keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey], clock: Clock, tmp_path: Path
) -> None:
    app = AppTokens(app_id=APP_ID, private_key=_pem(keys[0]), api_url=hub.api_url, clock=clock)
    source = app.source("acme/billing")
    gh = GitHub(token=source, api_url=hub.api_url)
    assert gh.default_branch("acme/billing") == "main"
    url = hub.clone_url("acme", "billing")
    work = tmp_path / "work"
    run_remote(["clone", "--quiet", "--", url, str(work)], cwd=tmp_path, url=url, token=source)
    (work / "x.txt").write_text("x\n")
    run_remote(["add", "x.txt"], cwd=work, url=url, token=source)
    run_remote(["commit", "-q", "-m", "x"], cwd=work, url=url, token=source)
    run_remote(["push", "--quiet", "origin", "HEAD:refs/heads/orch/G-0001"], cwd=work, url=url, token=source)
    pr = gh.open_pull_request("acme/billing", head="orch/G-0001", base="main", title="t", body="b")
    assert pr.number == 1 and _bought(hub) == 1
    config = subprocess.run(
        ["git", "-C", str(work), "config", "--list"], capture_output=True, text=True, check=True
    ).stdout
    assert "ghs_" not in config

    # After the hour the old token is refused by the host; the source has bought a new one already.
    clock.now += 3600
    assert gh.get_pull_request("acme/billing", 1).number == 1 and _bought(hub) == 2
    run_remote(["fetch", "--quiet", "origin"], cwd=work, url=url, token=source)


def test_a_wrong_private_key_is_refused_with_a_clear_error(
    hub: GitHubStandIn, keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey], clock: Clock
) -> None:
    wrong = AppTokens(app_id=APP_ID, private_key=_pem(keys[1]), api_url=hub.api_url, clock=clock)
    with pytest.raises(
        AppCredentialsError, match=r"refused the App's credentials.*GITHUB_APP_PRIVATE_KEY"
    ) as err:
        wrong.token_for("acme/billing")
    assert err.value.status == 401
    with pytest.raises(AppCredentialsError, match="GITHUB_APP_ID"):
        AppTokens(app_id=999, private_key=_pem(keys[0]), api_url=hub.api_url, clock=clock).token_for(
            "acme/billing"
        )
    with pytest.raises(AppCredentialsError, match="not a usable RSA private key"):
        AppTokens(
            app_id=APP_ID,
            private_key="-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n",
            api_url=hub.api_url,
        ).app_jwt()
    # An expired JWT, a JWT on an ordinary endpoint and no token at all: 401 as on GitHub.
    good = AppTokens(
        app_id=APP_ID, private_key=_pem(keys[0]), api_url=hub.api_url, clock=lambda: clock.now - 700
    )
    stale = good.app_jwt()
    client = httpx.Client(base_url=hub.api_url)
    auth = {"Authorization": f"Bearer {stale}"}
    assert client.get("/repos/acme/billing/installation", headers=auth).status_code == 401
    fresh = {
        "Authorization": f"Bearer {AppTokens(app_id=APP_ID, private_key=_pem(keys[0]), api_url=hub.api_url, clock=clock).app_jwt()}"
    }
    assert client.get("/repos/acme/billing/installation", headers=fresh).status_code == 200
    assert client.get("/repos/acme/billing", headers=fresh).status_code == 401
    assert client.get("/repos/acme/billing/installation").status_code == 401


def test_the_app_endpoints_answer_githubs_published_shapes(
    hub: GitHubStandIn, keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey], clock: Clock
) -> None:
    oas.document()  # skips when the description is not beside the checkout
    app = AppTokens(app_id=APP_ID, private_key=_pem(keys[0]), api_url=hub.api_url, clock=clock)
    client = httpx.Client(base_url=hub.api_url, headers={"Authorization": f"Bearer {app.app_jwt()}"})
    found = client.get("/repos/acme/billing/installation")
    assert found.status_code == 200
    assert oas.response_errors("apps/get-repo-installation", 200, found.json()) == []
    bought = client.post(f"/app/installations/{found.json()['id']}/access_tokens")
    assert bought.status_code == 201
    assert oas.response_errors("apps/create-installation-access-token", 201, bought.json()) == []
