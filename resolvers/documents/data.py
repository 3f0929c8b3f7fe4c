"""The exports' plain data (`exports.data`) gathered from the rows the viewer reaches (R22–R24).

Every query filters with `permissions.scopes`, in SQL, never after fetching:
a portfolio is read only when the viewer reaches it, its period and its
learner; liaison fiches, activity fiches and bilans through their own scopes.
The statements sent are fixed whatever the number of learners, periods or
fiches (tests/exports/test_delivery_costs.py): the lists are fetched once
each, then assembled in Python.

Choices, listed in docs/exports.md:
- the grid and the competence levels come from `bilans.grid.build_views`, the
  view the visit screen shows: a completed bilan prints its frozen grid and
  modes; a competence evaluated criterion by criterion prints the level the
  bilan retains for it (`BilanView.retained`, the lower median of its
  evaluated criteria); NOT_EVALUATED prints as no result ("—");
- a bilan the viewer may not read in its state (a draft, for its learner,
  `bilan.draft.read`) prints its status only: no results, engagement, date or
  comment, as `Portfolio.bilanStatus` already says;
- fiches are those not deleted, in creation order; "completed" is R2's
  (description filled in).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from exports.data import (
    AttestationData,
    AttestationLearner,
    GridActivity,
    GridCompetence,
    GridCriterion,
    GridTask,
    LearnerInfo,
    MeetingSheetData,
    PeriodInfo,
    PreConventionData,
    PreConventionLearner,
    Scale,
    ScaleLevel,
    SchoolInfo,
    SheetBilan,
    TaskRef,
    TrainerInfo,
    Workplace,
)
from models.bilans import BilanEvent, BilanEventKind, BilanStatus, CompanyBilan, EvaluationMode, SignatureMode
from models.fiches import ActivityFiche, FicheTask
from models.frameworks import ScaleLevel as ScaleRow
from models.frameworks import Task
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Level, School
from models.users import LearnerStatus, Role, User
from permissions import scopes
from permissions.scopes import may_read_bilan, portfolio_reach
from permissions.table import OWN_BY_REACH, allows
from permissions.viewer import Viewer
from resolvers.bilans.grid import (
    WORKPLACE_FIELDS,
    BilanView,
    FrameworkShape,
    Marks,
    build_views,
    header_of,
    kept_framework_shapes,
)
from resolvers.periods.rules import planned_days

# The domain's default scale (domain.md), for a level whose framework is unknown.
DEFAULT_SCALE = Scale(
    (
        ScaleLevel("NOT_EVALUATED", "Non évalué"),
        ScaleLevel("NOT_ACQUIRED", "Non acquis"),
        ScaleLevel("BEGINNING", "Début d'acquisition"),
        ScaleLevel("PARTIAL", "Partiellement acquis"),
        ScaleLevel("ACQUIRED", "Acquis", is_threshold=True),
        ScaleLevel("MASTERED", "Maîtrisé"),
    )
)

PERIOD_FIELDS = ("name", "start_date", "end_date", "certifying", "school_year", "planned_days_override")
LEARNER_FIELDS = ("id", "first_name", "last_name", "learner_status", "classroom__name")


@dataclass(frozen=True)
class Target:
    """The row an export was asked for, found within the viewer's reach."""

    pk: int
    # For OWN grants: whether the row is the viewer's own (None when the grant does not depend on it).
    owned: bool | None
    # What the file name says of it, in order (a name, a period…).
    names: tuple[str, ...]
    learner_id: int | None = None
    period_id: int | None = None
    # A bilan's target: its portfolio, and whether it is still a draft (its own rule then applies).
    portfolio_id: int | None = None
    draft: bool = False


async def find_portfolio(viewer: Viewer, pk: int) -> Target | None:
    row = (
        await Portfolio.filter(portfolio_reach(viewer), id=pk)
        .first()
        .values("id", "learner_id", "period_id", "learner__last_name", "period__name")
    )
    if row is None:
        return None
    return Target(
        row["id"],
        row["learner_id"] == viewer.id,
        (row["learner__last_name"], row["period__name"]),
        learner_id=row["learner_id"],
        period_id=row["period_id"],
    )


