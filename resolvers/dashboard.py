"""The learner's dashboard (R26) and the interim review's consolidation (R25), computed in batches.

Only completed bilans feed them (R21): a draft never shows, so a learner
reading their own dashboard learns nothing of a bilan being entered. A
competence's result in a bilan is its retained level (`bilan_grid.retained_level`)
under the mode frozen at completion; NOT_EVALUATED is no result. The history
of a competence lists its results by bilan date (the effective meeting date),
and the latest is the current level.

Whatever the number of learners or reviews asked at once, the statements
sent are fixed: about ten for a level's dashboard, seven for reviews.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tortoise.functions import Count

from models.bilans import BilanStatus, CompanyBilan, EvaluationMode
from models.fiches import ActivityFiche
from models.frameworks import AchievementLevel, Competence, Unit
from models.periods import Period
from models.portfolios import Portfolio
from models.schools import Classroom
from models.users import User
from permissions import scopes
from permissions.viewer import Viewer
from resolvers.bilan_grid import NOT_EVALUATED, current_results, frozen_modes, retained_level

_EARLIEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


@dataclass
class ResultPoint:
    level: AchievementLevel
    date: dt.date
    mode: EvaluationMode
    period: Period
    bilan: CompanyBilan


@dataclass
class Progress:
    competence: Competence
    history: list[ResultPoint] = field(default_factory=list)

    @property
    def current(self) -> AchievementLevel:
        return self.history[-1].level if self.history else NOT_EVALUATED


@dataclass
class PeriodLine:
    period: Period
    bilan: CompanyBilan | None
    fiche_count: int
    completed_fiche_count: int

    @property
    def engagement(self) -> int | None:
        if self.bilan is None or self.bilan.status is not BilanStatus.COMPLETED:
            return None
        return self.bilan.engagement


@dataclass
class DashboardData:
    learner: User
    competences: list[Progress]
    periods: list[PeriodLine]
    unit_codes: dict[int, str]


@dataclass
class ReviewData:
    bilans: list[CompanyBilan]
    competences: list[Progress]
    unit_codes: dict[int, str]


@dataclass
class _Placed:
    """A bilan with what places it in a learner's history."""

    bilan: CompanyBilan
    learner_id: int
    period: Period
    framework_id: int | None

    @property
    def date(self) -> dt.date:
        return self.bilan.meeting_date or self.period.end_date


async def _competences(framework_ids: Iterable[int | None]) -> tuple[dict[int, list[Competence]], dict[int, str]]:
    ids = sorted({i for i in framework_ids if i is not None})
    by_framework: dict[int, list[Competence]] = defaultdict(list)
    if not ids:
        return by_framework, {}
    for row in await Competence.filter(framework_id__in=ids).order_by("position", "id"):
        by_framework[row.framework_id].append(row)
    units = {row["id"]: row["code"] for row in await Unit.filter(framework_id__in=ids).values("id", "code")}
    return by_framework, units


def _progress(placed: Sequence[_Placed], results: dict[int, dict], competences: Sequence[Competence]) -> list[Progress]:
    """Per competence, its results in the completed bilans given, oldest first."""
    ordered = sorted(placed, key=lambda p: (p.date, p.bilan.completed_at or _EARLIEST, p.bilan.id))
    progress = {c.id: Progress(c) for c in competences}
    for item in ordered:
        modes = frozen_modes(item.bilan) or {}
        for competence_id, line in progress.items():
            mode = modes.get(competence_id, EvaluationMode.GLOBAL)
            level = retained_level(mode, competence_id, results.get(item.bilan.id, {}))
            if level is not NOT_EVALUATED:
                line.history.append(ResultPoint(level, item.date, mode, item.period, item.bilan))
    # A retired competence stays in the history where a bilan evaluated it, and only there.
    return [line for line in progress.values() if line.history or line.competence.retired_at is None]


async def _periods(period_ids: Iterable[int]) -> dict[int, Period]:
    ids = list(set(period_ids))
    return {row.id: row for row in await Period.filter(id__in=ids)} if ids else {}


