"""Levels, classrooms and learners as the viewer reaches them."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from tortoise.expressions import Q

from graph.context import Info
from graph.types.common import Connection, Keyset, PageAfter, PageSize, decode_id, paginate
from graph.types.schools import Classroom, Level, School
from graph.types.users import Learner
from models import schools as m
from models.users import User
from permissions import scopes
from permissions.table import OWN_BY_REACH


@strawberry.enum(description="How a list of learners is sorted.")
class LearnerOrder(Enum):
    LAST_NAME = strawberry.enum_value("last_name", description="By last name, then first name.")
    FIRST_NAME = strawberry.enum_value("first_name", description="By first name, then last name.")


LEARNER_ORDERS = {
    LearnerOrder.LAST_NAME: Keyset("learners.last_name", ("last_name", "first_name", "id")),
    LearnerOrder.FIRST_NAME: Keyset("learners.first_name", ("first_name", "last_name", "id")),
}
MAX_SEARCH_WORDS = 5


def name_words(search: str | None) -> list[str]:
    """The words of a name search, at most five, each at most 50 characters."""
    return [word[:50] for word in (search or "").split()][:MAX_SEARCH_WORDS]


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
        description="Learners the viewer reaches (the « vue par apprenants »), by last then first name unless "
        "`orderBy` says otherwise. Filter by level or classroom, search by name; `first` at most 100; the cursors "
        "hold the row they follow, so a learner added meanwhile moves no page."
    )
    async def learners(
        self,
        info: Info,
        level_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only the learners of this level.")
        ] = None,
        classroom_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only the learners of this classroom.")
        ] = None,
        first: PageSize = None,
        after: PageAfter = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Words each found, in any case, at the start of a word of the learner's first or last "
                "name (« dup ang » finds Angélique DUPIRE)."
            ),
        ] = None,
        order_by: Annotated[
            LearnerOrder, strawberry.argument(description="The order of the list (and of its cursors).")
        ] = LearnerOrder.LAST_NAME,
    ) -> Connection[Learner]:
        viewer = info.context.require("learner.identity.read", owned=OWN_BY_REACH)
        query = User.filter(scopes.learners(viewer))
        if level_id is not None:
            query = query.filter(classroom__level_id=decode_id(level_id, expected="Level", field="levelId")[1])
        if classroom_id is not None:
            query = query.filter(classroom_id=decode_id(classroom_id, expected="Classroom", field="classroomId")[1])
        for word in name_words(search):
            query = query.filter(
                Q(first_name__istartswith=word)
                | Q(last_name__istartswith=word)
                | Q(first_name__icontains=f" {word}")
                | Q(last_name__icontains=f" {word}")
                | Q(first_name__icontains=f"-{word}")
                | Q(last_name__icontains=f"-{word}")
            )
        return await paginate(
            query, lambda row: Learner.from_row(row, viewer), first=first, after=after, keyset=LEARNER_ORDERS[order_by]
        )