async def find_bilan(viewer: Viewer, pk: int) -> Target | None:
    row = (
        await CompanyBilan.filter(scopes.bilans(viewer), id=pk)
        .first()
        .values(
            "id",
            "status",
            "portfolio_id",
            "portfolio__learner_id",
            "portfolio__period_id",
            "portfolio__learner__last_name",
            "portfolio__period__name",
        )
    )
    if row is None:
        return None
    return Target(
        row["id"],
        row["portfolio__learner_id"] == viewer.id,
        (row["portfolio__learner__last_name"], row["portfolio__period__name"]),
        learner_id=row["portfolio__learner_id"],
        period_id=row["portfolio__period_id"],
        portfolio_id=row["portfolio_id"],
        draft=row["status"] != BilanStatus.COMPLETED,
    )


async def find_period(viewer: Viewer, pk: int) -> Target | None:
    row = await Period.filter(scopes.periods(viewer), id=pk).first().values("id", "name")
    # A learner reaches the periods of their own portfolios, and a period's export gathers those only.
    return Target(row["id"], OWN_BY_REACH, (row["name"],), period_id=row["id"]) if row else None


async def find_learner(viewer: Viewer, pk: int) -> Target | None:
    row = await User.filter(scopes.learners(viewer), id=pk).first().values("id", "first_name", "last_name")
    if row is None:
        return None
    return Target(row["id"], row["id"] == viewer.id, (row["last_name"], row["first_name"]), learner_id=row["id"])


async def find_level(viewer: Viewer, pk: int) -> Target | None:
    row = await Level.filter(scopes.levels(viewer), id=pk).first().values("id", "name")
    return Target(row["id"], None, (row["name"],)) if row else None


# --- shared pieces -------------------------------------------------------------


async def school_info(viewer: Viewer) -> SchoolInfo:
    row = await School.filter(id=viewer.school_id).first().values("name", "uai", "address", "head_of_school")
    return SchoolInfo(row["name"], row["uai"], row["address"], row["head_of_school"])


def period_info(row: dict, prefix: str = "") -> PeriodInfo:
    return PeriodInfo(
        name=row[f"{prefix}name"],
        start_date=row[f"{prefix}start_date"],
        end_date=row[f"{prefix}end_date"],
        certifying=row[f"{prefix}certifying"],
        planned=planned_days(
            row[f"{prefix}start_date"], row[f"{prefix}end_date"], row[f"{prefix}planned_days_override"]
        ),
    )


def school_year_label(years: Iterable[int]) -> str:
    """ "2026-2027" when every period given is of one school year, else empty."""
    distinct = set(years)
    if len(distinct) != 1:
        return ""
    year = distinct.pop()
    return f"{year}-{year + 1}"


def learner_info(row: dict) -> LearnerInfo:
    return LearnerInfo(
        row["first_name"],
        row["last_name"],
        row["classroom__name"] or "",
        apprentice=row["learner_status"] == LearnerStatus.APPRENTICE,
    )


async def learners_by_id(viewer: Viewer, ids: Sequence[int], *extra: str) -> dict[int, dict]:
    if not ids:
        return {}
    rows = await User.filter(scopes.learners(viewer), id__in=list(ids)).values(*LEARNER_FIELDS, *extra)
    return {row["id"]: row for row in rows}


def learner_order(row: dict) -> tuple:
    return (row["last_name"].casefold(), row["first_name"].casefold(), row["id"])


def workplace_of(liaison: dict | None) -> Workplace | None:
    """The liaison fiche's workplace; None while nothing of it is known."""
    if liaison is None:
        return None
    workplace = Workplace(
        liaison["company_name"],
        liaison["activity_domain"],
        liaison["service"],
        liaison["tutor_name"],
        liaison["tutor_role"],
        # A completed bilan's frozen workplace (R21) does not hold these.
        liaison.get("company_address"),
        liaison.get("company_siret"),
    )
    return workplace if any(vars(workplace).values()) else None


