"""Trainer links as strings: an opaque token `pfmp-tl1.<link id>.<secret>` (docs/company-side.md).

The secret is 32 random bytes (base64url); the database keeps only its HMAC-SHA256 under the server's token secret
(`digest`), so neither a copy of the database nor the secret alone lets anyone make a link, and a link whose any
character was changed matches no row. The id in front only says which row to compare with; it grants nothing.
The front end puts the string where it likes (e.g. the fragment of its own URL, which no server log sees).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "pfmp-tl1"
_SECRET_BYTES = 32
# A link is short; anything much longer is not one (and is not hashed).
MAX_LENGTH = 120


def digest(secret_key: str, link_id: int, secret: str) -> str:
    """The keyed hash stored for a link: bound to its row, so a secret moved to another id matches nothing."""
    return hmac.new(secret_key.encode(), f"{link_id}.{secret}".encode(), hashlib.sha256).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES)


def compose(link_id: int, secret: str) -> str:
    return f"{PREFIX}.{link_id}.{secret}"


def parse(link: str) -> tuple[int, str] | None:
    """(link id, secret) of a well-formed link string, else None."""
    if len(link) > MAX_LENGTH:
        return None
    prefix, _, rest = link.strip().partition(".")
    raw_id, _, secret = rest.partition(".")
    if prefix != PREFIX or not raw_id.isascii() or not raw_id.isdigit() or not secret or len(raw_id) > 10:
        return None
    link_id = int(raw_id)
    return (link_id, secret) if 0 < link_id < 2**31 else None


def matches(secret_key: str, link_id: int, secret: str, stored: str) -> bool:
    return hmac.compare_digest(digest(secret_key, link_id, secret), stored)
