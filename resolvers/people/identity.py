"""Sign-in through the school's identity providers (CAS), the list of sign-in methods a login page offers,
identity links, and the roster import.

OpenID Connect tokens need no operation: they are accepted as bearer tokens
(permissions/oidc.py); the browser sign-in through an OpenID provider is a pair of HTTP routes
(graph/routes/oidc.py). Configuration: docs/identity.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
from collections.abc import Callable
from typing import Annotated, TypeVar
from urllib.parse import urlencode

import strawberry

from graph.context import Info
from graph.errors import AppError, FieldProblem, Reason, UserInputError, not_found, problem
from graph.messages import Term
from graph.types.common import Payload, UserError, decode_id, described_enum
from graph.types.schools import Classroom, Level
from graph.types.users import Learner, Person, person_from_row
from models.audit import AuditKind
from models.users import ExternalIdentity as ExternalIdentityRow
from models.users import Role, User
from permissions import cas, oidc_flow, provisioning
from permissions.identities import MAX_SUBJECT, find_user
from permissions.sessions import open_session
from permissions.table import describe
from resolvers.mutations import mutation, run_mutation
from resolvers.people.auth import signed_in
from resolvers.people.roster import RosterFileError, RosterFormat, parse_roster
from resolvers.people.roster_write import apply_roster

MAX_ROSTER_FILE = 10 * 1024 * 1024
T = TypeVar("T")
PERSON_TYPES = {
    "Learner": Role.LEARNER,
    "Teacher": Role.TEACHER,
    "Tutor": Role.TUTOR,
    "ApprenticeshipMaster": Role.MASTER,
    "Administrator": Role.ADMIN,
}

RosterFormatEnum = Annotated[
    RosterFormat,
    described_enum(
        values={
            "XML": "The school-administration system's XML export.",
            "CSV": "A CSV file, its columns as docs/identity.md lists them.",
        },
        name="RosterFormat",
        description="XML: the school-administration system's export (SIECLE's learners export for rosterImport, "
        "STS-Web's timetable export for staffImport); CSV: see docs/identity.md.",
    ),
]


@strawberry.type(description="The identifier an identity provider (ENT, CAS, OpenID Connect) gives a person.")
class ExternalIdentity:
    provider: str = strawberry.field(description="Name of the provider, as configured on the server.")
    subject: str = strawberry.field(description="The person's identifier at that provider.")


@strawberry.enum(description="How a sign-in method works.")
class SignInKind(enum.Enum):
    OIDC = strawberry.enum_value(
        "OIDC",
        description="OpenID Connect: send the person to `url`; they come back to `returnTo` with "
        "`#access_token=…` (or `#error=CODE`) in the address.",
    )
    CAS = strawberry.enum_value(
        "CAS",
        description="CAS: send the person to `url` (the CAS login page); the CAS server sends them back to "
        "this server's service URL with a ticket, to give to casLogin.",
    )


@strawberry.type(description="A way to sign in offered by this server, besides email and password.")
class SignInMethod:
    name: str = strawberry.field(description="The provider's name, as configured on the server.")
    kind: SignInKind = strawberry.field(description="OIDC or CAS.")
    url: str = strawberry.field(description="Where a login page sends the person to sign in.")


@strawberry.type(description="Result of casLogin.")
class CasLoginPayload(Payload):
    token: str | None = strawberry.field(
        default=None, description="Access token: send it as 'Authorization: Bearer <token>'."
    )
    expires_at: dt.datetime | None = strawberry.field(default=None, description="When the token stops working.")
    user: Person | None = strawberry.field(default=None, description="The signed-in person.")


@strawberry.type(description="Result of userExternalIdentitySet.")
class UserExternalIdentitySetPayload(Payload):
    user: Person | None = strawberry.field(default=None, description="The account.")
    external_identity: ExternalIdentity | None = strawberry.field(
        default=None, description="The link now recorded; null when it was removed."
    )


@strawberry.type(
    description="Result of rosterImport. Nobody is deleted: learners absent from the file are listed "
    "in learnersMissing."
)
class RosterImportPayload(Payload):
    learners_created: list[Learner] = strawberry.field(default_factory=list, description="Learners added.")
    learners_updated: list[Learner] = strawberry.field(
        default_factory=list, description="Learners whose names, birth date, classroom or identity changed."
    )
    learners_unchanged: int = strawberry.field(default=0, description="Number of learners already up to date.")
    learners_missing: list[Learner] = strawberry.field(
        default_factory=list,
        description="Learners of a classroom the file covers who are not in the file: kept, with their "
        "portfolios, and marked as left the school (leftAt: the day of the import, unless set earlier), which "
        "starts their retention period; deactivate them by hand if they no longer sign in.",
    )
    classrooms_created: list[Classroom] = strawberry.field(default_factory=list, description="Classrooms added.")
    classrooms_updated: list[Classroom] = strawberry.field(
        default_factory=list, description="Existing classrooms now linked to their code in the export."
    )
    classrooms_unchanged: int = strawberry.field(default=0, description="Number of classrooms already up to date.")
    levels_created: list[Level] = strawberry.field(default_factory=list, description="Levels added for new classrooms.")
    warnings: list[str] = strawberry.field(default_factory=list, description="What was skipped, and why.")


def user_errors(exc: UserInputError) -> list[UserError]:
    return UserError.all_of(exc)


def file_problems(exc: RosterFileError) -> UserInputError:
    return UserInputError(FieldProblem(["content"], Reason.ROSTER_FILE_INVALID, {"detail": p}) for p in exc.problems)


def check_provider(info: Info, provider: str, field: str) -> None:
    known = info.context.settings.identity_providers
    if provider not in known:
        listed = ", ".join(repr(name) for name in known) or Term("none is configured")
        raise problem([field], Reason.IDENTITY_PROVIDER_UNKNOWN, provider=provider, configured=listed)


async def parse_import(
    info: Info,
    content: str,
    format: RosterFormat,
    identity_provider: str | None,
    parse: Callable[[str, RosterFormat], T],
    *,
    check: Callable[[], None] | None = None,
) -> T:
    """The checks rosterImport and staffImport make before their transaction, then the file parsed (in a thread):
    a large file must not hold a database connection. UserInputError names the field, or each line of the file."""
    if len(content.encode()) > MAX_ROSTER_FILE:
        raise problem(
            ["content"], Reason.FILE_TOO_LARGE, megabytes=MAX_ROSTER_FILE // (1024 * 1024), bytes=MAX_ROSTER_FILE
        )
    if identity_provider:
        check_provider(info, identity_provider, "identityProvider")
    if check is not None:
        check()
    try:
        return await asyncio.to_thread(parse, content, RosterFormat(format))
    except RosterFileError as exc:
        raise file_problems(exc) from None


async def _cas_person(info: Info, ticket: str, service: str | None) -> tuple[User, str]:
    """The account a CAS service ticket signs in, and the person's identifier at the CAS server; UserInputError
    or AppError when it cannot."""
    settings = info.context.settings
    if not settings.cas_server_url:
        raise problem(None, Reason.CAS_NOT_CONFIGURED)
    assert settings.cas_service_url is not None  # the settings refuse a CAS server without it
    ticket = ticket.strip()
    if not cas.TICKET.fullmatch(ticket):
        raise problem(["ticket"], Reason.CAS_TICKET_MALFORMED)
    service = (service or settings.cas_service_url).strip()
    if not cas.service_allowed(settings.cas_service_url, service):
        raise problem(["service"], Reason.CAS_SERVICE_REFUSED)
    try:
        person = await cas.validate_ticket(settings, ticket, service)
    except cas.CasRefused as exc:
        raise problem(["ticket"], Reason(str(exc))) from None
    except cas.CasUnavailable as exc:
        raise AppError("CAS_UNAVAILABLE", code="SERVICE_UNAVAILABLE", detail=str(exc)) from None
    value = person.identifier(settings.cas_attribute)
    if not value:
        raise problem(["ticket"], Reason.CAS_ATTRIBUTE_MISSING, attribute=settings.cas_attribute)
    if settings.cas_provisioning.enabled:
        # Linked, or linked or created now by the CAS rules (permissions/provisioning.py); attributes are lists.
        try:
            user = await provisioning.account_for(
                settings.cas_provider, settings.cas_provisioning, value, dict(person.attributes)
            )
        except provisioning.Refused as exc:
            if exc.key == "CLAIM_MISSING":
                raise problem(["ticket"], Reason.CAS_ATTRIBUTE_MISSING, attribute=exc.params["claim"]) from None
            raise problem(["ticket"], Reason(exc.key), **exc.params) from None
        return user, value
    user = await find_user(settings.cas_provider, settings.cas_match, value)
    if user is None:
        raise problem(["ticket"], Reason.IDENTITY_NOT_LINKED, provider=settings.cas_provider)
    return user, value


@strawberry.type
class IdentityQuery:
    @strawberry.field(
        description="The identity providers a login page can offer, and where to send the person: "
        "open to everyone, signed in or not (it names no person and no secret). `returnTo`, an address "
        "on an origin the server allows, is where an OpenID Connect sign-in comes back to."
    )
    async def sign_in_methods(
        self,
        info: Info,
        return_to: Annotated[
            str | None,
            strawberry.argument(
                description="Where the browser goes back to once signed in (a path of this server's clients)."
            ),
        ] = None,
    ) -> list[SignInMethod]:
        settings = info.context.settings
        methods = [
            SignInMethod(name=provider.name, kind=SignInKind.OIDC, url=url)
            for provider in settings.oidc_providers
            if (url := oidc_flow.start_url(provider, return_to)) is not None
        ]
        if settings.cas_server_url and settings.cas_service_url:
            login = f"{settings.cas_server_url}/login?{urlencode({'service': settings.cas_service_url})}"
            methods.append(SignInMethod(name=settings.cas_provider, kind=SignInKind.CAS, url=login))
        return methods

    @strawberry.field(
        description="The identity-provider links of an account of your school; null when out of "
        "reach. " + describe("account.manage")
    )
    async def external_identities(
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The account of your school.")],
    ) -> list[ExternalIdentity] | None:
        viewer = info.context.require("account.manage")
        type_name, pk = decode_id(user_id, expected=tuple(PERSON_TYPES), field="userId")
        if not await User.exists(id=pk, school_id=viewer.school_id, role=PERSON_TYPES[type_name]):
            return None
        rows = await ExternalIdentityRow.filter(user_id=pk).order_by("provider")
        return [ExternalIdentity(provider=r.provider, subject=r.subject) for r in rows]


@strawberry.input(description="The arguments of casLogin. Sign in with a CAS service ticket.")
class CasLoginInput:
    ticket: str = strawberry.field(description="The service ticket the ENT's CAS server gave.")
    service: str | None = strawberry.field(
        default=None, description="The service URL the ticket was issued for; by default this server's configured one."
    )


@strawberry.input(
    description="The arguments of userExternalIdentitySet. Link an account to its identifier at an identity provider."
)
class UserExternalIdentitySetInput:
    user_id: strawberry.ID = strawberry.field(description="The account of your school.")
    provider: str = strawberry.field(description="The name of a configured identity provider.")
    subject: str | None = strawberry.field(
        default=None, description="The account's identifier at that provider; empty or null removes the link."
    )


@strawberry.input(description="The arguments of rosterImport. Import classrooms and learners.")
class RosterImportInput:
    content: str = strawberry.field(description="The file's text.")
    format: RosterFormatEnum = strawberry.field(description="The file's format.")
    level: str | None = strawberry.field(
        default=None, description="The name of the level of the classrooms the file creates."
    )
    identity_provider: str | None = strawberry.field(
        default=None,
        description="A configured identity provider: each learner's identifier in the file becomes their identity there.",
    )


@strawberry.type
class IdentityMutation:
    @mutation(
        "Sign in with a CAS service ticket from the school's ENT; answers an access "
        "token. `service` defaults to this server's configured service URL.",
        transaction=False,
    )
    async def cas_login(self, info: Info, input: CasLoginInput) -> CasLoginPayload:
        ticket, service = input.ticket, input.service
        settings = info.context.settings
        try:
            # Asked outside the transaction: a slow CAS server must not hold a database connection.
            user, subject = await _cas_person(info, ticket, service)
        except UserInputError as exc:
            return CasLoginPayload(errors=user_errors(exc))

        # The token is bound to a session named by the ticket, which the CAS server's single-logout request names
        # (permissions/cas.py). A sign-in writes nothing a read shows: no transaction, and no data stamp bumped.
        session, _ = await open_session(
            settings, user, provider=settings.cas_provider, subject=subject, sid=ticket.strip()
        )
        token, expires_at, person = signed_in(settings, user, session_id=session.id)
        return CasLoginPayload(token=token, expires_at=expires_at, user=person)

    @mutation(
        "Link an account of your school to its identifier at a configured identity "
        "provider; an empty or null subject removes the link.",
        rule="account.manage",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def user_external_identity_set(
        self, info: Info, input: UserExternalIdentitySetInput
    ) -> UserExternalIdentitySetPayload:
        user_id, provider, subject = input.user_id, input.provider, input.subject
        viewer = info.context.require_viewer()
        type_name, pk = decode_id(user_id, expected=tuple(PERSON_TYPES), field="userId")
        user = await User.get_or_none(id=pk, school_id=viewer.school_id, role=PERSON_TYPES[type_name])
        if user is None:
            raise not_found("userId", "account")
        check_provider(info, provider, "provider")
        value = (subject or "").strip()
        if len(value) > MAX_SUBJECT:
            raise problem(["subject"], Reason.TEXT_TOO_LONG, label=Term("The subject"), max_length=MAX_SUBJECT)
        link = await ExternalIdentityRow.get_or_none(user=user, provider=provider)
        if not value:
            if link is not None:
                await link.delete()
            return UserExternalIdentitySetPayload(user=person_from_row(user, viewer))
        if await ExternalIdentityRow.filter(provider=provider, subject=value).exclude(user=user).exists():
            raise problem(["subject"], Reason.IDENTITY_LINK_TAKEN, provider=provider)
        if link is None:
            await ExternalIdentityRow.create(user=user, provider=provider, subject=value)
        elif link.subject != value:
            link.subject = value
            await link.save(update_fields=["subject", "updated_at"])
        return UserExternalIdentitySetPayload(
            user=person_from_row(user, viewer), external_identity=ExternalIdentity(provider=provider, subject=value)
        )


@strawberry.type
class RosterMutation:
    @mutation(
        "Import classrooms and learners from a school-administration export (XML) or "
        "a CSV (columns in docs/identity.md), whole or not at all. Importing the same "
        "file twice changes nothing; nobody is deleted. `level` names the level of "
        "classrooms the file creates; `identityProvider` records each learner's "
        "identifier as their identity at that provider.",
        rule="account.manage",
        transaction=False,
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def roster_import(self, info: Info, input: RosterImportInput) -> RosterImportPayload:
        content, format, level, identity_provider = input.content, input.format, input.level, input.identity_provider
        viewer = info.context.require_viewer()
        info.context.require("school.structure.write")
        level_name = (level or "").strip() or None

        def check_level() -> None:
            if level_name and len(level_name) > 200:
                raise problem(["level"], Reason.TEXT_TOO_LONG, label=Term("The level name"), max_length=200)

        try:
            roster = await parse_import(info, content, format, identity_provider, parse_roster, check=check_level)
        except UserInputError as exc:
            return RosterImportPayload(errors=user_errors(exc))

        async def body() -> RosterImportPayload:
            try:
                result = await apply_roster(
                    roster, school_id=viewer.school_id, level_name=level_name, provider=identity_provider or None
                )
            except RosterFileError as exc:
                raise file_problems(exc) from None
            return RosterImportPayload(
                learners_created=[Learner.from_row(u, viewer) for u in result.created],
                learners_updated=[Learner.from_row(u, viewer) for u in result.updated],
                learners_unchanged=len(result.unchanged),
                learners_missing=[Learner.from_row(u, viewer) for u in result.missing],
                classrooms_created=[Classroom.from_row(c) for c in result.classrooms_created],
                classrooms_updated=[Classroom.from_row(c) for c in result.classrooms_updated],
                classrooms_unchanged=len(result.classrooms_unchanged),
                levels_created=[Level.from_row(lv) for lv in result.levels_created],
                warnings=result.warnings,
            )

        return await run_mutation(RosterImportPayload, body)
