"""Entering, completing and reopening company bilans (R19–R21).

Every mutation takes the version the client read. The write itself is a
conditional `UPDATE … WHERE id = ? AND version = ? AND status = ?` that bumps
the version: of two saves made from the same version exactly one matches, the
other answers CONFLICT and writes nothing (its transaction rolls back).

Results are appended to the log (`BilanResultEntry`), one entry per item whose
level changes; an unchanged value appends nothing. A save that changes nothing
at all writes nothing and keeps the version.
"""

from __future__ import annotations

import datetime as dt

import strawberry
from tortoise.expressions import F

from graph.context import Info
from graph.errors import FieldProblem, Reason, UserInputError, problem
from graph.messages import Term
from graph.types.bilans import CompanyBilan, EvaluationMode, SignatureMode
from graph.types.common import Payload, version_field
from graph.types.frameworks import AchievementLevel
from models import bilans as m
from models import live
from models.audit import AuditKind
from models.frameworks import AchievementLevel as Level
from models.frameworks import Competence, Criterion
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.users import User
from permissions import scopes
from permissions.viewer import Viewer
from resolvers.bilans.grid import (
    NOT_EVALUATED,
    WORKPLACE_FIELDS,
    build_views,
    current_results,
    effective_modes,
    frozen_header,
    header_of,
    live_marks,
    load_framework_shapes,
    stored_modes,
)
from resolvers.frameworks.rules import retired_problem
from resolvers.idempotency import Replay
from resolvers.inputs import (
    check_date,
    check_version,
    fetch_in_reach,
    input_id,
    not_found_out_of_reach,
    optional_text,
    required_text,
)
from resolvers.mutations import mutation

MAX_RESULTS = 1000
MAX_COMMENT = 10000
MEETING_DAYS_AFTER_PERIOD = 366


@strawberry.input(description="The evaluation mode of one competence.")
class BilanModeInput:
    competence_id: strawberry.ID = strawberry.field(description="A competence of the bilan's framework.")
    mode: EvaluationMode = strawberry.field(description="GLOBAL or CRITERIA.")


@strawberry.input(description="One result: a competence as a whole (no criterionId) or one of its criteria.")
class BilanResultInput:
    competence_id: strawberry.ID = strawberry.field(description="A competence of the bilan's framework.")
    criterion_id: strawberry.ID | None = strawberry.field(
        default=None, description="One of the competence's criteria, when it is evaluated criterion by criterion."
    )
    level: AchievementLevel = strawberry.field(
        description="A level of the framework's scale; NOT_EVALUATED sets the item back to not evaluated."
    )


@strawberry.input(description="Changes to a draft bilan; a field left out is unchanged.")
class BilanInput:
    engagement: int | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 4 stars; null sets it back to not yet set."
    )
    meeting_date: dt.date | None = strawberry.field(
        default=strawberry.UNSET, description="Date of the meeting; null sets it back to the period's last day."
    )
    comment: str | None = strawberry.field(default=strawberry.UNSET, description="Comment to the learner.")
    modes: list[BilanModeInput] | None = strawberry.field(
        default=None, description="Evaluation modes to set; results below are checked against the new modes."
    )
    results: list[BilanResultInput] | None = strawberry.field(
        default=None, description="Results to record, for marked and unmarked items alike."
    )


@strawberry.type(description="Result of bilanUpdate.")
class BilanUpdatePayload(Payload):
    bilan: CompanyBilan | None = strawberry.field(default=None, description="The bilan as it is now.")


@strawberry.type(description="Result of bilanComplete.")
class BilanCompletePayload(Payload):
    bilan: CompanyBilan | None = strawberry.field(default=None, description="The completed bilan.")


@strawberry.type(description="Result of bilanReopen.")
class BilanReopenPayload(Payload):
    bilan: CompanyBilan | None = strawberry.field(default=None, description="The bilan, a draft again.")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _writable(info: Info, id: strawberry.ID, version: int, status: m.BilanStatus):
    viewer = info.context.require("bilan.write")
    bilan = await fetch_in_reach(m.CompanyBilan, scopes.bilans, viewer, id, "CompanyBilan", "id", "company bilan")
    if bilan.status is not status:
        completed = bilan.status is m.BilanStatus.COMPLETED
        raise problem("id", Reason.BILAN_ALREADY_COMPLETED if completed else Reason.BILAN_NOT_COMPLETED)
    check_version(bilan.version, version)
    return viewer, bilan


