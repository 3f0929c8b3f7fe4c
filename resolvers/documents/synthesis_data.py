"""The syntheses' data (R24): every period of one learner, or of every learner of a level.

A learner's periods are all their portfolios the viewer reaches (with their
period and learner, `scopes.portfolio_reach`), oldest first, whatever
level the period belongs to: a second-year learner's synthesis still shows
their first-year periods. Rows come through the scopes and the statements are
fixed whatever the number of learners and periods: the portfolios, fiches,
liaison fiches and bilans of every learner asked are read at once, then the
bilans' views in one batch (`bilans.grid.build_views`).

A bilan's results list every competence of its framework, in framework
order, at the level its view retains (see documents/data.py); a bilan with no
competence evaluated yet prints no results table.

A period deleted after an interim review held its bilan (R8 allows it exactly
then) stays in the synthesis as the review recorded it (`review_record`), for those who may read
the reviews, as on the dashboard: its name and dates, the bilan's date,
engagement and results. Two more statements at most, whatever the number of
learners: the records, and which of their bilans still exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from exports.data import (
    BilanSummary,
    CompetenceResult,
    FicheSummary,
    LearnerPeriods,
    LearnerSynthesisData,
    LevelSynthesisData,
    PeriodInfo,
    PeriodRecord,
)
from models.bilans import BilanStatus, CompanyBilan
from models.fiches import ActivityFiche
from models.frameworks import AchievementLevel
from models.portfolios import Portfolio
from models.schools import Level
from models.users import User
from permissions import scopes
from permissions.viewer import Viewer
from resolvers.bilans.dashboard import deleted_entries, recorded_of
from resolvers.bilans.grid import BilanView
from resolvers.bilans.review_record import entry_period
from resolvers.documents.data import (
    LEARNER_FIELDS,
    PERIOD_FIELDS,
    Target,
    learner_info,
    learner_order,
    learners_by_id,
    liaisons_of,
    period_info,
    portfolio_reach,
    readable_views,
    scale_of,
    school_info,
    school_year_label,
    workplace_of,
)
from resolvers.fiches.rules import visible_fiches
from resolvers.periods.rules import planned_days, school_year_of

YIELD_EVERY = 50


def bilan_summary(bilan: CompanyBilan | None, view: BilanView | None) -> BilanSummary | None:
    """What a synthesis prints of a bilan; without a view (not readable as it stands), its status only."""
    if bilan is None:
        return None
    completed = bilan.status is BilanStatus.COMPLETED
    if view is None:
        return BilanSummary(completed=completed)
    results: tuple[CompetenceResult, ...] = ()
    if view.shape is not None:
        levels = [(c, view.retained(c.id)) for c in view.shape.competences]
        # A retired competence is printed only where the bilan evaluated it.
        levels = [
            (c, level) for c, level in levels if c.retired_at is None or level is not AchievementLevel.NOT_EVALUATED
        ]
        if any(level is not AchievementLevel.NOT_EVALUATED for _, level in levels):
            results = tuple(
                CompetenceResult(c.code, c.label, None if level is AchievementLevel.NOT_EVALUATED else level.value)
                for c, level in levels
            )
    return BilanSummary(
        completed=completed,
        # A completed bilan is dated (its effective meeting date, R20); a draft only once a date is entered.
        meeting_date=view.meeting_date if completed else bilan.meeting_date,
        engagement=bilan.engagement,
        results=results,
        comment=bilan.comment,
    )


def recorded_period(entry: dict, competences: Sequence[dict]) -> PeriodRecord:
    """A period deleted after an interim review (R8), as the review recorded it: its name and dates, the bilan's
    date, engagement and the level retained for each competence of its framework. The workplace, days and
    fiches went with the period: the record does not hold them."""
    start, end, certifying = entry_period(entry)
    levels = entry["levels"]
    results: tuple[CompetenceResult, ...] = ()
    if levels:
        results = tuple(
            CompetenceResult(c["code"], c["label"], levels[str(c["id"])][0] if str(c["id"]) in levels else None)
            for c in competences
        )
    return PeriodRecord(
        period=PeriodInfo(
            name=entry["periodName"],
            start_date=start,
            end_date=end,
            certifying=certifying,
            # The review does not record a figure the school set: the working days between the dates.
            planned=planned_days(start, end, None),
        ),
        bilan=BilanSummary(
            completed=True,
            meeting_date=dt.date.fromisoformat(entry["date"]),
            engagement=entry["engagement"],
            results=results,
        ),
    )


async def period_records(viewer: Viewer, learner_ids: Sequence[int]) -> tuple[dict[int, list[PeriodRecord]], set[int]]:
    """(each learner's periods, oldest first; the school years met)."""
    if not learner_ids:
        return {}, set()
    portfolios = await Portfolio.filter(portfolio_reach(viewer), learner_id__in=list(learner_ids)).values(
        "id", "learner_id", "days_done", *(f"period__{name}" for name in PERIOD_FIELDS), "period_id"
    )
    ids = [p["id"] for p in portfolios]
    fiches: dict[int, list[FicheSummary]] = defaultdict(list)
    if ids:
        rows = await (
            ActivityFiche.filter(visible_fiches(viewer), portfolio_id__in=ids, deleted_at=None)
            .order_by("created_at", "id")
            .values("portfolio_id", "title", "description")
        )
        for row in rows:
            fiches[row["portfolio_id"]].append(FicheSummary(row["title"], completed=row["description"] != ""))
    liaisons = await liaisons_of(viewer, ids)
    bilans, views = await readable_views(viewer, ids)
    recorded = await recorded_of(viewer, learner_ids)
    deleted = await deleted_entries(recorded, (b.id for b in bilans.values()))

    records: dict[int, list[tuple[tuple, PeriodRecord]]] = defaultdict(list)
    for index, p in enumerate(portfolios):
        if index % YIELD_EVERY == YIELD_EVERY - 1:
            # Assembling a level's hundreds of bilans is plain Python on the event loop: let other requests in.
            await asyncio.sleep(0)
        bilan = bilans.get(p["id"])
        record = PeriodRecord(
            period=period_info(p, "period__"),
            workplace=workplace_of(liaisons.get(p["id"])),
            days_done=p["days_done"],
            fiches=tuple(fiches.get(p["id"], ())),
            bilan=bilan_summary(bilan, views.get(bilan.id) if bilan else None),
        )
        order = (p["period__start_date"], p["period__end_date"], p["period_id"])
        records[p["learner_id"]].append((order, record))
    years = {p["period__school_year"] for p in portfolios}
    for learner, entries in deleted.items():
        for entry in entries:
            start, end, certifying = entry_period(entry)
            record = recorded_period(entry, recorded.competences.get(entry["frameworkId"], []))
            records[learner].append(((start, end, entry["period"]), record))
            if entry.get("periodStart"):
                years.add(school_year_of(start))
    return {
        learner: [r for _, r in sorted(items, key=lambda item: item[0])] for learner, items in records.items()
    }, years


async def learner_synthesis(viewer: Viewer, target: Target) -> LearnerSynthesisData:
    school = await school_info(viewer)
    learner = (await learners_by_id(viewer, [target.pk], "classroom__level__name", "classroom__level__framework_id"))[
        target.pk
    ]
    records, years = await period_records(viewer, [target.pk])
    return LearnerSynthesisData(
        school=school,
        scale=await scale_of(learner["classroom__level__framework_id"]),
        learner=learner_info(learner),
        periods=tuple(records.get(target.pk, ())),
        level_name=learner["classroom__level__name"] or "",
        school_year=school_year_label(years),
    )


async def level_synthesis(viewer: Viewer, target: Target) -> LevelSynthesisData:
    school = await school_info(viewer)
    level = await Level.filter(scopes.levels(viewer), id=target.pk).first().values("name", "framework_id")
    learners = sorted(
        await User.filter(scopes.learners(viewer), classroom__level_id=target.pk).values(*LEARNER_FIELDS),
        key=learner_order,
    )
    records, years = await period_records(viewer, [row["id"] for row in learners])
    return LevelSynthesisData(
        school=school,
        scale=await scale_of(level["framework_id"]),
        level_name=level["name"],
        learners=tuple(LearnerPeriods(learner_info(row), tuple(records.get(row["id"], ()))) for row in learners),
        school_year=school_year_label(years),
    )
