"""The company bilan's grid (R17–R20), derived in a fixed number of queries and assembled in Python.

A draft bilan's grid follows the portfolio's fiches as they are now; a
completed one reads the marks frozen at completion (R21). Either way, the
statements sent do not depend on the size of the framework, the number of
fiches or the number of bilans asked at once:
- the bilans, their portfolio and period (2);
- the frameworks: activities, tasks, task ↔ competence links, competences,
  criteria, scale, units (7, shared by every bilan of the batch);
- for drafts only: the fiches, their tasks and their evaluation targets (3);
- the stored evaluation modes and the current results (2).

Marks: a task is marked by every fiche linked to it (`FicheTask`); a
competence under a task by the fiches that target it globally for that task
(`FicheEvaluationTarget` without criterion), a criterion by those that target
it. A fiche's reference number is the one stored on it at creation
(`ActivityFiche.reference`, R18): deleting a fiche leaves a gap, never
renumbers the others.

Modes (R19): a mode a teacher chose is stored (`BilanCompetenceMode`);
otherwise it follows the fiches: CRITERIA when the fiches target criteria of
the competence and never the competence as a whole, else GLOBAL. Saving a
result pins the mode it was entered under, so later fiches cannot hide it.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tortoise.expressions import Subquery
from tortoise.functions import Max
from tortoise.queryset import QuerySet

from models.bilans import BilanCompetenceMode, BilanResultEntry, BilanStatus, CompanyBilan, EvaluationMode
from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask
from models.frameworks import (
    ACHIEVEMENT_ORDER,
    AchievementLevel,
    Competence,
    Criterion,
    FrameworkActivity,
    FrameworkShapeStamp,
    ScaleLevel,
    Task,
    TaskCompetence,
    Unit,
)
from models.portfolios import Portfolio

NOT_EVALUATED = AchievementLevel.NOT_EVALUATED
Refs = tuple[int, ...]


@dataclass
class FrameworkShape:
    """A framework's structure in order, indexed for the grid."""

    id: int
    activities: list[FrameworkActivity] = field(default_factory=list)
    tasks_by_activity: dict[int, list[Task]] = field(default_factory=lambda: defaultdict(list))
    links_by_task: dict[int, list[TaskCompetence]] = field(default_factory=lambda: defaultdict(list))
    competences: list[Competence] = field(default_factory=list)
    criteria_by_competence: dict[int, list[Criterion]] = field(default_factory=lambda: defaultdict(list))
    scale: list[ScaleLevel] = field(default_factory=list)
    unit_codes: dict[int, str] = field(default_factory=dict)

    @property
    def competence_by_id(self) -> dict[int, Competence]:
        return {c.id: c for c in self.competences}

    @property
    def criterion_by_id(self) -> dict[int, Criterion]:
        return {c.id: c for rows in self.criteria_by_competence.values() for c in rows}

    @property
    def scale_values(self) -> set[AchievementLevel]:
        return {row.value for row in self.scale}

    # What the schema's types make of the rows (graph/types/bilans.py, `grid_of`), made once per shape: a kept shape
    # is shared by every request of the process, and these objects are never changed once made.
    converted: dict = field(default_factory=dict)


async def load_framework_shapes(framework_ids: Iterable[int | None], *, grid: bool = True) -> dict[int, FrameworkShape]:
    """The frameworks' structure; without `grid`, only competences, criteria and scale (what a save checks)."""
    ids = sorted({i for i in framework_ids if i is not None})
    if not ids:
        return {}
    shapes = {i: FrameworkShape(i) for i in ids}
    competence_framework: dict[int, int] = {}
    for row in await Competence.filter(framework_id__in=ids).order_by("position", "id"):
        shapes[row.framework_id].competences.append(row)
        competence_framework[row.id] = row.framework_id
    if grid:
        for row in await Unit.filter(framework_id__in=ids):
            shapes[row.framework_id].unit_codes[row.id] = row.code
        for row in await FrameworkActivity.filter(framework_id__in=ids).order_by("position", "id"):
            shapes[row.framework_id].activities.append(row)
        task_framework: dict[int, int] = {}
        for row in await Task.filter(framework_id__in=ids).order_by("position", "id"):
            shapes[row.framework_id].tasks_by_activity[row.activity_id].append(row)
            task_framework[row.id] = row.framework_id
        position = {c.id: (c.position, c.id) for s in shapes.values() for c in s.competences}
        links = await TaskCompetence.filter(task__framework_id__in=ids)
        for row in sorted(links, key=lambda link: position.get(link.competence_id, (0, 0))):
            shapes[task_framework[row.task_id]].links_by_task[row.task_id].append(row)
    for row in await Criterion.filter(competence__framework_id__in=ids).order_by("position", "id"):
        shapes[competence_framework[row.competence_id]].criteria_by_competence[row.competence_id].append(row)
    for row in await ScaleLevel.filter(framework_id__in=ids).order_by("position"):
        shapes[row.framework_id].scale.append(row)
    return shapes


