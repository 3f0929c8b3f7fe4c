"""Sign-in through a real, certified OpenID provider (npm's oidc-provider, tests/conformance/oidc_provider.mjs):
discovery, the authorization-code flow with PKCE, key rotation, RP-initiated and back-channel logout, a provider
whose discovery is down at start, and the sign-in methods a login page reads.

The provider runs in Node (its own development login page, driven with httpx as a browser would: each browser is
an httpx client with its own cookies). The app runs in-process (the `http` client); the provider's back-channel
logout requests go to a loopback listener that records them, and the test hands each one to the app as the
provider sent it. Needs Node and oidc-provider installed in $PFMP_OIDC_DIR (`.ci/run` installs it); skipped
without them unless PFMP_REQUIRE_OIDC=1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from graph.settings import OidcProvider, Provisioning
from models.audit import AuditEntry, AuditKind
from models.signin import ProviderSession
from models.users import ExternalIdentity, Role, User
from permissions import oidc, oidc_flow
from tests.conftest import Api, _settings
from tests.identity.test_oidc import link
from tests.postgres import _free_port

OIDC_DIR = os.environ.get("PFMP_OIDC_DIR", "")
HAVE_PROVIDER = bool(shutil.which("node")) and (Path(OIDC_DIR) / "node_modules" / "oidc-provider").is_dir()
SCRIPT = Path(__file__).resolve().parents[1] / "conformance" / "oidc_provider.mjs"

pytestmark = pytest.mark.skipif(
    not HAVE_PROVIDER and os.environ.get("PFMP_REQUIRE_OIDC") != "1",
    reason="oidc-provider not installed (set PFMP_OIDC_DIR to a folder where npm installed it)",
)

APP = "http://testserver"
CLIENT_ID = "pfmp-api"
CLIENT_SECRET = "a client secret of at least thirty-two characters"
RETURN_TO = "https://front.example.test/signed-in"
SIGNED_OUT = "https://front.example.test/signed-out"
ME = "{ me { __typename fullName } }"
# The claims of some accounts of the provider, besides `sub` and an email (tests/conformance/oidc_provider.mjs).
ACCOUNTS = {
    "prof-durand": {
        "given_name": "Paul",
        "family_name": "DURAND",
        "ENTPersonProfils": ["National_ENS"],
        "ENTPersonStructRattachRNE": "0599999Z",
    },
    "agent-accueil": {
        "given_name": "Anne",
        "family_name": "ACCUEIL",
        "ENTPersonProfils": ["National_PERS"],
        "ENTPersonStructRattachRNE": "0599999Z",
    },
}


def new_key(kid: str) -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
    jwk.pop("key_ops", None)  # PyJWT writes ["sign"]: the provider would then not verify its own ID token hints
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


class LogoutListener:
    """Where the provider sends its back-channel logout requests: each one is recorded, answered 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, list[str]]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                listener.received.append(parse_qs(body.decode()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class NodeProvider:
    """One oidc-provider process on a loopback port; stop and start it again (same port, same issuer) with
    other keys to rotate them."""

    def __init__(self, port: int, keys: list[dict], backchannel_url: str, log_path: Path) -> None:
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}"
        self.keys = keys
        self.backchannel_url = backchannel_url
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def config(self) -> dict:
        return {
            "port": self.port,
            "keys": self.keys,
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [f"{APP}/auth/oidc/{name}/callback" for name in ("ent", "late", "jit")],
                    "post_logout_redirect_uris": [SIGNED_OUT],
                    "backchannel_logout_uri": self.backchannel_url,
                    "backchannel_logout_session_required": True,
                    "token_endpoint_auth_method": "client_secret_basic",
                }
            ],
            "accounts": ACCOUNTS,
        }

    def start(self) -> NodeProvider:
        env = {**os.environ, "PFMP_OIDC_DIR": OIDC_DIR, "PFMP_OIDC_CONFIG": json.dumps(self.config())}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(["node", str(SCRIPT)], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"oidc-provider did not start: {self.log_path.read_text(errors='replace')}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def code_flow_provider(name: str, issuer: str, **extra) -> OidcProvider:
    values = dict(
        name=name,
        issuer=issuer,
        audience=CLIENT_ID,
        discovery_url=f"{issuer}/.well-known/openid-configuration",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_url=f"{APP}/auth/oidc/{name}/callback",
        post_logout_redirect_url=SIGNED_OUT,
        jwks_min_refresh_seconds=0,
        timeout=3.0,
    )
    values.update(extra)
    return OidcProvider(**values)


@pytest.fixture(scope="module")
def listener():
    server = LogoutListener()
    yield server
    server.stop()


@pytest.fixture
def late_port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def running_provider(tmp_path_factory, listener):
    """One provider process for the module (its start takes seconds); each test starts from the same keys."""
    log = tmp_path_factory.mktemp("oidc-provider") / "oidc-provider.log"
    provider = NodeProvider(_free_port(), [new_key("k1")], listener.url, log).start()
    first_keys = provider.keys
    yield provider, first_keys
    provider.stop()


@pytest.fixture
def op(running_provider, listener):
    provider, first_keys = running_provider
    if provider.keys != first_keys:  # an earlier test rotated them
        provider.stop()
        provider.keys = first_keys
        provider.start()
    listener.received.clear()
    return provider


@pytest.fixture
def settings(tmp_path, database_url, op, late_port):
    oidc.clear_key_cache()
    providers = (
        code_flow_provider("ent", op.issuer),
        # Its discovery is down when the server starts: nothing listens on its port yet.
        code_flow_provider("late", f"http://127.0.0.1:{late_port}"),
        # Its discovery document is the ent provider's: it publishes another issuer than this one's.
        code_flow_provider(
            "mismatch",
            f"{op.issuer}/another",
            discovery_url=f"{op.issuer}/.well-known/openid-configuration",
            redirect_url=f"{APP}/auth/oidc/mismatch/callback",
        ),
        # The same provider, with its just-in-time rules on (the "ent" one has them off, as by default).
        code_flow_provider(
            "jit",
            op.issuer,
            scopes=("openid", "email", "profile", "ent"),
            provisioning=Provisioning(provision=True, profile_roles=(("National_ENS", "TEACHER"),)),
        ),
    )
    return _settings(
        tmp_path,
        database_url,
        oidc_providers=providers,
        cas_server_url="https://cas.example.test/cas",
        cas_service_url="https://pfmp.example.test/cas",
    )


def browser() -> httpx.AsyncClient:
    """A browser at the provider: its own cookies, redirects followed by hand."""
    return httpx.AsyncClient(follow_redirects=False, timeout=10)


def form_action(html: str) -> str:
    match = re.search(r'<form[^>]*action="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def at_provider(client: httpx.AsyncClient, url: str, login: str) -> str:
    """Follow the provider's pages as a browser until it sends the person back to this server; that address.
    The development login page signs in `login`."""
    response = await client.get(url)
    for _ in range(20):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(APP):
                return target
            response = await client.get(target)
        elif response.status_code == 200 and 'name="login"' in response.text:
            action = urljoin(str(response.url), form_action(response.text))
            response = await client.post(action, data={"prompt": "login", "login": login, "password": "any"})
        else:
            raise AssertionError(f"provider answered {response.status_code}: {response.text[:2000]}")
    raise AssertionError("too many redirects at the provider")


def fragment(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(RETURN_TO + "#"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}


async def sign_in(http, client: httpx.AsyncClient, login: str, provider: str = "ent") -> dict[str, str]:
    """The whole browser sign-in; what the front end reads in its address's fragment."""
    start = await http.get(f"/auth/oidc/{provider}/start", params={"return_to": RETURN_TO})
    assert start.status_code == 302, start.text
    callback = await at_provider(client, start.headers["location"], login)
    return fragment(await http.get(callback))


async def me(http, token: str) -> dict:
    return await Api(http, token).execute(ME)


def signed_in_as(body: dict, user: User) -> bool:
    return body.get("data") is not None and body["data"]["me"]["fullName"].startswith(user.first_name)


async def test_the_code_flow_signs_in_the_linked_account_with_the_servers_own_token(
    http, admin, teacher, server_in_guiana
):
    # given
    await link(admin, teacher.user, "jean")
    # when
    start = await http.get("/auth/oidc/ent/start", params={"return_to": RETURN_TO})
    request = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    async with browser() as client:
        callback = await at_provider(client, start.headers["location"], "jean")
        answer = fragment(await http.get(callback))
    # then: the provider's endpoint came from its discovery document, with PKCE (S256), state and nonce
    assert start.headers["location"].startswith(f"{settings_issuer(http)}/auth?")
    assert request["code_challenge_method"] == "S256" and len(request["code_challenge"]) == 43
    assert request["state"] and request["nonce"] and request["redirect_uri"] == f"{APP}/auth/oidc/ent/callback"
    assert answer["token_type"] == "Bearer"
    assert jwt.decode(answer["access_token"], options={"verify_signature": False})["iss"] == "pfmp"
    assert signed_in_as(await me(http, answer["access_token"]), teacher.user)
    session = await ProviderSession.get(user_id=teacher.user.id)
    assert session.provider == "ent" and session.subject == "jean" and session.sid
    # and the access token (its claims as README lists them) is bound to that session and expires with it
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert {k: claims[k] for k in ("sub", "role", "school", "ver", "ses")} == {
        "sub": str(teacher.user.id),
        "role": "TEACHER",
        "school": teacher.user.school_id,
        "ver": teacher.user.token_version,
        "ses": session.id,
    }
    assert (claims["iat"], claims["exp"]) == (session.created_at.timestamp(), session.expires_at.timestamp())


def settings_issuer(http) -> str:
    return http._transport.app.state.settings.oidc_providers[0].issuer


async def test_a_person_without_an_account_comes_back_with_an_error_and_no_account_is_made(http):
    # given
    accounts = await User.all().count()
    # when
    async with browser() as client:
        answer = await sign_in(http, client, "nobody-here")
    # then
    assert answer == {"error": "IDENTITY_NOT_LINKED"}
    assert await User.all().count() == accounts
    assert await ProviderSession.all().count() == 0


async def test_a_teacher_the_provider_vouches_for_is_created_by_its_rules_once_and_only_where_they_are_on(http):
    # given: the provider's ID token carries Paul's names, profile and school
    accounts = await User.all().count()
    # when: he signs in through the provider without rules, then twice through the one with them
    async with browser() as client:
        off = await sign_in(http, client, "prof-durand")
    async with browser() as client:
        first = await sign_in(http, client, "prof-durand", provider="jit")
    async with browser() as client:
        second = await sign_in(http, client, "prof-durand", provider="jit")
    # then: refused as before where the rules are off; one account, the same both times, traced once
    assert off == {"error": "IDENTITY_NOT_LINKED"}
    assert (await me(http, first["access_token"]))["data"]["me"] == {"__typename": "Teacher", "fullName": "Paul DURAND"}
    assert (await me(http, second["access_token"]))["data"]["me"] == {
        "__typename": "Teacher",
        "fullName": "Paul DURAND",
    }
    assert await User.all().count() == accounts + 1
    user = await User.get(email="prof-durand@ent.example.test")
    assert (user.role, user.password_hash, user.classroom_id) == (Role.TEACHER, None, None)
    assert await ExternalIdentity.filter(user_id=user.id).values_list("provider", "subject") == [("jit", "prof-durand")]
    [entry] = await AuditEntry.filter(kind=AuditKind.ACCESS_CHANGE, subject_id=user.id)
    assert (entry.actor_id, entry.detail) == (None, "account created at sign-in through jit")
    assert entry.address  # the browser's, as the callback saw it


async def test_a_profile_the_rules_do_not_map_comes_back_with_its_error_code(http):
    # given
    accounts = await User.all().count()
    # when
    async with browser() as client:
        answer = await sign_in(http, client, "agent-accueil", provider="jit")
    # then
    assert answer == {"error": "PROVIDER_PROFILE_NOT_MAPPED"}
    assert await User.all().count() == accounts


async def test_a_return_address_on_another_origin_is_refused(http):
    # when
    start = await http.get("/auth/oidc/ent/start", params={"return_to": "https://evil.example.test/x"})
    # then
    assert start.status_code == 400
    assert start.json() == {"error": "RETURN_TO_REFUSED"}
    assert "set-cookie" not in start.headers


async def test_a_callback_without_the_browsers_state_cookie_is_refused(http, app, admin, teacher):
    # given: a sign-in started in one browser...
    await link(admin, teacher.user, "jean")
    start = await http.get("/auth/oidc/ent/start", params={"return_to": RETURN_TO})
    async with browser() as client:
        callback = await at_provider(client, start.headers["location"], "jean")
    # when: ...whose callback address reaches the server from another one (no state cookie)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP) as other:
        answer = await other.get(callback)
    # then
    assert answer.status_code == 400
    assert answer.json() == {"error": "SIGN_IN_STATE_INVALID"}
    assert await ProviderSession.all().count() == 0


async def test_keys_rotated_by_the_provider_are_fetched_again(http, admin, teacher, op):
    # given: a sign-in with the first key, then the provider rotates (a new key signs, the old one is kept)
    await link(admin, teacher.user, "jean")
    async with browser() as client:
        first = await sign_in(http, client, "jean")
    op.stop()
    op.keys = [new_key("k2"), *op.keys]
    op.start()
    # when
    async with browser() as client:
        second = await sign_in(http, client, "jean")
    # then
    assert signed_in_as(await me(http, second["access_token"]), teacher.user)
    assert signed_in_as(await me(http, first["access_token"]), teacher.user)
    kids = [jwt.get_unverified_header(s.id_token)["kid"] for s in await ProviderSession.all().order_by("id")]
    assert kids == ["k1", "k2"]
    assert jwt.get_unverified_header(first["access_token"])["alg"] == "HS256"  # the server's own token, as before


async def test_back_channel_logout_revokes_exactly_the_tokens_of_that_session(http, admin, teacher, op, listener):
    # given: the same person signed in from two browsers (two sessions at the provider)
    await link(admin, teacher.user, "jean")
    async with browser() as first_browser, browser() as second_browser:
        first = await sign_in(http, first_browser, "jean")
        second = await sign_in(http, second_browser, "jean")
        # when: the first browser signs out at the provider, which tells this server (back-channel)
        end = await first_browser.get(f"{op.issuer}/session/end")
        confirm = urljoin(str(end.url), form_action(end.text))
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', end.text)
        assert xsrf, end.text
        done = await first_browser.post(confirm, data={"xsrf": xsrf.group(1), "logout": "yes"})
        assert done.status_code in (200, 302, 303), done.text
    assert len(listener.received) == 1
    logout_token = listener.received[0]["logout_token"][0]
    answer = await http.post("/auth/oidc/ent/backchannel-logout", data={"logout_token": logout_token})
    # then
    assert answer.status_code == 200
    assert (await me(http, first["access_token"]))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert signed_in_as(await me(http, second["access_token"]), teacher.user)
    claims = jwt.decode(logout_token, options={"verify_signature": False})
    revoked = await ProviderSession.exclude(revoked_at=None)
    assert [s.sid for s in revoked] == [claims["sid"]]


async def test_a_logout_token_not_signed_by_the_provider_revokes_nothing(http, admin, teacher, op):
    # given
    await link(admin, teacher.user, "jean")
    async with browser() as client:
        signed = await sign_in(http, client, "jean")
    session = await ProviderSession.get(user_id=teacher.user.id)
    now = int(time.time())
    claims = {
        "iss": op.issuer,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": "x",
        "sid": session.sid,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }
    forged = jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256", {"kid": "k1"})
    # when
    answer = await http.post("/auth/oidc/ent/backchannel-logout", data={"logout_token": forged})
    # then
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_request"}
    assert signed_in_as(await me(http, signed["access_token"]), teacher.user)


async def test_signing_out_here_revokes_the_session_and_answers_the_providers_end_session_address(
    http, admin, teacher, op
):
    # given
    await link(admin, teacher.user, "jean")
    async with browser() as client:
        first = await sign_in(http, client, "jean")
    async with browser() as client:
        second = await sign_in(http, client, "jean")
        # when
        answer = await http.post("/auth/oidc/logout", headers={"Authorization": f"Bearer {first['access_token']}"})
        # then
        assert answer.status_code == 200, answer.text
        url = answer.json()["endSessionUrl"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert url.startswith(f"{op.issuer}/session/end?")
        assert query["post_logout_redirect_uri"] == SIGNED_OUT
        assert jwt.decode(query["id_token_hint"], options={"verify_signature": False})["aud"] == CLIENT_ID
        # the provider accepts the hint and the return address: it asks to confirm, then sends the person back
        end = await client.get(url)
        assert end.status_code == 200 and 'name="xsrf"' in end.text, end.text
    assert (await me(http, first["access_token"]))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert signed_in_as(await me(http, second["access_token"]), teacher.user)


async def test_a_provider_whose_discovery_is_down_at_start_is_logged_and_retried_later(
    http, admin, teacher, caplog, late_port, listener, tmp_path
):
    # then: one line for each provider whose discovery failed when the app started...
    lines = [r.getMessage() for r in caplog.get_records("setup") if r.name == "pfmp.oidc"]
    assert len([line for line in lines if "OIDC provider late:" in line]) == 1, lines
    assert len([line for line in lines if "OIDC provider mismatch:" in line and "issuer" in line]) == 1, lines
    # ...while the other provider works
    await link(admin, teacher.user, "jean")
    await link(admin, teacher.user, "jean-late", provider="late")
    async with browser() as client:
        assert signed_in_as(await me(http, (await sign_in(http, client, "jean"))["access_token"]), teacher.user)
    # when: the late provider comes up
    late = NodeProvider(late_port, [new_key("late-1")], listener.url, tmp_path / "late.log").start()
    try:
        async with browser() as client:
            answer = await sign_in(http, client, "jean-late", provider="late")
    finally:
        late.stop()
    # then
    assert signed_in_as(await me(http, answer["access_token"]), teacher.user)


async def test_a_login_page_reads_the_sign_in_methods_without_any_secret(http):
    # when
    response = await Api(http).post(
        "query($r: String) { signInMethods(returnTo: $r) { name kind url } }", {"r": RETURN_TO}
    )
    # then
    methods = response.json()["data"]["signInMethods"]
    assert methods == [
        {
            "name": "ent",
            "kind": "OIDC",
            "url": f"{APP}/auth/oidc/ent/start?return_to=https%3A%2F%2Ffront.example.test%2Fsigned-in",
        },
        {
            "name": "late",
            "kind": "OIDC",
            "url": f"{APP}/auth/oidc/late/start?return_to=https%3A%2F%2Ffront.example.test%2Fsigned-in",
        },
        {
            "name": "mismatch",
            "kind": "OIDC",
            "url": f"{APP}/auth/oidc/mismatch/start?return_to=https%3A%2F%2Ffront.example.test%2Fsigned-in",
        },
        {
            "name": "jit",
            "kind": "OIDC",
            "url": f"{APP}/auth/oidc/jit/start?return_to=https%3A%2F%2Ffront.example.test%2Fsigned-in",
        },
        {
            "name": "cas",
            "kind": "CAS",
            "url": "https://cas.example.test/cas/login?service=https%3A%2F%2Fpfmp.example.test%2Fcas",
        },
    ]
    assert CLIENT_SECRET not in response.text


@pytest.mark.parametrize(
    "return_to, allowed",
    [
        ("https://front.example.test/after?x=1", True),
        ("HTTPS://Front.Example.Test/", True),  # scheme and host in any case
        ("http://localhost:5173/", True),
        ("https://front.example.test:8443/", False),  # another port is another origin
        ("https://front.example.test:abc/", False),  # a port that is not a number
        ("https://evil.example.test/", False),
        ("https://front.example.test@evil.example.test/", False),  # credentials that hide the real host
        ("https://front.example.test/#/after", False),  # a fragment
        ("//front.example.test/", False),  # no scheme
        ("ftp://front.example.test/", False),
        ("javascript:alert(1)", False),
        ("https:///after", False),  # no host
    ],
)
def test_a_sign_in_ends_only_on_a_configured_origin(tmp_path, return_to, allowed):
    # the configured origins as an administrator may write them: any case, a trailing slash
    settings = _settings(
        tmp_path, "sqlite://:memory:", signin_return_origins=("https://FRONT.example.test/", "http://localhost:5173")
    )
    assert oidc_flow.allowed_return(settings, return_to) is allowed


def request_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def s256(verifier: str) -> str:
    """RFC 7636, section 4.2: BASE64URL(SHA256(ASCII(code_verifier))), without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


async def test_each_authorization_request_carries_fresh_values_of_the_documented_sizes(http):
    # when: two sign-ins start
    starts = [await http.get("/auth/oidc/ent/start", params={"return_to": RETURN_TO}) for _ in range(2)]
    # then (docs/identity.md): state and nonce of 32 URL-safe characters, a verifier of 64 (RFC 7636: 43 to 128)
    # kept in the cookie named after the state, and its S256 challenge sent to the provider
    seen = []
    for start in starts:
        request = request_of(start.headers["location"])
        assert {k: request[k] for k in ("response_type", "client_id", "scope", "code_challenge_method")} == {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "scope": "openid",
            "code_challenge_method": "S256",
        }
        [(name, value)] = start.cookies.items()
        cookie = jwt.decode(value, options={"verify_signature": False})
        assert name == f"pfmp_oidc_{request['state']}"
        assert (len(request["state"]), len(request["nonce"]), len(cookie["cv"])) == (32, 32, 64)
        assert all(URL_SAFE.fullmatch(v) for v in (request["state"], request["nonce"], cookie["cv"]))
        assert (cookie["st"], cookie["nn"], cookie["rt"]) == (request["state"], request["nonce"], RETURN_TO)
        assert request["code_challenge"] == s256(cookie["cv"])
        assert cookie["exp"] - cookie["iat"] == 600
        seen.append((request["state"], request["nonce"], cookie["cv"]))
    assert len({v for values in seen for v in values}) == 6


async def test_a_sign_in_does_not_start_while_the_providers_discovery_cannot_be_read(http):
    # when: nothing listens where the late provider publishes its discovery document
    start = await http.get("/auth/oidc/late/start", params={"return_to": RETURN_TO})
    # then
    assert start.status_code == 503
    assert start.json() == {"error": "PROVIDER_UNAVAILABLE"}
    assert "set-cookie" not in start.headers


async def test_a_login_page_without_a_return_address_gets_the_plain_start_addresses(http):
    # when
    response = await Api(http).post("{ signInMethods { name url } }")
    # then: each provider's start, which then ends on the first allowed origin
    urls = {m["name"]: m["url"] for m in response.json()["data"]["signInMethods"]}
    assert urls["ent"] == f"{APP}/auth/oidc/ent/start"
    assert urls["jit"] == f"{APP}/auth/oidc/jit/start"


async def callback(app, provider: str, state: str, cookie: tuple[str, str] | None, code: str | None = None):
    """The provider's redirect back, as a browser holding only `cookie` sends it."""
    headers = {"cookie": f"{cookie[0]}={cookie[1]}"} if cookie else {}
    params = {"state": state, **({"code": code} if code else {})}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP) as browser_here:
        return await browser_here.get(f"/auth/oidc/{provider}/callback", params=params, headers=headers)


def unsigned(cookie: str) -> str:
    claims = jwt.decode(cookie, options={"verify_signature": False})
    return jwt.encode(claims, key=None, algorithm="none")


def tampered(cookie: str) -> str:
    head, body, signature = cookie.split(".")
    return ".".join((head, body, ("A" if signature[0] != "A" else "B") + signature[1:]))


@pytest.mark.parametrize(
    "case",
    ["another provider", "another state", "tampered", "unsigned", "another secret", "expired"],
)
async def test_a_callback_whose_state_cookie_is_not_this_sign_ins_own_is_refused(http, app, case):
    # given: two sign-ins started at ent (the second's cookie made by another server or long ago, for some cases)
    settings = app.state.settings
    [ent_provider] = [p for p in settings.oidc_providers if p.name == "ent"]
    first = await oidc_flow.start(settings, ent_provider, RETURN_TO)
    made_by = {
        "another secret": replace(settings, token_secret="another deployment's secret, of forty characters"),
        "expired": replace(settings, clock=lambda: time.time() - 601),
    }.get(case, settings)
    second = await oidc_flow.start(made_by, ent_provider, RETURN_TO)
    state = second.cookie_name.removeprefix("pfmp_oidc_")
    cookie = {
        "another provider": (second.cookie_name, second.cookie_value),
        "another state": (second.cookie_name, first.cookie_value),
        "tampered": (second.cookie_name, tampered(second.cookie_value)),
        "unsigned": (second.cookie_name, unsigned(second.cookie_value)),
        "another secret": (second.cookie_name, second.cookie_value),
        "expired": (second.cookie_name, second.cookie_value),
    }[case]
    # when
    answer = await callback(app, "jit" if case == "another provider" else "ent", state, cookie, code="a-code")
    # then
    assert answer.status_code == 400
    assert answer.json() == {"error": "SIGN_IN_STATE_INVALID"}
    assert await ProviderSession.all().count() == 0


async def test_a_callback_with_its_own_state_cookie_goes_on_to_the_provider(http, app):
    # given: the control of the refusals above; the provider sent the person back without a code (cancelled)
    settings = app.state.settings
    [ent_provider] = [p for p in settings.oidc_providers if p.name == "ent"]
    started = await oidc_flow.start(settings, ent_provider, RETURN_TO)
    # when
    answer = await callback(
        app, "ent", started.cookie_name.removeprefix("pfmp_oidc_"), (started.cookie_name, started.cookie_value)
    )
    # then: the state was accepted, and the sign-in ends on its return address with the provider's refusal
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{RETURN_TO}#error=SIGN_IN_REFUSED_BY_PROVIDER"
