"""Period templates and periods in companies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.types.allowance import AllowanceStatement, allowance_statement_of_period
from graph.types.common import EXPORT_LINK, IN_REACH, UPDATED_SINCE, Connection, export_url, guarded
from graph.types.frameworks import Task
from graph.types.portfolios import Portfolio, portfolios_of_period
from graph.types.schools import Level
from models import periods as m
from models.schools import Level as LevelRow
from permissions import scopes
from resolvers.periods import loaders, rules


@strawberry.type(description="Annexe pédagogique: the model a period is created from.")
class PeriodTemplate(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Name of the template.")
    duration_days: int | None = strawberry.field(description="Usual length of the period, in days.")
    objectives: str = strawberry.field(description="Training objectives.")
    level_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: m.PeriodTemplate) -> PeriodTemplate:
        return cls(
            id=row.id, name=row.name, duration_days=row.duration_days, objectives=row.objectives, level_id=row.level_id
        )

    @strawberry.field(description="Tasks to entrust, in framework order.")
    async def tasks(self, info: Info) -> list[Task]:
        return [Task.from_row(t) for t in await loaders.tasks_of(info, "period_templates").load(self.id)]


@strawberry.type(description="Période en entreprise (PFMP): dates, assigned learners, objectives, tasks to entrust.")
class Period(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Name, e.g. « Stage de découverte ».")
    start_date: dt.date = strawberry.field(description="First day.")
    end_date: dt.date = strawberry.field(description="Last day.")
    school_year: int = strawberry.field(description="First year of the school year, e.g. 2026 for 2026-2027.")
    certifying: bool = strawberry.field(description="Counts for the diploma.")
    objectives: str = strawberry.field(description="Training objectives, passed on to every liaison fiche.")
    version: int = strawberry.field(description="Changes at every edit: pass it back to periodUpdate.")
    created_at: dt.datetime = strawberry.field(description="When the period was created.")
    planned_days_override: int | None = strawberry.field(
        description="The planned days the school set for this period (periodPlannedDaysSet); null: plannedDays "
        "counts the working days between the dates."
    )
    level_id: strawberry.Private[int]
    template_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.Period) -> Period:
        return cls(
            id=row.id,
            name=row.name,
            start_date=row.start_date,
            end_date=row.end_date,
            school_year=row.school_year,
            certifying=row.certifying,
            objectives=row.objectives,
            version=row.version,
            created_at=row.created_at,
            planned_days_override=row.planned_days_override,
            level_id=row.level_id,
            template_id=row.template_id,
        )

    @guarded(
        "Where to download the pre-conventions of the period, one section per learner (R23); a learner or a "
        f"trainer gets the sections of their own or assigned portfolios only. {EXPORT_LINK}",
        "export.pre_convention",
        owner=IN_REACH,
    )
    def pre_conventions_url(self, info: Info) -> str | None:
        return export_url("pre-convention/period", "Period", self.id)

    @guarded(
        "Where to download the PFMP attestations of the period, one section per learner; a learner gets their "
        f"own only. {EXPORT_LINK}",
        "export.attestation",
        owner=IN_REACH,
    )
    def attestations_url(self, info: Info) -> str | None:
        return export_url("period-attestations", "Period", self.id)

    @guarded(
        "The PFMP allowance statement of the period, over the school-status learners the viewer reaches (a learner: "
        "their own line only).",
        "allowance.statement.read",
        owner=IN_REACH,
    )
    async def allowance_statement(self, info: Info) -> AllowanceStatement | None:
        return await allowance_statement_of_period(info, self.id)

    @strawberry.field(description="Length in calendar days, first and last day included.")
    def duration_days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    @strawberry.field(
        description="Planned days, the figure every document prints: plannedDaysOverride when set, else the days "
        "Monday to Friday from the first to the last day, public holidays of metropolitan France deducted."
    )
    def planned_days(self) -> int:
        return rules.planned_days(self.start_date, self.end_date, self.planned_days_override)

    @strawberry.field(description="The level the period belongs to.")
    async def level(self, info: Info) -> Level | None:
        row = await info.context.loaders.by_id(LevelRow, scopes.levels).load(self.level_id)
        return Level.from_row(row) if row else None

    @strawberry.field(description="The template the period was created from, if any.")
    async def template(self, info: Info) -> PeriodTemplate | None:
        if self.template_id is None:
            return None
        row = await info.context.loaders.by_id(m.PeriodTemplate, scopes.period_templates).load(self.template_id)
        return PeriodTemplate.from_row(row) if row else None

    @strawberry.field(description="Tasks to entrust, in framework order.")
    async def tasks(self, info: Info) -> list[Task]:
        return [Task.from_row(t) for t in await loaders.tasks_of(info, "periods").load(self.id)]

    @strawberry.field(
        description="True once a bilan of the period is in an interim review: its parameters are locked (R7)."
    )
    async def locked(self, info: Info) -> bool:
        return await loaders.locked_periods(info).load(self.id)

    @strawberry.field(
        description="One portfolio per assigned learner the viewer reaches, by learner name (last name, first "
        "name) (R2), a page at a time: up to 500 a page, 500 when `first` is not given; `after` takes the "
        "`endCursor` of the page before; `totalCount` counts the whole list. A portfolio's `updatedAt` follows "
        "what its node shows (its fiches, bilan, liaison fiche, trainers); a portfolio removed from the period is "
        "no longer listed (compare the ids of the whole list). A connection since v0.2.0 (breaking: it was a plain "
        "list; ask `nodes { … }` or `edges { node { … } }` where you asked the list)."
    )
    async def portfolios(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="How many portfolios, 0 to 500.")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The cursor of the portfolio the page starts after.")
        ] = None,
        updated_since: Annotated[dt.datetime | None, strawberry.argument(description=UPDATED_SINCE)] = None,
    ) -> Connection[Portfolio]:
        return await portfolios_of_period(info, self.id, first=first, after=after, updated_since=updated_since)
