"""The code flow against the answers a certified provider never gives: a discovery document lacking an endpoint or
whose authorization endpoint has a query of its own, the token request as RFC 6749 and RFC 7636 write it, and what
the server does with every other token endpoint answer, ID token and logout token (docs/identity.md, "Browser
sign-in through an OpenID provider" and "Logout"). The provider is the loopback one of
tests/identity/conftest.py (its discovery document, keys and token endpoint); the whole flow against a real provider
is test_oidc_code_flow.py's.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import replace
from urllib.parse import parse_qs, unquote_plus, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from graph.settings import OidcProvider
from models.signin import ProviderSession
from models.users import ExternalIdentity, User
from permissions import oidc_flow
from tests.identity.conftest import AUDIENCE, ENT_ISSUER, provider_sessions
from tests.postgres import _free_port

# Characters client_secret_basic must form-encode before Basic (RFC 6749, section 2.3.1): a slash, a colon, a
# plus, spaces. The API's bearer audience is another than the client id, as an ENT registers them.
CLIENT_ID = "pfmp web/1"
CLIENT_SECRET = "a secret: with/slashes+plus, of more than 32 characters"
CALLBACK = "http://testserver/auth/oidc/served/callback"
RETURN_TO = "https://front.example.test/signed-in"
# What application/x-www-form-urlencoded leaves as it is (WHATWG URL, application/x-www-form-urlencoded serializer),
# its escapes, and "+" for a space.
FORM_ENCODED = re.compile(r"(?:[A-Za-z0-9*._-]|%[0-9A-F]{2}|\+)*")


def served(idp, discovery_url: str | None = None, **document_changes) -> OidcProvider:
    """A code-flow provider whose discovery document (at the loopback provider) names its token endpoint there."""
    document = {
        "issuer": ENT_ISSUER,
        "jwks_uri": f"{idp.base}/ent/jwks",
        "authorization_endpoint": "https://ent.example.test/oidc/authorize",
        "token_endpoint": f"{idp.base}/token",
        **document_changes,
    }
    idp.discovery_body = json.dumps({k: v for k, v in document.items() if v is not None}).encode()
    return OidcProvider(
        name="served",
        issuer=ENT_ISSUER,
        audience=AUDIENCE,
        discovery_url=discovery_url or f"{idp.base}/discovery",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_url=CALLBACK,
        jwks_min_refresh_seconds=0,
        timeout=1.0,
    )


async def started(settings, provider: OidcProvider) -> dict:
    """The sign-in state a browser brings back to the callback (the cookie of a start, read as the callback does)."""
    start = await oidc_flow.start(settings, provider, RETURN_TO)
    return oidc_flow.read_state(
        settings, provider, start.cookie_name.removeprefix(oidc_flow.COOKIE_PREFIX), start.cookie_value
    )


def answer_with(idp, id_token: object, padding: int = 0) -> None:
    body = json.dumps({"access_token": "opaque", "token_type": "Bearer", "id_token": id_token}).encode()
    idp.token_answer = (200, body + b" " * padding)


@pytest.fixture
async def claire(app):
    teacher = await User.get(email="professeur@demo.pfmp.test")
    await ExternalIdentity.create(user=teacher, provider="served", subject="ent-claire")
    return teacher


@pytest.mark.parametrize("missing", ["authorization_endpoint", "token_endpoint"])
async def test_a_sign_in_does_not_start_at_a_provider_whose_discovery_lacks_an_endpoint(app, idp, missing):
    # given
    provider = served(idp, **{missing: None})
    # when
    with pytest.raises(oidc_flow.FlowError) as refused:
        await oidc_flow.start(app.state.settings, provider, RETURN_TO)
    # then
    assert refused.value.code == "PROVIDER_UNAVAILABLE"


async def test_an_authorization_endpoint_with_its_own_query_keeps_it(app, idp):
    # given
    provider = served(idp, authorization_endpoint="https://ent.example.test/oidc/authorize?tenant=lyc")
    # when
    started = await oidc_flow.start(app.state.settings, provider, RETURN_TO)
    # then
    assert started.url.startswith("https://ent.example.test/oidc/authorize?tenant=lyc&response_type=code&")
    assert parse_qs(urlsplit(started.url).query)["state"] == [started.cookie_name.removeprefix("pfmp_oidc_")]


async def test_the_code_is_exchanged_as_rfc_6749_and_7636_say_and_signs_the_person_in(app, idp, claire):
    # given
    settings = app.state.settings
    provider = served(idp)
    state = await started(settings, provider)
    answer_with(idp, idp.token(aud=CLIENT_ID, sub="ent-claire", nonce=state["nn"]))
    # when
    signed = await oidc_flow.finish(settings, provider, state, "the-code")
    # then: one POST of the form, the client's credentials form-encoded then Basic, JSON asked for
    [request] = idp.token_requests
    assert request["form"] == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": CALLBACK,
        "code_verifier": state["cv"],
    }
    scheme, _, credentials = request["headers"]["authorization"].partition(" ")
    client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
    assert scheme.lower() == "basic"
    assert FORM_ENCODED.fullmatch(client_id) and FORM_ENCODED.fullmatch(secret), (client_id, secret)
    assert (unquote_plus(client_id), unquote_plus(secret)) == (CLIENT_ID, CLIENT_SECRET)
    assert request["headers"]["accept"].lower() == "application/json"
    # and the person is signed in, in a session of that provider
    session = await ProviderSession.get(id=signed.session_id)
    assert (session.user_id, session.provider, session.subject) == (claire.id, "served", "ent-claire")


async def test_the_servers_token_is_the_sessions_own_while_time_moves(app, idp, claire):
    # given: the server's clock, 20 minutes behind the real one, moving a second each time it is read; a provider's
    # session id longer than kept
    settings = app.state.settings
    provider = served(idp)
    state = await started(settings, provider)
    behind = int(settings.clock()) - 1200
    ticks = iter(range(behind, behind + 100))
    moving = replace(settings, clock=lambda: float(next(ticks)))
    answer_with(idp, idp.token(aud=CLIENT_ID, sub="ent-claire", nonce=state["nn"], sid="s" * 300))
    # when
    signed = await oidc_flow.finish(moving, provider, state, "the-code")
    # then: issued when the session opened, expiring with it; the session id cut to the column's 255 characters
    session = await ProviderSession.get(id=signed.session_id)
    claims = jwt.decode(signed.token, options={"verify_signature": False})
    assert (claims["iat"], claims["exp"], claims["ses"]) == (
        session.created_at.timestamp(),
        session.expires_at.timestamp(),
        session.id,
    )
    assert signed.expires_at == session.expires_at.timestamp()
    assert session.sid == "s" * 255


async def test_an_answer_of_256_kib_is_read(app, idp, claire):
    settings = app.state.settings
    provider = served(idp)
    state = await started(settings, provider)
    id_token = idp.token(aud=CLIENT_ID, sub="ent-claire", nonce=state["nn"])
    body = json.dumps({"access_token": "opaque", "token_type": "Bearer", "id_token": id_token}).encode()
    answer_with(idp, id_token, padding=256 * 1024 - len(body))
    # when
    signed = await oidc_flow.finish(settings, provider, state, "the-code")
    # then
    assert (await ProviderSession.get(id=signed.session_id)).user_id == claire.id


def oversized(idp, id_token: str) -> None:
    answer_with(idp, id_token, padding=256 * 1024)


@pytest.mark.parametrize(
    "answer, code",
    [
        ((400, b'{"error": "invalid_grant"}'), "SIGN_IN_CODE_REFUSED"),
        ((500, b"{}"), "SIGN_IN_CODE_REFUSED"),
        ((200, b"<html>Welcome</html>"), "PROVIDER_UNAVAILABLE"),
        ((200, b'["id_token"]'), "SIGN_IN_CODE_REFUSED"),
        ((200, b'{"access_token": "opaque", "token_type": "Bearer"}'), "SIGN_IN_CODE_REFUSED"),
        ((200, b'{"id_token": 5}'), "SIGN_IN_CODE_REFUSED"),
        ("over 256 KiB", "PROVIDER_UNAVAILABLE"),
        ("redirected", "SIGN_IN_CODE_REFUSED"),
        ("slower than the timeout", "PROVIDER_UNAVAILABLE"),
    ],
    ids=["refused", "failed", "not JSON", "a list", "no ID token", "not a string", "too large", "redirect", "slow"],
)
async def test_a_token_endpoint_that_gives_no_usable_id_token_signs_nobody_in(app, idp, claire, answer, code):
    # given: a valid ID token, which the token endpoint gives only where said
    settings = app.state.settings
    provider = served(idp)
    state = await started(settings, provider)
    id_token = idp.token(aud=CLIENT_ID, sub="ent-claire", nonce=state["nn"])
    answer_with(idp, id_token)
    if answer == "over 256 KiB":
        oversized(idp, id_token)
    elif answer == "redirected":  # 307 to an address that would answer the ID token: not followed
        idp.token_redirect = True
    elif answer == "slower than the timeout":  # the ID token, 2 s after the provider's 1 s timeout
        idp.token_delay = 2.0
    else:
        idp.token_answer = answer
    # when
    with pytest.raises(oidc_flow.FlowError) as refused:
        await oidc_flow.finish(settings, provider, state, "the-code")
    # then
    assert refused.value.code == code
    assert [r["path"] for r in idp.token_requests] == ["/token"]
    assert not await ProviderSession.exists()


async def test_a_token_endpoint_where_nothing_listens_is_unavailable(app, idp, claire):
    settings = app.state.settings
    state = await started(settings, served(idp))
    provider = served(
        idp, discovery_url=f"{idp.base}/discovery?unreachable", token_endpoint=f"http://127.0.0.1:{_free_port()}/t"
    )
    with pytest.raises(oidc_flow.FlowError) as refused:
        await oidc_flow.finish(settings, provider, state, "the-code")
    assert refused.value.code == "PROVIDER_UNAVAILABLE"


@pytest.mark.parametrize("discovery", ["down", "no token endpoint"])
async def test_a_callback_while_the_providers_discovery_is_unusable_is_unavailable(app, idp, claire, discovery):
    # given: a sign-in started while the provider worked; at its callback the discovery cannot be read, or lacks
    # the token endpoint (another discovery address: the server reads it anew)
    settings = app.state.settings
    state = await started(settings, served(idp))
    if discovery == "down":
        provider = served(idp, discovery_url=f"http://127.0.0.1:{_free_port()}/discovery")
    else:
        provider = served(idp, discovery_url=f"{idp.base}/discovery?again", token_endpoint=None)
    # when
    with pytest.raises(oidc_flow.FlowError) as refused:
        await oidc_flow.finish(settings, provider, state, "the-code")
    # then
    assert refused.value.code == "PROVIDER_UNAVAILABLE"
    assert idp.token_requests == []


ANOTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    "case",
    [
        "signed by another key",
        "for the API's bearer audience",
        "without sub",
        "another nonce",
        "two audiences, authorized for another",
        "expired",
    ],
)
async def test_an_id_token_not_for_this_sign_in_signs_nobody_in(app, idp, claire, case):
    # given
    settings = app.state.settings
    provider = served(idp)
    state = await started(settings, provider)
    claims: dict = dict(aud=CLIENT_ID, sub="ent-claire", nonce=state["nn"])
    if case == "signed by another key":
        claims["key"] = ANOTHER_KEY
    elif case == "for the API's bearer audience":
        claims["aud"] = AUDIENCE
    elif case == "without sub":
        claims["drop"] = ("sub",)
    elif case == "another nonce":
        claims["nonce"] = state["nn"][::-1]
    elif case == "two audiences, authorized for another":
        claims.update(aud=[CLIENT_ID, "another-client"], azp="another-client")
    else:
        claims.update(iat=1_700_000_000, exp=1_700_000_600)
    answer_with(idp, idp.token(**claims))
    # when
    with pytest.raises(oidc_flow.FlowError) as refused:
        await oidc_flow.finish(settings, provider, state, "the-code")
    # then
    assert refused.value.code == "ID_TOKEN_INVALID"
    assert not await ProviderSession.exists()


async def test_an_id_token_for_two_audiences_authorized_for_this_client_signs_in(app, idp, claire):
    settings = app.state.settings
    provider = served(idp)
    state = await started(settings, provider)
    answer_with(idp, idp.token(aud=[CLIENT_ID, "another-client"], azp=CLIENT_ID, sub="ent-claire", nonce=state["nn"]))
    signed = await oidc_flow.finish(settings, provider, state, "the-code")
    assert (await ProviderSession.get(id=signed.session_id)).user_id == claire.id


BACKCHANNEL = {"http://schemas.openid.net/event/backchannel-logout": {}}


def claires_sessions(claire: User, *sids: str):
    return provider_sessions(claire.id, "served", "ent-claire", *sids)


async def test_a_logout_token_for_this_client_revokes_the_session_it_names_once(app, idp, claire, server_in_guiana):
    # given: two sign-ins of Claire at the provider, and one at another provider with the same subject and sid
    first, second = await claires_sessions(claire, "sid-1", "sid-2")
    [elsewhere] = await claires_sessions(claire, "sid-1")
    await ProviderSession.filter(id=elsewhere.id).update(provider="ent")
    token = idp.token(aud=CLIENT_ID, sub="ent-claire", sid="sid-1", jti="logout-1", events=BACKCHANNEL)
    # when: the provider sends it, then sends it again
    revoked = await oidc_flow.backchannel_logout(app.state.settings, served(idp), token)
    again = await oidc_flow.backchannel_logout(app.state.settings, served(idp), token)
    # then: that session only, revoked now (whatever the server's time zone), once
    assert (revoked, again) == (1, 0)
    revoked_at = (await ProviderSession.get(id=first.id)).revoked_at
    assert abs(revoked_at - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=30)
    assert (await ProviderSession.get(id=second.id)).revoked_at is None
    assert (await ProviderSession.get(id=elsewhere.id)).revoked_at is None


async def test_a_logout_token_naming_only_the_subject_revokes_all_its_sessions_at_that_provider(app, idp, claire):
    sessions = await claires_sessions(claire, "sid-1", "sid-2")
    token = idp.token(aud=CLIENT_ID, sub="ent-claire", jti="logout-1", events=BACKCHANNEL)
    assert await oidc_flow.backchannel_logout(app.state.settings, served(idp), token) == 2
    assert all([(await ProviderSession.get(id=s.id)).revoked_at is not None for s in sessions])


# OpenID Connect Back-Channel Logout 1.0, section 2.6: what a logout token must be.
LOGOUT_REFUSALS = {
    "for the API's bearer audience": dict(aud=AUDIENCE),
    "without jti": dict(drop=("jti",)),
    "without events": dict(drop=("events",)),
    "events without the logout event": dict(events={"http://schemas.openid.net/event/other": {}}),
    "the logout event not an object": dict(events={"http://schemas.openid.net/event/backchannel-logout": "yes"}),
    "with a nonce": dict(nonce="n-1"),
    "neither sid nor sub": dict(drop=("sid", "sub")),
    "a sid that is not a string": dict(sid=1),
    "a sub that is not a string": dict(sub=1),
    "of a provider without the flow": {},
}


@pytest.mark.parametrize("case", list(LOGOUT_REFUSALS))
async def test_a_logout_token_not_for_this_client_revokes_nothing(app, idp, claire, case):
    # given
    [session] = await claires_sessions(claire, "sid-1")
    claims: dict = dict(aud=CLIENT_ID, sub="ent-claire", sid="sid-1", jti="logout-1", events=BACKCHANNEL)
    claims.update(LOGOUT_REFUSALS[case])
    provider = served(idp)
    if case == "of a provider without the flow":  # the same provider configured for bearer tokens only
        provider = replace(provider, client_id=None, client_secret=None, redirect_url=None)
    # when
    with pytest.raises(oidc_flow.FlowError) as refused:
        await oidc_flow.backchannel_logout(app.state.settings, provider, idp.token(**claims))
    # then: the reason the server's log gives (the provider is answered `invalid_request`)
    assert refused.value.code == "LOGOUT_TOKEN_INVALID"
    assert (await ProviderSession.get(id=session.id)).revoked_at is None


SIGNED_OUT = "https://front.example.test/signed-out"


@pytest.mark.parametrize("configured", ["with the flow", "bearer tokens only", "no longer"])
async def test_signing_out_here_revokes_the_session_and_names_the_providers_end_session_address(
    app, idp, claire, server_in_guiana, configured
):
    # given: a session of the provider, whose end-session endpoint has a query of its own
    provider = replace(
        served(idp, end_session_endpoint="https://ent.example.test/oidc/logout?ui=lyc"),
        post_logout_redirect_url=SIGNED_OUT,
    )
    providers = {
        "with the flow": (provider,),
        "bearer tokens only": (replace(provider, client_id=None, client_secret=None, redirect_url=None),),
        "no longer": (),
    }[configured]
    settings = replace(app.state.settings, oidc_providers=providers)
    [session] = await claires_sessions(claire, "sid-1")
    await ProviderSession.filter(id=session.id).update(id_token="the.id.token")
    # when
    address = await oidc_flow.end_session(settings, session.id)
    # then: revoked now (whatever the server's time zone); the provider's address only where it has the flow
    revoked_at = (await ProviderSession.get(id=session.id)).revoked_at
    assert abs(revoked_at - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=30)
    if configured == "with the flow":
        assert address == (
            "https://ent.example.test/oidc/logout?ui=lyc&id_token_hint=the.id.token&client_id=pfmp+web%2F1"
            "&post_logout_redirect_uri=https%3A%2F%2Ffront.example.test%2Fsigned-out"
        )
    else:
        assert address is None
