"""Schools, levels and classrooms."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from tortoise.expressions import Q

from graph.context import Info
from graph.types.common import EXPORT_LINK, IN_REACH, Refusal, described_enum, export_url, guarded, later
from graph.types.frameworks import Framework
from models import schools as m
from models.frameworks import Framework as FrameworkRow
from models.periods import Period as PeriodRow
from models.users import User
from permissions import scopes
from resolvers.periods.rules import current_school_year

DiplomaYear = Annotated[
    m.DiplomaYear,
    described_enum(
        "Which year of which diploma a level prepares: CAP 1st or 2nd year, CAP in one year, Bac Pro "
        "seconde, première or terminale.",
        {
            "CAP_1": "First year of a two-year CAP.",
            "CAP_2": "Second year of a two-year CAP.",
            "CAP_ONE_YEAR": "A CAP prepared in one year.",
            "BAC_PRO_SECONDE": "Bac Pro, seconde.",
            "BAC_PRO_PREMIERE": "Bac Pro, première.",
            "BAC_PRO_TERMINALE": "Bac Pro, terminale.",
        },
    ),
]

if TYPE_CHECKING:
    from graph.types.dashboard import LevelDashboard
    from graph.types.periods import Period
    from graph.types.users import Learner


@strawberry.type(description="The school (lycée professionnel or CFA) every row belongs to.")
class School(relay.Node):
    id: relay.NodeID[int]
    uai: str = strawberry.field(description="National UAI code of the school.")
    name: str = strawberry.field(description="Name of the school.")
    address: str | None = strawberry.field(description="Postal address of the school, as documents print it.")
    head_of_school: str | None = strawberry.field(
        description="Name of the head of school (chef d'établissement), who signs the PFMP attestation."
    )

    @classmethod
    def from_row(cls, row: m.School) -> School:
        return cls(id=row.id, uai=row.uai, name=row.name, address=row.address, head_of_school=row.head_of_school)


@strawberry.type(description="Niveau de classe, e.g. « Première année de CAP »: groups classrooms and periods.")
class Level(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Name of the level.")
    diploma_name: str | None = strawberry.field(
        description="The diploma the level prepares, as the PFMP attestation names it, e.g. « CAP Électricien »."
    )
    diploma_year: DiplomaYear | None = strawberry.field(description="Which year of the diploma the level is.")
    framework_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.Level) -> Level:
        return cls(
            id=row.id,
            name=row.name,
            diploma_name=row.diploma_name,
            diploma_year=row.diploma_year,
            framework_id=row.framework_id,
        )

    @guarded(f"Where to download the synthesis of the level's learners (R24). {EXPORT_LINK}", "export.level_synthesis")
    def synthesis_url(self, info: Info) -> str | None:
        return export_url("level-synthesis", "Level", self.id)

    @strawberry.field(description="Classrooms of this level the viewer reaches, by name.")
    async def classrooms(self, info: Info) -> list[Classroom]:
        rows = await info.context.loaders.by_parent(
            m.Classroom, "level_id", scopes.classrooms, order_by=("name",)
        ).load(self.id)
        return [Classroom.from_row(r) for r in rows]

    @strawberry.field(description="The competency framework this level prepares for.")
    async def framework(self, info: Info) -> Annotated[Framework, strawberry.lazy("graph.types.frameworks")] | None:
        if self.framework_id is None:
            return None
        row = await info.context.loaders.by_id(FrameworkRow, scopes.frameworks).load(self.framework_id)
        return Framework.from_row(row) if row else None

    @guarded(
        "Vue par périodes (R1): the level's periods of a school year (default: the current one) in creation order.",
        "period.read",
        owner=IN_REACH,
        refusal=Refusal.ERROR,
    )
    async def periods(
        self,
        info: Info,
        school_year: Annotated[
            int | None,
            strawberry.argument(
                description="The school year, by its first calendar year (2025 for 2025–2026); by default the current one."
            ),
        ] = None,
    ) -> list[Annotated[Period, strawberry.lazy("graph.types.periods")]]:
        year = school_year if school_year is not None else current_school_year(dt.date.today())
        rows = await info.context.loaders.by_parent(
            PeriodRow, "level_id", scopes.periods, order_by=("created_at", "id"), extra=Q(school_year=year)
        ).load(self.id)
        return [later("graph.types.periods", "Period").from_row(r) for r in rows]

    @guarded(
        "The dashboards (R26) of the level's learners in reach, side by side, computed for all of them at once.",
        "learner.dashboard.read",
        owner=IN_REACH,
    )
    async def dashboard(self, info: Info) -> Annotated[LevelDashboard, strawberry.lazy("graph.types.dashboard")] | None:
        return await later("graph.types.dashboard", "level_dashboard")(info, self.id, self.framework_id)


@strawberry.type(description="Classe, e.g. « CAP 1 ELEC ».")
class Classroom(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Name of the classroom.")
    level_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: m.Classroom) -> Classroom:
        return cls(id=row.id, name=row.name, level_id=row.level_id)

    @strawberry.field(description="The level of this classroom.")
    async def level(self, info: Info) -> Level | None:
        row = await info.context.loaders.by_id(m.Level, scopes.levels).load(self.level_id)
        return Level.from_row(row) if row else None

    @strawberry.field(description="Learners of this classroom the viewer reaches, by last then first name.")
    async def learners(self, info: Info) -> list[Annotated[Learner, strawberry.lazy("graph.types.users")]]:
        rows = await info.context.loaders.by_parent(
            User, "classroom_id", scopes.learners, order_by=("last_name", "first_name", "id")
        ).load(self.id)
        return [later("graph.types.users", "Learner").from_row(r, info.context.viewer) for r in rows]
