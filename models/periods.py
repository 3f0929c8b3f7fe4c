"""Period templates (annexes pédagogiques) and periods in companies (PFMP)."""

from typing import TYPE_CHECKING

from tortoise import fields

from models.base import TimestampedModel

if TYPE_CHECKING:
    from models.frameworks import Task
    from models.schools import Level, School
    from models.users import User


class PeriodTemplate(TimestampedModel):
    """The model a period is created from. Editing a period never changes it (R4)."""

    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="period_templates", on_delete=fields.CASCADE
    )
    school_id: int
    level: fields.ForeignKeyRelation["Level"] = fields.ForeignKeyField(
        "models.Level", related_name="period_templates", on_delete=fields.CASCADE
    )
    level_id: int
    name = fields.CharField(max_length=200)
    duration_days = fields.IntField(null=True)
    objectives = fields.TextField(default="")
    tasks: fields.ManyToManyRelation["Task"] = fields.ManyToManyField(
        "models.Task", related_name="period_templates", through="period_template_task"
    )

    class Meta:
        table = "period_template"


class Period(TimestampedModel):
    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="periods", on_delete=fields.CASCADE
    )
    school_id: int
    level: fields.ForeignKeyRelation["Level"] = fields.ForeignKeyField(
        "models.Level", related_name="periods", on_delete=fields.RESTRICT
    )
    level_id: int
    template: fields.ForeignKeyNullableRelation["PeriodTemplate"] = fields.ForeignKeyField(
        "models.PeriodTemplate", related_name="periods", null=True, on_delete=fields.SET_NULL
    )
    template_id: int | None
    name = fields.CharField(max_length=200)
    start_date = fields.DateField()
    end_date = fields.DateField()
    # First calendar year of the school year, e.g. 2026 for 2026-2027 (R1 lists the current one).
    school_year = fields.IntField()
    # Counts for the diploma (since 2024 the last weeks of Terminale may not).
    certifying = fields.BooleanField(default=True)
    objectives = fields.TextField(default="")
    # The planned days when the school sets them (a shortened week, a bridge day); None: the working days between
    # the dates (resolvers/periods/rules.py, `planned_days`).
    planned_days_override = fields.IntField(null=True)
    tasks: fields.ManyToManyRelation["Task"] = fields.ManyToManyField(
        "models.Task", related_name="periods", through="period_task"
    )
    created_by: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="created_periods", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    # Optimistic concurrency: an edit based on a stale version is refused.
    version = fields.IntField(default=1)

    class Meta:
        table = "period"
        indexes = (("level_id", "school_year"),)
