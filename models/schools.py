"""Schools (the tenant every row belongs to), levels and classrooms."""

from tortoise import fields

from models.base import TimestampedModel


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
    school = fields.ForeignKeyField("models.School", related_name="levels", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    position = fields.IntField(default=0)
    framework = fields.ForeignKeyField(
        "models.Framework", related_name="levels", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "level"
        unique_together = (("school", "name"),)


class Classroom(TimestampedModel):
    """Classe, e.g. "CAP 1 ELEC"."""

    id = fields.IntField(primary_key=True)
    school = fields.ForeignKeyField("models.School", related_name="classrooms", on_delete=fields.CASCADE)
    level = fields.ForeignKeyField("models.Level", related_name="classrooms", on_delete=fields.RESTRICT)
    name = fields.CharField(max_length=100)
    # Code of the classroom in the school-administration exports (roster import).
    external_code = fields.CharField(max_length=100, null=True)

    class Meta:
        table = "classroom"
        unique_together = (("school", "name"),)
