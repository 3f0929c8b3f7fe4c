"""Activity fiches written by learners, their annexes, and the grid linking them to the framework."""

from __future__ import annotations

import asyncio
import datetime as dt
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay
from tortoise.expressions import Q

from graph.context import Info
from graph.response_cache import signed_download
from graph.types.common import (
    GUARD,
    MISSING,
    Connection,
    GuardedFields,
    Keyset,
    Owner,
    Selection,
    as_utc,
    check_page,
    connection_of,
    described_enum,
    encode_id,
    guarded,
    later,
    page_of_sorted,
    prefetched,
    rows_asked,
    sub_selections,
)
from graph.types.frameworks import Competence, Criterion, FrameworkActivity, Task
from graph.types.users import Learner
from models import fiches as m
from models.portfolios import Portfolio as PortfolioRow
from models.users import User
from permissions import scopes
from permissions.table import describe
from permissions.viewer import Viewer
from resolvers.fiches import loaders

if TYPE_CHECKING:
    from graph.types.portfolios import Portfolio

Autonomy = Annotated[
    m.Autonomy,
    described_enum(
        "Whether the learner worked on their own or accompanied.",
        {"AUTONOMOUS": "On their own.", "ACCOMPANIED": "Accompanied by someone of the company."},
    ),
]
AnnexKind = Annotated[
    m.AnnexKind,
    described_enum("FILE: an uploaded file; URL: a web link.", {"FILE": "An uploaded file.", "URL": "A web link."}),
]


# The fiche's learner owns it (and its annexes, targets and grid).
LEARNER = Owner("learner_id")


@strawberry.enum(description="Where a fiche stands for the teacher asking (R13).")
class FicheReadState(Enum):
    READ = strawberry.enum_value("READ", description="You read it since the learner last changed it.")
    UNREAD = strawberry.enum_value("UNREAD", description="New or changed since you last read it.")
    DELETED = strawberry.enum_value("DELETED", description="Deleted by the learner, still listed for teachers (R13).")


@strawberry.type(
    description="Annexe: a file or a web link the learner attached to an activity fiche. " + describe("annex.read")
)
class Annex(relay.Node):
    id: relay.NodeID[int]
    kind: AnnexKind = strawberry.field(description="FILE or URL.")
    title: str = strawberry.field(description="Title given by the learner (the file name or host by default).")
    url: str | None = strawberry.field(description="The link of a URL annex (http or https); null for a file.")
    filename: str | None = strawberry.field(description="Original name of the file (no folder); null for a link.")
    content_type: str | None = strawberry.field(description="Type found in the file's content; null for a link.")
    size: int | None = strawberry.field(description="Size of the file in bytes; null for a link.")
    created_at: dt.datetime = strawberry.field(description="When the annex was added.")
    fiche_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: m.Annex) -> Annex:
        return cls(
            id=row.id,
            kind=row.kind,
            title=row.title,
            url=row.url,
            filename=row.original_filename,
            content_type=row.content_type,
            size=row.size,
            created_at=row.created_at,
            fiche_id=row.fiche_id,
        )

    @strawberry.field(
        description="Where to download the file (GET, with the same bearer token; answers Range "
        "requests); null for a link."
    )
    def download_url(self) -> str | None:
        return f"/annexes/{encode_id('Annex', self.id)}" if self.kind is m.AnnexKind.FILE else None

    @strawberry.field(
        description="Where to download the file without an Authorization header (a browser's plain link, a "
        "phone's download manager): downloadUrl signed for the signed-in user, working for a few minutes "
        "(PFMP_SIGNED_URL_LIFETIME, 5 by default) and only while the user may still read the annex; null for a "
        "link. Never kept by the response cache."
    )
    def signed_download_url(self, info: Info) -> str | None:
        if self.kind is not m.AnnexKind.FILE:
            return None
        context = info.context
        return signed_download(
            context.request, context.settings, context.viewer, f"/annexes/{encode_id('Annex', self.id)}"
        )


