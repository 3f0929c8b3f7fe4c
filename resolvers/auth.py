"""Sign-in, the signed-in user, and token revocation."""

from __future__ import annotations

import datetime as dt

import strawberry
from tortoise.expressions import F

from graph.context import Info
from graph.errors import ErrorCode, problem
from graph.types.common import UserError
from graph.types.users import Person, person_from_row
from models.users import User
from permissions.passwords import verify_password
from permissions.tokens import issue_token
from permissions.viewer import Viewer
from resolvers.inputs import fits_column
from resolvers.mutations import run_mutation

WRONG_CREDENTIALS = "Wrong email or password."


@strawberry.type(description="Result of login.")
class LoginPayload:
    token: str | None = strawberry.field(default=None, description="Access token: send it as 'Authorization: Bearer <token>'.")
    expires_at: dt.datetime | None = strawberry.field(default=None, description="When the token stops working.")
    user: Person | None = strawberry.field(default=None, description="The signed-in person.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Empty on success.")


@strawberry.type(description="Result of signOutEverywhere.")
class SignOutEverywherePayload:
    revoked: bool = strawberry.field(default=False, description="True when every token of the account was revoked.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Empty on success.")


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in person. UNAUTHENTICATED without a valid token.")
    async def me(self, info: Info) -> Person:
        viewer = info.context.require_viewer()
        row = await User.get(id=viewer.id)
        return person_from_row(row, viewer)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Sign in with email and password; answers an access token. "
                                     "A wrong email and a wrong password get the same answer.")
    async def login(self, info: Info, email: str, password: str) -> LoginPayload:
        settings = info.context.settings

        async def body() -> LoginPayload:
            address = email.strip().lower()
            user = await User.get_or_none(email=address) if fits_column(User, "email", address) else None
            valid = await verify_password(user.password_hash if user else None, password)
            if user is None or not valid or not user.is_active:
                raise problem(None, ErrorCode.INVALID, WRONG_CREDENTIALS)
            token, expires = issue_token(
                secret=settings.token_secret, issuer=settings.token_issuer, lifetime=settings.token_lifetime,
                user_id=user.id, role=user.role.value, school_id=user.school_id, token_version=user.token_version,
            )
            return LoginPayload(
                token=token,
                expires_at=dt.datetime.fromtimestamp(expires, tz=dt.timezone.utc),
                user=person_from_row(user, Viewer(id=user.id, role=user.role, school_id=user.school_id)),
            )

        return await run_mutation(LoginPayload, body)

    @strawberry.mutation(description="Revoke every access token of the signed-in account (this one included).")
    async def sign_out_everywhere(self, info: Info) -> SignOutEverywherePayload:
        viewer = info.context.require_viewer()

        async def body() -> SignOutEverywherePayload:
            await User.filter(id=viewer.id).update(token_version=F("token_version") + 1)
            return SignOutEverywherePayload(revoked=True)

        return await run_mutation(SignOutEverywherePayload, body)