async def _write(bilan: m.CompanyBilan, version: int, expected: m.BilanStatus, **changes) -> m.CompanyBilan:
    """The conditional update every write goes through: exactly one of two writers from one version wins."""
    done = await m.CompanyBilan.filter(id=bilan.id, version=version, status=expected).update(
        version=F("version") + 1, updated_at=_now(), **changes
    )
    if not done:
        # Another writer won between the read and this write: the same problem as a stale version read.
        current = await m.CompanyBilan.filter(id=bilan.id).first().values_list("version", flat=True)
        raise problem("version", Reason.VERSION_STALE, current=current, given=version)
    return await m.CompanyBilan.get(id=bilan.id)


async def _lock_period_of(bilan: m.CompanyBilan) -> None:
    """Hold the bilan's period row until the completion commits.

    periodDelete locks the period's row before it checks R8, so the two are taken one after the other: a
    deletion that comes second sees this bilan completed and is refused; a completion that comes second finds
    the period (and the bilan with it) gone and answers NOT_FOUND. Without it, a deletion that had checked the
    bilan while it was a draft would delete it just after it was completed.
    """
    period_id = await Portfolio.filter(id=bilan.portfolio_id).first().values_list("period_id", flat=True)
    period = await Period.filter(id=period_id).select_for_update().first() if period_id is not None else None
    if period is None:
        raise problem("id", Reason.ID_NOT_FOUND, what=Term("company bilan"))


def _scalar_changes(bilan: m.CompanyBilan, input: BilanInput, start: dt.date, end: dt.date) -> dict:
    changes: dict = {}
    if input.engagement is not strawberry.UNSET:
        if input.engagement is not None and not 1 <= input.engagement <= 4:
            raise problem("input.engagement", Reason.ENGAGEMENT_OUT_OF_RANGE)
        changes["engagement"] = input.engagement
    if input.meeting_date is not strawberry.UNSET:
        day = input.meeting_date
        if day is not None:
            check_date(day, "input.meetingDate")
            latest = end + dt.timedelta(days=MEETING_DAYS_AFTER_PERIOD)
            if not start <= day <= latest:
                raise problem("input.meetingDate", Reason.MEETING_DATE_OUT_OF_RANGE, start=start, latest=latest)
        changes["meeting_date"] = day
    if input.comment is not strawberry.UNSET:
        changes["comment"] = optional_text(input.comment, "input.comment", "The comment", max_length=MAX_COMMENT) or ""
    return {k: v for k, v in changes.items() if getattr(bilan, k) != v}


def _id_or_problem(value, type_name: str, field: str, problems: list) -> int | None:
    try:
        return input_id(value, type_name, field)
    except UserInputError as exc:
        problems.extend(exc.problems)
        return None