@strawberry.type(description="A task linked to a fiche: ticked by the learner, checked or added by the teacher (R14).")
class FicheTaskLink:
    task: Task = strawberry.field(description="The framework task.")
    ticked_by_learner: bool = strawberry.field(description="The learner ticked it.")
    checked_by_teacher: bool = strawberry.field(description="The teacher checked or added it.")


@strawberry.type(
    description="What the teacher plans to evaluate for a task of the fiche: a competence globally "
    "(criterion null) or one criterion in detail."
)
class EvaluationTarget:
    task: Task = strawberry.field(description="The task of the fiche.")
    competence: Competence = strawberry.field(description="A competence linked to the task.")
    criterion: Criterion | None = strawberry.field(
        description="The criterion evaluated in detail; null when the competence is evaluated globally."
    )


@strawberry.type(description="A criterion of the linking grid, and whether it is to be evaluated in detail.")
class LinkingCriterion:
    criterion: Criterion = strawberry.field(description="The criterion.")
    selected: bool = strawberry.field(description="Chosen for a detailed evaluation on this task.")


@strawberry.type(description="A competence linked to a task in the grid, and what is chosen to evaluate.")
class LinkingCompetence:
    competence: Competence = strawberry.field(description="The competence.")
    weight: int = strawberry.field(description="2 for a main competence of the task, 1 for a secondary one.")
    evaluated_globally: bool = strawberry.field(description="Chosen for a global evaluation on this task.")
    criteria: list[LinkingCriterion] = strawberry.field(description="Its criteria, in order.")


@strawberry.type(description="A task of the linking grid, whether the fiche holds it, and its competences.")
class LinkingTask:
    task: Task = strawberry.field(description="The task.")
    linked: bool = strawberry.field(description="The task is linked to the fiche.")
    ticked_by_learner: bool = strawberry.field(description="The learner ticked it.")
    checked_by_teacher: bool = strawberry.field(description="The teacher checked or added it.")
    competences: list[LinkingCompetence] = strawberry.field(description="Competences linked to the task.")


@strawberry.type(description="« Relier au référentiel »: a framework activity with its tasks.")
class LinkingActivity:
    activity: FrameworkActivity = strawberry.field(description="The framework activity.")
    tasks: list[LinkingTask] = strawberry.field(description="Its tasks, in order.")


