"""`qapms auth login|status|logout` against a fake OAuth 2.0 authorization server, and
`ws.jira` using the tokens the CLI stored.

Client credentials need no browser. The browser sign-in (authorization code with PKCE) is
driven by the test in the browser's place: it reads the sign-in URL the CLI prints, checks the
PKCE challenge, and calls the loopback redirect with a code, which the CLI exchanges (with its
verifier) at the fake token endpoint. Tokens are stored encrypted: the token file never holds
them in clear, and `status` shows them without a passphrase.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import fake_http
import pytest
from conftest import Home
from fake_http import Fake, Reply, Request
from fake_jira import FakeJira, serve

import qapms

ACCESS = "at-0a1b2c3d4e5f"
REFRESH = "rt-9f8e7d6c5b4a"
CLIENT_ID = "qapms-cli"
CLIENT_SECRET = "client-s3cret-value"


@dataclass
class FakeAuthServer(Fake):
    """A token endpoint for both grants; records what was exchanged."""

    grants: list[dict[str, Any]] = field(default_factory=list)

    def route(self, r: Request) -> Reply:
        if r.path != "/token" or r.method != "POST":
            return Reply(404, {"error": "not_found"})
        # Data Center's token endpoint takes a form, Cloud's a JSON object.
        raw = r.body if isinstance(r.body, dict) else {}
        body = {k: v[0] if isinstance(v, list) else v for k, v in raw.items()}
        body["authorization"] = r.headers.get("authorization", "")
        self.grants.append(body)
        grant = body.get("grant_type")
        if grant == "client_credentials" and body.get("client_secret") != CLIENT_SECRET:
            return Reply(401, {"error": "access_denied", "error_description": "Unauthorized"})
        if grant == "client_credentials":
            return Reply(
                body={
                    "access_token": ACCESS,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": "read:jira-work",
                }
            )
        if grant == "authorization_code" and body.get("code") == "the-code":
            return Reply(
                body={
                    "access_token": ACCESS,
                    "refresh_token": REFRESH,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            )
        return Reply(400, {"error": "invalid_grant"})


@pytest.fixture
def auth_server() -> Iterator[FakeAuthServer]:
    yield from fake_http.serve(FakeAuthServer())


@pytest.fixture
def jira_dc() -> Iterator[FakeJira]:
    yield from serve(FakeJira(deployment="data_center", auth_header=f"Bearer {ACCESS}"))


def master_key(home: Home) -> None:
    result = home.qapms("secrets", "init", "--print")
    assert result.returncode == 0, result.stderr
    name, _, value = result.stdout.strip().partition("=")
    home.env[name] = value


def configure(home: Home, jira: FakeJira, auth: FakeAuthServer, method: str) -> None:
    home.env["JIRA_CLIENT_SECRET"] = CLIENT_SECRET
    extra = (
        f"      authorize_url: {auth.url}/authorize\n      client_secret: ${{JIRA_CLIENT_SECRET}}\n"
        if method == "oauth_pkce"
        else "      client_secret: ${JIRA_CLIENT_SECRET}\n"
    )
    (home.cwd / "qapms.yaml").write_text(
        f"""integrations:
  jira:
    base_url: {jira.url}
    deployment: data_center
    projects: [PAY]
    auth:
      method: {method}
      client_id: {CLIENT_ID}
      scopes: [read:jira-work]
      token_url: {auth.url}/token
{extra}"""
    )


def token_file(home: Home) -> Any:
    return home.data_dir / "credentials" / "jira.oauth.json"


def test_browser_sign_in_over_the_loopback_redirect(
    home: Home,
    jira_dc: FakeJira,
    auth_server: FakeAuthServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    master_key(home)
    configure(home, jira_dc, auth_server, "oauth_pkce")
    exe = shutil.which("qapms", path=os.path.dirname(sys.executable))
    assert exe
    proc = subprocess.Popen(
        [exe, "auth", "login", "jira", "--timeout", "60"],
        cwd=home.cwd,
        env=home.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        url = ""
        for line in proc.stderr:
            if line.strip().startswith(f"{auth_server.url}/authorize"):
                url = line.strip()
                break
        assert url, "the sign-in URL is printed"
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["client_id"] == CLIENT_ID
        assert query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256" and query["code_challenge"]
        redirect = query["redirect_uri"]
        assert urlsplit(redirect).hostname in ("127.0.0.1", "localhost")
        # The browser comes back with a wrong state first: refused, the listener keeps waiting.
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{redirect}?code=the-code&state=forged", timeout=10)
        with urllib.request.urlopen(
            f"{redirect}?code=the-code&state={query['state']}", timeout=10
        ) as page:
            assert page.status == 200
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    exchange = auth_server.grants[-1]
    assert exchange["grant_type"] == "authorization_code"
    verifier = exchange["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge.decode().rstrip("=") == query["code_challenge"], "PKCE verifier matches"

    status = home.qapms("auth", "status")
    assert "refresh token stored" in status.stdout, status.stdout
    for k, v in home.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(home.cwd)
    with qapms.Workspace.open() as ws:
        assert ws.jira.issue("PAY-7").key == "PAY-7"


CLOUD_ID = "35273b54-3f06-40d2-880f-dd28cf8daafa"


@pytest.fixture
def jira_gateway() -> Iterator[FakeJira]:
    """Jira Cloud behind Atlassian's OAuth gateway (`/ex/jira/<cloud id>`)."""
    yield from serve(FakeJira(auth_header=f"Bearer {ACCESS}", cloud_id=CLOUD_ID))


