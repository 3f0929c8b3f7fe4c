"""Portfolios (one learner in one period) and their liaison fiches."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import strawberry
from strawberry import relay

from graph.context import Info
from graph.types.allowance import PortfolioAllowance, allowance_of_portfolio
from graph.types.common import (
    EXPORT_LINK,
    MISSING,
    UPDATED_SINCE,
    Connection,
    Keyset,
    Owner,
    arguments_asked,
    as_utc,
    check_page,
    connection_of,
    described_enum,
    export_url,
    guarded,
    later,
    node_selections,
    page_of_sorted,
    prefetched,
    rows_asked,
    selections,
    sub_selections,
)
from graph.types.fiches import ActivityFiche, deleted_fiche_ids, fiches_of_portfolio, fiches_of_portfolios
from graph.types.frameworks import Task
from graph.types.links import TrainerLink, links_of_portfolio
from graph.types.schools import Classroom
from graph.types.users import Learner, Teacher, WorkplaceTrainer
from models import portfolios as m
from models.bilans import BilanStatus as BilanStatusEnum
from models.users import User
from permissions import scopes
from permissions.table import describe
from resolvers.periods import loaders

if TYPE_CHECKING:
    from graph.types.bilans import CompanyBilan
    from graph.types.periods import Period


@strawberry.enum(description="Where a company bilan stands.")
class BilanProgress(Enum):
    NOT_STARTED = strawberry.enum_value("not_started", description="A draft nobody saved anything in yet.")
    DRAFT = strawberry.enum_value("draft", description="A draft with something saved: results, date, comment…")
    COMPLETED = strawberry.enum_value("completed", description="Completed, frozen (R21).")


BilanStatus = Annotated[
    BilanStatusEnum,
    described_enum(
        "DRAFT while being entered, COMPLETED once frozen (R21).",
        {"DRAFT": "Being entered.", "COMPLETED": "Completed: frozen, feeding the dashboard (R21)."},
    ),
]


@strawberry.type(description="Lieu de réalisation: where the learner works during the period.")
class Workplace:
    company_name: str | None = strawberry.field(description="Raison sociale / name of the company (required to save).")
    activity_domain: str | None = strawberry.field(description="Activity domain of the company (required to save).")
    service: str | None = strawberry.field(description="Service, optional.")
    tutor_name: str | None = strawberry.field(description="Name of the tutor in the company (required to save).")
    tutor_role: str | None = strawberry.field(description="Job of the tutor, optional.")
    # A completed bilan's frozen workplace (R21) predates these two: they default to null there.
    company_address: str | None = strawberry.field(default=None, description="Postal address of the company.")
    company_siret: str | None = strawberry.field(default=None, description="SIRET of the company (14 digits).")


@strawberry.type(
    description="Fiche de liaison entreprise: workplace, objectives and activities of one portfolio. "
    + describe("liaison.read")
)
class LiaisonFiche(relay.Node):
    id: relay.NodeID[int]
    workplace: Workplace = strawberry.field(description="Where the learner works; filled in by the learner.")
    objectives: str = strawberry.field(description="Training objectives for this learner.")
    objectives_individualized: bool = strawberry.field(
        description="True when the objectives were individualized: editing the period no longer changes them."
    )
    tasks_individualized: bool = strawberry.field(
        description="True when the activities were individualized: editing the period no longer changes them."
    )
    version: int = strawberry.field(description="Changes at every edit: pass it back with an update.")
    portfolio_id: strawberry.Private[int]

    @classmethod
    def from_values(cls, row: dict[str, Any]) -> LiaisonFiche:
        """From the columns `resolvers.periods.loaders.liaison_values` reads."""
        return cls(
            id=row["id"],
            objectives=row["objectives"],
            objectives_individualized=row["objectives_individualized"],
            tasks_individualized=row["tasks_individualized"],
            version=row["version"],
            portfolio_id=row["portfolio_id"],
            workplace=Workplace(
                company_name=row["company_name"],
                activity_domain=row["activity_domain"],
                service=row["service"],
                tutor_name=row["tutor_name"],
                tutor_role=row["tutor_role"],
                company_address=row["company_address"],
                company_siret=row["company_siret"],
            ),
        )

    @classmethod
    def from_row(cls, row: m.LiaisonFiche) -> LiaisonFiche:
        return cls(
            id=row.id,
            objectives=row.objectives,
            objectives_individualized=row.objectives_individualized,
            tasks_individualized=row.tasks_individualized,
            version=row.version,
            portfolio_id=row.portfolio_id,
            workplace=Workplace(
                company_name=row.company_name,
                activity_domain=row.activity_domain,
                service=row.service,
                tutor_name=row.tutor_name,
                tutor_role=row.tutor_role,
                company_address=row.company_address,
                company_siret=row.company_siret,
            ),
        )

    @strawberry.field(description="Activities (tasks) the company will entrust, in framework order.")
    async def tasks(self, info: Info) -> list[Task]:
        return [Task.from_row(t) for t in await loaders.tasks_of(info, "liaison_fiches").load(self.id)]

    @strawberry.field(description="The portfolio this liaison fiche belongs to.")
    async def portfolio(self, info: Info) -> Annotated[Portfolio, strawberry.lazy("graph.types.portfolios")] | None:
        row = await info.context.loaders.by_id(m.Portfolio, scopes.portfolios).load(self.portfolio_id)
        return Portfolio.from_row(row) if row else None


# A portfolio is its learner's own.
LEARNER_OWNS = Owner("learner_id")


@strawberry.type(description="Portfolio: one learner in one period, with its fiches, liaison fiche and bilan.")
class Portfolio(relay.Node):
    id: relay.NodeID[int]
    days_done: Decimal | None = strawberry.field(
        description="Days the learner actually worked in the company (absences deducted); null until recorded."
    )
    created_at: dt.datetime = strawberry.field(description="When the learner was assigned to the period.")
    updated_at: dt.datetime = strawberry.field(
        description="When the portfolio or what it shows last changed: its own fields, its activity fiches (created, "
        "edited, deleted, their tasks, targets, activity types or annexes), its bilan, its liaison fiche (and its "
        "tasks), its trainers. Not the learner's or the period's own fields (docs/clients.md, incremental sync)."
    )
    period_id: strawberry.Private[int]
    learner_id: strawberry.Private[int]
    # The teacher named referent; None: the period's creator stands in (`referentTeacher`).
    referent_teacher_id: strawberry.Private[int | None]
    # Filled by a list that read each kind of data for all its portfolios at once (`portfolios_of_period`);
    # MISSING: the field goes through its loader, as for a portfolio reached alone.
    prefetched_learner: strawberry.Private[Any] = MISSING
    prefetched_count: strawberry.Private[Any] = MISSING
    prefetched_status: strawberry.Private[Any] = MISSING
    prefetched_liaison: strawberry.Private[Any] = MISSING
    prefetched_trainers: strawberry.Private[Any] = MISSING
    prefetched_period: strawberry.Private[Any] = MISSING
    prefetched_fiches: strawberry.Private[Any] = MISSING

    @classmethod
    def from_row(cls, row: m.Portfolio) -> Portfolio:
        return cls(
            id=row.id,
            days_done=row.days_done,
            created_at=row.created_at,
            updated_at=row.updated_at,
            period_id=row.period_id,
            learner_id=row.learner_id,
            referent_teacher_id=row.referent_teacher_id,
        )

    @strawberry.field(description="The period.")
    @prefetched("prefetched_period")
    async def period(self, info: Info) -> Annotated[Period, strawberry.lazy("graph.types.periods")] | None:
        row = await loaders.period_by_id(info).load(self.period_id)
        return later("graph.types.periods", "Period").from_row(row) if row else None

    @strawberry.field(description="The learner.")
    @prefetched("prefetched_learner")
    async def learner(self, info: Info) -> Learner | None:
        row = await info.context.loaders.by_id(User, scopes.learners).load(self.learner_id)
        return Learner.from_row(row, info.context.viewer) if row else None

    @strawberry.field(description="Number of completed activity fiches: not deleted, description filled in (R2).")
    @prefetched("prefetched_count")
    async def completed_fiche_count(self, info: Info) -> int:
        return await loaders.completed_fiche_counts(info).load(self.id)

    @strawberry.field(description="Number of activity fiches, not deleted, completed or not.")
    async def fiche_count(self, info: Info) -> int:
        return await loaders.portfolio_fiche_counts(info).load(self.id)

    @guarded(
        "For the teacher asking: how many of its fiches (not deleted) are UNREAD for them, created or changed by "
        "the learner since they last marked them read (R13): the badge of a period view, without the fiches.",
        "fiche.staff.read",
    )
    async def unread_fiche_count(self, info: Info) -> int | None:
        return await loaders.unread_fiche_counts(info).load(self.id)

    @strawberry.field(
        description="Fiches (not deleted) created or changed since you last marked this portfolio seen "
        f"(`markSeen`), all of them until you do; null for anyone else. {describe('fiche.seen')}"
    )
    async def new_fiche_count(self, info: Info) -> int | None:
        # The seen state is the viewer's own, on a portfolio their reach already gave them (assigned).
        if not info.context.can("fiche.seen", owned=True):
            return None
        viewer = info.context.require_viewer()
        return await loaders.new_fiche_counts_of(info, viewer.id).load(self.id)

    @strawberry.field(description="The liaison fiche of the portfolio.")
    @prefetched("prefetched_liaison")
    async def liaison_fiche(self, info: Info) -> LiaisonFiche | None:
        rows = await loaders.liaison_by_portfolio(info).load(self.id)
        return LiaisonFiche.from_row(rows[0]) if rows else None

    @strawberry.field(
        description="Where the company bilan stands, telling a bilan nobody saved yet from one being entered "
        "(readable by whoever reaches the portfolio, as bilanStatus): one statement for a whole list."
    )
    async def bilan_progress(self, info: Info) -> BilanProgress | None:
        progress = await loaders.bilan_progress_by_portfolio(info).load(self.id)
        return None if progress is None else BilanProgress(progress)

    @strawberry.field(description="Status of the company bilan (readable by whoever reaches the portfolio).")
    @prefetched("prefetched_status")
    async def bilan_status(self, info: Info) -> BilanStatus | None:
        return await loaders.bilan_status_by_portfolio(info).load(self.id)

    @strawberry.field(
        description="The company bilan (R17–R21); null while a draft for those who may read it only "
        "once completed. Draft: " + describe("bilan.draft.read") + " Completed: " + describe("bilan.completed.read")
    )
    async def bilan(self, info: Info) -> Annotated[CompanyBilan, strawberry.lazy("graph.types.bilans")] | None:
        return await later("graph.types.bilans", "bilan_of_portfolio")(info, self.id)

    @guarded(
        "The referent teacher (professeur référent) who follows the learner in this period: the teacher named "
        "by portfolioReferentTeacherSet, else the teacher who created the period; null when neither is a teacher.",
        "portfolio.referent.read",
        owner=Owner("learner_id"),
    )
    async def referent_teacher(self, info: Info) -> Teacher | None:
        teacher_id = self.referent_teacher_id
        if teacher_id is None:
            period = await loaders.period_by_id(info).load(self.period_id)
            teacher_id = period.created_by_id if period is not None else None
        if teacher_id is None:
            return None
        row = await info.context.loaders.by_id(User, scopes.teachers).load(teacher_id)
        return Teacher.from_row(row, info.context.viewer) if row else None

    @strawberry.field(description="Company trainers (tutors or masters) assigned to the portfolio.")
    @prefetched("prefetched_trainers")
    async def trainers(self, info: Info) -> list[WorkplaceTrainer]:
        rows = await loaders.trainers_of(info).load(self.id)
        return [WorkplaceTrainer.from_row(r, info.context.viewer) for r in rows]

    @guarded(
        "The trainer links issued for this portfolio (trainerLinkIssue), newest first, revoked and expired ones "
        "included: who issued each, when, when it expires, when it was last used. A teacher lists the tutors' "
        "links.",
        "trainer_link.manage",
    )
    async def trainer_links(self, info: Info) -> list[TrainerLink] | None:
        return await links_of_portfolio(info, self.id)

    @guarded(
        f"Where to download the meeting sheet « Préparer la rencontre » (R22). {EXPORT_LINK}", "export.meeting_sheet"
    )
    def meeting_sheet_url(self, info: Info) -> str | None:
        return export_url("meeting-sheet", "Portfolio", self.id)

    @guarded(
        f"Where to download the learner's pre-convention for the period (R23). {EXPORT_LINK}",
        "export.pre_convention",
        owner=LEARNER_OWNS,
    )
    def pre_convention_url(self, info: Info) -> str | None:
        return export_url("pre-convention/portfolio", "Portfolio", self.id)

    @guarded(
        f"Where to download the learner's PFMP attestation for the period. {EXPORT_LINK}",
        "export.attestation",
        owner=LEARNER_OWNS,
    )
    def attestation_url(self, info: Info) -> str | None:
        return export_url("attestation", "Portfolio", self.id)

    @guarded(
        "The learner's PFMP allowance for the period: their line of the period's statement (frozen once the admin "
        "validated it); null for an apprentice, who is not entitled.",
        "allowance.statement.read",
        owner=LEARNER_OWNS,
    )
    async def allowance(self, info: Info) -> PortfolioAllowance | None:
        return await allowance_of_portfolio(info, self.period_id, self.learner_id)

    @strawberry.field(
        description="Activity fiches of the portfolio, newest first (by creation), a page at a time: up to 100 a "
        "page, 100 when `first` is not given; `after` takes the `endCursor` of the page before; `totalCount` counts "
        "them all. Deleted ones only for staff (others: `deletedActivityFicheIds`). A connection since v0.2.0 "
        "(breaking: it was a plain list in creation order; ask `nodes { … }` or `edges { node { … } }` where you "
        "asked the list)."
    )
    @prefetched("prefetched_fiches")
    async def activity_fiches(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="How many fiches, 0 to 100.")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The cursor of the fiche the page starts after.")
        ] = None,
        updated_since: Annotated[dt.datetime | None, strawberry.argument(description=UPDATED_SINCE)] = None,
    ) -> Connection[ActivityFiche]:
        return await fiches_of_portfolio(info, self.id, first=first, after=after, updated_since=updated_since)

    @strawberry.field(
        description="The IDs of the portfolio's activity fiches deleted at or after `since`, for a client's "
        "incremental sync: a viewer who does not see deleted fiches (a learner) learns which ones to drop, IDs only. "
        "Staff also find them in `activityFiches`, with `deletedAt` and a new `updatedAt`."
    )
    async def deleted_activity_fiche_ids(
        self,
        info: Info,
        since: Annotated[dt.datetime, strawberry.argument(description="The time the client last synced from.")],
    ) -> list[strawberry.ID]:
        return await deleted_fiche_ids(info, self.id, as_utc(since))


# `Period.portfolios`: by learner (last name, first name, id: a learner has one portfolio per period).
PERIOD_PORTFOLIOS = Keyset("Period.portfolios", ("last_name", "first_name", "id"))
# A page of a period's portfolios holds up to 500 (a period of a whole level, in one answer), 500 when `first` is
# not given: the list is built in one batch, so a long page costs one statement per kind of data, as a short one.
PORTFOLIO_PAGE = 500


async def portfolios_sorted(info: Info, rows: list[m.Portfolio]) -> list[tuple[tuple, Portfolio]]:
    """Portfolios ordered by learner name, as the period view lists them, each with its sort values."""
    learners = await info.context.loaders.by_id(User, scopes.learners).load_many([r.learner_id for r in rows])
    keyed = [
        ((learner.last_name, learner.first_name, learner.id), Portfolio.from_row(row))
        for learner, row in zip(learners, rows)
        if learner is not None
    ]
    keyed.sort(key=lambda pair: pair[0])
    return keyed


class _Plan(NamedTuple):
    """What a list of portfolios reads for all its rows at once, from the sub-fields asked."""

    classroom: bool
    fiche_count: bool
    status: bool
    liaison: bool
    trainers: bool


def _plan(info: Info) -> _Plan:
    asked = node_selections(info)
    learner = sub_selections(asked.get("learner", []))
    return _Plan(
        classroom="classroom" in learner,
        fiche_count="completedFicheCount" in asked,
        # With `bilan` asked too, the status comes from the whole rows that field loads (no second statement).
        status="bilanStatus" in asked and "bilan" not in asked,
        liaison="liaisonFiche" in asked,
        trainers="trainers" in asked,
    )


async def portfolios_of_period(
    info: Info, period_id: int, *, first: int | None, after: str | None, updated_since: dt.datetime | None = None
) -> Connection:
    """A page of a period's portfolios the viewer reaches, by learner name, built for the whole page at once.

    The portfolios' and learners' columns are read for the whole list (to sort it and count it: `totalCount`
    costs no statement), then one query per kind of data the sub-fields ask, for the rows of the page only
    (their classrooms, completed-fiche counts, bilan statuses, liaison fiches, trainers), for the pages of every
    period the request lists, so each asked field answers its value without a loader, a future or a model
    instance per portfolio. With `updated_since`, only the portfolios changed since then, filtered in the
    statement that reads the list (an index on period and update time serves it)."""
    limit = check_page(first, PORTFOLIO_PAGE)
    since = as_utc(updated_since)
    keyset = PERIOD_PORTFOLIOS.since(since)
    if after is not None:
        keyset.values(after)  # a cursor of another list is refused before anything is read
    viewer = info.context.viewer
    if viewer is None:
        rows = await loaders.portfolios_of_period(info).load(period_id)
        keyed = await portfolios_sorted(info, [r for r in rows if since is None or r.updated_at >= since])
        page, has_next = page_of_sorted(keyed, keyset, limit=limit, after=after)
        return connection_of(page, keyset, has_next=has_next, after=after, total=len(keyed))
    plan = _plan(info)

    async def load(period_ids: Sequence[int]) -> list[Connection]:
        rows = await loaders.portfolio_values_of_periods(viewer, period_ids, since)
        learners = await loaders.learner_values(viewer, list({row["learner_id"] for row in rows}))
        sorted_rows: dict[int, list[tuple[tuple, dict]]] = defaultdict(list)
        for row in rows:
            values = learners.get(row["learner_id"])
            if values is not None:
                key = (values["last_name"], values["first_name"], values["id"])
                sorted_rows[row["period_id"]].append((key, row))
        pages: dict[int, tuple[list[tuple[Sequence[Any], dict]], bool, int]] = {}
        for pk, keyed in sorted_rows.items():
            keyed.sort(key=lambda pair: pair[0])
            page, has_next = page_of_sorted(keyed, keyset, limit=limit, after=after)
            pages[pk] = (page, has_next, len(keyed))
        rows = [row for page, _, _ in pages.values() for _, row in page]
        ids = [row["id"] for row in rows]
        classrooms: dict[int, Classroom] = {}
        if plan.classroom:
            wanted = {learners[row["learner_id"]]["classroom_id"] for row in rows} - {None}
            classrooms = {
                pk: Classroom(id=pk, name=row["name"], level_id=row["level_id"])
                for pk, row in (await loaders.classroom_values(viewer, list(wanted))).items()
            }
        counts = await loaders.completed_counts(ids) if plan.fiche_count else {}
        statuses = await loaders.bilan_statuses(ids) if plan.status else {}
        liaisons = await loaders.liaison_values(ids) if plan.liaison else {}
        trainers = await loaders.trainer_values(viewer, ids) if plan.trainers else {}

        def build(row: dict) -> Portfolio:
            values = learners[row["learner_id"]]
            classroom = MISSING
            if plan.classroom:
                classroom_id = values["classroom_id"]
                classroom = None if classroom_id is None else classrooms.get(classroom_id)
            pk = row["id"]
            liaison = liaisons.get(pk) if plan.liaison else MISSING
            return Portfolio(
                **row,
                prefetched_learner=Learner.from_values(values, viewer, classroom),
                prefetched_count=counts.get(pk, 0) if plan.fiche_count else MISSING,
                prefetched_status=statuses.get(pk) if plan.status else MISSING,
                prefetched_liaison=MISSING if liaison is MISSING else liaison and LiaisonFiche.from_values(liaison),
                prefetched_trainers=(
                    [WorkplaceTrainer.from_values(t, viewer) for t in trainers.get(pk, ())]
                    if plan.trainers
                    else MISSING
                ),
            )

        found = []
        for pk in period_ids:
            page, has_next, total = pages.get(pk, ([], False, 0))
            built = [(key, build(row)) for key, row in page]
            found.append(connection_of(built, keyset, has_next=has_next, after=after, total=total))
        return found

    key = ("portfolios_of_period", plan, limit, after, since)
    return await info.context.loaders.custom(key, load).load(period_id)


async def portfolios_of_learner(info: Info, learner_id: int) -> list[Portfolio]:
    """A learner's portfolios the viewer reaches, by their period's first day, built for the whole list at once
    (the portfolios of every learner the request lists): their periods, bilan statuses, liaison fiches and
    activity fiches (with the fiches' tasks, read states and annex counts when asked), one query per kind."""
    asked = selections(info)
    status = "bilanStatus" in asked and "bilan" not in asked
    liaison = "liaisonFiche" in asked
    fiche_fields = asked.get("activityFiches", [])
    # The fiches' pages are built with the portfolios when every selection of them asks the same page; else
    # each portfolio's page goes through its loader (one statement for all, as well).
    pages = arguments_asked(info, "activityFiches")
    fiches = bool(pages) and all(page == pages[0] for page in pages)
    first, after = (pages[0].get("first"), pages[0].get("after")) if fiches else (None, None)
    # A variable's value comes parsed; a time written in the document comes as its text, parsed here as the
    # DateTime scalar parses it.
    asked_since = pages[0].get("updatedSince") if fiches else None
    since = as_utc(dt.datetime.fromisoformat(asked_since) if isinstance(asked_since, str) else asked_since)

    async def load(learner_ids: Sequence[int]) -> list[list[Portfolio]]:
        groups = await loaders.portfolios_of_learner(info).load_many(learner_ids)
        rows = [row for group in groups for row in group]
        periods = await loaders.period_by_id(info).load_many([row.period_id for row in rows])
        period_of = {row.id: period for row, period in zip(rows, periods)}
        ids = [row.id for row in rows if period_of[row.id] is not None]
        statuses = await loaders.bilan_statuses(ids) if status else {}
        liaisons = await loaders.liaison_values(ids) if liaison else {}
        fiche_lists = (
            dict(
                zip(
                    ids,
                    await fiches_of_portfolios(info, ids, fiche_fields, first=first, after=after, updated_since=since),
                )
            )
            if fiches
            else {}
        )
        period_type = later("graph.types.periods", "Period")
        found = []
        for group in groups:
            built = []
            for row in group:
                period = period_of[row.id]
                if period is None:
                    continue
                pk = row.id
                values = liaisons.get(pk) if liaison else MISSING
                portfolio = Portfolio(
                    id=pk,
                    days_done=row.days_done,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    period_id=row.period_id,
                    learner_id=row.learner_id,
                    referent_teacher_id=row.referent_teacher_id,
                    prefetched_period=period_type.from_row(period),
                    prefetched_status=statuses.get(pk) if status else MISSING,
                    prefetched_liaison=MISSING if values is MISSING else values and LiaisonFiche.from_values(values),
                    prefetched_fiches=fiche_lists[pk] if fiches else MISSING,
                )
                built.append(((period.start_date, period.id), portfolio))
            built.sort(key=lambda pair: pair[0])
            found.append([portfolio for _, portfolio in built])
        return found

    key = ("portfolios_of_learner", status, liaison, fiches, first, after, since, _fields_key(fiche_fields))
    return await info.context.loaders.custom(key, load).load(learner_id)


def _fields_key(selected: list) -> frozenset[str]:
    """The fields asked of the rows of a connection, from the sub-fields asked of it."""
    return frozenset(rows_asked(sub_selections(selected)))
