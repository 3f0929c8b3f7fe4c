"""The PFMP allowance: daily rates by diploma year, a period's statement, a learner's own amount."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum

import strawberry

from exports.allowance import PROBLEMS, AllowanceLine, RateRow, StatementData, euros
from graph.context import Info
from graph.types.common import encode_id, export_url
from graph.types.schools import DiplomaYear
from models.schools import DiplomaYear as DiplomaYearEnum
from resolvers.documents.allowance_data import statement_of_period


@strawberry.enum(description="Why a statement's amounts cannot be computed.")
class AllowanceProblem(Enum):
    NO_DIPLOMA_YEAR = strawberry.enum_value(
        "NO_DIPLOMA_YEAR", description="The period's level names no diploma year, so no rate applies."
    )
    NO_RATE = strawberry.enum_value("NO_RATE", description="No daily rate is in force on the period's last day.")


@strawberry.type(description="A daily rate of the PFMP allowance for one diploma year, in force from a date.")
class AllowanceRate:
    diploma_year: DiplomaYear = strawberry.field(description="The diploma year it applies to.")
    valid_from: dt.date = strawberry.field(
        description="First day it is in force; a period takes the rate in force on its last day."
    )
    daily_rate_cents: int = strawberry.field(description="Amount per day of PFMP actually done, in cents.")
    daily_rate: Decimal = strawberry.field(description='The same in euros, e.g. "15.00".')
    national: bool = strawberry.field(
        description="True for the national rates stored at installation; false for a rate the school's admin added."
    )

    @classmethod
    def from_rate(cls, rate: RateRow) -> AllowanceRate:
        return cls(
            diploma_year=DiplomaYearEnum(rate.diploma_year),
            valid_from=rate.valid_from,
            daily_rate_cents=rate.daily_rate_cents,
            daily_rate=euros(rate.daily_rate_cents),
            national=rate.school_id is None,
        )


@strawberry.type(description="One school-status learner's line of a statement.")
class AllowanceStatementLine:
    learner_id: strawberry.ID = strawberry.field(description="The learner's global ID.")
    portfolio_id: strawberry.ID = strawberry.field(description="The portfolio's global ID.")
    last_name: str = strawberry.field(description="Last name.")
    first_name: str = strawberry.field(description="First name.")
    national_id: str | None = strawberry.field(description="INE (identifiant national élève), if known.")
    days_done: Decimal | None = strawberry.field(description="Days actually done; null while not recorded.")
    amount_cents: int | None = strawberry.field(
        description="Days done × daily rate, in cents (rounded half up); null while the days are not recorded or "
        "no rate applies."
    )
    amount: Decimal | None = strawberry.field(description='The same in euros, e.g. "150.00".')

    @classmethod
    def from_line(cls, line: AllowanceLine) -> AllowanceStatementLine:
        return cls(
            learner_id=strawberry.ID(encode_id("Learner", line.learner_id)),
            portfolio_id=strawberry.ID(encode_id("Portfolio", line.portfolio_id)),
            last_name=line.last_name,
            first_name=line.first_name,
            national_id=line.national_id,
            days_done=line.days_done,
            amount_cents=line.amount_cents,
            amount=None if line.amount_cents is None else euros(line.amount_cents),
        )


def _lines(lines: Sequence[AllowanceLine]) -> list[AllowanceStatementLine]:
    return [AllowanceStatementLine.from_line(line) for line in lines]


@strawberry.type(
    description="The PFMP allowance statement of a period: each school-status learner's days done × the daily rate "
    "of the level's diploma year in force on the period's last day. Computed live until the admin validates it; "
    "frozen from then on."
)
class AllowanceStatement:
    diploma_year: DiplomaYear | None = strawberry.field(description="The level's diploma year; null if not set.")
    daily_rate_cents: int | None = strawberry.field(description="The daily rate applied, in cents.")
    daily_rate: Decimal | None = strawberry.field(description="The daily rate applied, in euros.")
    rate_valid_from: dt.date | None = strawberry.field(description="Since when that rate is in force.")
    lines: list[AllowanceStatementLine] = strawberry.field(
        description="The school-status learners the viewer reaches, by name (apprentices are not entitled)."
    )
    missing: list[AllowanceStatementLine] = strawberry.field(
        description="The learners whose days done are not recorded yet: the statement cannot be validated before."
    )
    total_cents: int = strawberry.field(description="Sum of the amounts, in cents.")
    total: Decimal = strawberry.field(description="Sum of the amounts, in euros.")
    apprentice_count: int = strawberry.field(description="Apprentices of the period, not entitled.")
    problem: AllowanceProblem | None = strawberry.field(
        description="Why the amounts cannot be computed (the level has no diploma year, no rate in force); null "
        "when they can."
    )
    problem_message: str | None = strawberry.field(description="The problem in words (French).")
    validated: bool = strawberry.field(description="True once the admin validated it: the figures are frozen.")
    validated_at: dt.datetime | None = strawberry.field(description="When it was validated.")
    validated_by: str | None = strawberry.field(description="Who validated it (name).")
    document_url: str | None = strawberry.field(
        description="Where to download the head of school's decision to sign (DOCX), marked as a draft while not "
        "validated; null for a learner, who reads their own line only. GET it with the same bearer token."
    )
    csv_url: str | None = strawberry.field(
        description="Where to download the accounting file (CSV, `;`-separated, decimal commas, UTF-8 with a byte "
        "order mark); null for a learner."
    )

    @classmethod
    def from_data(cls, data: StatementData, *, downloadable: bool) -> AllowanceStatement:
        rate = data.rate if data.problem is None else None
        return cls(
            diploma_year=None if data.diploma_year is None else DiplomaYearEnum(data.diploma_year),
            daily_rate_cents=rate.daily_rate_cents if rate else None,
            daily_rate=euros(rate.daily_rate_cents) if rate else None,
            rate_valid_from=rate.valid_from if rate else None,
            lines=_lines(data.lines),
            missing=_lines(data.missing),
            total_cents=data.total_cents,
            total=euros(data.total_cents),
            apprentice_count=data.apprentice_count,
            problem=None if data.problem is None else AllowanceProblem(data.problem),
            problem_message=None if data.problem is None else PROBLEMS[data.problem],
            validated=data.validated,
            validated_at=data.validated_at,
            validated_by=data.validated_by,
            document_url=export_url("allowance-statement", "Period", data.period_id) if downloadable else None,
            csv_url=export_url("allowance-statement-csv", "Period", data.period_id) if downloadable else None,
        )


@strawberry.type(description="A learner's PFMP allowance for one period: their line of the period's statement.")
class PortfolioAllowance:
    days_done: Decimal | None = strawberry.field(description="Days actually done; null while not recorded.")
    daily_rate_cents: int | None = strawberry.field(description="The daily rate, in cents; null if none applies.")
    amount_cents: int | None = strawberry.field(description="The amount, in cents; null while not computable.")
    amount: Decimal | None = strawberry.field(description="The amount, in euros.")
    validated: bool = strawberry.field(description="True once the head of school's statement is validated.")


def statements_of_periods(info: Info):
    """Each period's statement as the viewer reads it, once per period for the request."""
    viewer = info.context.require_viewer()

    async def load(period_ids: Sequence[int]) -> list[StatementData | None]:
        return [await statement_of_period(viewer, period_id) for period_id in period_ids]

    return info.context.loaders.custom(("allowance_statements",), load)


async def allowance_of_portfolio(info: Info, period_id: int, learner_id: int) -> PortfolioAllowance | None:
    """The learner's line of the period's statement; null for an apprentice (not entitled)."""
    data = await statements_of_periods(info).load(period_id)
    if data is None:
        return None
    line = next((line for line in data.lines if line.learner_id == learner_id), None)
    if line is None:
        return None
    rate = data.rate if data.problem is None else None
    return PortfolioAllowance(
        days_done=line.days_done,
        daily_rate_cents=rate.daily_rate_cents if rate else None,
        amount_cents=line.amount_cents,
        amount=None if line.amount_cents is None else euros(line.amount_cents),
        validated=data.validated,
    )


async def allowance_statement_of_period(info: Info, period_id: int) -> AllowanceStatement | None:
    data = await statements_of_periods(info).load(period_id)
    if data is None:
        return None
    # The exports name every learner of the period: never a learner's own row (graph/routes/exports.py).
    return AllowanceStatement.from_data(data, downloadable=info.context.can("allowance.statement.read", owned=False))
