"""Access and ID tokens of the OpenID Connect providers listed in PFMP_OIDC_PROVIDERS.

A bearer token goes here when its (unverified) issuer is a configured
provider's; the issuer only picks the provider, the verification then trusts
nothing the token says about itself:
- the algorithm must be one the provider is pinned to (asymmetric only, so a
  token "signed" HS256 with the public key, or with `alg: none`, fails);
- the key comes from the provider's JWKS address, by key id; the key set is
  cached, refetched when a token names an unknown key id (at most every
  `jwks_min_refresh_seconds`), and always fetched in a worker thread;
- a provider without a `jwks_url` publishes its keys' address in its
  discovery document (OpenID Connect Discovery 1.0), read at start-up
  (`discover_all`: a provider out of reach is logged and retried later) and
  again before each refetch of its keys, so keys a provider rotates, or moves,
  are found;
- issuer, audience, `exp` and `iat` are checked and required;
- the identifying claim must map to an existing, active account, or to one the provider's just-in-time rules
  link or create (permissions/provisioning.py; off by default).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field

import jwt

from graph.settings import OidcProvider, Settings
from models.users import User
from permissions import provisioning
from permissions.identities import find_user
from permissions.remote import RemoteError, fetch
from permissions.tokens import InvalidToken
from permissions.viewer import Viewer

log = logging.getLogger("pfmp.oidc")

NOT_VALID = "TOKEN_INVALID"
UNKNOWN_ISSUER = "TOKEN_ISSUER_UNKNOWN"
KEYS_UNAVAILABLE = "PROVIDER_KEYS_UNAVAILABLE"


def select_provider(settings: Settings, token: str) -> OidcProvider | None:
    """The configured provider a token claims to come from; None for the server's own tokens.

    Raises InvalidToken for a token that names neither this server nor a configured provider.
    """
    if not settings.oidc_providers:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None  # malformed: the server's own verification refuses it with its usual message
    issuer = claims.get("iss")
    for provider in settings.oidc_providers:
        if issuer == provider.issuer:
            return provider
    if issuer is not None and issuer != settings.token_issuer:
        raise InvalidToken(UNKNOWN_ISSUER)
    return None


@dataclass(frozen=True)
class Metadata:
    """What the server uses of a provider's discovery document."""

    issuer: str
    jwks_uri: str
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    end_session_endpoint: str | None = None


@dataclass
class _Discovery:
    metadata: Metadata | None = None
    attempted_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


# One discovery state per provider (issuer and discovery address), for the life of the process.
_discoveries: dict[tuple[str, str], _Discovery] = {}


def parse_discovery(provider: OidcProvider, body: bytes) -> Metadata:
    """The metadata of a discovery document; RemoteError (naming what is wrong) for a malformed one."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RemoteError("answered something that is not JSON") from None
    if not isinstance(document, dict):
        raise RemoteError("answered JSON that is not an object")
    if document.get("issuer") != provider.issuer:
        # OpenID Connect Discovery 1.0, section 4.3: the issuer published must be the one configured, exactly.
        raise RemoteError(f"publishes the issuer {str(document.get('issuer'))[:200]!r}, not the configured one")
    values: dict[str, str | None] = {}
    for key in ("jwks_uri", "authorization_endpoint", "token_endpoint", "end_session_endpoint"):
        value = document.get(key)
        if value is not None and not (isinstance(value, str) and value.startswith(("https://", "http://"))):
            raise RemoteError(f"gives a {key} that is not an http(s) address")
        values[key] = value
    jwks_uri = values.pop("jwks_uri")
    if jwks_uri is None:
        raise RemoteError("gives no jwks_uri")
    return Metadata(issuer=provider.issuer, jwks_uri=jwks_uri, **values)


def _discovery_of(provider: OidcProvider) -> _Discovery:
    assert provider.discovery_url is not None
    return _discoveries.setdefault((provider.issuer, provider.discovery_url), _Discovery())


async def rediscover(provider: OidcProvider) -> Metadata:
    """Read the provider's discovery document again; on failure the last one read, else RemoteError."""
    state = _discovery_of(provider)
    assert provider.discovery_url is not None
    async with state.lock:
        state.attempted_at = time.monotonic()
        try:
            state.metadata = parse_discovery(provider, await fetch(provider.discovery_url, timeout=provider.timeout))
        except RemoteError as exc:
            if state.metadata is None:
                raise
            log.warning("discovery document of %s %s: the last one read is kept", provider.name, exc)
    return state.metadata


async def metadata(provider: OidcProvider) -> Metadata:
    """The provider's discovery metadata, read once and kept; a provider that failed is asked again at most every
    `jwks_min_refresh_seconds`. RemoteError while it cannot be read."""
    state = _discovery_of(provider)
    if state.metadata is not None:
        return state.metadata
    now = time.monotonic()
    if state.attempted_at is not None and now - state.attempted_at < provider.jwks_min_refresh_seconds:
        raise RemoteError("could not be read lately")
    return await rediscover(provider)


async def discover_all(providers: tuple[OidcProvider, ...]) -> None:
    """Read every provider's discovery document, all at once; each failure is one log line (the provider is asked
    again on its next use), and stops neither the other providers nor the server."""

    async def one(provider: OidcProvider) -> None:
        try:
            await rediscover(provider)
        except RemoteError as exc:
            log.warning(
                "OIDC provider %s: its discovery document %s %s; it is asked again on next use",
                provider.name,
                provider.discovery_url,
                exc,
            )

    await asyncio.gather(*(one(p) for p in providers if p.discovery_url))