async def liaisons_of(viewer: Viewer, portfolio_ids: Sequence[int]) -> dict[int, dict]:
    """The liaison fiche of each portfolio, by portfolio id."""
    if not portfolio_ids:
        return {}
    rows = await LiaisonFiche.filter(scopes.liaison_fiches(viewer), portfolio_id__in=list(portfolio_ids)).values(
        "id",
        "portfolio_id",
        "company_name",
        "activity_domain",
        "service",
        "tutor_name",
        "tutor_role",
        "company_address",
        "company_siret",
        "objectives",
    )
    return {row["portfolio_id"]: row for row in rows}


async def liaison_tasks(liaison_ids: Sequence[int]) -> dict[int, tuple[TaskRef, ...]]:
    """The planned activities of each liaison fiche, in framework order (tasks are reference data)."""
    if not liaison_ids:
        return {}
    found: dict[int, list[TaskRef]] = defaultdict(list)
    rows = (
        await Task.filter(liaison_fiches__id__in=list(liaison_ids))
        .order_by("position", "id")
        .values("code", "label", "liaison_fiches__id")
    )
    for row in rows:
        found[row["liaison_fiches__id"]].append(TaskRef(row["code"], row["label"]))
    return {key: tuple(value) for key, value in found.items()}


async def scale_of(framework_id: int | None) -> Scale:
    rows = await ScaleRow.filter(framework_id=framework_id).order_by("position") if framework_id else []
    return scale_from(rows)


def scale_from(rows: Sequence[ScaleRow]) -> Scale:
    if not rows:
        return DEFAULT_SCALE
    return Scale(tuple(ScaleLevel(getattr(r.value, "value", r.value), r.label, r.is_threshold) for r in rows))


async def readable_views(
    viewer: Viewer, portfolio_ids: Sequence[int]
) -> tuple[dict[int, CompanyBilan], dict[int, BilanView]]:
    """(bilan by portfolio id, view by bilan id): views only of the bilans the viewer may read as they stand."""
    if not portfolio_ids:
        return {}, {}
    bilans = await CompanyBilan.filter(scopes.bilans(viewer), portfolio_id__in=list(portfolio_ids))
    views = await build_views([b for b in bilans if may_read_bilan(b, viewer)])
    return {b.portfolio_id: b for b in bilans}, views


# --- pre-convention (R23) ----------------------------------------------------------


async def pre_convention(viewer: Viewer, period_id: int, portfolio_id: int | None = None) -> PreConventionData:
    """The pre-conventions of a period: every portfolio of it the viewer reaches, or the one asked."""
    school = await school_info(viewer)
    period = await Period.filter(scopes.periods(viewer), id=period_id).first().values(*PERIOD_FIELDS, "created_by_id")
    query = Portfolio.filter(portfolio_reach(viewer), period_id=period_id)
    if portfolio_id is not None:
        query = query.filter(id=portfolio_id)
    portfolios = await query.values("id", "learner_id", "referent_teacher_id")
    learners = await learners_by_id(viewer, [p["learner_id"] for p in portfolios])
    liaisons = await liaisons_of(viewer, [p["id"] for p in portfolios])
    tasks = await liaison_tasks([row["id"] for row in liaisons.values()])
    trainers = await trainers_of(viewer, [p["id"] for p in portfolios])
    referents = await teacher_names(
        viewer, {p["referent_teacher_id"] or period["created_by_id"] for p in portfolios} - {None}
    )
    entries = []
    for portfolio in sorted(portfolios, key=lambda p: learner_order(learners[p["learner_id"]])):
        liaison = liaisons.get(portfolio["id"])
        learner = learner_info(learners[portfolio["learner_id"]])
        entries.append(
            PreConventionLearner(
                learner=learner,
                workplace=workplace_of(liaison),
                objectives=liaison["objectives"] if liaison else "",
                tasks=tasks.get(liaison["id"], ()) if liaison else (),
                trainer=assigned_trainer(viewer, trainers.get(portfolio["id"], ()), learner.apprentice),
                referent_teacher=referents.get(portfolio["referent_teacher_id"] or period["created_by_id"]),
            )
        )
    return PreConventionData(school, period_info(period), tuple(entries))


TRAINER_FIELDS = ("id", "role", "first_name", "last_name", "company_name", "job_title", "phone", "email")


