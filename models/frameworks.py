"""Competency frameworks (référentiels): data imported from files, never code.

activities → tasks; units → competences → criteria; tasks ↔ competences with a
weight; and the achievement scale the framework is evaluated on.
"""

from enum import Enum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel

if TYPE_CHECKING:
    from models.schools import School


class AchievementLevel(str, Enum):
    """The six ordered values of the scale (the seed's "réglette")."""

    NOT_EVALUATED = "NOT_EVALUATED"
    NOT_ACQUIRED = "NOT_ACQUIRED"
    BEGINNING = "BEGINNING"
    PARTIAL = "PARTIAL"
    ACQUIRED = "ACQUIRED"
    MASTERED = "MASTERED"


ACHIEVEMENT_ORDER = list(AchievementLevel)


class Framework(TimestampedModel):
    """A diploma's framework. `school` is null for the built-in, national ones."""

    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyNullableRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="frameworks", null=True, on_delete=fields.CASCADE
    )
    school_id: int | None
    code = fields.CharField(max_length=50)
    name = fields.CharField(max_length=300)
    source = fields.TextField(default="")
    notes: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # sha256 of the canonical content last imported: a second import of the same file is a no-op.
    content_hash = fields.CharField(max_length=64)

    class Meta:
        table = "framework"
        unique_together = (("school", "code"),)


class ScaleLevel(Model):
    id = fields.IntField(primary_key=True)
    framework: fields.ForeignKeyRelation["Framework"] = fields.ForeignKeyField(
        "models.Framework", related_name="scale_levels", on_delete=fields.CASCADE
    )
    framework_id: int
    value = fields.CharEnumField(AchievementLevel, max_length=20)
    label = fields.CharField(max_length=100)
    position = fields.IntField()
    is_threshold = fields.BooleanField(default=False)

    class Meta:
        table = "scale_level"
        unique_together = (("framework", "value"),)


class Unit(Model):
    """Unité de certification, grouping competences."""

    id = fields.IntField(primary_key=True)
    framework: fields.ForeignKeyRelation["Framework"] = fields.ForeignKeyField(
        "models.Framework", related_name="units", on_delete=fields.CASCADE
    )
    framework_id: int
    code = fields.CharField(max_length=20)
    label = fields.CharField(max_length=300)
    position = fields.IntField()

    class Meta:
        table = "framework_unit"
        unique_together = (("framework", "code"),)


class FrameworkActivity(Model):
    id = fields.IntField(primary_key=True)
    framework: fields.ForeignKeyRelation["Framework"] = fields.ForeignKeyField(
        "models.Framework", related_name="activities", on_delete=fields.CASCADE
    )
    framework_id: int
    code = fields.CharField(max_length=20)
    label = fields.CharField(max_length=300)
    position = fields.IntField()
    # Set when a re-import no longer lists it: kept for the fiches (and tasks) that name it, not offered again.
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "framework_activity"
        unique_together = (("framework", "code"),)


class Task(Model):
    id = fields.IntField(primary_key=True)
    framework: fields.ForeignKeyRelation["Framework"] = fields.ForeignKeyField(
        "models.Framework", related_name="tasks", on_delete=fields.CASCADE
    )
    framework_id: int
    activity: fields.ForeignKeyRelation["FrameworkActivity"] = fields.ForeignKeyField(
        "models.FrameworkActivity", related_name="tasks", on_delete=fields.CASCADE
    )
    activity_id: int
    code = fields.CharField(max_length=20)
    label = fields.TextField()
    position = fields.IntField()
    # A default the school is asked to check (e.g. links not confirmed by the official text).
    provisional = fields.BooleanField(default=False)
    # Set when a re-import no longer lists it: kept for the fiches, periods and liaison fiches that name it,
    # no longer offered for new links; cleared when a file lists it again.
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "framework_task"
        unique_together = (("framework", "code"),)


class Competence(Model):
    id = fields.IntField(primary_key=True)
    framework: fields.ForeignKeyRelation["Framework"] = fields.ForeignKeyField(
        "models.Framework", related_name="competences", on_delete=fields.CASCADE
    )
    framework_id: int
    unit: fields.ForeignKeyNullableRelation["Unit"] = fields.ForeignKeyField(
        "models.Unit", related_name="competences", null=True, on_delete=fields.SET_NULL
    )
    unit_id: int | None
    code = fields.CharField(max_length=20)
    label = fields.TextField()
    position = fields.IntField()
    # Set when a re-import no longer lists it: kept for the fiches and bilan results that name it.
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "framework_competence"
        unique_together = (("framework", "code"),)


class Criterion(Model):
    id = fields.IntField(primary_key=True)
    competence: fields.ForeignKeyRelation["Competence"] = fields.ForeignKeyField(
        "models.Competence", related_name="criteria", on_delete=fields.CASCADE
    )
    competence_id: int
    # Stable code from the file (e.g. C01.1), unique within the framework; null for criteria imported from a
    # file without codes, which are matched by position.
    code = fields.CharField(max_length=30, null=True)
    label = fields.TextField()
    # Active criteria take 1..n in file order, retired ones the positions after them.
    position = fields.IntField()
    # Set when a re-import no longer lists it: kept for the fiches and bilan results that name it.
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "framework_criterion"
        unique_together = (("competence", "position"),)


class TaskCompetence(Model):
    """A task mobilises a competence (weight 2 = main, 1 = secondary)."""

    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation["Task"] = fields.ForeignKeyField(
        "models.Task", related_name="competence_links", on_delete=fields.CASCADE
    )
    task_id: int
    competence: fields.ForeignKeyRelation["Competence"] = fields.ForeignKeyField(
        "models.Competence", related_name="task_links", on_delete=fields.CASCADE
    )
    competence_id: int
    weight = fields.SmallIntField(default=2)

    class Meta:
        table = "framework_task_competence"
        unique_together = (("task", "competence"),)


class ProfessionalAttitude(Model):
    id = fields.IntField(primary_key=True)
    framework: fields.ForeignKeyRelation["Framework"] = fields.ForeignKeyField(
        "models.Framework", related_name="attitudes", on_delete=fields.CASCADE
    )
    framework_id: int
    code = fields.CharField(max_length=20)
    label = fields.CharField(max_length=300)
    position = fields.IntField()

    class Meta:
        table = "framework_attitude"
        unique_together = (("framework", "code"),)


class FrameworkShapeStamp(Model):
    """A token that changes with every write of a framework's structure (its activities, tasks, links, competences,
    criteria, units, scale), set by database triggers in the writing transaction (migration 0018). What a process
    keeps of a framework's structure (resolvers/bilans/grid.py) holds while the token it was read under is current.
    A random token rather than a counter: two databases (a restored backup, a test's copy) never give one token to
    two contents. No foreign key: a framework's deletion cascades to rows whose triggers still write here."""

    framework_id = fields.IntField(primary_key=True, generated=False)
    token = fields.BigIntField()

    class Meta:
        table = "framework_shape_stamp"