@dataclass
class _KeySet:
    keys: dict[str | None, dict] = field(default_factory=dict)  # raw JWKs by key id
    fetched_at: float | None = None  # last successful fetch (time.monotonic)
    attempted_at: float | None = None  # last fetch, successful or not
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    prepared: dict[tuple[str | None, str], jwt.PyJWK] = field(default_factory=dict)

    def lookup(self, kid: str | None) -> dict | None:
        if kid is None and len(self.keys) == 1:
            return next(iter(self.keys.values()))
        return self.keys.get(kid)

    def needs_fetch(self, provider: OidcProvider, kid: str | None, now: float) -> bool:
        if self.attempted_at is not None and now - self.attempted_at < provider.jwks_min_refresh_seconds:
            return False  # a provider that is down, or tokens with made-up key ids, cause no fetch storm
        if self.fetched_at is None or now - self.fetched_at > provider.jwks_cache_seconds:
            return True
        return self.lookup(kid) is None


# One key set per provider (issuer and JWKS address), for the life of the process.
_key_sets: dict[tuple[str, str], _KeySet] = {}


def clear_key_cache() -> None:
    """Forget every fetched key set and discovery document (the next token of each provider refetches)."""
    _key_sets.clear()
    _discoveries.clear()


def _parse_jwks(body: bytes) -> dict[str | None, dict]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RemoteError("answered something that is not JSON") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise RemoteError("answered JSON without a 'keys' list")
    keys = {}
    for entry in entries:
        if isinstance(entry, dict) and entry.get("use", "sig") == "sig" and entry.get("kty") in ("RSA", "EC"):
            keys[entry.get("kid")] = entry
    return keys


async def _refresh(provider: OidcProvider, key_set: _KeySet) -> None:
    url = provider.jwks_url or (await rediscover(provider)).jwks_uri
    body = await fetch(url, timeout=provider.timeout)
    key_set.keys = _parse_jwks(body)
    key_set.prepared.clear()
    key_set.fetched_at = time.monotonic()


async def _jwk_for(provider: OidcProvider, kid: str | None) -> tuple[_KeySet, dict | None]:
    """The provider's key with this id, fetching or refetching the key set as needed."""
    key_set = _key_sets.setdefault((provider.issuer, provider.jwks_url or provider.discovery_url or ""), _KeySet())
    if key_set.needs_fetch(provider, kid, time.monotonic()):
        async with key_set.lock:
            # Another request may have refreshed while this one waited.
            if key_set.needs_fetch(provider, kid, time.monotonic()):
                key_set.attempted_at = time.monotonic()
                try:
                    await _refresh(provider, key_set)
                except RemoteError as exc:
                    log.warning("JWKS of %s %s", provider.name, exc)
    if key_set.fetched_at is None:
        raise InvalidToken(KEYS_UNAVAILABLE)
    return key_set, key_set.lookup(kid)


async def verify(
    provider: OidcProvider,
    token: str,
    *,
    audience: str | None = None,
    require: tuple[str, ...] = ("exp", "iat", "iss", "aud"),
) -> dict:
    """The claims of a token signed by `provider` for `audience` (by default the provider's `audience`), or
    InvalidToken."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken(NOT_VALID) from None
    algorithm = header.get("alg")
    if algorithm not in provider.algorithms:
        raise InvalidToken(NOT_VALID)
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidToken(NOT_VALID)
    key_set, jwk = await _jwk_for(provider, kid)
    if jwk is None:
        raise InvalidToken(NOT_VALID)
    try:
        key = key_set.prepared.get((kid, algorithm))
        if key is None:
            # A key that names its algorithm keeps it (PyJWT refuses a token whose alg differs).
            key = jwt.PyJWK(jwk, None if jwk.get("alg") else algorithm)
            key_set.prepared[(kid, algorithm)] = key
        return jwt.decode(
            token,
            key,
            algorithms=list(provider.algorithms),
            audience=audience or provider.audience,
            issuer=provider.issuer,
            leeway=provider.leeway,
            options={"require": list(require), "enforce_minimum_key_length": True},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("TOKEN_EXPIRED") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidToken(NOT_VALID) from None


async def authenticate(provider: OidcProvider, token: str) -> Viewer:
    """The viewer a provider's token stands for; InvalidToken when it is bad or names nobody here."""
    user = await account_of(provider, await verify(provider, token))
    return Viewer(id=user.id, role=user.role, school_id=user.school_id, token_version=user.token_version)


async def account_of(provider: OidcProvider, claims: dict) -> User:
    """The active account verified claims of `provider` name; InvalidToken when they name nobody here."""
    value = claims.get(provider.claim)
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
        raise InvalidToken("TOKEN_CLAIM_MISSING", claim=provider.claim)
    if provider.match == "email" and claims.get("email_verified") is False:
        raise InvalidToken("PROVIDER_EMAIL_UNVERIFIED")
    if provider.provisioning.enabled:
        # Linked, or linked or created now by the provider's rules (permissions/provisioning.py).
        try:
            return await provisioning.account_for(provider.name, provider.provisioning, str(value), claims)
        except provisioning.Refused as exc:
            key = "TOKEN_CLAIM_MISSING" if exc.key == "CLAIM_MISSING" else exc.key
            raise InvalidToken(key, **exc.params) from None
    user = await find_user(provider.name, provider.match, str(value))
    if user is None:
        raise InvalidToken("IDENTITY_NOT_LINKED", provider=provider.name)
    return user
