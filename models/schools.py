"""Schools (the tenant every row belongs to), levels and classrooms."""

from enum import Enum
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
    # Printed on the documents the school signs (the PFMP attestation): postal address, one line or several.
    address = fields.CharField(max_length=500, null=True)
    # Chef d'établissement: signs the attestation for the school.
    head_of_school = fields.CharField(max_length=200, null=True)
    # Retention policy (docs/stewardship.md, part 2), each school's own, the defaults stored with every school.
    # Portfolios and evaluations of a learner who left: kept until the end (31 August) of this many school years
    # after the school year they left in.
    retention_school_years = fields.SmallIntField(default=2, db_default=2)
    # Audit entries (part 3): kept this many days.
    audit_retention_days = fields.IntField(default=365, db_default=365)
    # Validated allowance statements, with the learners' names as validated: kept this many years.
    allowance_retention_years = fields.SmallIntField(default=10, db_default=10)

    class Meta:
        table = "school"


class DiplomaYear(str, Enum):
    """Which year of which diploma a level prepares: the attestation prints it, the PFMP allowance's daily rate
    depends on it."""

    CAP_1 = "CAP_1"
    CAP_2 = "CAP_2"
    CAP_ONE_YEAR = "CAP_ONE_YEAR"
    BAC_PRO_SECONDE = "BAC_PRO_SECONDE"
    BAC_PRO_PREMIERE = "BAC_PRO_PREMIERE"
    BAC_PRO_TERMINALE = "BAC_PRO_TERMINALE"


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
    # The diploma prepared, as the attestation names it, e.g. « CAP Électricien ».
    diploma_name = fields.CharField(max_length=200, null=True)
    diploma_year = fields.CharEnumField(DiplomaYear, max_length=20, null=True)

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