async def _evaluation_changes(bilan: m.CompanyBilan, framework_id: int | None, input: BilanInput, viewer):
    """(modes to store, entries to append), or the problems found, checked all at once."""
    modes_in, results_in = input.modes or [], input.results or []
    if not modes_in and not results_in:
        return {}, []
    if len(results_in) > MAX_RESULTS or len(modes_in) > MAX_RESULTS:
        raise problem("input.results", Reason.TOO_MANY_RESULTS, max=MAX_RESULTS)
    shapes = await load_framework_shapes([framework_id], grid=False)
    shape = shapes.get(framework_id) if framework_id is not None else None
    if shape is None:
        raise problem("input.results", Reason.LEVEL_WITHOUT_FRAMEWORK)
    competences, criteria = shape.competence_by_id, shape.criterion_by_id
    stored = (await stored_modes([bilan.id]))[bilan.id]
    marks = (await live_marks([bilan.portfolio_id]))[bilan.portfolio_id]
    current = (await current_results([bilan.id]))[bilan.id]
    problems: list[FieldProblem] = []
    # Refusals of an ID outside the framework, by index in `problems`: NOT_FOUND when the row is out of reach.
    outside: dict[int, tuple] = {}

    def named(competence_id: int, criterion_id: int | None = None) -> bool:
        """A retired competence or criterion stays open in a bilan that already names it (a result, a stored
        mode, or a fiche's mark); it is refused anywhere else, as any new link to it."""
        if criterion_id is not None:
            return (competence_id, criterion_id) in current or bool(marks.criterion_refs(criterion_id))
        return (
            competence_id in stored
            or any(key[0] == competence_id for key in current)
            or bool(marks.competence_refs(competence_id))
            or any(marks.criterion_refs(c.id) for c in shape.criteria_by_competence.get(competence_id, []))
        )

    new_modes: dict[int, m.EvaluationMode] = {}
    for i, item in enumerate(modes_in):
        field = f"input.modes.{i}.competenceId"
        pk = _id_or_problem(item.competence_id, "Competence", field, problems)
        if pk is None:
            continue
        if pk not in competences:
            outside[len(problems)] = (Competence, scopes.framework_parts, pk, "competence")
            problems.append(FieldProblem(field.split("."), Reason.COMPETENCE_NOT_IN_FRAMEWORK))
        elif pk in new_modes:
            problems.append(
                FieldProblem(
                    field.split("."), Reason.LIST_DUPLICATE, {"field": "input.modes", "what": Term("competence")}
                )
            )
        elif competences[pk].retired_at is not None and not named(pk):
            problems.append(retired_problem(field.split("."), "competence"))
        else:
            new_modes[pk] = m.EvaluationMode(item.mode.value if hasattr(item.mode, "value") else item.mode)
    modes = {pk: mode for pk, (mode, _) in effective_modes(shape, marks, {**stored, **new_modes}).items()}

    entries: dict[tuple[int, int | None], m.BilanResultEntry] = {}
    seen: set[tuple[int, int | None]] = set()
    allowed = shape.scale_values | {NOT_EVALUATED}
    for i, item in enumerate(results_in):
        where = f"input.results.{i}"
        competence_id = _id_or_problem(item.competence_id, "Competence", f"{where}.competenceId", problems)
        criterion_id = None
        if item.criterion_id is not None:
            criterion_id = _id_or_problem(item.criterion_id, "Criterion", f"{where}.criterionId", problems)
            if criterion_id is None:
                continue
        if competence_id is None:
            continue
        competence = competences.get(competence_id)
        if competence is None:
            outside[len(problems)] = (Competence, scopes.framework_parts, competence_id, "competence")
            problems.append(FieldProblem(f"{where}.competenceId".split("."), Reason.COMPETENCE_NOT_IN_FRAMEWORK))
            continue
        if competence.retired_at is not None and not named(competence_id):
            problems.append(retired_problem(f"{where}.competenceId".split("."), "competence"))
            continue
        level = Level(item.level.value if hasattr(item.level, "value") else item.level)
        if criterion_id is not None:
            criterion = criteria.get(criterion_id)
            if criterion is None or criterion.competence_id != competence_id:
                outside[len(problems)] = (Criterion, scopes.criteria, criterion_id, "criterion")
                problems.append(FieldProblem(f"{where}.criterionId".split("."), Reason.CRITERION_NOT_OF_COMPETENCE))
                continue
            if criterion.retired_at is not None and not named(competence_id, criterion_id):
                problems.append(retired_problem(f"{where}.criterionId".split("."), "criterion"))
                continue
            if modes[competence_id] is m.EvaluationMode.GLOBAL:
                problems.append(
                    FieldProblem(
                        f"{where}.criterionId".split("."),
                        Reason.COMPETENCE_EVALUATED_GLOBALLY,
                        {"competence": competence.code},
                    )
                )
                continue
        elif modes[competence_id] is m.EvaluationMode.CRITERIA:
            problems.append(
                FieldProblem(
                    f"{where}.criterionId".split("."),
                    Reason.COMPETENCE_EVALUATED_BY_CRITERIA,
                    {"competence": competence.code},
                )
            )
            continue
        if level not in allowed:
            problems.append(
                FieldProblem(f"{where}.level".split("."), Reason.LEVEL_NOT_ON_SCALE, {"level": level.value})
            )
            continue
        key = (competence_id, criterion_id)
        if key in seen:
            problems.append(
                FieldProblem(
                    where.split("."), Reason.LIST_DUPLICATE, {"field": "input.results", "what": Term("result")}
                )
            )
            continue
        seen.add(key)
        previous = current.get(key)
        if (previous or NOT_EVALUATED) is not level:
            entries[key] = m.BilanResultEntry(
                bilan_id=bilan.id,
                competence_id=competence_id,
                criterion_id=criterion_id,
                level=level,
                previous_level=previous,
                author_id=viewer.id,
                recorded_at=_now(),
            )
    if problems:
        raise UserInputError(await not_found_out_of_reach(problems, viewer, outside))
    # A result pins the mode it was entered under (see bilans/grid.py); a mode set to its stored value is no change.
    to_store = {pk: mode for pk, mode in new_modes.items() if stored.get(pk) is not mode}
    for competence_id, _ in entries:
        if competence_id not in stored and competence_id not in to_store:
            to_store[competence_id] = modes[competence_id]
    return to_store, list(entries.values())


