"""Refresh tokens as strings: `pfmp-rt1.<secret>`, the secret 32 random bytes in base64url (docs/company-side.md).

The database keeps only HMAC-SHA256 of the secret under the server's token secret (`digest`), looked up by that
digest: a copy of the database gives no working token, and changing PFMP_TOKEN_SECRET voids every refresh token as
it voids every access token. Refreshing (spending a token, reuse detection) is resolvers/people/refresh.py's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from graph.settings import Settings
from models.signin import RefreshToken
from models.users import User

PREFIX = "pfmp-rt1"
_SECRET_BYTES = 32
# A refresh token is short; anything much longer is not one (and is not hashed).
MAX_LENGTH = 100


def new_secret() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES)


def new_family() -> str:
    """The random name shared by every refresh token descended from one sign-in."""
    return secrets.token_hex(16)


def compose(secret: str) -> str:
    return f"{PREFIX}.{secret}"


def digest(secret_key: str, token: str) -> str | None:
    """The keyed hash stored for a refresh token string, or None when the string is not one."""
    token = token.strip()
    prefix, _, secret = token.partition(".")
    if len(token) > MAX_LENGTH or prefix != PREFIX or not secret or not secret.isascii():
        return None
    return hmac.new(secret_key.encode(), secret.encode(), hashlib.sha256).hexdigest()


def now(settings: Settings) -> dt.datetime:
    return dt.datetime.fromtimestamp(settings.clock(), tz=dt.UTC)


async def issue(settings: Settings, user: User, family: str | None = None) -> tuple[str, dt.datetime]:
    """A new refresh token of `user` (a new family unless given) and when it expires; the caller's transaction,
    if any, holds the write."""
    moment = now(settings)
    token = compose(new_secret())
    hashed = digest(settings.token_secret, token)
    assert hashed is not None
    expires = moment + dt.timedelta(seconds=settings.refresh_token_lifetime)
    await RefreshToken.create(
        user_id=user.id,
        digest=hashed,
        family=family or new_family(),
        token_version=user.token_version,
        issued_at=moment,
        expires_at=expires,
    )
    return token, expires


async def revoke_family(family: str, moment: dt.datetime) -> int:
    """Revoke every refresh token descended from the sign-in of `family`; how many were still unrevoked."""
    return await RefreshToken.filter(family=family, revoked_at=None).update(revoked_at=moment)


async def sweep(moment: dt.datetime) -> int:
    """Delete the refresh tokens expired for a day (at start-up): a day's grace so that a token presented just
    after its expiry is still told EXPIRED rather than INVALID."""
    return await RefreshToken.filter(expires_at__lte=moment - dt.timedelta(days=1)).delete()