@strawberry.type(
    description="Fiche activité: what the learner did in the company and what they make of it. "
    + describe("fiche.read")
)
class ActivityFiche(GuardedFields, relay.Node):
    id: relay.NodeID[int]
    title: str = strawberry.field(description="Title of the fiche.")
    autonomy: Autonomy | None = strawberry.field(description="Autonomous or accompanied; null until set.")
    workplace: str | None = strawberry.field(description="Where the activity took place (from the liaison fiche).")
    description: str = strawberry.field(description="What the learner did.")
    analysis: str = strawberry.field(description="The learner's reflective analysis.")
    former_period_name: str | None = strawberry.field(
        description="For a free fiche: the name of the period it came from."
    )
    version: int = strawberry.field(description="Changes at every edit of the fiche: pass it back with an update.")
    created_at: dt.datetime = strawberry.field(description="When the fiche was created.")
    updated_at: dt.datetime = strawberry.field(
        description="When the fiche or what it shows last changed: its own fields, its deletion, its tasks, "
        "evaluation targets, activity types and annexes (set by the database on every write, migration 0017)."
    )
    deleted_at: dt.datetime | None = guarded(
        "When the learner deleted the fiche; null while it exists.", "fiche.staff.read"
    )
    portfolio_id: strawberry.Private[int | None]
    learner_id: strawberry.Private[int]
    learner_changed_at: strawberry.Private[dt.datetime]
    reference: strawberry.Private[int | None]
    viewer: strawberry.Private[Viewer | None]
    # Filled by a list that read them for all its fiches at once (`prefetch_fiche_fields`); MISSING: the loader.
    prefetched_read_state: strawberry.Private[Any] = MISSING
    prefetched_annex_count: strawberry.Private[Any] = MISSING
    prefetched_tasks: strawberry.Private[Any] = MISSING

    @classmethod
    def from_row(cls, row: m.ActivityFiche, viewer: Viewer | None) -> ActivityFiche:
        return cls(
            id=row.id,
            title=row.title,
            autonomy=row.autonomy,
            workplace=row.workplace,
            description=row.description,
            analysis=row.analysis,
            former_period_name=row.former_period_name,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            deleted_at=row.deleted_at,
            portfolio_id=row.portfolio_id,
            learner_id=row.learner_id,
            learner_changed_at=row.learner_changed_at,
            reference=row.reference,
            viewer=viewer,
        )

    @strawberry.field(description="True when the description is filled in and the fiche is not deleted (R2).")
    def completed(self) -> bool:
        return bool(self.description.strip()) and self.deleted_at is None

    @strawberry.field(
        description="Reference number in its period ([1], [2]…), given once in creation order and "
        "never changed: a deleted fiche keeps its number and the others keep theirs (R18). "
        "Null for a free fiche."
    )
    def number(self) -> int | None:
        return self.reference if self.portfolio_id is not None else None

    @guarded(
        "For the teacher asking: READ, UNREAD (created or changed by the learner since "
        "they last marked it read) or DELETED (R13). Marking read is a mutation, never "
        "a side effect of reading.",
        "fiche.staff.read",
    )
    @prefetched("prefetched_read_state")
    async def read_state(self, info: Info) -> FicheReadState | None:
        if self.deleted_at is not None:
            return FicheReadState.DELETED
        read_at = await loaders.read_times(info).load(self.id)
        return (
            FicheReadState.READ if read_at is not None and read_at >= self.learner_changed_at else FicheReadState.UNREAD
        )

    @strawberry.field(description="Framework activity types the fiche is referenced under, in framework order.")
    async def activity_types(self, info: Info) -> list[FrameworkActivity]:
        rows = await loaders.activity_types(info).load(self.id)
        return [FrameworkActivity.from_row(r) for r in rows]

    @strawberry.field(description="Tasks linked to the fiche, in framework order (R14).")
    @prefetched("prefetched_tasks")
    async def tasks(self, info: Info) -> list[FicheTaskLink]:
        links = await loaders.task_links(info).load(self.id)
        tasks = await loaders.tasks(info).load_many([link.task_id for link in links])
        pairs = sorted(zip(links, tasks), key=lambda pair: pair[1].position)
        return [
            FicheTaskLink(
                task=Task.from_row(t),
                ticked_by_learner=link.ticked_by_learner,
                checked_by_teacher=link.checked_by_teacher,
            )
            for link, t in pairs
        ]

    @guarded(
        "Competences and criteria the teacher plans to evaluate, per task (R14).", "fiche.targets.read", owner=LEARNER
    )
    async def evaluation_targets(self, info: Info) -> list[EvaluationTarget] | None:
        rows = await loaders.targets(info).load(self.id)
        tasks, competences, criteria = await asyncio.gather(
            loaders.tasks(info).load_many([r.task_id for r in rows]),
            loaders.competences(info).load_many([r.competence_id for r in rows]),
            loaders.criteria(info).load_many([r.criterion_id for r in rows if r.criterion_id]),
        )
        by_criterion = {c.id: c for c in criteria}
        units = await _units(info, {c.framework_id for c in competences})
        items = sorted(
            zip(rows, tasks, competences),
            key=lambda item: (
                item[1].position,
                item[2].position,
                by_criterion[item[0].criterion_id].position if item[0].criterion_id else 0,
            ),
        )
        return [
            EvaluationTarget(
                task=Task.from_row(t),
                competence=Competence.from_row(c, units[c.framework_id]),
                criterion=Criterion.from_row(by_criterion[r.criterion_id]) if r.criterion_id else None,
            )
            for r, t, c in items
        ]

    @guarded(
        "« Relier au référentiel »: the framework's tasks grouped by activity, each with "
        "its competences and criteria, and what the fiche holds and evaluates; null for a "
        "free fiche.",
        "fiche.targets.read",
        owner=LEARNER,
    )
    async def linking_grid(self, info: Info) -> list[LinkingActivity] | None:
        if self.portfolio_id is None:
            return None
        framework_id = await loaders.framework_of_portfolio(info).load(self.portfolio_id)
        if framework_id is None:
            return None
        return await _grid(info, self.id, framework_id)

    @guarded("Annexes (files and links), oldest first.", "annex.read", owner=LEARNER)
    async def annexes(self, info: Info) -> list[Annex] | None:
        return [Annex.from_row(r) for r in await loaders.annexes(info).load(self.id)]

    @guarded("Number of annexes (the counter shown beside « Annexes »).", "annex.read", owner=LEARNER)
    @prefetched("prefetched_annex_count")
    async def annex_count(self, info: Info) -> int | None:
        return len(await loaders.annexes(info).load(self.id))

    @strawberry.field(description="The portfolio (learner and period) the fiche belongs to; null for a free fiche.")
    async def portfolio(self, info: Info) -> Annotated[Portfolio, strawberry.lazy("graph.types.portfolios")] | None:
        if self.portfolio_id is None:
            return None
        row = await info.context.loaders.by_id(PortfolioRow, scopes.portfolios).load(self.portfolio_id)
        return later("graph.types.portfolios", "Portfolio").from_row(row) if row else None

    @strawberry.field(description="The learner who wrote the fiche.")
    async def learner(self, info: Info) -> Annotated[Learner, strawberry.lazy("graph.types.users")] | None:
        row = await info.context.loaders.by_id(User, scopes.learners).load(self.learner_id)
        return Learner.from_row(row, info.context.viewer) if row else None


