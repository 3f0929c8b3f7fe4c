"""What every sign-in ends with once the person is known: the server's access token for their account, and, for a
sign-in at an identity provider's pages (OpenID Connect, CAS), the ProviderSession row the token is bound to, so a
logout at the provider revokes exactly that token (permissions/oidc_flow.py, permissions/cas.py)."""

from __future__ import annotations

import datetime as dt

from graph.settings import Settings
from models.signin import ProviderSession
from models.users import User
from permissions.tokens import issue_token


def access_token(
    settings: Settings,
    user: User,
    *,
    now: int | None = None,
    lifetime: int | None = None,
    session_id: int | None = None,
    link_id: int | None = None,
) -> tuple[str, int]:
    """A signed access token for `user` and its expiry (epoch seconds); `lifetime` shortens the settings' own."""
    return issue_token(
        secret=settings.token_secret,
        issuer=settings.token_issuer,
        lifetime=settings.token_lifetime if lifetime is None else lifetime,
        user_id=user.id,
        role=user.role.value,
        school_id=user.school_id,
        token_version=user.token_version,
        now=now,
        link_id=link_id,
        session_id=session_id,
    )


async def open_session(
    settings: Settings, user: User, *, provider: str, subject: str, sid: str | None, id_token: str = ""
) -> tuple[ProviderSession, int]:
    """The session row of a sign-in at `provider`, expiring with the token issued for it; and the time it opened
    (epoch seconds), which that token is issued at. `sid` must fit its 255 characters; `id_token` is empty for CAS."""
    now = int(settings.clock())
    row = await ProviderSession.create(
        user_id=user.id,
        provider=provider,
        subject=subject[:254],
        sid=sid or None,
        id_token=id_token,
        created_at=dt.datetime.fromtimestamp(now, tz=dt.UTC),
        expires_at=dt.datetime.fromtimestamp(now + settings.token_lifetime, tz=dt.UTC),
    )
    return row, now