async def _updated_again(viewer: Viewer, bilan_id: int | None) -> BilanUpdatePayload:
    """The answer to a retried bilanUpdate (resolvers/idempotency.py): the bilan it saved, as it is now."""
    row = await m.CompanyBilan.filter(scopes.bilans(viewer), id=bilan_id).first()
    return BilanUpdatePayload(bilan=CompanyBilan.from_row(row) if row else None)


@strawberry.input(
    description="The arguments of bilanUpdate. Save changes to a draft bilan: a field left out is unchanged."
)
class BilanUpdateInput(BilanInput):
    id: strawberry.ID = strawberry.field(description="The bilan.")
    version: int = version_field()


@strawberry.input(description="The arguments of bilanComplete. Complete a draft bilan.")
class BilanCompleteInput:
    id: strawberry.ID = strawberry.field(description="The bilan.")
    version: int = version_field()
    signature_mode: SignatureMode = strawberry.field(
        default=m.SignatureMode.APP,
        description="APP when signed in the application, PAPER when signed on paper (its scan uploaded first).",
    )


@strawberry.input(description="The arguments of bilanReopen. Reopen a completed bilan.")
class BilanReopenInput:
    id: strawberry.ID = strawberry.field(description="The bilan.")
    version: int = version_field()
    reason: str = strawberry.field(description="Why it is reopened (kept in the bilan's history).")


