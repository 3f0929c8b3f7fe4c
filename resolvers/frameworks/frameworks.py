"""Competency frameworks: reading them, and the admin's import."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph.context import Info
from graph.errors import FieldProblem, Reason, UserInputError, problem
from graph.types.common import Payload
from graph.types.frameworks import Framework
from models import frameworks as m
from permissions import scopes
from permissions.table import describe
from resolvers.frameworks.importing import FrameworkFileError, import_framework, parse_framework
from resolvers.inputs import fits_column
from resolvers.mutations import mutation

MAX_FRAMEWORK_FILE = 2 * 1024 * 1024


@strawberry.type(description="Result of frameworkImport.")
class FrameworkImportPayload(Payload):
    framework: Framework | None = strawberry.field(default=None, description="The imported framework.")
    created: bool = strawberry.field(default=False, description="True when the framework did not exist before.")
    changed: bool = strawberry.field(default=False, description="False when the same content was already imported.")


@strawberry.type
class FrameworkQuery:
    @strawberry.field(
        description="Frameworks: the built-in ones and those of your school, by name. " + describe("framework.read")
    )
    async def frameworks(self, info: Info) -> list[Framework]:
        viewer = info.context.require("framework.read")
        rows = await m.Framework.filter(scopes.frameworks(viewer)).order_by("name", "id")
        return [Framework.from_row(r) for r in rows]

    @strawberry.field(description="A framework by code; your school's own version wins over the built-in one.")
    async def framework(
        self, info: Info, code: Annotated[str, strawberry.argument(description="The framework's code, e.g. CAP-ELEC.")]
    ) -> Framework | None:
        viewer = info.context.require("framework.read")
        if not fits_column(m.Framework, "code", code):
            return None
        rows = await m.Framework.filter(scopes.frameworks(viewer), code=code)
        rows.sort(key=lambda row: row.school_id is None)
        return Framework.from_row(rows[0]) if rows else None


@strawberry.input(description="The arguments of frameworkImport. Import a framework file.")
class FrameworkImportInput:
    content: str = strawberry.field(description="The file's text (format pfmp-framework/1).")


@strawberry.type
class FrameworkMutation:
    @mutation(
        "Import a framework file (format pfmp-framework/1, see the README) into your "
        "school; importing the same content twice changes nothing.",
        rule="framework.write",
    )
    async def framework_import(self, info: Info, input: FrameworkImportInput) -> FrameworkImportPayload:
        content = input.content
        viewer = info.context.require_viewer()
        if len(content.encode()) > MAX_FRAMEWORK_FILE:
            raise problem(
                "content",
                Reason.FILE_TOO_LARGE,
                megabytes=MAX_FRAMEWORK_FILE // (1024 * 1024),
                bytes=MAX_FRAMEWORK_FILE,
            )
        try:
            doc = parse_framework(content)
        except FrameworkFileError as exc:
            raise UserInputError(
                FieldProblem(["content"], Reason.FRAMEWORK_FILE_INVALID, {"where": where, "detail": what})
                for where, what in exc.problems
            ) from None
        result = await import_framework(doc, school_id=viewer.school_id)
        return FrameworkImportPayload(
            framework=Framework.from_row(result.framework), created=result.created, changed=result.changed
        )