async def _units(info: Info, framework_ids: set[int]) -> dict[int, dict[int, str]]:
    ids = sorted(framework_ids)
    codes = await asyncio.gather(*(loaders.unit_codes(info, i) for i in ids))
    return dict(zip(ids, codes))


async def _grid(info: Info, fiche_id: int, framework_id: int) -> list[LinkingActivity]:
    activities, tasks, links, targets, units = await asyncio.gather(
        loaders.activities_of_framework(info).load(framework_id),
        loaders.tasks_of_framework(info).load(framework_id),
        loaders.task_links(info).load(fiche_id),
        loaders.targets(info).load(fiche_id),
        loaders.unit_codes(info, framework_id),
    )
    per_task = await loaders.competence_links(info).load_many([t.id for t in tasks])
    competence_ids = sorted({link.competence_id for group in per_task for link in group})
    competences, criteria = await asyncio.gather(
        loaders.competences(info).load_many(competence_ids),
        loaders.criteria_of_competence(info).load_many(competence_ids),
    )
    competence_of = dict(zip(competence_ids, competences))
    criteria_of = dict(zip(competence_ids, criteria))
    fiche_links = {link.task_id: link for link in links}
    chosen = {(t.task_id, t.competence_id, t.criterion_id) for t in targets}
    # Retired entries are offered only where the fiche already holds them (a linked task, a chosen target).
    targeted = {(t.task_id, t.competence_id) for t in targets}
    grid_tasks: dict[int, list[LinkingTask]] = {}
    for task, task_competences in zip(tasks, per_task):
        link = fiche_links.get(task.id)
        if task.retired_at is not None and link is None:
            continue
        items = []
        for tc in sorted(task_competences, key=lambda tc: competence_of[tc.competence_id].position):
            competence = competence_of[tc.competence_id]
            if competence.retired_at is not None and (task.id, competence.id) not in targeted:
                continue
            items.append(
                LinkingCompetence(
                    competence=Competence.from_row(competence, units),
                    weight=tc.weight,
                    evaluated_globally=(task.id, competence.id, None) in chosen,
                    criteria=[
                        LinkingCriterion(
                            criterion=Criterion.from_row(c), selected=(task.id, competence.id, c.id) in chosen
                        )
                        for c in criteria_of[competence.id]
                        if c.retired_at is None or (task.id, competence.id, c.id) in chosen
                    ],
                )
            )
        grid_tasks.setdefault(task.activity_id, []).append(
            LinkingTask(
                task=Task.from_row(task),
                linked=link is not None,
                ticked_by_learner=bool(link and link.ticked_by_learner),
                checked_by_teacher=bool(link and link.checked_by_teacher),
                competences=items,
            )
        )
    return [
        LinkingActivity(activity=FrameworkActivity.from_row(a), tasks=grid_tasks.get(a.id, []))
        for a in activities
        if a.retired_at is None or grid_tasks.get(a.id)
    ]