# Framework shapes kept by this process, each with the token it was read under (models.frameworks.FrameworkShapeStamp);
# the least recently used go first. Shared by every request: nothing changes a shape once loaded.
_kept_shapes: OrderedDict[int, tuple[int, FrameworkShape]] = OrderedDict()
SHAPES_KEPT = 64


async def kept_framework_shapes(framework_ids: Iterable[int | None]) -> dict[int, FrameworkShape]:
    """`load_framework_shapes` (the grid's), answered from what this process keeps when the framework's shape token
    has not changed since: one statement (the tokens) instead of seven for a framework already read.

    The tokens are read before the rows: a write committed in between gives rows at least as new as the token they
    are kept under, and the next request, reading the new token, loads them again. A framework without a token (none
    of its rows ever written since migration 0018) is loaded and not kept."""
    ids = sorted({i for i in framework_ids if i is not None})
    if not ids:
        return {}
    tokens = dict(await FrameworkShapeStamp.filter(framework_id__in=ids).values_list("framework_id", "token"))
    found: dict[int, FrameworkShape] = {}
    for framework_id in ids:
        kept = _kept_shapes.get(framework_id)
        if kept is not None and framework_id in tokens and kept[0] == tokens[framework_id]:
            _kept_shapes.move_to_end(framework_id)
            found[framework_id] = kept[1]
    missing = [i for i in ids if i not in found]
    if missing:
        for framework_id, shape in (await load_framework_shapes(missing)).items():
            found[framework_id] = shape
            if framework_id in tokens:
                _kept_shapes[framework_id] = (tokens[framework_id], shape)
                _kept_shapes.move_to_end(framework_id)
        while len(_kept_shapes) > SHAPES_KEPT:
            _kept_shapes.popitem(last=False)
    return found


@dataclass(frozen=True)
class FicheRef:
    reference: int
    fiche_id: int
    title: str


@dataclass
class Marks:
    """What the fiches selected: fiche reference numbers per task, per (task, competence), per (task, criterion)."""

    fiches: list[FicheRef] = field(default_factory=list)
    tasks: dict[int, Refs] = field(default_factory=dict)
    competences: dict[tuple[int, int], Refs] = field(default_factory=dict)
    criteria: dict[tuple[int, int], Refs] = field(default_factory=dict)

    def competence_refs(self, competence_id: int) -> Refs:
        """Fiches that selected the competence globally, under any task."""
        return _union(refs for (_, c), refs in self.competences.items() if c == competence_id)

    def criterion_refs(self, criterion_id: int) -> Refs:
        return _union(refs for (_, c), refs in self.criteria.items() if c == criterion_id)

    def to_json(self) -> dict:
        return {
            "fiches": [[f.reference, f.fiche_id, f.title] for f in self.fiches],
            "tasks": [[task, list(refs)] for task, refs in self.tasks.items()],
            "competences": [[task, comp, list(refs)] for (task, comp), refs in self.competences.items()],
            "criteria": [[task, crit, list(refs)] for (task, crit), refs in self.criteria.items()],
        }

    @classmethod
    def from_json(cls, data: dict) -> Marks:
        return cls(
            fiches=[FicheRef(ref, fiche, title) for ref, fiche, title in data.get("fiches", [])],
            tasks={task: tuple(refs) for task, refs in data.get("tasks", [])},
            competences={(task, comp): tuple(refs) for task, comp, refs in data.get("competences", [])},
            criteria={(task, crit): tuple(refs) for task, crit, refs in data.get("criteria", [])},
        )


