"""Password hashing with argon2 (argon2-cffi's recommended parameters)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("no such account: constant-time placeholder")

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Argon2 is CPU-bound by design: keep it off the event loop."""
    return await asyncio.to_thread(_verify, password_hash, password)


def temporary_password() -> str:
    """A first password for an account created by someone else, shown once to its creator."""
    import secrets

    return secrets.token_urlsafe(12)
