"""A real identity provider on the loopback interface: a JWKS endpoint and a CAS server.

Keys are generated here (cryptography); tokens are really signed; the CAS
server hands out single-use service tickets and answers CAS 2/3 XML. The app
under test is configured with three OIDC providers:
- "ent": RS256, person by `sub` mapped to external identities, refetch on any unknown key id;
- "academie": ES256, person by `email`, unknown key ids refetch at most once an hour;
- "down": a JWKS address where nothing listens;
and the CAS server (provider "cas"). `@pytest.mark.identity_settings(...)`
overrides Settings fields for one test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from strawberry import relay

from graph.settings import OidcProvider
from models.signin import ProviderSession
from permissions import oidc
from tests.conftest import _settings
from tests.postgres import _free_port

ENT_ISSUER = "https://ent.example.test/oidc"
ACADEMIE_ISSUER = "https://idp.academie.example.test"
AUDIENCE = "pfmp-api"
SERVICE = "https://pfmp.example.test/cas"


def pytest_configure(config):
    config.addinivalue_line("markers", "identity_settings(**fields): Settings fields for this test")


PERSON_TYPES = {
    "ADMIN": "Administrator",
    "TEACHER": "Teacher",
    "LEARNER": "Learner",
    "TUTOR": "Tutor",
    "MASTER": "ApprenticeshipMaster",
}


def gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


def person_id(user) -> str:
    return gid(PERSON_TYPES[user.role.value], user.id)


class FakeIdentityProvider:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_kid = "rsa-1"
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ec_kid = "ec-1"
        self.published = [(self.rsa_kid, self.rsa), (self.ec_kid, self.ec)]
        self.jwks_fetches: dict[str, int] = {}
        self.jwks_delay = 0.0
        self.jwks_body: bytes | None = None  # served instead of the published keys when set
        self.discovery_body = b"{}"  # served at /discovery
        self.discovery_fetches = 0
        self.cas_delay = 0.0
        self.cas_raw_answer: bytes | None = None
        self.cas_calls: list[dict] = []
        self.tickets: dict[str, tuple[str, str, dict[str, list[str]]]] = {}
        # A token endpoint (POST /token): the requests it received (path, lower-cased headers, form), its answer
        # (status, body), how long it waits first, and whether it sends the client elsewhere (307 to /token-moved,
        # which answers the same).
        self.token_requests: list[dict] = []
        self.token_answer: tuple[int, bytes] = (400, b'{"error": "invalid_grant"}')
        self.token_delay = 0.0
        self.token_redirect = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- tokens -------------------------------------------------------------------------------------------------
    def token(
        self,
        *,
        key=None,
        kid: str | None = "rsa-1",
        alg: str = "RS256",
        headers: dict | None = None,
        drop: tuple[str, ...] = (),
        **claims,
    ) -> str:
        now = int(time.time())
        body = {"iss": ENT_ISSUER, "aud": AUDIENCE, "sub": "ent-person", "iat": now, "exp": now + 600}
        body.update(claims)
        for name in drop:
            body.pop(name, None)
        extra = dict(headers or {})
        if kid is not None:
            extra["kid"] = kid
        return jwt.encode(body, key if key is not None else self.rsa, algorithm=alg, headers=extra)

    def academie_token(self, **claims) -> str:
        return self.token(key=self.ec, kid=self.ec_kid, alg="ES256", iss=ACADEMIE_ISSUER, **claims)

    def jwks(self) -> dict:
        keys = []
        for kid, key in self.published:
            algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
            jwk = algorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig"})
        return {"keys": keys}

    # --- CAS ----------------------------------------------------------------------------------------------------
    def ticket(self, user: str, service: str = SERVICE, **attributes: str | list[str]) -> str:
        ticket = f"ST-{uuid.uuid4().hex}"
        values = {k: v if isinstance(v, list) else [v] for k, v in attributes.items()}
        self.tickets[ticket] = (service, user, values)
        return ticket

    def _cas_answer(self, query: dict[str, str]) -> bytes:
        ns = 'xmlns:cas="http://www.yale.edu/tp/cas"'
        granted = self.tickets.pop(query.get("ticket", ""), None)  # single use
        if granted is None:
            code, text = "INVALID_TICKET", f"Ticket {query.get('ticket')} not recognized"
        elif granted[0] != query.get("service"):
            code, text = "INVALID_SERVICE", "Ticket was not issued for this service"
        else:
            _, user, attributes = granted
            attrs = "".join(f"<cas:{k}>{escape(v)}</cas:{k}>" for k, vs in attributes.items() for v in vs)
            return (
                f"<cas:serviceResponse {ns}><cas:authenticationSuccess><cas:user>{escape(user)}</cas:user>"
                f"<cas:attributes>{attrs}</cas:attributes></cas:authenticationSuccess>"
                "</cas:serviceResponse>"
            ).encode()
        return (
            f'<cas:serviceResponse {ns}><cas:authenticationFailure code="{code}">{escape(text)}'
            "</cas:authenticationFailure></cas:serviceResponse>"
        ).encode()

    # --- the HTTP server ----------------------------------------------------------------------------------------
    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path in ("/ent/jwks", "/academie/jwks"):
                    provider.jwks_fetches[url.path] = provider.jwks_fetches.get(url.path, 0) + 1
                    time.sleep(provider.jwks_delay)
                    body = provider.jwks_body or json.dumps(provider.jwks()).encode()
                    self._send(body, "application/json")
                elif url.path == "/discovery":
                    provider.discovery_fetches += 1
                    self._send(provider.discovery_body, "application/json")
                elif url.path in ("/cas/serviceValidate", "/cas/p3/serviceValidate"):
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    provider.cas_calls.append({"path": url.path, **query})
                    time.sleep(provider.cas_delay)
                    self._send(provider.cas_raw_answer or provider._cas_answer(query), "application/xml")
                else:
                    self.send_error(404)

            def do_POST(self):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if url.path not in ("/token", "/token-moved"):
                    self.send_error(404)
                    return
                provider.token_requests.append(
                    {
                        "path": url.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "form": {k: v[0] for k, v in parse_qs(body.decode()).items()},
                    }
                )
                if url.path == "/token" and provider.token_redirect:
                    self.send_response(307)
                    self.send_header("Location", f"{provider.base}/token-moved")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    time.sleep(provider.token_delay)
                    status, answer = provider.token_answer
                    self._send(answer, "application/json", status)

            def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout tests)

        return Handler

    def start(self) -> FakeIdentityProvider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server_in_guiana():
    """The server's local time zone 3 hours behind UTC (America/Cayenne): stored times must not depend on it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Cayenne"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def idp():
    oidc.clear_key_cache()  # a port of an earlier test's provider may come back with other keys
    provider = FakeIdentityProvider().start()
    try:
        yield provider
    finally:
        provider.stop()