def configure_cloud_client_credentials(
    home: Home, jira: FakeJira, auth: FakeAuthServer, secret: str
) -> None:
    home.env["JIRA_CLIENT_SECRET"] = secret
    (home.cwd / "qapms.yaml").write_text(
        f"""integrations:
  jira:
    base_url: {jira.site}
    projects: [PAY]
    auth:
      method: oauth_client_credentials
      client_id: {CLIENT_ID}
      client_secret: ${{JIRA_CLIENT_SECRET}}
      scopes: [read:jira-work]
      token_url: {auth.url}/token
      api_url: {jira.url}
"""
    )


def test_client_credentials_on_cloud_find_the_site_and_call_it_through_the_gateway(
    home: Home,
    jira_gateway: FakeJira,
    auth_server: FakeAuthServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    master_key(home)
    configure_cloud_client_credentials(home, jira_gateway, auth_server, CLIENT_SECRET)
    login = home.qapms("auth", "login", "jira")
    assert login.returncode == 0, login.stderr
    assert CLOUD_ID in login.stdout + login.stderr, "the site's cloud id is reported"
    grant = auth_server.grants[-1]
    assert grant["grant_type"] == "client_credentials" and grant["client_id"] == CLIENT_ID
    stored = token_file(home).read_text()
    assert ACCESS not in stored and CLIENT_SECRET not in stored, "tokens are kept encrypted"

    status = home.qapms("auth", "status")
    assert status.returncode == 0 and f"cloud id {CLOUD_ID}" in status.stdout, status.stdout
    assert ACCESS not in status.stdout + status.stderr

    for k, v in home.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(home.cwd)
    with qapms.Workspace.open() as ws:
        assert ws.jira.issue("PAY-7").key == "PAY-7"
    api = [r.path for r in jira_gateway.requests if "/rest/" in r.path]
    assert api and all(p.startswith(f"/ex/jira/{CLOUD_ID}/rest/api/3/") for p in api), api


def test_client_credentials_with_a_wrong_secret_say_so_without_the_secret(
    home: Home, jira_gateway: FakeJira, auth_server: FakeAuthServer
) -> None:
    master_key(home)
    wrong = "not-the-secret-4711"
    configure_cloud_client_credentials(home, jira_gateway, auth_server, wrong)
    login = home.qapms("auth", "login", "jira")
    assert login.returncode != 0
    said = login.stdout + login.stderr
    assert "client" in said.lower(), said
    assert wrong not in said
    assert not token_file(home).exists()
    assert not any("/rest/" in r.path for r in jira_gateway.requests)


def test_ws_jira_with_pkce_needs_the_master_key(
    home: Home, jira_dc: FakeJira, auth_server: FakeAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(home, jira_dc, auth_server, "oauth_pkce")
    for k, v in home.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("QAPMS_MASTER_KEY", raising=False)
    monkeypatch.chdir(home.cwd)
    with qapms.Workspace.open() as ws, pytest.raises(qapms.QapmsError, match="master key"):
        _ = ws.jira
