"""The PFMP allowance (décret n° 2023-765, arrêté of 11 August 2023): daily rates by diploma year, and the
statement the head of school validates at the end of a period."""

import datetime as dt
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.schools import DiplomaYear

if TYPE_CHECKING:
    from models.periods import Period
    from models.schools import School
    from models.users import User

# The national rates (arrêté of 11 August 2023), in cents per day of PFMP actually done, for the periods from
# 1 September 2023. Migration 0009 stores them as the rows no school owns; a school's admin adds its own rows from
# a date when the State changes them. The arrêté sets the CAP in one year at the CAP 2nd year's rate.
NATIONAL_RATES_FROM = dt.date(2023, 9, 1)
NATIONAL_RATES: dict[DiplomaYear, int] = {
    DiplomaYear.CAP_1: 1000,
    DiplomaYear.CAP_2: 1500,
    DiplomaYear.CAP_ONE_YEAR: 1500,
    DiplomaYear.BAC_PRO_SECONDE: 1000,
    DiplomaYear.BAC_PRO_PREMIERE: 1500,
    DiplomaYear.BAC_PRO_TERMINALE: 2000,
}


class AllowanceRate(Model):
    """A daily rate for one diploma year, in force from a date until the next rate of that year. Never changed
    once a validated statement used it: a new rate is a new row."""

    id = fields.IntField(primary_key=True)
    # None: the national rates the migration stores, shared by every school.
    school: fields.ForeignKeyNullableRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="allowance_rates", null=True, on_delete=fields.CASCADE
    )
    school_id: int | None
    diploma_year = fields.CharEnumField(DiplomaYear, max_length=20)
    valid_from = fields.DateField()
    daily_rate_cents = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "allowance_rate"
        unique_together = (("school", "diploma_year", "valid_from"),)


class AllowanceStatement(Model):
    """A period's statement as the admin validated it: the learners, their days, the rate and the amounts, frozen.
    Later changes of days done or rates leave it as it is; it is the stored record of the validation."""

    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="allowance_statements", on_delete=fields.CASCADE
    )
    school_id: int
    period: fields.OneToOneRelation["Period"] = fields.OneToOneField(
        "models.Period", related_name="allowance_statement", on_delete=fields.CASCADE
    )
    period_id: int
    rate: fields.ForeignKeyRelation["AllowanceRate"] = fields.ForeignKeyField(
        "models.AllowanceRate", related_name="statements", on_delete=fields.RESTRICT
    )
    rate_id: int
    diploma_year = fields.CharEnumField(DiplomaYear, max_length=20)
    daily_rate_cents = fields.IntField()
    rate_valid_from = fields.DateField()
    total_cents = fields.BigIntField()
    # One entry per school-status learner: learner_id, portfolio_id, last_name, first_name, national_id,
    # days_done (a decimal as text) and amount_cents.
    lines: fields.JSONField[list] = fields.JSONField()
    validated_by: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="validated_allowance_statements", null=True, on_delete=fields.SET_NULL
    )
    validated_by_id: int | None
    # Kept as printed, should the account be deleted: the proofs are kept 10 years.
    validated_by_name = fields.CharField(max_length=210)
    validated_at = fields.DatetimeField()

    class Meta:
        table = "allowance_statement"
