"""Levels, classrooms and learners as the viewer reaches them."""

from __future__ import annotations

import strawberry
from strawberry import relay

from graph.context import Info
from graph.types.common import decode_id, paginate
from graph.types.schools import Classroom, Level, School
from graph.types.users import Learner, Teacher, WorkplaceTrainer
from models import schools as m
from models.users import Role, User
from permissions import scopes
from resolvers.node import NodeEntry, register
from tortoise.expressions import Q

register("Level", NodeEntry(m.Level, scopes.levels, lambda row, viewer: Level.from_row(row)))
register("Classroom", NodeEntry(m.Classroom, scopes.classrooms, lambda row, viewer: Classroom.from_row(row)))
register("Learner", NodeEntry(User, scopes.learners, Learner.from_row, extra=Q(role=Role.LEARNER)))
register("Teacher", NodeEntry(User, scopes.teachers, Teacher.from_row, extra=Q(role=Role.TEACHER)))
register("Tutor", NodeEntry(User, scopes.trainers, WorkplaceTrainer.from_row, extra=Q(role=Role.TUTOR)))
register("ApprenticeshipMaster", NodeEntry(User, scopes.trainers, WorkplaceTrainer.from_row, extra=Q(role=Role.MASTER)))


@strawberry.type
class SchoolQuery:
    @strawberry.field(description="The signed-in person's school.")
    async def school(self, info: Info) -> School:
        viewer = info.context.require_viewer()
        return School.from_row(await m.School.get(id=viewer.school_id))

    @strawberry.field(description="Levels the viewer reaches, in the school's order.")
    async def levels(self, info: Info) -> list[Level]:
        viewer = info.context.require("school.structure.read")
        rows = await m.Level.filter(scopes.levels(viewer)).order_by("position", "name")
        return [Level.from_row(r) for r in rows]

    @strawberry.field(description="Classrooms the viewer reaches, by name.")
    async def classrooms(self, info: Info) -> list[Classroom]:
        viewer = info.context.require("school.structure.read")
        rows = await m.Classroom.filter(scopes.classrooms(viewer)).order_by("name")
        return [Classroom.from_row(r) for r in rows]

    @strawberry.field(description="Learners the viewer reaches, by last then first name (the « vue par apprenants »). "
                                  "Filter by level or classroom; `first` at most 100.")
    async def learners(
        self,
        info: Info,
        level_id: strawberry.ID | None = None,
        classroom_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.ListConnection[Learner]:
        viewer = info.context.require("learner.identity.read")
        query = User.filter(scopes.learners(viewer))
        if level_id is not None:
            query = query.filter(classroom__level_id=decode_id(level_id, expected="Level", field="levelId")[1])
        if classroom_id is not None:
            query = query.filter(classroom_id=decode_id(classroom_id, expected="Classroom", field="classroomId")[1])
        query = query.order_by("last_name", "first_name", "id")
        return await paginate(query, lambda row: Learner.from_row(row, viewer), first=first, after=after)