def _union(groups: Iterable[Refs]) -> Refs:
    found: set[int] = set()
    for refs in groups:
        found.update(refs)
    return tuple(sorted(found))


def marks_from_fiches(fiches: Sequence[dict], task_links: Sequence[dict], targets: Sequence[dict]) -> Marks:
    """`fiches` in reference order, each {id, title, reference}; links {fiche_id, task_id}; targets
    {fiche_id, task_id, competence_id, criterion_id}."""
    refs = {row["id"]: row["reference"] for row in fiches}
    marks = Marks(fiches=[FicheRef(refs[row["id"]], row["id"], row["title"]) for row in fiches])
    tasks: dict[int, set[int]] = defaultdict(set)
    competences: dict[tuple[int, int], set[int]] = defaultdict(set)
    criteria: dict[tuple[int, int], set[int]] = defaultdict(set)
    for link in task_links:
        if link["fiche_id"] in refs:
            tasks[link["task_id"]].add(refs[link["fiche_id"]])
    for target in targets:
        ref = refs.get(target["fiche_id"])
        if ref is None:
            continue
        if target["criterion_id"] is None:
            competences[(target["task_id"], target["competence_id"])].add(ref)
        else:
            criteria[(target["task_id"], target["criterion_id"])].add(ref)
    marks.tasks = {k: tuple(sorted(v)) for k, v in tasks.items()}
    marks.competences = {k: tuple(sorted(v)) for k, v in competences.items()}
    marks.criteria = {k: tuple(sorted(v)) for k, v in criteria.items()}
    return marks


def derived_mode(shape: FrameworkShape | None, marks: Marks, competence_id: int) -> EvaluationMode:
    """The mode that follows the fiches: CRITERIA when only criteria of the competence were targeted."""
    if shape is None or marks.competence_refs(competence_id):
        return EvaluationMode.GLOBAL
    if any(marks.criterion_refs(c.id) for c in shape.criteria_by_competence.get(competence_id, [])):
        return EvaluationMode.CRITERIA
    return EvaluationMode.GLOBAL


def effective_modes(
    shape: FrameworkShape | None,
    marks: Marks,
    stored: dict[int, EvaluationMode],
    frozen: dict[int, EvaluationMode] | None = None,
) -> dict[int, tuple[EvaluationMode, bool]]:
    """(mode, chosen by a teacher) per competence of the framework."""
    if shape is None:
        return {}
    modes = {}
    for competence in shape.competences:
        if frozen is not None and competence.id in frozen:
            modes[competence.id] = (frozen[competence.id], competence.id in stored)
        elif competence.id in stored:
            modes[competence.id] = (stored[competence.id], True)
        else:
            modes[competence.id] = (derived_mode(shape, marks, competence.id), False)
    return modes