# `Portfolio.activityFiches`: newest first, by creation time then id. The time goes into the cursor as text of a
# fixed width in UTC, which sorts as the time does (a cursor holds text or whole numbers of 32 bits).
PORTFOLIO_FICHES = Keyset("Portfolio.activityFiches", ("-created_at", "-id"))


def _fiche_key(fiche: ActivityFiche) -> tuple[str, int]:
    # as strftime("%Y-%m-%dT%H:%M:%S.%fZ") writes it, several times faster
    utc = fiche.created_at.astimezone(dt.UTC).replace(tzinfo=None)
    return f"{utc.isoformat(timespec='microseconds')}Z", fiche.id


def _fiche_pages(
    info: Info, groups: list[list[m.ActivityFiche]], keyset: Keyset, *, first: int | None, after: str | None
) -> list[tuple[list[tuple[Any, ActivityFiche]], bool, int]]:
    """Each portfolio's page of fiches (newest first, after the cursor), whether more follow, and how many."""
    limit = check_page(first)
    viewer = info.context.viewer
    pages = []
    for rows in groups:
        keyed = [(_fiche_key(fiche), fiche) for fiche in (ActivityFiche.from_row(r, viewer) for r in reversed(rows))]
        page, has_next = page_of_sorted(keyed, keyset, limit=limit, after=after)
        pages.append((page, has_next, len(keyed)))
    return pages


def _fiches_by_portfolio(info: Info, since: dt.datetime | None) -> Any:
    # Oldest first, as the free fiches are read; a page reverses them. With a time, the fiches changed since then
    # only, in the same one statement (an index on portfolio and update time serves it).
    return info.context.loaders.by_parent(
        m.ActivityFiche,
        "portfolio_id",
        scopes.visible_fiches,
        order_by=("created_at", "id"),
        extra=None if since is None else Q(updated_at__gte=since),
    )


async def fiches_of_portfolio(
    info: Info,
    portfolio_id: int,
    *,
    first: int | None,
    after: str | None,
    updated_since: dt.datetime | None = None,
) -> Connection:
    """A page of a portfolio's fiches, newest first; deleted ones only for the roles that may see them (R13). The
    portfolio's fiches are read whole (one statement for every portfolio of the request), then paged."""
    check_page(first)
    since = as_utc(updated_since)
    keyset = PORTFOLIO_FICHES.since(since)
    if after is not None:
        keyset.values(after)
    rows = await _fiches_by_portfolio(info, since).load(portfolio_id)
    ((page, has_next, total),) = _fiche_pages(info, [rows], keyset, first=first, after=after)
    return connection_of(page, keyset, has_next=has_next, after=after, total=total)


async def fiches_of_portfolios(
    info: Info,
    portfolio_ids: list[int],
    asked: list[Selection],
    *,
    first: int | None,
    after: str | None,
    updated_since: dt.datetime | None = None,
) -> list[Connection]:
    """A page of the fiches of each portfolio, as `fiches_of_portfolio` pages them, with the fields asked of
    their rows that need a query (tasks, read state, annex count) read for the fiches of every page at once.
    `asked`: the sub-fields asked of the connection."""
    check_page(first)
    since = as_utc(updated_since)
    keyset = PORTFOLIO_FICHES.since(since)
    if after is not None:
        keyset.values(after)
    groups = await _fiches_by_portfolio(info, since).load_many(portfolio_ids)
    pages = _fiche_pages(info, groups, keyset, first=first, after=after)
    await prefetch_fiche_fields(
        info, [fiche for page, _, _ in pages for _, fiche in page], rows_asked(sub_selections(asked))
    )
    return [connection_of(page, keyset, has_next=has_next, after=after, total=total) for page, has_next, total in pages]


