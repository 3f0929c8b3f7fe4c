"""Levels, classrooms and learners as the viewer reaches them."""

from __future__ import annotations

import strawberry
from strawberry import relay

from graph.context import Info
from graph.types.common import decode_id, paginate
from graph.types.schools import Classroom, Level, School
from graph.types.users import Learner
from models import schools as m
from models.users import User
from permissions import scopes
from permissions.table import OWN_BY_REACH


@strawberry.type
class SchoolQuery:
    @strawberry.field(description="The signed-in person's school.")
    async def school(self, info: Info) -> School:
        viewer = info.context.require_viewer()
        return School.from_row(await m.School.get(id=viewer.school_id))

    @strawberry.field(description="Levels the viewer reaches, in the school's order.")
    async def levels(self, info: Info) -> list[Level]:
        viewer = info.context.require("school.structure.read", owned=OWN_BY_REACH)
        rows = await m.Level.filter(scopes.levels(viewer)).order_by("position", "name")
        return [Level.from_row(r) for r in rows]

    @strawberry.field(description="Classrooms the viewer reaches, by name.")
    async def classrooms(self, info: Info) -> list[Classroom]:
        viewer = info.context.require("school.structure.read", owned=OWN_BY_REACH)
        rows = await m.Classroom.filter(scopes.classrooms(viewer)).order_by("name")
        return [Classroom.from_row(r) for r in rows]

    @strawberry.field(
        description="Learners the viewer reaches, by last then first name (the « vue par apprenants »). "
        "Filter by level or classroom; `first` at most 100."
    )
    async def learners(
        self,
        info: Info,
        level_id: strawberry.ID | None = None,
        classroom_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.ListConnection[Learner]:
        viewer = info.context.require("learner.identity.read", owned=OWN_BY_REACH)
        query = User.filter(scopes.learners(viewer))
        if level_id is not None:
            query = query.filter(classroom__level_id=decode_id(level_id, expected="Level", field="levelId")[1])
        if classroom_id is not None:
            query = query.filter(classroom_id=decode_id(classroom_id, expected="Classroom", field="classroomId")[1])
        query = query.order_by("last_name", "first_name", "id")
        return await paginate(query, lambda row: Learner.from_row(row, viewer), first=first, after=after)
