"""Access tokens: HS256 JWTs signed with PyJWT.

Claims: `sub` (user id), `role`, `school`, `ver` (the user's token version,
bumping it revokes every token of that user), `iat`, `exp`, `iss`, `aud`.
"""

from __future__ import annotations

import time

import jwt

ALGORITHM = "HS256"
AUDIENCE = "pfmp-api"


class InvalidToken(Exception):
    """The token cannot be trusted; the message is safe to show."""


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
        raise InvalidToken("The access token has expired.") from None
    except jwt.PyJWTError:
        raise InvalidToken("The access token is not valid.") from None
    try:
        claims["sub"] = int(claims["sub"])
        claims["ver"] = int(claims["ver"])
    except (KeyError, TypeError, ValueError):
        raise InvalidToken("The access token is not valid.") from None
    return claims
