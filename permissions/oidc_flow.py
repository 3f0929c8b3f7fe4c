"""Sign-in through an OpenID provider's authorization endpoint, this server being the client (authorization-code
flow with PKCE), and the two logouts (RP-initiated, back-channel). The HTTP side is graph/routes/oidc.py.

- Start: state, nonce and a PKCE verifier are drawn here and kept in a short-lived cookie (10 minutes) signed with
  a key derived from the token secret, named after the state: nothing is stored server-side, so the callback may
  reach any host of the deployment, and two sign-ins in two tabs do not overwrite each other's state.
- Callback: the state must match its cookie; the code is exchanged at the provider's token endpoint (httpx,
  client_secret_basic, with the PKCE verifier); the ID token is checked as a bearer provider token is (pinned
  algorithm, JWKS key by id, issuer, `exp`, `iat`) with `aud` = client id (and `azp` when several audiences) and
  the nonce of the cookie. The person maps to an account exactly as for bearer tokens (linked or created only by
  the provider's just-in-time rules, permissions/provisioning.py);
  the server's own token carries `ses`, the id of an ProviderSession row holding the provider's `sid`.
- Back-channel logout (OpenID Connect Back-Channel Logout 1.0): a logout token signed by the provider for this
  client, with the back-channel logout event, no nonce, and `sid` and/or `sub`, revokes the sessions it names.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

import httpx
import jwt

from graph.settings import OidcProvider, Settings
from models.signin import ProviderSession
from permissions import oidc, sessions
from permissions.remote import RemoteError
from permissions.tokens import InvalidToken

STATE_LIFETIME = 600
STATE_AUDIENCE = "pfmp-oidc-state"
COOKIE_PREFIX = "pfmp_oidc_"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_TOKEN_ANSWER = 256 * 1024


class FlowError(Exception):
    """A sign-in or logout step that cannot go on; `code` is what the client is told (no detail of the provider)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _state_key(settings: Settings) -> bytes:
    # A key of its own: a state cookie is never a valid access token, nor the other way round.
    return hmac.new(settings.token_secret.encode(), b"pfmp oidc sign-in state", hashlib.sha256).digest()


def allowed_return(settings: Settings, return_to: str) -> bool:
    """Whether the sign-in may end on `return_to`: an http(s) address on one of the configured origins."""
    try:
        parts = urlsplit(return_to)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or parts.fragment:
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    allowed = settings.signin_return_origins or settings.cors_origins
    return origin in {o.lower().rstrip("/") for o in allowed}


def start_url(provider: OidcProvider, return_to: str | None = None) -> str | None:
    """Where a login page sends the person to sign in through `provider` (the start route next to the callback)."""
    if not provider.code_flow or provider.redirect_url is None:
        return None
    base = provider.redirect_url.rpartition("/")[0] + "/start"
    return f"{base}?{urlencode({'return_to': return_to})}" if return_to else base


@dataclass(frozen=True)
class Start:
    url: str  # the provider's authorization endpoint, with the request
    cookie_name: str
    cookie_value: str


async def start(settings: Settings, provider: OidcProvider, return_to: str) -> Start:
    try:
        meta = await oidc.metadata(provider)
    except RemoteError:
        raise FlowError("PROVIDER_UNAVAILABLE") from None
    if meta.authorization_endpoint is None or meta.token_endpoint is None:
        raise FlowError("PROVIDER_UNAVAILABLE")
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    now = int(settings.clock())
    cookie = jwt.encode(
        {
            "prv": provider.name,
            "st": state,
            "nn": nonce,
            "cv": verifier,
            "rt": return_to,
            "iat": now,
            "exp": now + STATE_LIFETIME,
            "aud": STATE_AUDIENCE,
        },
        _state_key(settings),
        algorithm="HS256",
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": provider.redirect_url,
            "scope": " ".join(provider.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
    )
    joiner = "&" if "?" in meta.authorization_endpoint else "?"
    return Start(f"{meta.authorization_endpoint}{joiner}{query}", COOKIE_PREFIX + state, cookie)


def read_state(settings: Settings, provider: OidcProvider, state: str, cookie: str | None) -> dict:
    """The sign-in state the cookie of `state` holds; FlowError when missing, forged, expired or another's."""
    if not cookie:
        raise FlowError("SIGN_IN_STATE_INVALID")
    try:
        claims = jwt.decode(
            cookie,
            _state_key(settings),
            algorithms=["HS256"],
            audience=STATE_AUDIENCE,
            options={"require": ["exp", "iat", "aud"]},
        )
    except jwt.PyJWTError:
        raise FlowError("SIGN_IN_STATE_INVALID") from None
    if claims.get("prv") != provider.name or not hmac.compare_digest(str(claims.get("st", "")), state):
        raise FlowError("SIGN_IN_STATE_INVALID")
    return claims


async def _exchange(provider: OidcProvider, token_endpoint: str, code: str, verifier: str) -> str:
    """The ID token the provider's token endpoint answers for `code`."""
    assert provider.client_id is not None and provider.client_secret is not None
    # client_secret_basic: each part form-encoded first (RFC 6749, section 2.3.1).
    credentials = f"{quote(provider.client_id, safe='')}:{quote(provider.client_secret, safe='')}"
    try:
        async with httpx.AsyncClient(timeout=provider.timeout, follow_redirects=False) as client:
            response = await client.post(
                token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": provider.redirect_url,
                    "code_verifier": verifier,
                },
                headers={
                    "Accept": "application/json",
                    "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
                },
            )
    except httpx.HTTPError:
        raise FlowError("PROVIDER_UNAVAILABLE") from None
    if response.status_code != 200:
        raise FlowError("SIGN_IN_CODE_REFUSED")
    try:
        if len(response.content) > MAX_TOKEN_ANSWER:
            raise ValueError
        answer = response.json()
    except ValueError:
        raise FlowError("PROVIDER_UNAVAILABLE") from None
    id_token = answer.get("id_token") if isinstance(answer, dict) else None
    if not isinstance(id_token, str):
        raise FlowError("SIGN_IN_CODE_REFUSED")
    return id_token


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_at: int
    session_id: int


