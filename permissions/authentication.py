"""Who is asking: the bearer token of a request, checked against its signature, its expiry and the account.

Every entry point asks here: the GraphQL view (graph/app.py) and the HTTP routes (graph/routes/).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from graph.settings import Settings
from models.links import TrainerLink
from models.signin import ProviderSession
from models.users import User
from permissions import oidc, signed_urls
from permissions.table import granted
from permissions.tokens import InvalidToken, decode_token
from permissions.viewer import Viewer

# (key of the message, its values): the catalogs hold the words (graph/messages.py, context `error`).
Problem = tuple[str, dict[str, str]]
REVOKED: Problem = ("TOKEN_REVOKED", {})


async def authenticate(settings: Settings, authorization: str | None) -> tuple[Viewer | None, Problem | None]:
    """(viewer, None) for a valid bearer token; (None, reason) for a bad one; (None, None) for none."""
    if not authorization:
        return None, None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, ("AUTHORIZATION_MALFORMED", {})
    try:
        # Tokens of the configured OpenID Connect providers (docs/identity.md); else the server's own.
        provider = oidc.select_provider(settings, token.strip())
        if provider is not None:
            return await oidc.authenticate(provider, token.strip()), None
        claims = decode_token(token.strip(), secret=settings.token_secret, issuer=settings.token_issuer)
    except InvalidToken as exc:
        return None, (exc.key, exc.params)
    row = await User.filter(id=claims["sub"]).values(
        "id", "role", "school_id", "token_version", "is_active", "password_change_required"
    )
    if not row:
        return None, REVOKED
    user = row[0]
    if not user["is_active"] or user["token_version"] != claims["ver"]:
        return None, REVOKED
    if "ses" in claims and not await ProviderSession.exists(id=claims["ses"], user_id=user["id"], revoked_at=None):
        return None, REVOKED  # signed out at the provider, or here (graph/routes/oidc.py)
    if "lnk" in claims:
        # Only a trainer acts through a link (access.md, "Trainer link · use").
        if not granted("trainer_link.use", user["role"]):
            return None, REVOKED
        return await _through_link(settings, claims["lnk"], user)
    return Viewer(
        id=user["id"],
        role=user["role"],
        school_id=user["school_id"],
        password_change_required=user["password_change_required"],
        token_version=user["token_version"],
        session_id=claims.get("ses"),
    ), None


async def _through_link(settings: Settings, link_id: int, user: dict) -> tuple[Viewer | None, Problem | None]:
    """A token exchanged for a trainer link works while its link does: not revoked, not expired, still the same
    trainer's. Its viewer reaches the link's portfolio only (the row scopes read `link_portfolio_id`), and is never
    held at a temporary password: the link, not a password, let it in."""
    now = dt.datetime.fromtimestamp(settings.clock(), tz=dt.UTC)
    link = await TrainerLink.filter(id=link_id, trainer_id=user["id"], revoked_at=None, expires_at__gt=now).values(
        "portfolio_id"
    )
    if not link:
        return None, REVOKED
    return Viewer(
        id=user["id"],
        role=user["role"],
        school_id=user["school_id"],
        token_version=user["token_version"],
        link_id=link_id,
        link_portfolio_id=link[0]["portfolio_id"],
    ), None


async def authenticate_download(
    settings: Settings, path: str, params: Mapping[str, str], authorization: str | None
) -> tuple[Viewer | None, Problem | None, bool]:
    """Who asks for a download: the user a signed URL stands for when the query string carries a signature
    (permissions/signed_urls.py), else the bearer token's. The third value says a signature was presented: a bad
    one is refused as such (403), not as a missing sign-in (401)."""
    if not signed_urls.is_signed(params):
        viewer, problem = await authenticate(settings, authorization)
        return viewer, problem, False
    user, problem = await signed_urls.verify(settings, path, params)
    if user is None:
        return None, problem, True
    if user["link_id"] is not None:
        if not granted("trainer_link.use", user["role"]):
            return None, signed_urls.INVALID, True
        viewer, problem = await _through_link(settings, user["link_id"], user)
        return viewer, (signed_urls.INVALID if viewer is None else None), True
    return (
        Viewer(
            id=user["id"],
            role=user["role"],
            school_id=user["school_id"],
            password_change_required=user["password_change_required"],
            token_version=user["token_version"],
            session_id=user["session_id"],
        ),
        None,
        True,
    )