def retained_level(
    mode: EvaluationMode, competence_id: int, results: dict[tuple[int, int | None], AchievementLevel]
) -> AchievementLevel:
    """The competence's level in a bilan: its own result in GLOBAL mode; in CRITERIA mode the lower
    median of its evaluated criteria (NOT_EVALUATED when none is)."""
    if mode is EvaluationMode.GLOBAL:
        return results.get((competence_id, None), NOT_EVALUATED)
    levels = sorted(
        ACHIEVEMENT_ORDER.index(level)
        for (comp, crit), level in results.items()
        if comp == competence_id and crit is not None and level is not NOT_EVALUATED
    )
    if not levels:
        return NOT_EVALUATED
    return ACHIEVEMENT_ORDER[levels[(len(levels) - 1) // 2]]


@dataclass
class BilanView:
    """Everything a bilan screen shows, derived once per request."""

    bilan: CompanyBilan
    period_start: dt.date
    period_end: dt.date
    shape: FrameworkShape | None
    marks: Marks
    modes: dict[int, tuple[EvaluationMode, bool]]
    results: dict[tuple[int, int | None], AchievementLevel]

    @property
    def meeting_date(self) -> dt.date:
        return self.bilan.meeting_date or self.period_end

    def level(self, competence_id: int, criterion_id: int | None = None) -> AchievementLevel:
        return self.results.get((competence_id, criterion_id), NOT_EVALUATED)

    def mode(self, competence_id: int) -> EvaluationMode:
        return self.modes.get(competence_id, (EvaluationMode.GLOBAL, False))[0]

    def shows_competence(self, competence: Competence, refs: Refs | None, criteria: Sequence) -> bool:
        """A retired competence stays in the grid where the bilan names it: a fiche's mark, a result, a teacher's
        mode, or a criterion shown (`criteria`, items with `marked` and `level`)."""
        if competence.retired_at is None or refs or self.modes.get(competence.id, (None, False))[1]:
            return True
        return any(key[0] == competence.id for key in self.results) or any(
            c.marked or c.level is not NOT_EVALUATED for c in criteria
        )

    def shows_criterion(self, competence: Competence, criterion: Criterion, refs: Refs | None) -> bool:
        """A retired criterion stays where marked or evaluated; under a retired competence all stay with it (the
        grid drops the competence itself when nothing names it)."""
        return (
            criterion.retired_at is None
            or competence.retired_at is not None
            or bool(refs)
            or (competence.id, criterion.id) in self.results
        )

    def retained(self, competence_id: int) -> AchievementLevel:
        return retained_level(self.mode(competence_id), competence_id, self.results)

    def frozen_grid(self) -> dict:
        """What completion stores: the marks as they stand, the modes in force, the framework used."""
        return {
            **self.marks.to_json(),
            "framework_id": self.shape.id if self.shape else None,
            "modes": [[comp, mode.value] for comp, (mode, _) in self.modes.items()],
        }


def frozen_header(
    *,
    period_start: dt.date,
    period_end: dt.date,
    meeting_date: dt.date | None,
    workplace: dict | None,
    trainers: Sequence[str],
) -> dict:
    """The header a completed bilan keeps (R21): the period's dates, the workplace (the liaison fiche's fields)
    and the trainers' names as they stood, and whether the meeting date was the period's last day by default
    (completion stores the effective date itself, so a later edit of the period cannot move it)."""
    return {
        "periodStart": period_start.isoformat(),
        "periodEnd": period_end.isoformat(),
        "meetingDateIsDefault": meeting_date is None,
        "workplace": workplace,
        "trainers": list(trainers),
    }


WORKPLACE_FIELDS = ("company_name", "activity_domain", "service", "tutor_name", "tutor_role")


def header_of(bilan: CompanyBilan) -> dict | None:
    """The frozen header of a completed bilan; None while draft (or completed before headers were kept)."""
    if bilan.status is not BilanStatus.COMPLETED or not bilan.frozen_grid:
        return None
    return bilan.frozen_grid.get("header")


async def current_results(bilan_ids: Sequence[int]) -> dict[int, dict[tuple[int, int | None], AchievementLevel]]:
    """The latest log entry per (bilan, competence, criterion), in one statement."""
    found: dict[int, dict] = {i: {} for i in bilan_ids}
    if not bilan_ids:
        return found
    latest = Subquery(
        BilanResultEntry.filter(bilan_id__in=list(bilan_ids))
        .annotate(last=Max("id"))
        .group_by("bilan_id", "competence_id", "criterion_id")
        .values("last")
    )
    for row in await BilanResultEntry.filter(id__in=latest).values(
        "bilan_id", "competence_id", "criterion_id", "level"
    ):
        found[row["bilan_id"]][(row["competence_id"], row["criterion_id"])] = AchievementLevel(row["level"])
    return found


async def stored_modes(bilan_ids: Sequence[int]) -> dict[int, dict[int, EvaluationMode]]:
    found: dict[int, dict[int, EvaluationMode]] = {i: {} for i in bilan_ids}
    if bilan_ids:
        for row in await BilanCompetenceMode.filter(bilan_id__in=list(bilan_ids)).values(
            "bilan_id", "competence_id", "mode"
        ):
            found[row["bilan_id"]][row["competence_id"]] = EvaluationMode(row["mode"])
    return found


async def live_marks(portfolio_ids: Sequence[int]) -> dict[int, Marks]:
    """Marks from the portfolios' fiches as they are now (3 statements)."""
    if not portfolio_ids:
        return {}
    ids = list(portfolio_ids)
    fiches = await (
        ActivityFiche.filter(portfolio_id__in=ids, deleted_at=None)
        .order_by("reference", "id")
        .values("id", "portfolio_id", "title", "reference")
    )
    links = await FicheTask.filter(fiche__portfolio_id__in=ids, fiche__deleted_at=None).values("fiche_id", "task_id")
    targets = await FicheEvaluationTarget.filter(fiche__portfolio_id__in=ids, fiche__deleted_at=None).values(
        "fiche_id", "task_id", "competence_id", "criterion_id"
    )
    owner = {row["id"]: row["portfolio_id"] for row in fiches}
    by_portfolio: dict[int, tuple[list, list, list]] = {i: ([], [], []) for i in ids}
    for row in fiches:
        by_portfolio[row["portfolio_id"]][0].append(row)
    for row in links:
        if row["fiche_id"] in owner:
            by_portfolio[owner[row["fiche_id"]]][1].append(row)
    for row in targets:
        if row["fiche_id"] in owner:
            by_portfolio[owner[row["fiche_id"]]][2].append(row)
    return {i: marks_from_fiches(*parts) for i, parts in by_portfolio.items()}


def frozen_modes(bilan: CompanyBilan) -> dict[int, EvaluationMode] | None:
    if bilan.status is not BilanStatus.COMPLETED or not bilan.frozen_grid:
        return None
    return {comp: EvaluationMode(mode) for comp, mode in bilan.frozen_grid.get("modes", [])}


async def build_views(bilans: Sequence[CompanyBilan], *, results: bool = True) -> dict[int, BilanView]:
    """BilanView of each bilan, in a fixed number of statements."""
    if not bilans:
        return {}
    portfolios = {
        row["id"]: row
        for row in await Portfolio.filter(id__in=[b.portfolio_id for b in bilans]).values(
            "id", "period__start_date", "period__end_date", "period__level__framework_id"
        )
    }
    frozen = {b.id: b.frozen_grid for b in bilans if b.status is BilanStatus.COMPLETED and b.frozen_grid}

    def framework_of(bilan: CompanyBilan) -> int | None:
        if bilan.id in frozen and frozen[bilan.id].get("framework_id"):
            return frozen[bilan.id]["framework_id"]
        return portfolios[bilan.portfolio_id]["period__level__framework_id"]

    shapes = await kept_framework_shapes(framework_of(b) for b in bilans)
    live = await live_marks([b.portfolio_id for b in bilans if b.id not in frozen])
    ids = [b.id for b in bilans]
    modes = await stored_modes(ids)
    current = await current_results(ids) if results else {i: {} for i in ids}
    views = {}
    for bilan in bilans:
        portfolio = portfolios[bilan.portfolio_id]
        framework_id = framework_of(bilan)
        shape = shapes.get(framework_id) if framework_id is not None else None
        marks = Marks.from_json(frozen[bilan.id]) if bilan.id in frozen else live[bilan.portfolio_id]
        header = header_of(bilan)
        start, end = portfolio["period__start_date"], portfolio["period__end_date"]
        if header is not None:
            start, end = dt.date.fromisoformat(header["periodStart"]), dt.date.fromisoformat(header["periodEnd"])
        views[bilan.id] = BilanView(
            bilan=bilan,
            period_start=start,
            period_end=end,
            shape=shape,
            marks=marks,
            modes=effective_modes(shape, marks, modes[bilan.id], frozen_modes(bilan)),
            results=current[bilan.id],
        )
    return views


def bilan_views(info, known: CompanyBilan | None = None):
    """The request's loader of BilanView by bilan id (callers have checked reach and access). `known`: the bilan's
    row as the caller read it (whole, not `.only()` some columns), used instead of reading it again."""
    rows = info.context.loaders.by_id(CompanyBilan, None)
    if known is not None and not known._partial:
        rows.prime(known.id, known)

    async def load(ids: Sequence[int]) -> list[BilanView | None]:
        found = await rows.load_many(list(ids))
        views = await build_views([row for row in found if row is not None])
        return [views.get(i) for i in ids]

    return info.context.loaders.custom(("bilan_views",), load)


def result_log_of(bilan_id: int) -> QuerySet[BilanResultEntry]:
    """The bilan's changes of results, newest first (the append-only log), to be paged."""
    return BilanResultEntry.filter(bilan_id=bilan_id).order_by("-id")