async def trainers_of(viewer: Viewer, portfolio_ids: Sequence[int]) -> dict[int, list[dict]]:
    """The trainers assigned to each portfolio, within the viewer's reach of trainers, by name."""
    if not portfolio_ids:
        return {}
    rows = (
        await User.filter(scopes.trainers(viewer), trained_portfolios__id__in=list(portfolio_ids), is_active=True)
        .order_by("last_name", "first_name", "id")
        .values(*TRAINER_FIELDS, "trained_portfolios__id")
    )
    found: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        found[row.pop("trained_portfolios__id")].append(row)
    return found


def assigned_trainer(viewer: Viewer, rows: Sequence[dict], apprentice: bool) -> TrainerInfo | None:
    """The trainer a pre-convention names: the apprenticeship master of an apprentice, the tutor of a
    school-status learner (else whichever trainer is assigned). Their phone and email only for a reader who may
    see them (`trainer.contact.read`: a trainer their own, never a learner)."""
    wanted = Role.MASTER if apprentice else Role.TUTOR
    row = next((r for r in rows if r["role"] == wanted), rows[0] if rows else None)
    if row is None:
        return None
    contacts = allows("trainer.contact.read", viewer.role, owned=row["id"] == viewer.id)
    return TrainerInfo(
        row["first_name"],
        row["last_name"],
        row["company_name"],
        row["job_title"],
        row["phone"] if contacts else None,
        row["email"] if contacts else None,
    )