async def finish(settings: Settings, provider: OidcProvider, state: dict, code: str) -> SignedIn:
    """Exchange the code, check the ID token, find the account and open its session; FlowError when it fails."""
    try:
        meta = await oidc.metadata(provider)
    except RemoteError:
        raise FlowError("PROVIDER_UNAVAILABLE") from None
    if meta.token_endpoint is None:
        raise FlowError("PROVIDER_UNAVAILABLE")
    id_token = await _exchange(provider, meta.token_endpoint, code, str(state["cv"]))
    try:
        claims = await oidc.verify(
            provider, id_token, audience=provider.client_id, require=("exp", "iat", "iss", "aud", "sub")
        )
    except InvalidToken:
        raise FlowError("ID_TOKEN_INVALID") from None
    if not hmac.compare_digest(str(claims.get("nonce", "")), str(state["nn"])):
        raise FlowError("ID_TOKEN_INVALID")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise FlowError("ID_TOKEN_INVALID")
    try:
        user = await oidc.account_of(provider, claims)
    except InvalidToken as exc:
        raise FlowError(exc.key) from None
    sid = claims.get("sid")
    row, now = await sessions.open_session(
        settings,
        user,
        provider=provider.name,
        subject=str(claims["sub"]),
        sid=sid[:255] if isinstance(sid, str) else None,
        id_token=id_token,
    )
    token, expires = sessions.access_token(settings, user, now=now, session_id=row.id)
    return SignedIn(token=token, expires_at=expires, session_id=row.id)


async def backchannel_logout(settings: Settings, provider: OidcProvider, logout_token: str) -> int:
    """Revoke the sessions a provider's logout token names; how many were open. FlowError for a bad token."""
    if not provider.code_flow:
        raise FlowError("LOGOUT_TOKEN_INVALID")
    try:
        claims = await oidc.verify(
            provider, logout_token, audience=provider.client_id, require=("iat", "iss", "aud", "jti")
        )
    except InvalidToken:
        raise FlowError("LOGOUT_TOKEN_INVALID") from None
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict) or "nonce" in claims:
        raise FlowError("LOGOUT_TOKEN_INVALID")
    sid, sub = claims.get("sid"), claims.get("sub")
    if (sid is not None and not isinstance(sid, str)) or (sub is not None and not isinstance(sub, str)):
        raise FlowError("LOGOUT_TOKEN_INVALID")
    if not sid and not sub:
        raise FlowError("LOGOUT_TOKEN_INVALID")
    sessions = ProviderSession.filter(provider=provider.name, revoked_at=None)
    if sid:
        sessions = sessions.filter(sid=sid)
    if sub:
        sessions = sessions.filter(subject=sub)
    return await sessions.update(revoked_at=dt.datetime.fromtimestamp(settings.clock(), tz=dt.UTC))


async def end_session(settings: Settings, session_id: int) -> str | None:
    """Revoke the session a token of this server belongs to; where to send the person to sign out at the provider
    too (its end_session_endpoint with id_token_hint), or None when the provider publishes none."""
    row = await ProviderSession.get_or_none(id=session_id)
    if row is None:
        return None
    if row.revoked_at is None:
        await ProviderSession.filter(id=row.id, revoked_at=None).update(
            revoked_at=dt.datetime.fromtimestamp(settings.clock(), tz=dt.UTC)
        )
    provider = next((p for p in settings.oidc_providers if p.name == row.provider), None)
    if provider is None or not provider.code_flow:
        return None
    try:
        endpoint = (await oidc.metadata(provider)).end_session_endpoint
    except RemoteError:
        return None
    if endpoint is None:
        return None
    query = {"id_token_hint": row.id_token, "client_id": provider.client_id or ""}
    if provider.post_logout_redirect_url:
        query["post_logout_redirect_uri"] = provider.post_logout_redirect_url
    joiner = "&" if "?" in endpoint else "?"
    return f"{endpoint}{joiner}{urlencode(query)}"