async def _fiche_counts(portfolio_ids: Sequence[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Fiches not deleted, and those of them completed (description filled in, R2), per portfolio."""
    if not portfolio_ids:
        return {}, {}
    base = ActivityFiche.filter(portfolio_id__in=list(portfolio_ids), deleted_at=None)
    counts = await base.annotate(n=Count("id")).group_by("portfolio_id").values("portfolio_id", "n")
    done = await (base.exclude(description="").annotate(n=Count("id")).group_by("portfolio_id")
                  .values("portfolio_id", "n"))
    return ({r["portfolio_id"]: r["n"] for r in counts}, {r["portfolio_id"]: r["n"] for r in done})


async def learner_dashboards(viewer: Viewer, learners: Sequence[User]) -> dict[int, DashboardData]:
    """The dashboard of each learner given (already in reach), over the portfolios the viewer reaches."""
    if not learners:
        return {}
    learner_ids = [row.id for row in learners]
    classroom_ids = list({row.classroom_id for row in learners if row.classroom_id})
    classroom_framework = dict(await Classroom.filter(id__in=classroom_ids).values_list(
        "id", "level__framework_id")) if classroom_ids else {}
    portfolios = await Portfolio.filter(scopes.portfolios(viewer), learner_id__in=learner_ids).values(
        "id", "learner_id", "period_id", "period__level__framework_id")
    periods = await _periods(p["period_id"] for p in portfolios)
    bilans = {b.portfolio_id: b for b in await CompanyBilan.filter(portfolio_id__in=[p["id"] for p in portfolios])}
    counts, done = await _fiche_counts([p["id"] for p in portfolios])

    placed: dict[int, list[_Placed]] = defaultdict(list)
    lines: dict[int, list[PeriodLine]] = defaultdict(list)
    for p in portfolios:
        bilan = bilans.get(p["id"])
        period = periods[p["period_id"]]
        lines[p["learner_id"]].append(PeriodLine(period, bilan, counts.get(p["id"], 0), done.get(p["id"], 0)))
        if bilan is not None and bilan.status is BilanStatus.COMPLETED:
            framework = (bilan.frozen_grid or {}).get("framework_id") or p["period__level__framework_id"]
            placed[p["learner_id"]].append(_Placed(bilan, p["learner_id"], period, framework))
    results = await current_results([item.bilan.id for items in placed.values() for item in items])

    frameworks_of: dict[int, list[int]] = {}
    for row in learners:
        ids = [classroom_framework.get(row.classroom_id)] + [item.framework_id for item in placed[row.id]]
        frameworks_of[row.id] = list(dict.fromkeys(i for i in ids if i is not None))
    competences, units = await _competences(i for ids in frameworks_of.values() for i in ids)

    dashboards = {}
    for row in learners:
        listed = [c for framework in frameworks_of[row.id] for c in competences.get(framework, [])]
        periods_of = sorted(lines[row.id], key=lambda line: (line.period.start_date, line.period.id))
        dashboards[row.id] = DashboardData(row, _progress(placed[row.id], results, listed), periods_of, units)
    return dashboards


async def level_learners(viewer: Viewer, level_id: int) -> list[User]:
    """The level's learners the viewer reaches, by name."""
    return await User.filter(scopes.learners(viewer), classroom__level_id=level_id).order_by(
        "last_name", "first_name", "id")


async def review_data(review_ids: Sequence[int]) -> dict[int, ReviewData]:
    """What each interim review consolidated: its bilans and, per competence, their results."""
    if not review_ids:
        return {}
    pairs = await CompanyBilan.filter(interim_reviews__id__in=list(review_ids)).values("id", "interim_reviews__id")
    bilans = {b.id: b for b in await CompanyBilan.filter(id__in=list({p["id"] for p in pairs}))}
    portfolios = {p["id"]: p for p in await Portfolio.filter(
        id__in=list({b.portfolio_id for b in bilans.values()})).values(
        "id", "learner_id", "period_id", "period__level__framework_id")}
    periods = await _periods(p["period_id"] for p in portfolios.values())
    placed = {}
    for bilan in bilans.values():
        p = portfolios[bilan.portfolio_id]
        framework = (bilan.frozen_grid or {}).get("framework_id") or p["period__level__framework_id"]
        placed[bilan.id] = _Placed(bilan, p["learner_id"], periods[p["period_id"]], framework)
    results = await current_results(list(bilans))
    competences, units = await _competences(item.framework_id for item in placed.values())
    of_review: dict[int, list[_Placed]] = defaultdict(list)
    for pair in pairs:
        of_review[pair["interim_reviews__id"]].append(placed[pair["id"]])
    data = {}
    for review_id in review_ids:
        items = sorted(of_review[review_id], key=lambda item: (item.date, item.bilan.id))
        frameworks = list(dict.fromkeys(item.framework_id for item in items if item.framework_id is not None))
        listed = [c for framework in frameworks for c in competences.get(framework, [])]
        data[review_id] = ReviewData([item.bilan for item in items], _progress(items, results, listed), units)
    return data


async def consolidable_bilans(learner_id: int, day: dt.date) -> list[CompanyBilan]:
    """R25: the learner's completed bilans dated up to `day` (a bilan's date is its effective meeting date)."""
    rows = await CompanyBilan.filter(portfolio__learner_id=learner_id, status=BilanStatus.COMPLETED).values(
        "id", "meeting_date", "portfolio__period__end_date")
    ids = [r["id"] for r in rows if (r["meeting_date"] or r["portfolio__period__end_date"]) <= day]
    return list(await CompanyBilan.filter(id__in=ids)) if ids else []


# The reviews in reach (permissions/scopes.py), under the name this domain uses.
reviews_scope = scopes.interim_reviews

