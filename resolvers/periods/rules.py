"""The rules of periods (R4–R8): checks, propagation to liaison fiches, locking, deletion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from typing import cast

import holidays

from graph.errors import FieldProblem, Reason, UserInputError, problem
from models import live
from models.bilans import BilanStatus, CompanyBilan, InterimReview
from models.fiches import ActivityFiche
from models.frameworks import Task
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Level
from models.users import User
from resolvers.inputs import check_date
from resolvers.periods.portfolio_rules import open_portfolio

MAX_PERIOD_DAYS = 366


def school_year_of(day: dt.date) -> int:
    """French school years start in September; August belongs to the year that ends."""
    return day.year if day.month >= 9 else day.year - 1


def current_school_year(today: dt.date) -> int:
    """The school year shown by default (the periods views, the demo data): from August on, the one starting;
    Nov 2026 → 2026 (2026-2027)."""
    return today.year if today.month >= 8 else today.year - 1


def check_period_dates(start: dt.date, end: dt.date) -> None:
    check_date(start, "startDate")
    check_date(end, "endDate")
    if end < start:
        raise problem("endDate", Reason.PERIOD_END_BEFORE_START)
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise problem("endDate", Reason.PERIOD_TOO_LONG, max_days=MAX_PERIOD_DAYS)


@lru_cache(maxsize=64)
def _french_holidays(year: int) -> frozenset[dt.date]:
    """Public holidays of metropolitan France in `year` (the `holidays` package's calendar: Easter Monday,
    Ascension, Whit Monday, 11 November…; Alsace-Moselle's two extra days are not counted)."""
    return frozenset(holidays.country_holidays("FR", years=year))


def working_days(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days from `start` to `end` included, French public holidays deducted."""
    days = (end - start).days + 1
    count = 0
    for offset in range(max(days, 0)):
        day = start + dt.timedelta(days=offset)
        if day.weekday() < 5 and day not in _french_holidays(day.year):
            count += 1
    return count


def planned_days(start: dt.date, end: dt.date, override: int | None) -> int:
    """A period's planned days, the figure the API (`Period.plannedDays`) and every document give: the school's
    own figure when set, else the working days between the dates."""
    return override if override is not None else working_days(start, end)


def check_planned_days(value: int | None, start: dt.date, end: dt.date, field: str = "plannedDays") -> None:
    """A planned-days figure is a positive whole number of days no greater than the period's calendar days."""
    if value is None:
        return
    calendar_days = (end - start).days + 1
    if not 1 <= value <= calendar_days:
        if field != "plannedDays":
            raise problem(field, Reason.PLANNED_DAYS_ABOVE_LENGTH, planned_days=value, calendar_days=calendar_days)
        raise problem(field, Reason.PLANNED_DAYS_OUT_OF_RANGE, calendar_days=calendar_days)


def check_learners_of_level(learners: Sequence[User], classroom_levels: dict[int, int], level: Level) -> None:
    wrong = [
        FieldProblem(
            ["learnerIds", str(i)], Reason.LEARNER_NOT_OF_LEVEL, {"learner": learner.full_name, "level": level.name}
        )
        for i, learner in enumerate(learners)
        if learner.classroom_id is None or classroom_levels.get(learner.classroom_id) != level.id
    ]
    if wrong:
        raise UserInputError(wrong)


def check_tasks_of_framework(tasks: Sequence[Task], level: Level, field: str = "taskIds") -> None:
    wrong = [
        FieldProblem(
            [*field.split("."), str(i)], Reason.TASK_NOT_IN_FRAMEWORK, {"task": task.code, "level": level.name}
        )
        for i, task in enumerate(tasks)
        if task.framework_id != level.framework_id
    ]
    if wrong:
        raise UserInputError(wrong)


async def is_locked(period_id: int) -> bool:
    """R7: a bilan of the period has been consolidated into an interim review."""
    return await CompanyBilan.filter(portfolio__period_id=period_id, interim_reviews__id__isnull=False).exists()


async def deletion_blockers(period: Period, portfolios: Sequence[Portfolio]) -> list[str]:
    """The names of the learners whose portfolio may not go (R8). A portfolio may go only if its bilan is not completed, or is held in the record of one of the learner's
    interim reviews. Being dated before the latest review is not enough: a bilan completed after that review
    (even dated earlier) is in no record, and deleting it would take its results off the learner's history."""
    ids = [p.id for p in portfolios]
    completed = await CompanyBilan.filter(portfolio_id__in=ids, status=BilanStatus.COMPLETED).values(
        "id", "portfolio_id"
    )
    if not completed:
        return []
    by_portfolio = {p.id: p for p in portfolios}
    learner_ids = list({by_portfolio[row["portfolio_id"]].learner_id for row in completed})
    held = {
        entry["bilan"]
        for record in cast(
            "list[dict | None]", await InterimReview.filter(learner_id__in=learner_ids).values_list("record", flat=True)
        )
        for entry in (record or {}).get("bilans", [])
    }
    names = {u.id: u.full_name for u in await User.filter(id__in=learner_ids)}
    return [names[by_portfolio[row["portfolio_id"]].learner_id] for row in completed if row["id"] not in held]


async def remove_portfolios(period: Period, portfolios: Sequence[Portfolio]) -> int:
    """Delete portfolios; their activity fiches move to each learner's free fiches (R8). Answers how many moved."""
    ids = [p.id for p in portfolios]
    if not ids:
        return 0
    fiches = ActivityFiche.filter(portfolio_id__in=ids)
    # Counted apart: on SQLite an update answers the rows its triggers touched too (migration 0017).
    moved = await fiches.count()
    await fiches.update(portfolio_id=None, former_period_name=period.name)
    await Portfolio.filter(id__in=ids).delete()
    return moved


async def assign_learners(period: Period, learners: Sequence[User], tasks: Sequence[Task]) -> None:
    for learner in learners:
        await open_portfolio(period, learner, tasks)


async def propagate_to_liaison_fiches(
    period: Period, *, objectives: str | None, tasks: Sequence[Task] | None
) -> list[LiaisonFiche]:
    """R6: pass the period's new objectives and tasks on to every liaison fiche of the period,
    except the parts individualized for one learner. Answers the fiches that kept a part of their own."""
    fiches = await LiaisonFiche.filter(portfolio__period_id=period.id)
    kept = []
    for fiche in fiches:
        keeps = False
        if objectives is not None:
            if fiche.objectives_individualized:
                keeps = keeps or fiche.objectives != objectives
            else:
                fiche.objectives = objectives
        if tasks is not None:
            if fiche.tasks_individualized:
                keeps = True
            else:
                await fiche.tasks.clear()
                if tasks:
                    await fiche.tasks.add(*tasks)
        if keeps:
            kept.append(fiche)
        if (objectives is not None and not fiche.objectives_individualized) or (
            tasks is not None and not fiche.tasks_individualized
        ):
            live.note(live.NewsKind.LIAISON_FICHE_CHANGED, fiche.id, period.school_id)
    to_update = [f for f in fiches if objectives is not None and not f.objectives_individualized]
    if to_update:
        await LiaisonFiche.filter(id__in=[f.id for f in to_update]).update(objectives=objectives)
    return kept
