"""The learner's dashboard (R26) and the interim review's consolidation (R25), computed in batches.

Only completed bilans feed them (R21): a draft never shows, so a learner
reading their own dashboard learns nothing of a bilan being entered. A
competence's result in a bilan is its retained level (`grid.retained_level`)
under the mode frozen at completion; NOT_EVALUATED is no result. The history
of a competence lists its results by bilan date (the effective meeting date),
and the latest is the current level.

An interim review reads its own record (`review_record`), never the live
bilans; the dashboard reads the records of the learner's reviews plus the
completed bilans no review holds yet, so a period deleted after a review (R8)
takes nothing from the learner's history; its `periods` list, and the
syntheses (documents/synthesis_data.py), show such a period from the record too.

Whatever the number of learners or reviews asked at once, the statements
sent are fixed: about ten for a level's dashboard, three for reviews.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from models.bilans import BilanStatus, CompanyBilan, InterimReview
from models.fiches import ActivityFiche
from models.frameworks import AchievementLevel, Competence, Unit
from models.periods import Period
from models.portfolios import Portfolio
from models.schools import Classroom
from models.users import User
from permissions import scopes
from permissions.table import allows
from permissions.viewer import Viewer
from resolvers.bilans.grid import NOT_EVALUATED, current_results, frozen_modes
from resolvers.bilans.review_record import (
    BilanFacts,
    CompetenceFacts,
    RecordedResult,
    build_record,
    entry_order,
    entry_period,
    record_entry,
    recorded_history,
)


@dataclass
class Progress:
    competence: CompetenceFacts
    history: list[RecordedResult] = field(default_factory=list)

    @property
    def current(self) -> AchievementLevel:
        return self.history[-1].level if self.history else NOT_EVALUATED


@dataclass
class PeriodLine:
    # None once the period (or the learner's portfolio in it) is deleted: `recorded` then stands for it.
    period: Period | None
    bilan: CompanyBilan | None
    fiche_count: int
    completed_fiche_count: int
    # The review record's entry of the period's bilan, for a deleted period.
    recorded: dict | None = None

    @property
    def engagement(self) -> int | None:
        if self.recorded is not None:
            return self.recorded["engagement"]
        if self.bilan is None or self.bilan.status is not BilanStatus.COMPLETED:
            return None
        return self.bilan.engagement

    @property
    def order(self) -> tuple:
        if self.period is not None:
            return self.period.start_date, self.period.id
        assert self.recorded is not None
        return entry_period(self.recorded)[0], self.recorded["period"]


@dataclass
class Recorded:
    """What the interim reviews of some learners recorded: per learner, the entries by bilan id (the earliest
    review's, as later ones carry them over unchanged); per framework, the competences, in order."""

    entries: dict[int, dict[int, dict]] = field(default_factory=lambda: defaultdict(dict))
    competences: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class DashboardData:
    learner: User
    competences: list[Progress]
    periods: list[PeriodLine]
    # The rows behind the history that still exist (a deleted period's are gone; its results stay).
    period_rows: dict[int, Period]
    bilan_rows: dict[int, CompanyBilan]


@dataclass
class ReviewData:
    bilans: list[dict]
    competences: list[Progress]
    period_rows: dict[int, Period]
    bilan_rows: dict[int, CompanyBilan]


async def _competences(framework_ids: Iterable[int | None]) -> dict[int | None, list[CompetenceFacts]]:
    """Each framework's competences in order, with their unit's code."""
    ids = sorted({i for i in framework_ids if i is not None})
    by_framework: dict[int | None, list[CompetenceFacts]] = defaultdict(list)
    if not ids:
        return by_framework
    units = {row["id"]: row["code"] for row in await Unit.filter(framework_id__in=ids).values("id", "code")}
    for row in await Competence.filter(framework_id__in=ids).order_by("position", "id"):
        by_framework[row.framework_id].append(
            CompetenceFacts(
                row.id,
                row.framework_id,
                row.code,
                row.label,
                units.get(row.unit_id),
                retired=row.retired_at is not None,
            )
        )
    return by_framework


def _progress(entries: Sequence[dict], competences: Sequence[CompetenceFacts]) -> list[Progress]:
    """Per competence, its results in the bilans given (record entries), oldest first."""
    ordered = sorted(entries, key=entry_order)
    progress = [Progress(c, recorded_history(ordered, c.id)) for c in competences]
    # A retired competence stays in the history where a bilan evaluated it, and only there.
    return [line for line in progress if line.history or not line.competence.retired]


def _facts(bilan: CompanyBilan, period: Period, framework_id: int | None, results: dict) -> BilanFacts:
    return BilanFacts(
        bilan.id,
        period.id,
        period.name,
        bilan.meeting_date or period.end_date,
        bilan.completed_at,
        bilan.engagement,
        framework_id,
        frozen_modes(bilan) or {},
        results,
        period.start_date,
        period.end_date,
        period.certifying,
    )


def _framework_of(bilan: CompanyBilan, level_framework_id: int | None) -> int | None:
    return (bilan.frozen_grid or {}).get("framework_id") or level_framework_id


async def _periods(period_ids: Iterable[int]) -> dict[int, Period]:
    ids = list(set(period_ids))
    return {row.id: row for row in await Period.filter(id__in=ids)} if ids else {}


async def _fiche_counts(portfolio_ids: Sequence[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Fiches not deleted, and those of them completed (description filled in, R2), per portfolio."""
    if not portfolio_ids:
        return {}, {}
    # One statement for both counts: it pays for the reading of the interim reviews' records.
    rows = await (
        ActivityFiche.filter(portfolio_id__in=list(portfolio_ids), deleted_at=None)
        .annotate(n=Count("id"), done=Count("id", _filter=~Q(description="")))
        .group_by("portfolio_id")
        .values("portfolio_id", "n", "done")
    )
    return ({r["portfolio_id"]: r["n"] for r in rows}, {r["portfolio_id"]: r["done"] for r in rows})


async def recorded_of(viewer: Viewer, learner_ids: Sequence[int]) -> Recorded:
    """What the learners' interim reviews recorded, for those who may read the reviews: the same results the
    reviews show them. Others see the completed bilans of the portfolios they reach only. One statement."""
    found = Recorded()
    if not learner_ids or not allows("review.read", viewer.role, owned=set(learner_ids) == {viewer.id}):
        return found
    rows = (
        await InterimReview.filter(learner_id__in=list(learner_ids))
        .order_by("review_date", "id")
        .values("learner_id", "record")
    )
    seen: set[int] = set()
    for row in rows:
        record = row["record"] or {}
        for entry in record.get("bilans", []):
            found.entries[row["learner_id"]].setdefault(entry["bilan"], entry)
        for competence in record.get("competences", []):
            if competence["id"] not in seen:
                seen.add(competence["id"])
                found.competences[competence["frameworkId"]].append(competence)
    return found


async def deleted_entries(recorded: Recorded, live_bilan_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Per learner, the recorded entries of bilans that no longer exist: their period was deleted after a review
    (R8 allows it exactly then). A bilan that exists but is not among
    `live_bilan_ids` (out of the viewer's reach) is not one. One statement, none when every recorded bilan is
    live."""
    live = set(live_bilan_ids)
    unseen = {bilan for entries in recorded.entries.values() for bilan in entries} - live
    existing = (
        set(cast("list[int]", await CompanyBilan.filter(id__in=list(unseen)).values_list("id", flat=True)))
        if unseen
        else set()
    )
    return {
        learner: [entry for bilan, entry in entries.items() if bilan in unseen and bilan not in existing]
        for learner, entries in recorded.entries.items()
    }


async def learner_dashboards(viewer: Viewer, learners: Sequence[User]) -> dict[int, DashboardData]:
    """The dashboard of each learner given (already in reach): the results their interim reviews recorded, plus
    the completed bilans no review holds yet, over the portfolios the viewer reaches."""
    if not learners:
        return {}
    learner_ids = [row.id for row in learners]
    classroom_ids = list({row.classroom_id for row in learners if row.classroom_id})
    classroom_framework = (
        dict(await Classroom.filter(id__in=classroom_ids).values_list("id", "level__framework_id"))
        if classroom_ids
        else {}
    )
    portfolios = await Portfolio.filter(scopes.portfolios(viewer), learner_id__in=learner_ids).values(
        "id", "learner_id", "period_id", "period__level__framework_id"
    )
    periods = await _periods(p["period_id"] for p in portfolios)
    bilans = {b.portfolio_id: b for b in await CompanyBilan.filter(portfolio_id__in=[p["id"] for p in portfolios])}
    counts, done = await _fiche_counts([p["id"] for p in portfolios])
    recorded = await recorded_of(viewer, learner_ids)
    deleted = await deleted_entries(recorded, (b.id for b in bilans.values()))

    live: dict[int, list[tuple[CompanyBilan, Period, int | None]]] = defaultdict(list)
    lines: dict[int, list[PeriodLine]] = defaultdict(list)
    for p in portfolios:
        bilan = bilans.get(p["id"])
        period = periods[p["period_id"]]
        lines[p["learner_id"]].append(PeriodLine(period, bilan, counts.get(p["id"], 0), done.get(p["id"], 0)))
        if (
            bilan is not None
            and bilan.status is BilanStatus.COMPLETED
            and bilan.id not in recorded.entries[p["learner_id"]]
        ):
            live[p["learner_id"]].append((bilan, period, _framework_of(bilan, p["period__level__framework_id"])))
    results = await current_results([bilan.id for items in live.values() for bilan, _, _ in items])

    frameworks_of: dict[int, list[int]] = {}
    for row in learners:
        ids = [classroom_framework.get(row.classroom_id)] + [f for _, _, f in live[row.id]]
        ids += [entry["frameworkId"] for entry in recorded.entries[row.id].values()]
        frameworks_of[row.id] = list(dict.fromkeys(i for i in ids if i is not None))
    competences = await _competences(i for ids in frameworks_of.values() for i in ids)

    dashboards = {}
    bilan_rows = {b.id: b for b in bilans.values()}
    for row in learners:
        listed = [c for framework in frameworks_of[row.id] for c in competences.get(framework, [])]
        entries = list(recorded.entries[row.id].values()) + [
            record_entry(
                _facts(bilan, period, framework, results[bilan.id]), [c.id for c in competences.get(framework, [])]
            )
            for bilan, period, framework in live[row.id]
        ]
        gone = [PeriodLine(None, None, 0, 0, recorded=entry) for entry in deleted.get(row.id, [])]
        periods_of = sorted(lines[row.id] + gone, key=lambda line: line.order)
        dashboards[row.id] = DashboardData(row, _progress(entries, listed), periods_of, periods, bilan_rows)
    return dashboards


def level_learners(viewer: Viewer, level_id: int) -> QuerySet[User]:
    """The level's learners the viewer reaches (unordered: the level dashboard pages them by name)."""
    return User.filter(scopes.learners(viewer), classroom__level_id=level_id)


async def dashboards_of_learners(viewer: Viewer, learner_ids: Sequence[int]) -> dict[int, DashboardData]:
    """The dashboards of the learners among `learner_ids` the viewer reaches, computed for all at once."""
    return await learner_dashboards(viewer, await User.filter(scopes.learners(viewer), id__in=list(learner_ids)))


async def framework_columns(framework_id: int) -> tuple[dict[int, str], list[Competence]]:
    """The competences of a framework in its order, with the codes of its units (the level dashboard's columns)."""
    units = dict(await Unit.filter(framework_id=framework_id).values_list("id", "code"))
    return units, await Competence.filter(framework_id=framework_id).order_by("position", "id")


async def review_data(review_ids: Sequence[int]) -> dict[int, ReviewData]:
    """What each interim review consolidated, from its record; with the rows of its bilans and periods that
    still exist."""
    if not review_ids:
        return {}
    records = {
        row["id"]: row["record"] or {}
        for row in await InterimReview.filter(id__in=list(review_ids)).values("id", "record")
    }
    entries = [entry for record in records.values() for entry in record.get("bilans", [])]
    periods = await _periods(entry["period"] for entry in entries)
    bilan_ids = list({entry["bilan"] for entry in entries})
    bilans = {b.id: b for b in await CompanyBilan.filter(id__in=bilan_ids)} if bilan_ids else {}
    data = {}
    for review_id in review_ids:
        record = records.get(review_id, {})
        competences = [
            CompetenceFacts(c["id"], c["frameworkId"], c["code"], c["label"], c["unit"])
            for c in record.get("competences", [])
        ]
        data[review_id] = ReviewData(
            record.get("bilans", []), _progress(record.get("bilans", []), competences), periods, bilans
        )
    return data


async def review_record(learner_id: int, day: dt.date) -> tuple[list[CompanyBilan], dict]:
    """(the completed bilans a review of the learner at `day` consolidates, its record); the record also carries
    over what the learner's other reviews recorded up to that day of bilans deleted since."""
    bilans = await consolidable_bilans(learner_id, day)
    earlier = [
        {
            "bilans": [e for e in (record or {}).get("bilans", []) if e["date"] <= day.isoformat()],
            "competences": (record or {}).get("competences", []),
        }
        for record in cast(
            "list[dict | None]", await InterimReview.filter(learner_id=learner_id).values_list("record", flat=True)
        )
    ]
    if not bilans and not any(r["bilans"] for r in earlier):
        return [], {}
    portfolios = (
        {
            p["id"]: p
            for p in await Portfolio.filter(id__in=[b.portfolio_id for b in bilans]).values(
                "id", "period_id", "period__level__framework_id"
            )
        }
        if bilans
        else {}
    )
    periods = await _periods(p["period_id"] for p in portfolios.values())
    results = await current_results([b.id for b in bilans])
    facts = []
    for bilan in bilans:
        p = portfolios[bilan.portfolio_id]
        facts.append(
            _facts(
                bilan,
                periods[p["period_id"]],
                _framework_of(bilan, p["period__level__framework_id"]),
                results[bilan.id],
            )
        )
    competences = await _competences(f.framework_id for f in facts)
    return bilans, build_record(facts, competences, earlier)


async def consolidable_bilans(learner_id: int, day: dt.date) -> list[CompanyBilan]:
    """R25: the learner's completed bilans dated up to `day` (a bilan's date is its effective meeting date)."""
    rows = await CompanyBilan.filter(portfolio__learner_id=learner_id, status=BilanStatus.COMPLETED).values(
        "id", "meeting_date", "portfolio__period__end_date"
    )
    ids = [r["id"] for r in rows if (r["meeting_date"] or r["portfolio__period__end_date"]) <= day]
    return list(await CompanyBilan.filter(id__in=ids)) if ids else []


# The reviews in reach (permissions/scopes.py), under the name this domain uses.
