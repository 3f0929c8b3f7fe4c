"""The PFMP allowance: reading and adding daily rates, validating a period's statement (issue 14, part 5)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

import strawberry
from tortoise.exceptions import IntegrityError

from exports.allowance import NO_DIPLOMA_YEAR
from graph.context import Info
from graph.errors import FieldProblem, Reason, UserInputError, problem
from graph.types.allowance import AllowanceRate, AllowanceStatement
from graph.types.common import Payload
from graph.types.schools import DiplomaYear
from models import allowance as m
from models.periods import Period
from models.users import User
from permissions import scopes
from resolvers.documents.allowance_data import frozen_lines, rate_row, rates_of_school, statement_of_period
from resolvers.inputs import fetch_in_reach
from resolvers.mutations import mutation

log = logging.getLogger("pfmp.allowance")

# A day of PFMP is paid a few euros: anything above 1 000 € a day is a typing error.
MAX_DAILY_RATE_CENTS = 100_000


@strawberry.input(description="A daily rate of the PFMP allowance for one diploma year, in force from a date.")
class AllowanceRateInput:
    diploma_year: DiplomaYear = strawberry.field(description="The diploma year it applies to.")
    valid_from: dt.date = strawberry.field(
        description="First day it is in force (a period takes the rate in force on its last day); from 2023-09-01."
    )
    daily_rate_cents: int = strawberry.field(description="Amount per day actually done, in cents (1 to 100000).")


@strawberry.type(description="Result of allowanceRateAdd.")
class AllowanceRatePayload(Payload):
    rate: AllowanceRate | None = strawberry.field(default=None, description="The rate as stored.")


@strawberry.type(description="Result of allowanceStatementValidate.")
class AllowanceStatementPayload(Payload):
    statement: AllowanceStatement | None = strawberry.field(default=None, description="The statement, frozen.")


@strawberry.type
class AllowanceQuery:
    @strawberry.field(
        description="The daily rates of the PFMP allowance, the national ones and the school's own, by diploma "
        "year and date (of one diploma year if given). Readable by: ADMIN, TEACHER."
    )
    async def allowance_rates(
        self,
        info: Info,
        diploma_year: Annotated[
            DiplomaYear | None, strawberry.argument(description="Only the rates of this diploma year.")
        ] = None,
    ) -> list[AllowanceRate]:
        viewer = info.context.require("allowance.rates.read")
        year = None if diploma_year is None else diploma_year.value
        return [AllowanceRate.from_rate(rate) for rate in await rates_of_school(viewer.school_id, year)]


@strawberry.input(description="The arguments of allowanceRateAdd. Add a daily rate of the PFMP allowance.")
class AllowanceRateAddInput(AllowanceRateInput):
    pass


@strawberry.input(
    description="The arguments of allowanceStatementValidate. Validate a period's PFMP allowance statement."
)
class AllowanceStatementValidateInput:
    period_id: strawberry.ID = strawberry.field(description="The period.")


@strawberry.type
class AllowanceMutation:
    @mutation(
        "Add a daily rate of the PFMP allowance from a date; the rates before it stay as they were. A rate of the "
        "same diploma year and date is replaced unless a validated statement used it (CONFLICT).",
        rule="allowance.write",
    )
    async def allowance_rate_add(self, info: Info, input: AllowanceRateAddInput) -> AllowanceRatePayload:
        viewer = info.context.require("allowance.write")
        if not 0 < input.daily_rate_cents <= MAX_DAILY_RATE_CENTS:
            raise problem("input.dailyRateCents", Reason.ALLOWANCE_RATE_OUT_OF_RANGE, max=MAX_DAILY_RATE_CENTS)
        if input.valid_from < m.NATIONAL_RATES_FROM:
            raise problem("input.validFrom", Reason.ALLOWANCE_RATE_TOO_EARLY, earliest=m.NATIONAL_RATES_FROM)
        existing = await m.AllowanceRate.filter(
            school_id=viewer.school_id, diploma_year=input.diploma_year, valid_from=input.valid_from
        ).first()
        if existing is not None:
            if await m.AllowanceStatement.filter(rate_id=existing.id).exists():
                raise problem("input.validFrom", Reason.ALLOWANCE_RATE_USED, date=input.valid_from)
            existing.daily_rate_cents = input.daily_rate_cents
            await existing.save(update_fields=["daily_rate_cents"])
            row = existing
        else:
            row = await m.AllowanceRate.create(
                school_id=viewer.school_id,
                diploma_year=input.diploma_year,
                valid_from=input.valid_from,
                daily_rate_cents=input.daily_rate_cents,
            )
        values = {name: getattr(row, name) for name in ("id", "school_id", "diploma_year", "valid_from")}
        return AllowanceRatePayload(
            rate=AllowanceRate.from_rate(rate_row({**values, "daily_rate_cents": row.daily_rate_cents}))
        )

    @mutation(
        "Validate a period's PFMP allowance statement (the head of school's decision): its learners, days, rate and "
        "amounts are frozen and who validated it and when recorded. Refused while a learner's days done are not "
        "recorded (REQUIRED, one error per learner), when the amounts cannot be computed (INVALID), and once "
        "validated (CONFLICT).",
        rule="allowance.write",
    )
    async def allowance_statement_validate(
        self, info: Info, input: AllowanceStatementValidateInput
    ) -> AllowanceStatementPayload:
        period_id = input.period_id
        viewer = info.context.require("allowance.write")
        period = await fetch_in_reach(
            Period, scopes.periods, viewer, period_id, "Period", "periodId", "period", for_update=True
        )
        done = await m.AllowanceStatement.filter(period_id=period.id).first()
        if done is not None:
            raise problem(
                "periodId",
                Reason.ALLOWANCE_STATEMENT_VALIDATED,
                date=done.validated_at.date(),
                name=done.validated_by_name,
            )
        data = await statement_of_period(viewer, period.id)
        assert data is not None  # the period was found in reach
        if data.problem == NO_DIPLOMA_YEAR:
            raise problem("periodId", Reason.LEVEL_WITHOUT_DIPLOMA_YEAR)
        if data.problem is not None or data.rate is None:
            raise problem("periodId", Reason.ALLOWANCE_RATE_MISSING, date=data.end_date, diploma_year=data.diploma_year)
        if data.missing:
            raise UserInputError(
                # One error per learner, each naming the period: a payload error names a field of the input,
                # and the message names the learner (the statement's lines give their portfolios).
                FieldProblem(
                    ["periodId"],
                    Reason.DAYS_DONE_NOT_RECORDED,
                    {"learner": f"{line.last_name} {line.first_name}"},
                )
                for line in data.missing
            )
        who = await User.filter(id=viewer.id).first().values("first_name", "last_name")
        name = f"{who['first_name']} {who['last_name']}" if who else ""
        try:
            await m.AllowanceStatement.create(
                school_id=period.school_id,
                period_id=period.id,
                rate_id=data.rate.id,
                diploma_year=data.diploma_year,
                daily_rate_cents=data.rate.daily_rate_cents,
                rate_valid_from=data.rate.valid_from,
                total_cents=data.total_cents,
                lines=frozen_lines(data),
                validated_by_id=viewer.id,
                validated_by_name=name[:210],
                validated_at=dt.datetime.now(dt.UTC),
            )
        except IntegrityError:
            # validated by someone else meanwhile (SQLite has no row lock to wait on)
            raise problem("periodId", Reason.ALLOWANCE_STATEMENT_VALIDATED_MEANWHILE) from None
        log.info(
            "allowance statement of period %s validated by user %s: %d learners, rate %d cents, total %d cents",
            period.id,
            viewer.id,
            len(data.lines),
            data.rate.daily_rate_cents,
            data.total_cents,
        )
        frozen = await statement_of_period(viewer, period.id)
        assert frozen is not None
        return AllowanceStatementPayload(statement=AllowanceStatement.from_data(frozen, downloadable=True))
