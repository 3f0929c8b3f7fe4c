"""Access tokens: HS256 JWTs signed with PyJWT.

Claims: `sub` (user id), `role`, `school`, `ver` (the user's token version,
bumping it revokes every token of that user), `iat`, `exp`, `iss`, `aud`; a token exchanged for a trainer link
also `lnk`, the link's id (revoking the link revokes it: permissions/authentication.py); a token issued at the end
of a sign-in through an OpenID provider also `ses`, the id of its session there (models/signin.py ProviderSession: a
logout at the provider revokes it).
"""

from __future__ import annotations

import time

import jwt

ALGORITHM = "HS256"
AUDIENCE = "pfmp-api"


class InvalidToken(Exception):
    """The token cannot be trusted. `key` names the message shown for it (context `error` of the catalogs,
    graph/messages.py), `params` the values that message names."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def issue_token(
    *,
    secret: str,
    issuer: str,
    lifetime: int,
    user_id: int,
    role: str,
    school_id: int,
    token_version: int,
    now: int | None = None,
    link_id: int | None = None,
    session_id: int | None = None,
) -> tuple[str, int]:
    issued = int(now if now is not None else time.time())
    expires = issued + lifetime
    claims = {
        "sub": str(user_id),
        "role": role,
        "school": school_id,
        "ver": token_version,
        "iat": issued,
        "exp": expires,
        "iss": issuer,
        "aud": AUDIENCE,
    }
    if link_id is not None:
        claims["lnk"] = link_id
    if session_id is not None:
        claims["ses"] = session_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def decode_token(token: str, *, secret: str, issuer: str) -> dict:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("TOKEN_EXPIRED") from None
    except jwt.PyJWTError:
        raise InvalidToken("TOKEN_INVALID") from None
    try:
        claims["sub"] = int(claims["sub"])
        claims["ver"] = int(claims["ver"])
        for key in ("lnk", "ses"):
            if key in claims:
                claims[key] = int(claims[key])
    except (KeyError, TypeError, ValueError):
        raise InvalidToken("TOKEN_INVALID") from None
    return claims