async def provider_sessions(user_id: int, provider: str, subject: str, *sids: str) -> list[ProviderSession]:
    """Sign-ins of an account at a provider, one per provider session id, open for an hour from now."""
    now = dt.datetime.now(dt.UTC)
    return [
        await ProviderSession.create(
            user_id=user_id,
            provider=provider,
            subject=subject,
            sid=sid,
            id_token="",
            created_at=now,
            expires_at=now + dt.timedelta(hours=1),
        )
        for sid in sids
    ]


def ent(idp: FakeIdentityProvider, **changes) -> OidcProvider:
    """The "ent" provider of these tests (RS256, keys at the loopback provider, refetched on any unknown key id),
    with `changes` to its fields."""
    values: dict = dict(
        name="ent",
        issuer=ENT_ISSUER,
        audience=AUDIENCE,
        jwks_url=f"{idp.base}/ent/jwks",
        jwks_min_refresh_seconds=0,
        timeout=2.0,
    )
    return OidcProvider(**{**values, **changes})


@pytest.fixture
def settings(request, tmp_path, database_url, idp):
    providers = (
        ent(idp),
        OidcProvider(
            name="academie",
            issuer=ACADEMIE_ISSUER,
            audience=AUDIENCE,
            jwks_url=f"{idp.base}/academie/jwks",
            algorithms=("ES256",),
            claim="email",
            match="email",
            timeout=2.0,
        ),
        OidcProvider(
            name="down",
            issuer="https://down.example.test",
            audience=AUDIENCE,
            jwks_url=f"http://127.0.0.1:{_free_port()}/jwks",
            timeout=1.0,
        ),
    )
    values = dict(oidc_providers=providers, cas_server_url=f"{idp.base}/cas", cas_service_url=SERVICE, cas_timeout=2.0)
    marker = request.node.get_closest_marker("identity_settings")
    if marker:
        values.update(marker.kwargs)
    return _settings(tmp_path, database_url, **values)
