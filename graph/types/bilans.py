"""The company bilan (R17–R21): header, grid, evaluation and history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.response_cache import signed_download
from graph.types.common import (
    EXPORT_LINK,
    IN_REACH,
    Connection,
    Keyset,
    PageAfter,
    PageSize,
    described_enum,
    encode_id,
    export_url,
    guarded,
    paginate,
    share_answers,
)
from graph.types.fiches import ActivityFiche
from graph.types.frameworks import (
    AchievementLevel,
    Competence,
    Criterion,
    FrameworkActivity,
    ScaleLevel,
    Task,
)
from graph.types.periods import Period
from graph.types.portfolios import BilanStatus, LiaisonFiche, Portfolio, Workplace
from graph.types.users import Learner, Person, person_from_row
from models import bilans as m
from models import fiches as fiche_models
from models import frameworks as fw
from models import portfolios as pm
from models.users import User
from permissions import scopes
from permissions.scopes import may_read_bilan
from permissions.table import describe
from permissions.viewer import Viewer
from resolvers.bilans.grid import BilanView, FrameworkShape, bilan_views, header_of, result_log_of
from resolvers.periods import loaders as period_loaders

EvaluationMode = Annotated[
    m.EvaluationMode,
    described_enum(
        "How a competence is evaluated (R19): GLOBAL, one result for the competence; CRITERIA, one result "
        "per criterion.",
        {"GLOBAL": "One result for the competence.", "CRITERIA": "One result per criterion of the competence."},
    ),
]
SignatureMode = Annotated[
    m.SignatureMode,
    described_enum(
        "How a completed bilan was signed: APP, in the application; PAPER, on a paper sheet whose scan "
        "is kept with the bilan (`CompanyBilan.paperScan`).",
        {
            "APP": "Signed in the application.",
            "PAPER": "Signed on a paper sheet; its scan is kept with the bilan.",
        },
    ),
]
BilanEventKind = Annotated[
    m.BilanEventKind,
    described_enum(
        "What happened to a bilan, as its history logs it.",
        {
            "COMPLETED": "The bilan was completed (R21).",
            "REOPENED": "The completed bilan was reopened as a draft, with a reason (R21).",
            "SIGNED_ON_PAPER": "The completed bilan was signed on paper (its scan kept).",
        },
    ),
]


# The log is read newest first; its cursors hold the id of the change they follow.
RESULT_LOG_ORDER = Keyset("resultLog", ("-id",))


@strawberry.type(description="An activity fiche of the period with its reference number in the bilan.")
class BilanFiche:
    reference: int = strawberry.field(
        description="Reference number [n], given to the fiche at creation and never changed (R18)."
    )
    title: str = strawberry.field(description="Title of the fiche (as it stood at completion, once completed).")
    fiche_id: strawberry.Private[int]

    @strawberry.field(description="The fiche itself; null once deleted (for those who may not see deleted fiches).")
    async def fiche(self, info: Info) -> ActivityFiche | None:
        row = await info.context.loaders.by_id(fiche_models.ActivityFiche, scopes.visible_fiches).load(self.fiche_id)
        return ActivityFiche.from_row(row, info.context.viewer) if row else None


@strawberry.type(description="A criterion of a competence under one task of the grid.")
class BilanGridCriterion:
    criterion: Criterion = strawberry.field(description="The criterion.")
    marked: bool = strawberry.field(description="True when a fiche of the period targets this criterion for this task.")
    fiche_refs: list[int] = strawberry.field(description="Reference numbers of the fiches that do, in order.")
    level: AchievementLevel = strawberry.field(description="Current result of the criterion in this bilan.")


@strawberry.type(description="A competence a task mobilises, as the grid shows it under that task.")
class BilanGridCompetence:
    competence: Competence = strawberry.field(description="The competence.")
    weight: int = strawberry.field(description="2 for a main competence of the task, 1 for a secondary one.")
    marked: bool = strawberry.field(
        description="True when a fiche targets the competence, or one of its criteria, for this task."
    )
    fiche_refs: list[int] = strawberry.field(
        description="Reference numbers of the fiches that target the competence as a whole for this task."
    )
    mode: EvaluationMode = strawberry.field(description="How the competence is evaluated in this bilan.")
    level: AchievementLevel = strawberry.field(description="Current global result of the competence in this bilan.")
    criteria: list[BilanGridCriterion] = strawberry.field(description="The competence's criteria, in order.")


@strawberry.type(description="A task of the framework in the bilan's grid (R18).")
class BilanGridTask:
    task: Task = strawberry.field(description="The task.")
    marked: bool = strawberry.field(description="True when a fiche of the period is linked to the task.")
    fiche_refs: list[int] = strawberry.field(description="Reference numbers of the fiches that selected the task.")
    competences: list[BilanGridCompetence] = strawberry.field(
        description="Competences the task mobilises, in framework order."
    )


@strawberry.type(description="A framework activity of the grid with its tasks.")
class BilanGridActivity:
    activity: FrameworkActivity = strawberry.field(description="The framework activity, e.g. « Préparation ».")
    tasks: list[BilanGridTask] = strawberry.field(description="Its tasks, in order.")


@strawberry.type(description="The current result of one criterion in a bilan.")
class BilanCriterionResult:
    criterion: Criterion = strawberry.field(description="The criterion.")
    marked: bool = strawberry.field(description="True when a fiche targets the criterion under any task.")
    fiche_refs: list[int] = strawberry.field(description="Reference numbers of those fiches.")
    level: AchievementLevel = strawberry.field(description="Current result; NOT_EVALUATED when none.")


@strawberry.type(description="The evaluation of one competence in a bilan (R19).")
class BilanCompetenceResult:
    competence: Competence = strawberry.field(description="The competence.")
    mode: EvaluationMode = strawberry.field(description="How it is evaluated.")
    mode_chosen: bool = strawberry.field(
        description="True when a teacher chose the mode (or a result pinned it); false while it follows the "
        "fiches: CRITERIA when they target only criteria of the competence, else GLOBAL."
    )
    marked: bool = strawberry.field(description="True when a fiche targets the competence or one of its criteria.")
    fiche_refs: list[int] = strawberry.field(description="Reference numbers of the fiches that do.")
    level: AchievementLevel = strawberry.field(description="Current global result; NOT_EVALUATED when none.")
    retained_level: AchievementLevel = strawberry.field(
        description="The level the dashboard retains: the global result in GLOBAL mode; in CRITERIA mode the lower "
        "median of the criteria evaluated."
    )
    criteria: list[BilanCriterionResult] = strawberry.field(description="Results of its criteria, in order.")


@strawberry.type(description="One change of one result, from the bilan's append-only log.")
class BilanResultChange:
    level: AchievementLevel = strawberry.field(description="The level set.")
    previous_level: AchievementLevel = strawberry.field(description="The level before (NOT_EVALUATED if none).")
    recorded_at: dt.datetime = strawberry.field(description="When.")
    competence_id: strawberry.Private[int]
    criterion_id: strawberry.Private[int | None]
    author_id: strawberry.Private[int | None]

    @strawberry.field(description="The competence.")
    async def competence(self, info: Info) -> Competence | None:
        return await competence_of(info, self.competence_id)

    @strawberry.field(description="The criterion, or null for the competence's global result.")
    async def criterion(self, info: Info) -> Criterion | None:
        if self.criterion_id is None:
            return None
        row = await info.context.loaders.by_id(fw.Criterion, None).load(self.criterion_id)
        return Criterion.from_row(row) if row else None

    @strawberry.field(description="Who made the change; null if the account is gone.")
    async def author(self, info: Info) -> Person | None:
        return await author_of(info, self.author_id)


@strawberry.type(description="The scan of the sheet a bilan was signed on, on paper: a PDF, PNG or JPEG file.")
class BilanPaperScan:
    filename: str = strawberry.field(description="The name of the file as uploaded (a label only).")
    content_type: str = strawberry.field(description="Its type, judged from its content.")
    size: int = strawberry.field(description="Its size in bytes.")
    bilan_id: strawberry.Private[int]

    @strawberry.field(description="Where to download it (GET, with the same bearer token; answers Range requests).")
    def download_url(self) -> str:
        return f"/bilans/{encode_id('CompanyBilan', self.bilan_id)}/paper-scan"

    @strawberry.field(
        description="Where to download it without an Authorization header: downloadUrl signed for the signed-in "
        "user, working for a few minutes (PFMP_SIGNED_URL_LIFETIME, 5 by default) and only while the user may "
        "still read the scan. Never kept by the response cache."
    )
    def signed_download_url(self, info: Info) -> str | None:
        context = info.context
        path = f"/bilans/{encode_id('CompanyBilan', self.bilan_id)}/paper-scan"
        return signed_download(context.request, context.settings, context.viewer, path)


@strawberry.type(name="BilanEvent", description="Completion, reopening or paper signature of a bilan, logged (R21).")
class BilanEventEntry:
    kind: BilanEventKind = strawberry.field(description="What happened.")
    note: str = strawberry.field(description="The reason given when reopening.")
    recorded_at: dt.datetime = strawberry.field(description="When.")
    author_id: strawberry.Private[int | None]

    @strawberry.field(description="Who did it; null if the account is gone.")
    async def author(self, info: Info) -> Person | None:
        return await author_of(info, self.author_id)


async def competence_of(info: Info, competence_id: int) -> Competence | None:
    row = await info.context.loaders.by_id(fw.Competence, None).load(competence_id)
    if row is None:
        return None
    units = await info.context.loaders.by_parent(fw.Unit, "framework_id", None).load(row.framework_id)
    return Competence.from_row(row, {u.id: u.code for u in units})


async def author_of(info: Info, user_id: int | None) -> Person | None:
    if user_id is None:
        return None
    row = await info.context.loaders.by_id(User, scopes.teachers).load(user_id)
    return person_from_row(row, info.context.viewer) if row else None


def _refs(refs) -> list[int]:
    return list(refs or ())


def _converted(shape: FrameworkShape) -> dict:
    """The schema's objects of a shape's rows, made once per shape (a kept shape serves every request of the
    process; these objects are never changed once made)."""
    made = shape.converted
    if not made:
        # shared: their answers to a sub-selection of plain fields are computed once (graph/execution.py)
        made["activity"] = {a.id: share_answers(FrameworkActivity.from_row(a)) for a in shape.activities}
        made["task"] = {
            t.id: share_answers(Task.from_row(t)) for rows in shape.tasks_by_activity.values() for t in rows
        }
        made["competence"] = {c.id: share_answers(Competence.from_row(c, shape.unit_codes)) for c in shape.competences}
        made["criterion"] = {
            c.id: share_answers(Criterion.from_row(c)) for rows in shape.criteria_by_competence.values() for c in rows
        }
    return made


def grid_of(view: BilanView) -> list[BilanGridActivity]:
    """The grid of R18 from a derived view: plain objects, no query."""
    shape = view.shape
    if shape is None:
        return []
    competences = shape.competence_by_id
    made = _converted(shape)
    activities = []
    for activity in shape.activities:
        tasks = []
        for task in shape.tasks_by_activity.get(activity.id, []):
            items = []
            for link in shape.links_by_task.get(task.id, []):
                competence = competences[link.competence_id]
                criteria = [
                    BilanGridCriterion(
                        criterion=made["criterion"][c.id],
                        marked=bool(refs),
                        fiche_refs=_refs(refs),
                        level=view.level(competence.id, c.id),
                    )
                    for c in shape.criteria_by_competence.get(competence.id, [])
                    for refs in [view.marks.criteria.get((task.id, c.id))]
                    if view.shows_criterion(competence, c, refs)
                ]
                refs = view.marks.competences.get((task.id, competence.id))
                if not view.shows_competence(competence, refs, criteria):
                    continue
                items.append(
                    BilanGridCompetence(
                        competence=made["competence"][competence.id],
                        weight=link.weight,
                        marked=bool(refs) or any(c.marked for c in criteria),
                        fiche_refs=_refs(refs),
                        mode=view.mode(competence.id),
                        level=view.level(competence.id),
                        criteria=criteria,
                    )
                )
            refs = view.marks.tasks.get(task.id)
            if task.retired_at is not None and not (refs or any(c.marked for c in items)):
                continue
            tasks.append(
                BilanGridTask(
                    task=made["task"][task.id],
                    marked=bool(refs) or any(c.marked for c in items),
                    fiche_refs=_refs(refs),
                    competences=items,
                )
            )
        if activity.retired_at is not None and not tasks:
            continue
        activities.append(BilanGridActivity(activity=made["activity"][activity.id], tasks=tasks))
    return activities


def results_of(view: BilanView) -> list[BilanCompetenceResult]:
    shape = view.shape
    if shape is None:
        return []
    made = _converted(shape)
    found = []
    for competence in shape.competences:
        criteria = [
            BilanCriterionResult(
                criterion=made["criterion"][c.id],
                marked=bool(refs),
                fiche_refs=list(refs),
                level=view.level(competence.id, c.id),
            )
            for c in shape.criteria_by_competence.get(competence.id, [])
            for refs in [view.marks.criterion_refs(c.id)]
            if view.shows_criterion(competence, c, refs)
        ]
        refs = view.marks.competence_refs(competence.id)
        if not view.shows_competence(competence, refs, criteria):
            continue
        mode, chosen = view.modes.get(competence.id, (m.EvaluationMode.GLOBAL, False))
        found.append(
            BilanCompetenceResult(
                competence=made["competence"][competence.id],
                mode=mode,
                mode_chosen=chosen,
                marked=bool(refs) or any(c.marked for c in criteria),
                fiche_refs=sorted(set(refs).union(*(c.fiche_refs for c in criteria))),
                level=view.level(competence.id),
                retained_level=view.retained(competence.id),
                criteria=criteria,
            )
        )
    return found


@strawberry.type(
    description="Bilan entreprise: the joint evaluation at the end of a period (R17–R21); null to "
    "whoever may not read it in its current state. While draft: "
    + describe("bilan.draft.read")
    + " Once completed: "
    + describe("bilan.completed.read")
)
class CompanyBilan(relay.Node):
    id: relay.NodeID[int]
    status: BilanStatus = strawberry.field(description="DRAFT while being entered, COMPLETED once frozen.")
    version: int = strawberry.field(
        description="Changes at every edit: pass it back with bilanUpdate, bilanComplete "
        "and bilanReopen; a stale one gets CONFLICT."
    )
    engagement: int | None = strawberry.field(description="Engagement of the learner, 1 to 4 stars; null until set.")
    meeting_date_is_default: bool = strawberry.field(
        description="True while the meeting date is the period's last day by default."
    )
    comment: str = strawberry.field(description="Comment to the learner on the period as a whole.")
    completed_at: dt.datetime | None = strawberry.field(description="When it was completed; null while draft.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")
    signature_mode: SignatureMode | None = strawberry.field(
        description="How it was signed once completed: APP or PAPER; null while draft (and for bilans completed "
        "before the mode was recorded, signed in the application)."
    )
    portfolio_id: strawberry.Private[int]
    scan: strawberry.Private[BilanPaperScan | None]
    stored_meeting_date: strawberry.Private[dt.date | None]
    # Once completed, the header as it stood then (R21); None while draft.
    header: strawberry.Private[dict | None]
    # The row it was made from: the grid's view derives from it rather than reading it again.
    row: strawberry.Private[m.CompanyBilan]

    @guarded(
        "Where to download the bilan as a document: « Bilan entreprise » once completed, its sheet titled as a "
        f"draft before (a draft follows bilan.draft.read, as the bilan itself). {EXPORT_LINK}",
        "export.completed_bilan",
        owner=IN_REACH,
    )
    def document_url(self, info: Info) -> str | None:
        return export_url("bilan", "CompanyBilan", self.id)

    @classmethod
    def from_row(cls, row: m.CompanyBilan) -> CompanyBilan:
        header = header_of(row)
        default = header["meetingDateIsDefault"] if header is not None else row.meeting_date is None
        return cls(
            id=row.id,
            status=row.status,
            version=row.version,
            engagement=row.engagement,
            meeting_date_is_default=default,
            comment=row.comment,
            completed_at=row.completed_at,
            updated_at=row.updated_at,
            signature_mode=row.signature_mode,
            portfolio_id=row.portfolio_id,
            scan=BilanPaperScan(
                filename=row.scan_filename or "scan",
                content_type=row.scan_content_type or "application/octet-stream",
                size=row.scan_size or 0,
                bilan_id=row.id,
            )
            if row.scan_stored_name
            else None,
            stored_meeting_date=row.meeting_date,
            header=header,
            row=row,
        )

    @guarded(
        "The scan of the sheet signed on paper, once uploaded (bilanPaperScanUpload); null before. A learner sees "
        "it once the bilan is completed, as the bilan itself.",
        "bilan.paper.read",
        owner=IN_REACH,
    )
    def paper_scan(self, info: Info) -> BilanPaperScan | None:
        return self.scan

    async def _view(self, info: Info) -> BilanView:
        return await bilan_views(info, self.row).load(self.id)

    @strawberry.field(
        description="Date of the meeting with the company trainer: the period's last day unless "
        "changed (R20). It is the bilan's date for interim reviews (R25) and R8."
    )
    async def meeting_date(self, info: Info) -> dt.date:
        if self.stored_meeting_date is not None:
            return self.stored_meeting_date
        return (await period_loaders.period_dates_of_portfolio(info).load(self.portfolio_id))[1]

    @strawberry.field(description="Header: the period's first day (R17); once completed, as it stood then (R21).")
    async def period_start_date(self, info: Info) -> dt.date:
        if self.header is not None:
            return dt.date.fromisoformat(self.header["periodStart"])
        return (await period_loaders.period_dates_of_portfolio(info).load(self.portfolio_id))[0]

    @strawberry.field(description="Header: the period's last day (R17); once completed, as it stood then (R21).")
    async def period_end_date(self, info: Info) -> dt.date:
        if self.header is not None:
            return dt.date.fromisoformat(self.header["periodEnd"])
        return (await period_loaders.period_dates_of_portfolio(info).load(self.portfolio_id))[1]

    @strawberry.field(
        description="Header: the names of the company trainers assigned to the portfolio; once "
        "completed, as they stood then (R21)."
    )
    async def trainer_names(self, info: Info) -> list[str]:
        if self.header is not None:
            return list(self.header.get("trainers", []))
        return [row.full_name for row in await period_loaders.trainers_of(info).load(self.portfolio_id)]

    @strawberry.field(description="The portfolio (one learner in one period) the bilan belongs to.")
    async def portfolio(self, info: Info) -> Portfolio | None:
        row = await info.context.loaders.by_id(pm.Portfolio, scopes.portfolios).load(self.portfolio_id)
        return Portfolio.from_row(row) if row else None

    @strawberry.field(
        description="The period, as it is now (its dates as the bilan recalls them: `periodStartDate`, "
        "`periodEndDate`)."
    )
    async def period(self, info: Info) -> Period | None:
        portfolio = await info.context.loaders.by_id(pm.Portfolio, scopes.portfolios).load(self.portfolio_id)
        row = await period_loaders.period_by_id(info).load(portfolio.period_id) if portfolio else None
        return Period.from_row(row) if row else None

    @strawberry.field(description="Header: the learner (R17).")
    async def learner(self, info: Info) -> Learner | None:
        portfolio = await info.context.loaders.by_id(pm.Portfolio, scopes.portfolios).load(self.portfolio_id)
        row = await info.context.loaders.by_id(User, scopes.learners).load(portfolio.learner_id) if portfolio else None
        return Learner.from_row(row, info.context.viewer) if row else None

    @strawberry.field(
        description="Header: the workplace, from the liaison fiche (R17); once completed, as it stood then (R21)."
    )
    async def workplace(self, info: Info) -> Workplace | None:
        if self.header is not None:
            fields = self.header.get("workplace")
            return Workplace(**fields) if fields is not None else None
        rows = await period_loaders.liaison_by_portfolio(info).load(self.portfolio_id)
        return LiaisonFiche.from_row(rows[0]).workplace if rows else None

    @strawberry.field(description="The fiches of the period with their reference numbers, in order.")
    async def fiches(self, info: Info) -> list[BilanFiche]:
        view = await self._view(info)
        return [BilanFiche(reference=f.reference, title=f.title, fiche_id=f.fiche_id) for f in view.marks.fiches]

    @strawberry.field(
        description="The grid (R18): every task of the framework by activity, with its competences "
        "and criteria, marked where a fiche selected them, and their current results."
    )
    async def activities(self, info: Info) -> list[BilanGridActivity]:
        return grid_of(await self._view(info))

    @strawberry.field(description="Every competence of the framework with its mode and current results, in order.")
    async def competences(self, info: Info) -> list[BilanCompetenceResult]:
        return results_of(await self._view(info))

    @strawberry.field(description="The achievement scale results are taken from, in order.")
    async def scale(self, info: Info) -> list[ScaleLevel]:
        view = await self._view(info)
        rows = view.shape.scale if view.shape else []
        return [
            ScaleLevel(value=r.value, label=r.label, position=r.position, is_threshold=r.is_threshold) for r in rows
        ]

    @guarded(
        "Every change of a result, newest first (the append-only log): it shows what was "
        "entered while draft, so it follows the draft rule.",
        "bilan.draft.read",
    )
    async def result_log(
        self,
        info: Info,
        first: PageSize = None,
        after: PageAfter = None,
    ) -> Connection[BilanResultChange] | None:  # type: ignore[type-var]  # a connection of any type works: only the TypeVar's bound asks for a Node
        return await paginate(result_log_of(self.id), _change, first=first, after=after, keyset=RESULT_LOG_ORDER)

    @guarded("Completions and reopenings, oldest first; follows the draft rule.", "bilan.draft.read")
    async def events(self, info: Info) -> list[BilanEventEntry] | None:
        rows = await info.context.loaders.by_parent(m.BilanEvent, "bilan_id", None).load(self.id)
        return [
            BilanEventEntry(kind=r.kind, note=r.note, recorded_at=r.recorded_at, author_id=r.author_id) for r in rows
        ]


def _change(row: m.BilanResultEntry) -> BilanResultChange:
    return BilanResultChange(
        level=row.level,
        previous_level=row.previous_level or fw.AchievementLevel.NOT_EVALUATED,
        recorded_at=row.recorded_at,
        competence_id=row.competence_id,
        criterion_id=row.criterion_id,
        author_id=row.author_id,
    )


def readable_bilan(row: m.CompanyBilan | None, viewer: Viewer | None) -> CompanyBilan | None:
    return CompanyBilan.from_row(row) if row is not None and may_read_bilan(row, viewer) else None


async def bilan_of_portfolio(info: Info, portfolio_id: int) -> CompanyBilan | None:
    """The portfolio's bilan if the viewer may read it in its current state, else null."""
    rows = await period_loaders.bilan_by_portfolio(info).load(portfolio_id)
    return readable_bilan(rows[0] if rows else None, info.context.viewer)
