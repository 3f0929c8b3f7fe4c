"""Refresh tokens (issue 16, part 4): a sign-in also answers a rotating refresh token, so that a phone app keeps a
session without keeping a password (docs/company-side.md).

A refresh token is an opaque string (permissions/refresh.py); the database keeps a keyed hash of it, the family
(every token descended from one sign-in), the account's token version, its expiry (`refresh_token_lifetime`, 30 days
by default, counted from each refresh) and whether it was spent or revoked. `tokenRefresh` spends the token and
answers a new access token and a new refresh token of the same family. Presenting a spent token again means two
parties hold it (the app and a thief): the whole family is revoked, and the app signs in again. Whatever revokes the
account's access tokens revokes its refresh tokens (their token version no longer matches): signOutEverywhere,
passwordChange, userRevokeTokens, userDeactivate. Refused refreshes count in the sign-in throttle of the client's
address (permissions/throttle.py), as wrong passwords do.
"""

from __future__ import annotations

import datetime as dt
import logging

import strawberry
from tortoise.transactions import in_transaction

from graph.context import Info
from graph.errors import FieldProblem, Reason
from graph.types.common import Payload, UserError
from models.signin import RefreshToken
from models.users import User
from permissions import refresh, throttle
from permissions.table import allows
from resolvers.mutations import mutation
from resolvers.people.auth import begin_attempt, signed_in, throttled

log = logging.getLogger("pfmp.signin")


@strawberry.input(description="A refresh token to exchange.")
class TokenRefreshInput:
    refresh_token: str = strawberry.field(
        description="The refresh token the last login or tokenRefresh answered (pfmp-rt1.…)."
    )


@strawberry.type(description="Result of tokenRefresh.")
class TokenRefreshPayload(Payload):
    token: str | None = strawberry.field(
        default=None, description="A new access token: send it as 'Authorization: Bearer <token>'."
    )
    expires_at: dt.datetime | None = strawberry.field(default=None, description="When the access token stops working.")
    refresh_token: str | None = strawberry.field(
        default=None,
        description="The next refresh token, to keep in place of the one sent, which is now spent: sending a spent "
        "one again revokes every refresh token descended from the same sign-in.",
    )
    refresh_expires_at: dt.datetime | None = strawberry.field(
        default=None, description="When the next refresh token stops working unless used before."
    )
    retry_after: int | None = strawberry.field(
        default=None,
        description="With a THROTTLED error: seconds to wait before the next attempt (also sent as the Retry-After "
        "header).",
    )


def _refused(reason: Reason) -> TokenRefreshPayload:
    return TokenRefreshPayload(errors=[UserError.of(FieldProblem(["input", "refreshToken"], reason))])


@strawberry.type
class RefreshMutation:
    @mutation(
        "Exchange a refresh token for a new access token and a new refresh token (no bearer token needed: holding "
        "the refresh token is enough; rule refresh_token.use). The token sent is spent; sending a spent token "
        "again revokes every refresh token descended from the same sign-in (REFRESH_TOKEN_REUSED). Refused when "
        "expired, or revoked by signOutEverywhere, passwordChange, userRevokeTokens or userDeactivate. Refused "
        "attempts count in the sign-in throttle of the client's address (THROTTLED, with retryAfter). A refusal "
        "writes nothing but the throttle's count and, for a reuse, the family's revocation.",
        transaction=False,
    )
    async def token_refresh(self, info: Info, input: TokenRefreshInput) -> TokenRefreshPayload:
        settings = info.context.settings
        digest = refresh.digest(settings.token_secret, input.refresh_token)
        # The throttle's "account" of a refresh is the token itself; its address is the client's, shared with the
        # sign-ins: guessing refresh tokens costs an address what guessing passwords costs.
        attempt = await begin_attempt(info, f"refresh-token:{digest or 'malformed'}")
        if attempt is not None and attempt.retry_after is not None:
            return TokenRefreshPayload(retry_after=attempt.retry_after, errors=[await throttled(info, attempt)])
        row = await RefreshToken.get_or_none(digest=digest) if digest else None
        if row is None:
            return _refused(Reason.REFRESH_TOKEN_INVALID)
        now = refresh.now(settings)
        if row.revoked_at is not None:
            return _refused(Reason.REFRESH_TOKEN_REVOKED)
        if row.spent_at is not None:
            revoked = await refresh.revoke_family(row.family, now)
            log.warning(
                "refresh token %d reused: its family (%d tokens) revoked, user %d", row.id, revoked, row.user_id
            )
            return _refused(Reason.REFRESH_TOKEN_REUSED)
        if row.expires_at <= now:
            return _refused(Reason.REFRESH_TOKEN_EXPIRED)
        user = await User.get(id=row.user_id)
        if (
            not user.is_active
            or user.token_version != row.token_version
            or not allows("refresh_token.use", user.role, owned=True)
        ):
            return _refused(Reason.REFRESH_TOKEN_REVOKED)
        async with in_transaction():
            # Spent once: of two requests presenting the same token, one spends it, the other is a reuse.
            spent = await RefreshToken.filter(id=row.id, spent_at=None, revoked_at=None).update(spent_at=now)
            if spent:
                token, expires = await refresh.issue(settings, user, row.family)
        if not spent:
            revoked = await refresh.revoke_family(row.family, now)
            log.warning("refresh token %d spent twice at once: its family (%d tokens) revoked", row.id, revoked)
            return _refused(Reason.REFRESH_TOKEN_REUSED)
        if attempt is not None:
            await throttle.succeeded(attempt)
        access, access_expires, _ = signed_in(settings, user)
        return TokenRefreshPayload(
            token=access, expires_at=access_expires, refresh_token=token, refresh_expires_at=expires
        )