async def teacher_names(viewer: Viewer, ids: Iterable[int]) -> dict[int, str]:
    """ "Claire MARTIN" by teacher id, for the ids that are teachers of the school (names anyone may read,
    `teacher.identity.read`)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = await User.filter(scopes.teachers(viewer), id__in=wanted).values("id", "first_name", "last_name")
    return {row["id"]: f"{row['first_name']} {row['last_name']}" for row in rows}


async def portfolio_pre_convention(viewer: Viewer, target: Target) -> PreConventionData:
    assert target.period_id is not None  # a portfolio's target (find_portfolio) names its period
    return await pre_convention(viewer, target.period_id, target.pk)


async def period_pre_convention(viewer: Viewer, target: Target) -> PreConventionData:
    return await pre_convention(viewer, target.pk)


# --- PFMP attestation -----------------------------------------------------------------


async def fiche_activities(viewer: Viewer, portfolio_ids: Sequence[int]) -> dict[int, tuple[TaskRef, ...]]:
    """The tasks the fiches (not deleted) of each portfolio link, each once, in framework order: what the learner
    did. Two statements whatever the number of portfolios and fiches."""
    if not portfolio_ids:
        return {}
    fiches = await ActivityFiche.filter(
        scopes.activity_fiches(viewer), portfolio_id__in=list(portfolio_ids), deleted_at=None
    ).values_list("id", "portfolio_id")
    portfolio_of = dict(fiches)
    if not portfolio_of:
        return {}
    links = await FicheTask.filter(fiche_id__in=list(portfolio_of)).values(
        "fiche_id", "task_id", "task__code", "task__label", "task__position"
    )
    found: dict[int, dict[int, tuple]] = defaultdict(dict)
    for link in links:
        found[portfolio_of[link["fiche_id"]]][link["task_id"]] = (
            (link["task__position"], link["task_id"]),
            TaskRef(link["task__code"], link["task__label"]),
        )
    return {pk: tuple(ref for _, ref in sorted(tasks.values(), key=lambda t: t[0])) for pk, tasks in found.items()}


async def attestation(viewer: Viewer, period_id: int, portfolio_id: int | None = None) -> AttestationData:
    """The attestations of a period: every portfolio of it the viewer reaches, or the one asked."""
    school = await school_info(viewer)
    period = (
        await Period.filter(scopes.periods(viewer), id=period_id)
        .first()
        .values(*PERIOD_FIELDS, "level__diploma_name", "level__diploma_year")
    )
    query = Portfolio.filter(portfolio_reach(viewer), period_id=period_id)
    if portfolio_id is not None:
        query = query.filter(id=portfolio_id)
    portfolios = await query.values("id", "learner_id", "days_done")
    learners = await learners_by_id(viewer, [p["learner_id"] for p in portfolios], "birth_date")
    portfolios = [p for p in portfolios if p["learner_id"] in learners]
    ids = [p["id"] for p in portfolios]
    liaisons = await liaisons_of(viewer, ids)
    activities = await fiche_activities(viewer, ids)
    entries = []
    for portfolio in sorted(portfolios, key=lambda p: learner_order(learners[p["learner_id"]])):
        learner = learners[portfolio["learner_id"]]
        entries.append(
            AttestationLearner(
                learner=learner_info(learner),
                birth_date=learner["birth_date"],
                workplace=workplace_of(liaisons.get(portfolio["id"])),
                days_done=portfolio["days_done"],
                activities=activities.get(portfolio["id"], ()),
            )
        )
    year = period["level__diploma_year"]
    return AttestationData(
        school,
        period_info(period),
        period["level__diploma_name"],
        getattr(year, "value", year),
        tuple(entries),
    )


async def portfolio_attestation(viewer: Viewer, target: Target) -> AttestationData:
    assert target.period_id is not None  # a portfolio's target (find_portfolio) names its period
    return await attestation(viewer, target.period_id, target.pk)


async def period_attestation(viewer: Viewer, target: Target) -> AttestationData:
    return await attestation(viewer, target.pk)


# --- meeting sheet (R22) -------------------------------------------------------------


def grid(
    shape: FrameworkShape | None, marks: Marks, mode_of, view: BilanView | None = None
) -> tuple[GridActivity, ...]:
    """Every task of the framework by activity, with its competences and criteria and the fiches' marks (R18),
    and the levels `view` records (none without one). A retired entry is printed only where a fiche marks it."""
    if shape is None:
        return ()
    results = view.results if view is not None else {}

    def recorded(competence_id: int, criterion_id: int | None = None) -> str | None:
        level = results.get((competence_id, criterion_id))
        return None if level is None else getattr(level, "value", level)

    def retained(competence_id: int, by_criteria: bool) -> str | None:
        if view is None:
            return None
        if not by_criteria:
            return recorded(competence_id)
        if not any(key[0] == competence_id and key[1] is not None for key in results):
            return None
        level = view.retained(competence_id)
        return getattr(level, "value", level)

    competences = shape.competence_by_id
    activities = []
    for activity in shape.activities:
        tasks = []
        for task in shape.tasks_by_activity.get(activity.id, []):
            linked = []
            for link in shape.links_by_task.get(task.id, []):
                competence = competences[link.competence_id]
                criteria = tuple(
                    GridCriterion(c.label, marks.criteria.get((task.id, c.id), ()), recorded(competence.id, c.id))
                    for c in shape.criteria_by_competence.get(competence.id, [])
                    if c.retired_at is None or competence.retired_at is not None or marks.criteria.get((task.id, c.id))
                )
                refs = marks.competences.get((task.id, competence.id), ())
                if competence.retired_at is not None and not (refs or any(c.fiche_refs for c in criteria)):
                    continue
                by_criteria = mode_of(competence.id) is EvaluationMode.CRITERIA
                linked.append(
                    GridCompetence(
                        competence.code,
                        competence.label,
                        by_criteria=by_criteria,
                        fiche_refs=refs,
                        criteria=criteria,
                        level=retained(competence.id, by_criteria),
                    )
                )
            refs = marks.tasks.get(task.id, ())
            if task.retired_at is not None and not (
                refs or any(c.fiche_refs or any(k.fiche_refs for k in c.criteria) for c in linked)
            ):
                continue
            tasks.append(GridTask(task.code, task.label, refs, tuple(linked)))
        if activity.retired_at is not None and not tasks:
            continue
        activities.append(GridActivity(activity.code, activity.label, tuple(tasks)))
    return tuple(activities)


async def teacher_name(viewer: Viewer, portfolio_id: int, classroom_id: int | None) -> str | None:
    """The referent teacher of the portfolio (`Portfolio.referentTeacher`: the one named, else the period's
    creator); when neither is a teacher, the teacher printing it, else the teachers of the learner's classroom."""
    row = await Portfolio.filter(id=portfolio_id).first().values("referent_teacher_id", "period__created_by_id")
    referent = (row or {}).get("referent_teacher_id") or (row or {}).get("period__created_by_id")
    if referent is not None:
        name = (await teacher_names(viewer, [referent])).get(referent)
        if name is not None:
            return name
    if classroom_id is None:
        return None
    rows = (
        await User.filter(scopes.teachers(viewer), taught_classrooms__id=classroom_id)
        .order_by("last_name", "first_name")
        .values("id", "first_name", "last_name")
    )
    own = [row for row in rows if row["id"] == viewer.id and viewer.role is Role.TEACHER]
    return ", ".join(f"{row['first_name']} {row['last_name']}" for row in (own or rows)) or None


