"""Schools (the tenant every row belongs to), levels and classrooms."""

from typing import TYPE_CHECKING

from tortoise import fields

from models.base import TimestampedModel

if TYPE_CHECKING:
    from models.frameworks import Framework


class School(TimestampedModel):
    """A lycée professionnel or CFA, identified nationally by its UAI code."""

    id = fields.IntField(primary_key=True)
    uai = fields.CharField(max_length=8, unique=True)
    name = fields.CharField(max_length=200)

    class Meta:
        table = "school"


class Level(TimestampedModel):
    """Niveau de classe, e.g. "Première année de CAP": groups classrooms and periods."""

    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="levels", on_delete=fields.CASCADE
    )
    school_id: int
    name = fields.CharField(max_length=200)
    position = fields.IntField(default=0)
    framework: fields.ForeignKeyNullableRelation["Framework"] = fields.ForeignKeyField(
        "models.Framework", related_name="levels", null=True, on_delete=fields.SET_NULL
    )
    framework_id: int | None

    class Meta:
        table = "level"
        unique_together = (("school", "name"),)


class Classroom(TimestampedModel):
    """Classe, e.g. "CAP 1 ELEC"."""

    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="classrooms", on_delete=fields.CASCADE
    )
    school_id: int
    level: fields.ForeignKeyRelation["Level"] = fields.ForeignKeyField(
        "models.Level", related_name="classrooms", on_delete=fields.RESTRICT
    )
    level_id: int
    name = fields.CharField(max_length=100)
    # Code of the classroom in the school-administration exports (roster import).
    external_code = fields.CharField(max_length=100, null=True)

    class Meta:
        table = "classroom"
        unique_together = (("school", "name"),)
