"""The PFMP allowance: daily rates by diploma year from a date (the national rates of the arrêté of 11 August 2023
stored as the rows no school owns, in force from 1 September 2023), and the statements the admin validates, frozen.
New tables only: no column of another table changes."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.schools import DiplomaYear

DIPLOMA_YEARS = (
    "CAP_1: CAP_1\nCAP_2: CAP_2\nCAP_ONE_YEAR: CAP_ONE_YEAR\nBAC_PRO_SECONDE: BAC_PRO_SECONDE\n"
    "BAC_PRO_PREMIERE: BAC_PRO_PREMIERE\nBAC_PRO_TERMINALE: BAC_PRO_TERMINALE"
)
# Written out here rather than read from models.allowance: a migration stores the figures of its day.
NATIONAL_RATES_2023 = (
    ("CAP_1", 1000),
    ("CAP_2", 1500),
    ("CAP_ONE_YEAR", 1500),
    ("BAC_PRO_SECONDE", 1000),
    ("BAC_PRO_PREMIERE", 1500),
    ("BAC_PRO_TERMINALE", 2000),
)


class Migration(migrations.Migration):
    dependencies = [("models", "0008_referent_and_planned_days")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AllowanceRate",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "school",
                    fields.ForeignKeyField(
                        "models.School",
                        source_field="school_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="allowance_rates",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "diploma_year",
                    fields.CharEnumField(description=DIPLOMA_YEARS, enum_type=DiplomaYear, max_length=20),
                ),
                ("valid_from", fields.DateField()),
                ("daily_rate_cents", fields.IntField()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "allowance_rate",
                "app": "models",
                "unique_together": (("school", "diploma_year", "valid_from"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AllowanceStatement",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "school",
                    fields.ForeignKeyField(
                        "models.School",
                        source_field="school_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="allowance_statements",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "period",
                    fields.OneToOneField(
                        "models.Period",
                        source_field="period_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="allowance_statement",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "rate",
                    fields.ForeignKeyField(
                        "models.AllowanceRate",
                        source_field="rate_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="statements",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "diploma_year",
                    fields.CharEnumField(description=DIPLOMA_YEARS, enum_type=DiplomaYear, max_length=20),
                ),
                ("daily_rate_cents", fields.IntField()),
                ("rate_valid_from", fields.DateField()),
                ("total_cents", fields.BigIntField()),
                (
                    "lines",
                    fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads),
                ),
                (
                    "validated_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="validated_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="validated_allowance_statements",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("validated_by_name", fields.CharField(max_length=210)),
                ("validated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "allowance_statement", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunSQL(
            [
                (
                    "INSERT INTO allowance_rate (school_id, diploma_year, valid_from, daily_rate_cents, created_at) "
                    f"VALUES (NULL, '{year}', '2023-09-01', {cents}, CURRENT_TIMESTAMP)"
                )
                for year, cents in NATIONAL_RATES_2023
            ],
            reverse_sql="DELETE FROM allowance_rate WHERE school_id IS NULL",
        ),
    ]
