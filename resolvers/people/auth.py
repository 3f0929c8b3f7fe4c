"""Sign-in, the signed-in user, and token revocation."""

from __future__ import annotations

import asyncio
import datetime as dt

import strawberry
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from graph.context import Info
from graph.errors import FieldProblem, Reason
from graph.settings import Settings
from graph.types.common import Payload, UserError
from graph.types.users import Person, person_from_row
from models.audit import AuditKind
from models.users import User
from permissions import refresh, throttle
from permissions.passwords import verify_password
from permissions.sessions import access_token
from permissions.viewer import Viewer
from resolvers.inputs import fits_column
from resolvers.mutations import mutation


def signed_in(settings: Settings, user: User, session_id: int | None = None) -> tuple[str, dt.datetime, Person]:
    """What every sign-in answers once the person is known: an access token, when it expires, and the person.
    `session_id`: the ProviderSession the token is bound to, when a provider's logout must revoke it."""
    token, expires = access_token(settings, user, session_id=session_id)
    viewer = Viewer(id=user.id, role=user.role, school_id=user.school_id)
    return token, dt.datetime.fromtimestamp(expires, tz=dt.UTC), person_from_row(user, viewer)


async def begin_attempt(info: Info, email: str) -> throttle.Attempt | None:
    """Count a password check in the sign-in throttle, keyed by the email and the client's address (None when the
    throttle is off); the caller answers `throttled` when it is refused, and calls `throttle.succeeded` when the
    password was right."""
    settings = info.context.settings
    if not settings.signin_throttle:
        return None
    return await throttle.begin(
        settings, email, throttle.client_address(info.context.request, settings.trusted_proxies)
    )


async def throttled(info: Info, attempt: throttle.Attempt) -> UserError:
    """The refusal of a throttled attempt, after the refusal delay, with the Retry-After header."""
    retry_after = attempt.retry_after or 1
    await asyncio.sleep(info.context.settings.signin_refusal_delay)
    if info.context.response is not None:
        info.context.response.headers["retry-after"] = str(retry_after)
    return UserError.of(FieldProblem(None, Reason.SIGN_IN_THROTTLED, {"seconds": retry_after}))


@strawberry.type(description="Result of login.")
class LoginPayload(Payload):
    token: str | None = strawberry.field(
        default=None, description="Access token: send it as 'Authorization: Bearer <token>'."
    )
    expires_at: dt.datetime | None = strawberry.field(default=None, description="When the token stops working.")
    refresh_token: str | None = strawberry.field(
        default=None,
        description="A refresh token (an opaque string, pfmp-rt1.…): exchange it with tokenRefresh for a new access "
        "token and a new refresh token, without the password. Keep it as a secret; it works once, for "
        "PFMP_REFRESH_TOKEN_LIFETIME (30 days by default), and stops with signOutEverywhere, a password change or "
        "the account's deactivation.",
    )
    refresh_expires_at: dt.datetime | None = strawberry.field(
        default=None, description="When the refresh token stops working unless used before."
    )
    user: Person | None = strawberry.field(default=None, description="The signed-in person.")
    password_change_required: bool = strawberry.field(
        default=False,
        description="True when the password is a temporary one: until passwordChange, the token "
        "opens nothing else than me and passwordChange (PASSWORD_CHANGE_REQUIRED).",
    )
    retry_after: int | None = strawberry.field(
        default=None,
        description="With a THROTTLED error: seconds to wait before the next attempt (also sent as "
        "the Retry-After header).",
    )


@strawberry.type(description="Result of signOutEverywhere.")
class SignOutEverywherePayload(Payload):
    revoked: bool = strawberry.field(default=False, description="True when every token of the account was revoked.")


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in person. UNAUTHENTICATED without a valid token.")
    async def me(self, info: Info) -> Person:
        viewer = info.context.require_viewer(temporary_password_ok=True)
        row = await User.get(id=viewer.id)
        return person_from_row(row, viewer)


@strawberry.input(description="The arguments of login. Sign in with email and password.")
class LoginInput:
    email: str = strawberry.field(description="The account's email address.")
    password: str = strawberry.field(description="Its password.")


@strawberry.type
class AuthMutation:
    @mutation(
        "Sign in with email and password; answers an access token and a refresh token (tokenRefresh). "
        "A wrong email and a wrong password get the same answer. After 5 failures "
        "in a row an email waits (1 minute, doubling up to 15), and an address gets "
        "at most 20 failures a minute: THROTTLED, with retryAfter.",
        transaction=False,
    )
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        email, password = input.email, input.password
        settings = info.context.settings
        address = email.strip().lower()
        attempt = await begin_attempt(info, address)
        if attempt is not None:
            if attempt.retry_after is not None:
                return LoginPayload(retry_after=attempt.retry_after, errors=[await throttled(info, attempt)])
        user = await User.get_or_none(email=address) if fits_column(User, "email", address) else None
        valid = await verify_password(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            return LoginPayload(errors=[UserError.of(FieldProblem(None, Reason.CREDENTIALS_WRONG))])
        if attempt is not None:
            await throttle.succeeded(attempt)
        token, expires_at, person = signed_in(settings, user)
        async with in_transaction():
            refresh_token, refresh_expires_at = await refresh.issue(settings, user)
        return LoginPayload(
            token=token,
            expires_at=expires_at,
            refresh_token=refresh_token,
            refresh_expires_at=refresh_expires_at,
            user=person,
            password_change_required=user.password_change_required,
        )

    @mutation(
        "Revoke every access token and every refresh token of the signed-in account (this one included).",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def sign_out_everywhere(self, info: Info) -> SignOutEverywherePayload:
        viewer = info.context.require_account()
        await User.filter(id=viewer.id).update(token_version=F("token_version") + 1)
        return SignOutEverywherePayload(revoked=True)