async def meeting_sheet(viewer: Viewer, target: Target) -> MeetingSheetData:
    assert target.learner_id is not None  # a portfolio's target (find_portfolio) names its learner
    school = await school_info(viewer)
    period = (
        await Period.filter(scopes.periods(viewer), id=target.period_id)
        .first()
        .values(*PERIOD_FIELDS, "level__framework_id")
    )
    learner = (await learners_by_id(viewer, [target.learner_id], "classroom_id", "birth_date"))[target.learner_id]
    liaison = (await liaisons_of(viewer, [target.pk])).get(target.pk)
    bilans, views = await readable_views(viewer, [target.pk])
    bilan = bilans.get(target.pk)
    view = views.get(bilan.id) if bilan else None
    if view is not None:
        shape, marks, mode_of = view.shape, view.marks, view.mode
    else:
        # No bilan the viewer may read (none of the meeting sheet's roles meets this today): a bare grid.
        shape = (await kept_framework_shapes([period["level__framework_id"]])).get(period["level__framework_id"])
        marks, mode_of = Marks(), lambda _: EvaluationMode.GLOBAL
    header = header_of(view.bilan) if view is not None else None
    if view is not None and header is not None:
        # A completed bilan is frozen whole (R21): its sheet recalls the dates and workplace it was completed with.
        period = {**period, "start_date": view.period_start, "end_date": view.period_end}
        liaison = {**(liaison or {}), **(header.get("workplace") or dict.fromkeys(WORKPLACE_FIELDS))}
    meeting_date = view.bilan.meeting_date if view else None
    return MeetingSheetData(
        school=school,
        period=period_info(period),
        learner=learner_info(learner),
        scale=scale_from(shape.scale if shape else []),
        activities=grid(shape, marks, mode_of, view),
        fiches=tuple((fiche.reference, fiche.title) for fiche in sorted(marks.fiches, key=lambda f: f.reference)),
        workplace=workplace_of(liaison),
        meeting_date=meeting_date,
        comment=view.bilan.comment if view else "",
        teacher_name=await teacher_name(viewer, target.pk, learner["classroom_id"]),
        bilan=await sheet_bilan(view.bilan) if view else None,
        minor=is_minor(learner["birth_date"], meeting_date or period["end_date"]),
    )


async def bilan_document(viewer: Viewer, target: Target) -> MeetingSheetData:
    """The bilan as a document: its portfolio's sheet, which prints the bilan in its state."""
    assert target.portfolio_id is not None  # a bilan's target (find_bilan) names its portfolio
    return await meeting_sheet(viewer, replace(target, pk=target.portfolio_id))


def is_minor(birth_date: date | None, on: date) -> bool | None:
    """Under 18 on the day given; None when the birth date is unknown."""
    if birth_date is None:
        return None
    return (on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))) < 18


async def sheet_bilan(bilan: CompanyBilan) -> SheetBilan:
    """The bilan's state for its document; who completed it from its last completion event (teachers' names are
    readable by everyone, `teacher.identity.read`)."""
    if bilan.status is not BilanStatus.COMPLETED:
        return SheetBilan(engagement=bilan.engagement)
    event = (
        await BilanEvent.filter(bilan_id=bilan.id, kind__in=[BilanEventKind.COMPLETED, BilanEventKind.SIGNED_ON_PAPER])
        .order_by("-recorded_at", "-id")
        .first()
        .values("author__first_name", "author__last_name")
    )
    names = [(event or {}).get(key) for key in ("author__first_name", "author__last_name")]
    author = " ".join(name for name in names if name)
    on_paper = bilan.signature_mode is SignatureMode.PAPER
    return SheetBilan(True, bilan.engagement, bilan.completed_at, author or None, signed_on_paper=on_paper)
