"""staffImport: teachers and the classrooms they teach, from STS-Web's export or a CSV (staff_roster.py)."""

from __future__ import annotations

import strawberry

from graph.context import Info
from graph.errors import UserInputError
from graph.types.common import Payload
from graph.types.users import Teacher
from resolvers.mutations import mutation, run_mutation
from resolvers.people.identity import RosterFormatEnum, file_problems, parse_import, user_errors
from resolvers.people.roster import RosterFileError
from resolvers.people.staff_roster import parse_staff
from resolvers.people.staff_roster_write import apply_staff


@strawberry.type(
    description="Result of staffImport. Nobody is deleted: teachers absent from the file are listed in teachersMissing."
)
class StaffImportPayload(Payload):
    teachers_created: list[Teacher] = strawberry.field(
        default_factory=list, description="Teachers added, without a password (ENT sign-in or a temporary one)."
    )
    teachers_updated: list[Teacher] = strawberry.field(
        default_factory=list, description="Teachers whose names, email, classrooms or identity changed."
    )
    teachers_unchanged: int = strawberry.field(default=0, description="Number of teachers already up to date.")
    teachers_missing: list[Teacher] = strawberry.field(
        default_factory=list,
        description="Teachers of the school once imported who are not in the file: kept, with their "
        "classrooms; deactivate them by hand if they left.",
    )
    warnings: list[str] = strawberry.field(default_factory=list, description="What was skipped, and why.")


@strawberry.input(description="The arguments of staffImport. Import teachers and the classrooms they teach.")
class StaffImportInput:
    content: str = strawberry.field(description="The file's text.")
    format: RosterFormatEnum = strawberry.field(description="The file's format.")
    identity_provider: str | None = strawberry.field(
        default=None,
        description="A configured identity provider: each teacher's identifier in the file becomes their identity there.",
    )


@strawberry.type
class StaffMutation:
    @mutation(
        "Import teachers and the classrooms they teach from STS-Web's timetable export (XML) or a CSV "
        "(columns in docs/identity.md), whole or not at all. Importing the same file twice changes nothing; "
        "nobody is deleted; classrooms are matched by their code in the learners' export, never created. "
        "`identityProvider` records each teacher's identifier as their identity at that provider.",
        rule="account.manage",
        transaction=False,
    )
    async def staff_import(self, info: Info, input: StaffImportInput) -> StaffImportPayload:
        content, format, identity_provider = input.content, input.format, input.identity_provider
        viewer = info.context.require_viewer()
        try:
            roster = await parse_import(info, content, format, identity_provider, parse_staff)
        except UserInputError as exc:
            return StaffImportPayload(errors=user_errors(exc))

        async def body() -> StaffImportPayload:
            try:
                result = await apply_staff(roster, school_id=viewer.school_id, provider=identity_provider or None)
            except RosterFileError as exc:
                raise file_problems(exc) from None
            return StaffImportPayload(
                teachers_created=[Teacher.from_row(u, viewer) for u in result.created],
                teachers_updated=[Teacher.from_row(u, viewer) for u in result.updated],
                teachers_unchanged=len(result.unchanged),
                teachers_missing=[Teacher.from_row(u, viewer) for u in result.missing],
                warnings=result.warnings,
            )

        return await run_mutation(StaffImportPayload, body)
