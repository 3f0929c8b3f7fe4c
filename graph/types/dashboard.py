"""The learner's dashboard (R26) and interim reviews (R25): competences over time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.types.bilans import CompanyBilan, EvaluationMode, author_of
from graph.types.common import Connection, Keyset, encode_id, paginate_built
from graph.types.frameworks import AchievementLevel, Competence
from graph.types.periods import Period
from graph.types.portfolios import BilanStatus
from graph.types.users import Learner, Person
from models import bilans as m
from models.periods import Period as PeriodRow
from models.users import User
from permissions import scopes
from permissions.table import describe
from resolvers.bilans.dashboard import (
    DashboardData,
    PeriodLine,
    Progress,
    dashboards_of_learners,
    framework_columns,
    learner_dashboards,
    level_learners,
    review_data,
)
from resolvers.bilans.review_record import CompetenceFacts


@strawberry.type(
    description="One result of a competence: its retained level in one completed bilan, as the "
    "interim review recorded it (or the bilan holds it, until a review consolidates it)."
)
class CompetenceResult:
    level: AchievementLevel = strawberry.field(description="The level retained in that bilan.")
    date: dt.date = strawberry.field(description="The bilan's date (its meeting date).")
    mode: EvaluationMode = strawberry.field(description="How the competence was evaluated in that bilan.")
    period_name: str = strawberry.field(description="The name of the bilan's period, as recorded.")
    # A level's dashboard holds thousands of results: their IDs are encoded only when asked, and each period is
    # built once for all its results (`_progress`).
    period_pk: strawberry.Private[int]
    bilan_pk: strawberry.Private[int]

    @strawberry.field(description="The ID of the bilan's period, kept once it is deleted.")
    def period_id(self) -> strawberry.ID:
        return encode_id("Period", self.period_pk)

    @strawberry.field(description="The ID of the completed bilan, kept once it is deleted.")
    def bilan_id(self) -> strawberry.ID:
        return encode_id("CompanyBilan", self.bilan_pk)

    period: Period | None = strawberry.field(
        description="The period of that bilan; null once the period is deleted (R8)."
    )
    bilan_row: strawberry.Private[m.CompanyBilan | None]

    @strawberry.field(description="The completed bilan; null once its period is deleted (R8).")
    def bilan(self) -> CompanyBilan | None:
        return CompanyBilan.from_row(self.bilan_row) if self.bilan_row is not None else None


@strawberry.type(description="A competence over time: every result, oldest first, and the latest as current level.")
class CompetenceProgress:
    competence: Competence = strawberry.field(description="The competence (as recorded, in an interim review).")
    current_level: AchievementLevel = strawberry.field(
        description="The latest result; NOT_EVALUATED while the competence has none."
    )
    history: list[CompetenceResult] = strawberry.field(description="Every result, by bilan date.")


@strawberry.type(description="A completed bilan as an interim review recorded it.")
class ConsolidatedBilan:
    bilan_id: strawberry.ID = strawberry.field(description="The ID of the bilan, kept once it is deleted.")
    period_id: strawberry.ID = strawberry.field(description="The ID of its period, kept once it is deleted.")
    period_name: str = strawberry.field(description="The name of its period.")
    date: dt.date = strawberry.field(description="The bilan's date (its meeting date).")
    completed_at: dt.datetime | None = strawberry.field(description="When the bilan was completed.")
    engagement: int | None = strawberry.field(description="Engagement, 1 to 4 stars; null if not set.")
    period_row: strawberry.Private[PeriodRow | None]
    bilan_row: strawberry.Private[m.CompanyBilan | None]

    @strawberry.field(description="The bilan itself; null once its period is deleted (R8).")
    def bilan(self) -> CompanyBilan | None:
        return CompanyBilan.from_row(self.bilan_row) if self.bilan_row is not None else None

    @strawberry.field(description="Its period; null once deleted (R8).")
    def period(self) -> Period | None:
        return Period.from_row(self.period_row) if self.period_row is not None else None


@strawberry.type(description="One period of a learner on their dashboard.")
class DashboardPeriod:
    period: Period | None = strawberry.field(
        description="The period; null once it is deleted (R8 allows it once an interim review holds its bilan): "
        "the line then comes from the review's record."
    )
    period_id: strawberry.ID = strawberry.field(description="The ID of the period, kept once it is deleted.")
    period_name: str = strawberry.field(description="The name of the period (as recorded, once it is deleted).")
    bilan_status: BilanStatus | None = strawberry.field(
        description="Status of its company bilan (COMPLETED for a deleted period: only those are recorded)."
    )
    engagement: int | None = strawberry.field(
        description="Engagement (1 to 4 stars) from the completed bilan; null while not completed or not set."
    )
    fiche_count: int = strawberry.field(
        description="Activity fiches of the period, not deleted (0 once the period is deleted: they went with it)."
    )
    completed_fiche_count: int = strawberry.field(description="Those with their description filled in (R2).")


@strawberry.type(
    description="Tableau de bord de l'apprenant (R26): competences over time, engagement and fiches "
    "per period, fed by completed bilans only."
)
class Dashboard:
    learner: Learner = strawberry.field(description="The learner.")
    competences: list[CompetenceProgress] = strawberry.field(
        description="Every competence of the learner's framework(s), in framework order."
    )
    periods: list[DashboardPeriod] = strawberry.field(description="The learner's periods, by first day.")


# `Level.dashboard.learners`: by learner name (last name, first name, id), as `learners` is.
LEVEL_DASHBOARD = Keyset("LevelDashboard.learners", ("last_name", "first_name", "id"))


@strawberry.type(description="The dashboards of a level's learners, side by side.")
class LevelDashboard:
    competences: list[Competence] = strawberry.field(
        description="The competences of the level's framework: the columns of the table."
    )
    level_id: strawberry.Private[int]

    @strawberry.field(
        description="One dashboard per learner of the level in reach, by name (last name, first name), a page at "
        "a time: up to 100 a page, 100 when `first` is not given; `after` takes the `endCursor` of the page before; "
        "`totalCount` counts them all. A page's dashboards are computed together: its statements do not grow with "
        "its length. A connection since v0.2.0 (breaking: it was a plain list; ask `nodes { … }` or "
        "`edges { node { … } }` where you asked the list)."
    )
    async def learners(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="How many learners, 0 to 100.")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The cursor of the learner the page starts after.")
        ] = None,
    ) -> Connection[Dashboard]:  # type: ignore[type-var]
        viewer = info.context.require_viewer()

        async def build(rows: list[User]) -> list[Dashboard]:
            data = await learner_dashboards(viewer, rows)
            return [dashboard_from(data[row.id], viewer) for row in rows]

        return await paginate_built(
            level_learners(viewer, self.level_id), build, first=first, after=after, keyset=LEVEL_DASHBOARD
        )


def _competence(facts: CompetenceFacts) -> Competence:
    return Competence(
        id=facts.id,
        code=facts.code,
        label=facts.label,
        known_unit_code=facts.unit,
        row_unit_id=None,
        retired=facts.retired,
    )


def _progress(
    items: list[Progress], periods: dict[int, PeriodRow], bilans: dict[int, m.CompanyBilan]
) -> list[CompetenceProgress]:
    built = {pk: Period.from_row(row) for pk, row in periods.items()}
    return [
        CompetenceProgress(
            competence=_competence(p.competence),
            current_level=p.current,
            history=[
                CompetenceResult(
                    level=h.level,
                    date=h.date,
                    mode=h.mode,
                    period_name=h.period_name,
                    period_pk=h.period_id,
                    bilan_pk=h.bilan_id,
                    period=built.get(h.period_id),
                    bilan_row=bilans.get(h.bilan_id),
                )
                for h in p.history
            ],
        )
        for p in items
    ]


def dashboard_from(data: DashboardData, viewer) -> Dashboard:
    return Dashboard(
        learner=Learner.from_row(data.learner, viewer),
        competences=_progress(data.competences, data.period_rows, data.bilan_rows),
        periods=[_period_line(line) for line in data.periods],
    )


def _period_line(line: PeriodLine) -> DashboardPeriod:
    if line.period is None:
        assert line.recorded is not None
        return DashboardPeriod(
            period=None,
            period_id=encode_id("Period", line.recorded["period"]),
            period_name=line.recorded["periodName"],
            bilan_status=m.BilanStatus.COMPLETED,
            engagement=line.engagement,
            fiche_count=0,
            completed_fiche_count=0,
        )
    return DashboardPeriod(
        period=Period.from_row(line.period),
        period_id=encode_id("Period", line.period.id),
        period_name=line.period.name,
        bilan_status=line.bilan.status if line.bilan else None,
        engagement=line.engagement,
        fiche_count=line.fiche_count,
        completed_fiche_count=line.completed_fiche_count,
    )


def dashboards_of(info: Info):
    """Per request: the dashboard of each learner id, computed for all asked at once."""
    viewer = info.context.require_viewer()

    async def load(ids):
        data = await dashboards_of_learners(viewer, ids)
        return [dashboard_from(data[i], viewer) if i in data else None for i in ids]

    return info.context.loaders.custom(("dashboards",), load)


async def level_dashboard(info: Info, level_id: int, framework_id: int | None) -> LevelDashboard:
    columns: list[Competence] = []
    if framework_id is not None:
        units, rows = await framework_columns(framework_id)
        columns = [Competence.from_row(r, units) for r in rows]
    return LevelDashboard(competences=columns, level_id=level_id)


@strawberry.type(
    description="Bilan intermédiaire de compétences (R25): consolidates a learner's completed bilans up "
    "to a date; the periods of those bilans are locked from then on (R7). " + describe("review.read")
)
class InterimReview(relay.Node):
    id: relay.NodeID[int]
    date: dt.date = strawberry.field(description="The date of the review: bilans dated up to it are consolidated.")
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    learner_id: strawberry.Private[int]
    created_by_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.InterimReview) -> InterimReview:
        return cls(
            id=row.id,
            date=row.review_date,
            created_at=row.created_at,
            learner_id=row.learner_id,
            created_by_id=row.created_by_id,
        )

    @strawberry.field(description="The learner.")
    async def learner(self, info: Info) -> Learner | None:
        row = await info.context.loaders.by_id(User, scopes.learners).load(self.learner_id)
        return Learner.from_row(row, info.context.viewer) if row else None

    @strawberry.field(description="The teacher who created it; null if the account is gone.")
    async def created_by(self, info: Info) -> Person | None:
        return await author_of(info, self.created_by_id)

    @strawberry.field(description="The completed bilans it consolidated, by date, as it recorded them.")
    async def bilans(self, info: Info) -> list[ConsolidatedBilan]:
        data = await _reviews(info).load(self.id)
        return [
            ConsolidatedBilan(
                bilan_id=encode_id("CompanyBilan", e["bilan"]),
                period_id=encode_id("Period", e["period"]),
                period_name=e["periodName"],
                date=dt.date.fromisoformat(e["date"]),
                completed_at=dt.datetime.fromisoformat(e["completedAt"]) if e.get("completedAt") else None,
                engagement=e.get("engagement"),
                period_row=data.period_rows.get(e["period"]),
                bilan_row=data.bilan_rows.get(e["bilan"]),
            )
            for e in data.bilans
        ]

    @strawberry.field(
        description="Per competence, every result of those bilans with its date and period, and the "
        "latest as the current level, as recorded when the review was made."
    )
    async def competences(self, info: Info) -> list[CompetenceProgress]:
        data = await _reviews(info).load(self.id)
        return _progress(data.competences, data.period_rows, data.bilan_rows)


def _reviews(info: Info):
    async def load(ids):
        data = await review_data(list(ids))
        return [data[i] for i in ids]

    return info.context.loaders.custom(("review_data",), load)


async def reviews_of_learner(info: Info, learner_id: int) -> list[InterimReview]:
    rows = await info.context.loaders.by_parent(
        m.InterimReview, "learner_id", scopes.interim_reviews, order_by=("review_date", "id")
    ).load(learner_id)
    return [InterimReview.from_row(r) for r in rows]
