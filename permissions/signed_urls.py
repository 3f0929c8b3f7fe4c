"""Signed download URLs (issue 16, part 4): a short-lived URL for one download path, bound to the user who asked
for it, so that a browser's `<a href>` or a phone's download manager fetches the file without an Authorization
header.

    /annexes/<id>?expires=<unix time>&user=<user id>[&link=<trainer link id>][&session=<id>]&signature=<base64url>

The signature is HMAC-SHA256, under a key derived from the token secret (never the secret itself), of the path,
the user, their token version, the trainer link their token came from (if any), the sign-in at an identity provider
their token is bound to (if any) and the expiry. At use, the user's current row is read: a deactivated account, a
token version bumped since (signOutEverywhere, userRevokeTokens), a revoked or expired link, a provider session
ended since (a logout at the provider), a changed path or expiry, all fail the check; the viewer the URL stands for then goes
through the route's own checks (row scopes, access table), as a bearer token would: a URL never grants more than
its user has at the moment it is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode

from graph.settings import Settings
from models.signin import ProviderSession
from models.users import User
from permissions.viewer import Viewer

# (key of the message, its values), as permissions/authentication.py's Problem.
Problem = tuple[str, dict[str, str]]
INVALID: Problem = ("DOWNLOAD_URL_INVALID", {})
EXPIRED: Problem = ("DOWNLOAD_URL_EXPIRED", {})
PARAMETERS = ("expires", "user", "link", "session", "signature")


def _key(secret: str) -> bytes:
    # A key of its own: a signature of a URL is never anything else the token secret signs.
    return hmac.new(secret.encode(), b"pfmp signed download url v1", hashlib.sha256).digest()


def _signature(
    secret: str, path: str, user_id: int, token_version: int, link_id: int | None, session_id: int | None, expires: int
) -> str:
    message = f"{path}\n{user_id}\n{token_version}\n{link_id or 0}\n{session_id or 0}\n{expires}".encode()
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(settings: Settings, path: str, viewer: Viewer) -> tuple[str, int]:
    """(the signed URL of `path` for `viewer`, its expiry in seconds since the epoch)."""
    expires = int(settings.clock()) + settings.signed_url_lifetime
    params: dict[str, int | str] = {"expires": expires, "user": viewer.id}
    if viewer.link_id is not None:
        params["link"] = viewer.link_id
    if viewer.session_id is not None:
        params["session"] = viewer.session_id
    params["signature"] = _signature(
        settings.token_secret, path, viewer.id, viewer.token_version, viewer.link_id, viewer.session_id, expires
    )
    return f"{path}?{urlencode(params)}", expires


def is_signed(params: Mapping[str, str]) -> bool:
    return "signature" in params


def _integer(text: str | None) -> int | None:
    if text is None or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


async def verify(settings: Settings, path: str, params: Mapping[str, str]) -> tuple[dict | None, Problem | None]:
    """The user row (id, role, school_id, token_version, password_change_required) and link id a valid signed URL
    stands for, or the problem: INVALID (altered, another path, another user, a revoked account or token version,
    malformed) or EXPIRED. Expiry is judged only on a genuine signature, so nothing is learnt from a made-up one."""
    expires, user_id = _integer(params.get("expires")), _integer(params.get("user"))
    link_id = _integer(params["link"]) if "link" in params else None
    session_id = _integer(params["session"]) if "session" in params else None
    given = params.get("signature", "")
    malformed = ("link" in params and link_id is None) or ("session" in params and session_id is None)
    if expires is None or user_id is None or malformed or not given.isascii():
        return None, INVALID
    rows = await User.filter(id=user_id, is_active=True).values(
        "id", "role", "school_id", "token_version", "password_change_required"
    )
    if not rows:
        return None, INVALID
    user = rows[0]
    wanted = _signature(settings.token_secret, path, user_id, user["token_version"], link_id, session_id, expires)
    if not hmac.compare_digest(wanted, given):
        return None, INVALID
    if expires <= settings.clock():
        return None, EXPIRED
    if session_id is not None and not await ProviderSession.exists(id=session_id, user_id=user_id, revoked_at=None):
        return None, INVALID  # the sign-in it was signed under ended at its provider, or here
    return {**user, "link_id": link_id, "session_id": session_id}, None
