"""The PFMP allowance statement of a period, gathered for a viewer: the validated one as it was frozen, or else
computed now from the days done and the rate in force on the period's last day.

The figures cover the school-status learners of the period the viewer reaches (portfolios, their period and their
learner in reach, as the exports read them): every learner for an admin, the learners they teach for a teacher,
their own line for a learner. Apprentices are not entitled and are only counted. A fixed number of statements
whatever the number of learners.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise.expressions import Q

from exports.allowance import (
    NO_DIPLOMA_YEAR,
    NO_RATE,
    AllowanceLine,
    RateRow,
    StatementData,
    amount_cents,
    rate_in_force,
)
from models.allowance import AllowanceRate, AllowanceStatement
from models.periods import Period
from models.portfolios import Portfolio
from models.users import LearnerStatus, Role
from permissions import scopes
from permissions.viewer import Viewer
from resolvers.documents.data import Target, school_info

RATE_COLUMNS = ("id", "school_id", "diploma_year", "valid_from", "daily_rate_cents")


def rate_row(values: dict[str, Any]) -> RateRow:
    year = values["diploma_year"]
    return RateRow(
        id=values["id"],
        school_id=values["school_id"],
        diploma_year=getattr(year, "value", year),
        valid_from=values["valid_from"],
        daily_rate_cents=values["daily_rate_cents"],
    )


async def rates_of_school(school_id: int, diploma_year: str | None = None) -> list[RateRow]:
    """The national rates and the school's own, oldest first (of one diploma year if given)."""
    query = AllowanceRate.filter(Q(school_id=None) | Q(school_id=school_id))
    if diploma_year is not None:
        query = query.filter(diploma_year=diploma_year)
    rows = await query.order_by("diploma_year", "valid_from", "id").values(*RATE_COLUMNS)
    return [rate_row(row) for row in rows]


def _sort_key(line: AllowanceLine) -> tuple:
    return (line.last_name.casefold(), line.first_name.casefold(), line.learner_id)


async def statement_of_period(viewer: Viewer, period_id: int) -> StatementData | None:
    """The period's statement as the viewer may read it; None when the period is out of reach."""
    period = (
        await Period.filter(scopes.periods(viewer), id=period_id)
        .first()
        .values(
            "id",
            "name",
            "start_date",
            "end_date",
            "school_id",
            "level__name",
            "level__diploma_name",
            "level__diploma_year",
        )
    )
    if period is None:
        return None
    frozen = await AllowanceStatement.filter(period_id=period_id).first()
    portfolios = (
        await Portfolio.filter(scopes.portfolio_reach(viewer), period_id=period_id)
        .order_by("id")
        .values(
            "id",
            "learner_id",
            "days_done",
            "learner__last_name",
            "learner__first_name",
            "learner__national_id",
            "learner__learner_status",
        )
    )
    school = await school_info(viewer)
    year = period["level__diploma_year"]
    year = getattr(year, "value", year)
    base: dict[str, Any] = dict(
        school=school,
        period_id=period["id"],
        period_name=period["name"],
        start_date=period["start_date"],
        end_date=period["end_date"],
        level_name=period["level__name"],
        diploma_name=period["level__diploma_name"],
    )
    apprentices = sum(1 for row in portfolios if row["learner__learner_status"] == LearnerStatus.APPRENTICE)
    if frozen is not None:
        # The admin reads the whole decision, even the lines of learners gone from the period since: it is the
        # proof kept ten years. Others read the lines of the learners they reach now.
        reached = None if viewer.role is Role.ADMIN else {row["learner_id"] for row in portfolios}
        return _frozen(base, frozen, reached, apprentices)

    rate = None
    problem = None
    if year is None:
        problem = NO_DIPLOMA_YEAR
    else:
        rate = rate_in_force(
            await rates_of_school(period["school_id"], year), year, period["end_date"], period["school_id"]
        )
        if rate is None:
            problem = NO_RATE
    lines = []
    for row in portfolios:
        if row["learner__learner_status"] == LearnerStatus.APPRENTICE:
            continue
        days = row["days_done"]
        days = None if days is None else Decimal(str(days))
        lines.append(
            AllowanceLine(
                learner_id=row["learner_id"],
                portfolio_id=row["id"],
                last_name=row["learner__last_name"],
                first_name=row["learner__first_name"],
                national_id=row["learner__national_id"],
                days_done=days,
                amount_cents=None if days is None or rate is None else amount_cents(days, rate.daily_rate_cents),
            )
        )
    lines.sort(key=_sort_key)
    return StatementData(
        **base,
        diploma_year=year,
        rate=rate,
        lines=tuple(lines),
        problem=problem,
        apprentice_count=apprentices,
    )


def _frozen(
    base: dict[str, Any], frozen: AllowanceStatement, reached: set[int] | None, apprentices: int
) -> StatementData:
    """The statement as validated, its lines of the learners the viewer reaches (its validated figures, whatever
    their days done say now)."""
    lines = tuple(
        AllowanceLine(
            learner_id=entry["learner_id"],
            portfolio_id=entry["portfolio_id"],
            last_name=entry["last_name"],
            first_name=entry["first_name"],
            national_id=entry["national_id"],
            days_done=Decimal(entry["days_done"]),
            amount_cents=entry["amount_cents"],
        )
        for entry in frozen.lines
        if reached is None or entry["learner_id"] in reached
    )
    year = frozen.diploma_year
    year_value = getattr(year, "value", year)
    return StatementData(
        **base,
        diploma_year=year_value,
        rate=RateRow(frozen.rate_id, None, year_value, frozen.rate_valid_from, frozen.daily_rate_cents),
        lines=lines,
        validated_at=frozen.validated_at,
        validated_by=frozen.validated_by_name,
        apprentice_count=apprentices,
    )


def frozen_lines(statement: StatementData) -> list[dict[str, Any]]:
    """The lines as the validated statement stores them (JSON)."""
    return [
        {
            "learner_id": line.learner_id,
            "portfolio_id": line.portfolio_id,
            "last_name": line.last_name,
            "first_name": line.first_name,
            "national_id": line.national_id,
            "days_done": str(line.days_done),
            "amount_cents": line.amount_cents,
        }
        for line in statement.lines
    ]


async def find_statement_period(viewer: Viewer, pk: int) -> Target | None:
    """The period of a statement export. The decision and the accounting file name every learner of the period:
    never a learner's own row (a learner reads their own amount through the API, `Portfolio.allowance`)."""
    row = await Period.filter(scopes.periods(viewer), id=pk).first().values("id", "name")
    return Target(row["id"], False, (row["name"],), period_id=row["id"]) if row else None


async def statement_export(viewer: Viewer, target: Target) -> StatementData:
    statement = await statement_of_period(viewer, target.pk)
    assert statement is not None  # the target was found in reach
    return statement