async def deleted_fiche_ids(info: Info, portfolio_id: int, since: dt.datetime | None) -> list[strawberry.ID]:
    """The IDs of a portfolio's fiches in the viewer's reach (deleted ones included, whatever the role) deleted at
    or after `since`: one statement for every portfolio of the request."""
    rows = await info.context.loaders.by_parent(
        m.ActivityFiche, "portfolio_id", scopes.activity_fiches, order_by=("id",), extra=Q(deleted_at__gte=since)
    ).load(portfolio_id)
    return [encode_id("ActivityFiche", row.id) for row in rows]


def _guard_of(name: str) -> Any:
    field = ActivityFiche.__strawberry_definition__.get_field(name)  # type: ignore[attr-defined]
    return field.metadata[GUARD]


async def prefetch_fiche_fields(info: Info, fiches: list[ActivityFiche], asked: dict[str, list[Selection]]) -> None:
    """Fills the fiches' prefetched fields that `asked` names, one query per kind for all of them. A guarded
    field is read only for the fiches its guard lets the viewer read (its resolver refuses the others first),
    so a viewer refused everywhere costs no statement, as with the loaders."""
    if not fiches:
        return
    if "tasks" in asked:
        links, tasks = await loaders.task_link_values([f.id for f in fiches])
        grouped: dict[int, list[dict]] = {}
        for link in links:
            grouped.setdefault(link["fiche_id"], []).append(link)
        built = {
            pk: Task(
                id=pk,
                code=row["code"],
                label=row["label"],
                provisional=row["provisional"],
                retired=row["retired_at"] is not None,
                framework_id=row["framework_id"],
            )
            for pk, row in tasks.items()
        }
        for fiche in fiches:
            pairs = sorted(grouped.get(fiche.id, ()), key=lambda link: tasks[link["task_id"]]["position"])
            fiche.prefetched_tasks = [
                FicheTaskLink(
                    task=built[link["task_id"]],
                    ticked_by_learner=link["ticked_by_learner"],
                    checked_by_teacher=link["checked_by_teacher"],
                )
                for link in pairs
            ]
    context = info.context
    if "readState" in asked and context.viewer is not None:
        guard = _guard_of("read_state")
        readable = [f for f in fiches if guard.check(context, f)]
        for fiche in readable:
            if fiche.deleted_at is not None:
                fiche.prefetched_read_state = FicheReadState.DELETED
        unread = [f for f in readable if f.deleted_at is None]
        if unread:
            times = await loaders.read_time_values(context.viewer.id, [f.id for f in unread])
            for fiche in unread:
                read_at = times.get(fiche.id)
                fiche.prefetched_read_state = (
                    FicheReadState.READ
                    if read_at is not None and read_at >= fiche.learner_changed_at  # type: ignore[operator]
                    else FicheReadState.UNREAD
                )
    # With `annexes` asked too, the count comes from the rows that field loads (no second statement).
    if "annexCount" in asked and "annexes" not in asked and context.viewer is not None:
        guard = _guard_of("annex_count")
        readable = [f for f in fiches if guard.check(context, f)]
        if readable:
            counts = await loaders.annex_counts([f.id for f in readable])
            for fiche in readable:
                fiche.prefetched_annex_count = counts.get(fiche.id, 0)


async def free_fiches_of(info: Info, learner_id: int) -> list[ActivityFiche]:
    """A learner's fiches whose period was deleted, oldest first; deleted ones only for staff."""
    rows = await info.context.loaders.by_parent(
        m.ActivityFiche, "learner_id", scopes.visible_fiches, order_by=("created_at", "id"), extra=Q(portfolio_id=None)
    ).load(learner_id)
    return [ActivityFiche.from_row(r, info.context.viewer) for r in rows]