@strawberry.type
class BilanMutation:
    @mutation(
        "Save a batch of changes to a draft bilan: engagement, meeting date, comment, "
        "evaluation modes and results (R19–R20), in one transaction.",
        rule="bilan.write",
        idempotent=Replay("bilan", _updated_again),
        audit=AuditKind.EVALUATION_CHANGE,
    )
    async def bilan_update(self, info: Info, input: BilanUpdateInput) -> BilanUpdatePayload:
        id, version = input.id, input.version
        viewer, bilan = await _writable(info, id, version, m.BilanStatus.DRAFT)
        period = await Portfolio.filter(id=bilan.portfolio_id).values(
            "period__start_date", "period__end_date", "period__level__framework_id"
        )
        start, end, framework_id = (
            period[0]["period__start_date"],
            period[0]["period__end_date"],
            period[0]["period__level__framework_id"],
        )
        changes = _scalar_changes(bilan, input, start, end)
        modes, entries = await _evaluation_changes(bilan, framework_id, input, viewer)
        if not changes and not modes and not entries:
            return BilanUpdatePayload(bilan=CompanyBilan.from_row(bilan))
        row = await _write(bilan, version, m.BilanStatus.DRAFT, **changes)
        if modes:
            await m.BilanCompetenceMode.filter(bilan_id=bilan.id, competence_id__in=list(modes)).delete()
            await m.BilanCompetenceMode.bulk_create(
                [m.BilanCompetenceMode(bilan_id=bilan.id, competence_id=pk, mode=mode) for pk, mode in modes.items()]
            )
        if entries:
            await m.BilanResultEntry.bulk_create(entries)
        return BilanUpdatePayload(bilan=CompanyBilan.from_row(row))

    @mutation(
        "Complete a draft bilan (R21): its grid, marks and modes are frozen as they "
        "stand and it feeds the learner's dashboard. Refused before the period's first "
        "day. signatureMode PAPER records that it was signed on paper (rule bilan.paper.write): its scan must "
        "have been uploaded first (bilanPaperScanUpload), and a SIGNED_ON_PAPER event follows the COMPLETED one.",
        rule="bilan.write",
        audit=AuditKind.EVALUATION_CHANGE,
    )
    async def bilan_complete(self, info: Info, input: BilanCompleteInput) -> BilanCompletePayload:
        id, version, signature_mode = input.id, input.version, input.signature_mode
        on_paper = signature_mode is m.SignatureMode.PAPER
        if on_paper:
            info.context.require("bilan.paper.write")
        viewer, bilan = await _writable(info, id, version, m.BilanStatus.DRAFT)
        if on_paper and not bilan.scan_stored_name:
            raise problem("signatureMode", Reason.BILAN_SCAN_MISSING)
        await _lock_period_of(bilan)
        view = (await build_views([bilan], results=False))[bilan.id]
        if dt.date.today() < view.period_start:
            raise problem("id", Reason.BILAN_BEFORE_PERIOD, start=view.period_start)
        now = _now()
        # Frozen whole (R21): the header as it stands and the effective meeting date, stored on the bilan.
        liaison = await LiaisonFiche.filter(portfolio_id=bilan.portfolio_id).first().values(*WORKPLACE_FIELDS)
        trainers = (
            await User.filter(trained_portfolios__id=bilan.portfolio_id)
            .order_by("last_name", "first_name", "id")
            .values_list("first_name", "last_name")
        )
        header = frozen_header(
            period_start=view.period_start,
            period_end=view.period_end,
            meeting_date=bilan.meeting_date,
            workplace=liaison,
            trainers=[f"{first} {last}" for first, last in trainers],
        )
        row = await _write(
            bilan,
            version,
            m.BilanStatus.DRAFT,
            status=m.BilanStatus.COMPLETED,
            completed_at=now,
            meeting_date=view.meeting_date,
            frozen_grid={**view.frozen_grid(), "header": header},
            signature_mode=signature_mode,
        )
        await m.BilanEvent.create(
            bilan_id=bilan.id, kind=m.BilanEventKind.COMPLETED, author_id=viewer.id, recorded_at=now
        )
        if on_paper:
            await m.BilanEvent.create(
                bilan_id=bilan.id, kind=m.BilanEventKind.SIGNED_ON_PAPER, author_id=viewer.id, recorded_at=now
            )
        live.note(live.NewsKind.BILAN_COMPLETED, bilan.id, viewer.school_id)
        return BilanCompletePayload(bilan=CompanyBilan.from_row(row))

    @mutation(
        "Reopen a completed bilan as a draft, saying why; the reopening is logged (R21). "
        "Refused once an interim review consolidated it (R7).",
        rule="bilan.write",
        audit=AuditKind.EVALUATION_CHANGE,
    )
    async def bilan_reopen(self, info: Info, input: BilanReopenInput) -> BilanReopenPayload:
        id, version, reason = input.id, input.version, input.reason
        viewer, bilan = await _writable(info, id, version, m.BilanStatus.COMPLETED)
        note = required_text(reason, "reason", "The reason", max_length=2000)
        if await m.InterimReview.filter(bilans__id=bilan.id).exists():
            raise problem("id", Reason.BILAN_CONSOLIDATED)
        # Unfrozen: the grid follows the fiches again, and a meeting date that was the default follows the period.
        header = header_of(bilan) or {}
        meeting_date = None if header.get("meetingDateIsDefault") else bilan.meeting_date
        row = await _write(
            bilan,
            version,
            m.BilanStatus.COMPLETED,
            status=m.BilanStatus.DRAFT,
            completed_at=None,
            frozen_grid=None,
            meeting_date=meeting_date,
            # The scan stays (docs/company-side.md, part 2): the teacher replaces it, or completes in the app.
            signature_mode=None,
        )
        await m.BilanEvent.create(
            bilan_id=bilan.id, kind=m.BilanEventKind.REOPENED, author_id=viewer.id, note=note, recorded_at=_now()
        )
        live.note(live.NewsKind.BILAN_REOPENED, bilan.id, viewer.school_id)
        return BilanReopenPayload(bilan=CompanyBilan.from_row(row))
