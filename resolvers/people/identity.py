"""Sign-in through the school's identity providers (CAS), identity links, and the roster import.

OpenID Connect tokens need no operation: they are accepted as bearer tokens
(permissions/oidc.py). Configuration: docs/identity.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import strawberry

from graph.context import Info
from graph.errors import AppError, FieldProblem, Reason, UserInputError, not_found, problem
from graph.messages import Term
from graph.types.common import Payload, UserError, decode_id
from graph.types.schools import Classroom, Level
from graph.types.users import Learner, Person, person_from_row
from models.audit import AuditKind
from models.users import ExternalIdentity as ExternalIdentityRow
from models.users import Role, User
from permissions import cas
from permissions.identities import MAX_SUBJECT, find_user
from permissions.table import describe
from resolvers.mutations import mutation, run_mutation
from resolvers.people.auth import signed_in
from resolvers.people.roster import RosterFileError, RosterFormat, parse_roster
from resolvers.people.roster_write import apply_roster

MAX_ROSTER_FILE = 10 * 1024 * 1024
PERSON_TYPES = {
    "Learner": Role.LEARNER,
    "Teacher": Role.TEACHER,
    "Tutor": Role.TUTOR,
    "ApprenticeshipMaster": Role.MASTER,
    "Administrator": Role.ADMIN,
}

RosterFormatEnum = Annotated[
    RosterFormat,
    strawberry.enum(
        name="RosterFormat",
        description="XML: the learners export of the school-administration system (SIECLE); CSV: see docs.",
    ),
]


@strawberry.type(description="The identifier an identity provider (ENT, CAS, OpenID Connect) gives a person.")
class ExternalIdentity:
    provider: str = strawberry.field(description="Name of the provider, as configured on the server.")
    subject: str = strawberry.field(description="The person's identifier at that provider.")


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
        description="Learners of a classroom the file covers who are not in the file: "
        "kept, with their portfolios; deactivate them by hand if they left.",
    )
    classrooms_created: list[Classroom] = strawberry.field(default_factory=list, description="Classrooms added.")
    classrooms_updated: list[Classroom] = strawberry.field(
        default_factory=list, description="Existing classrooms now linked to their code in the export."
    )
    classrooms_unchanged: int = strawberry.field(default=0, description="Number of classrooms already up to date.")
    levels_created: list[Level] = strawberry.field(default_factory=list, description="Levels added for new classrooms.")
    warnings: list[str] = strawberry.field(default_factory=list, description="What was skipped, and why.")


def _user_errors(exc: UserInputError) -> list[UserError]:
    return UserError.all_of(exc)


def _file_problems(exc: RosterFileError) -> UserInputError:
    return UserInputError(FieldProblem(["content"], Reason.ROSTER_FILE_INVALID, {"detail": p}) for p in exc.problems)


def _check_provider(info: Info, provider: str, field: str) -> None:
    known = info.context.settings.identity_providers
    if provider not in known:
        listed = ", ".join(repr(name) for name in known) or Term("none is configured")
        raise problem([field], Reason.IDENTITY_PROVIDER_UNKNOWN, provider=provider, configured=listed)


async def _cas_person(info: Info, ticket: str, service: str | None) -> User:
    """The account a CAS service ticket signs in; UserInputError or AppError when it cannot."""
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
    user = await find_user(settings.cas_provider, settings.cas_match, value)
    if user is None:
        raise problem(["ticket"], Reason.IDENTITY_NOT_LINKED, provider=settings.cas_provider)
    return user


@strawberry.type
class IdentityQuery:
    @strawberry.field(
        description="The identity-provider links of an account of your school; null when out of "
        "reach. " + describe("account.manage")
    )
    async def external_identities(self, info: Info, user_id: strawberry.ID) -> list[ExternalIdentity] | None:
        viewer = info.context.require("account.manage")
        type_name, pk = decode_id(user_id, expected=tuple(PERSON_TYPES), field="userId")
        if not await User.exists(id=pk, school_id=viewer.school_id, role=PERSON_TYPES[type_name]):
            return None
        rows = await ExternalIdentityRow.filter(user_id=pk).order_by("provider")
        return [ExternalIdentity(provider=r.provider, subject=r.subject) for r in rows]


@strawberry.type
class IdentityMutation:
    @mutation(
        "Sign in with a CAS service ticket from the school's ENT; answers an access "
        "token. `service` defaults to this server's configured service URL.",
        transaction=False,
    )
    async def cas_login(self, info: Info, ticket: str, service: str | None = None) -> CasLoginPayload:
        settings = info.context.settings
        try:
            # Asked outside the transaction: a slow CAS server must not hold a database connection.
            user = await _cas_person(info, ticket, service)
        except UserInputError as exc:
            return CasLoginPayload(errors=_user_errors(exc))

        # A sign-in writes nothing a read shows: no transaction, and no data stamp bumped (models/stamps.py).
        token, expires_at, person = signed_in(settings, user)
        return CasLoginPayload(token=token, expires_at=expires_at, user=person)

    @mutation(
        "Link an account of your school to its identifier at a configured identity "
        "provider; an empty or null subject removes the link.",
        rule="account.manage",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def user_external_identity_set(
        self, info: Info, user_id: strawberry.ID, provider: str, subject: str | None = None
    ) -> UserExternalIdentitySetPayload:
        viewer = info.context.require_viewer()
        type_name, pk = decode_id(user_id, expected=tuple(PERSON_TYPES), field="userId")
        user = await User.get_or_none(id=pk, school_id=viewer.school_id, role=PERSON_TYPES[type_name])
        if user is None:
            raise not_found("userId", "account")
        _check_provider(info, provider, "provider")
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
    async def roster_import(
        self,
        info: Info,
        content: str,
        format: RosterFormatEnum,
        level: str | None = None,
        identity_provider: str | None = None,
    ) -> RosterImportPayload:
        viewer = info.context.require_viewer()
        info.context.require("school.structure.write")
        try:
            # Checked and parsed before the transaction: a large file must not hold a database connection.
            if len(content.encode()) > MAX_ROSTER_FILE:
                raise problem(
                    ["content"],
                    Reason.FILE_TOO_LARGE,
                    megabytes=MAX_ROSTER_FILE // (1024 * 1024),
                    bytes=MAX_ROSTER_FILE,
                )
            if identity_provider:
                _check_provider(info, identity_provider, "identityProvider")
            level_name = (level or "").strip() or None
            if level_name and len(level_name) > 200:
                raise problem(["level"], Reason.TEXT_TOO_LONG, label=Term("The level name"), max_length=200)
            roster = await asyncio.to_thread(parse_roster, content, RosterFormat(format))
        except RosterFileError as exc:
            return RosterImportPayload(errors=_user_errors(_file_problems(exc)))
        except UserInputError as exc:
            return RosterImportPayload(errors=_user_errors(exc))

        async def body() -> RosterImportPayload:
            try:
                result = await apply_roster(
                    roster, school_id=viewer.school_id, level_name=level_name, provider=identity_provider or None
                )
            except RosterFileError as exc:
                raise _file_problems(exc) from None
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
