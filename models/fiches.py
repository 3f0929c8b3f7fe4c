"""Activity fiches written by learners, their link to the framework, read states and annexes."""

from enum import Enum
from typing import TYPE_CHECKING, cast

from tortoise import fields
from tortoise.functions import Max
from tortoise.models import Model

from models.base import TimestampedModel

if TYPE_CHECKING:
    from models.frameworks import Competence, Criterion, FrameworkActivity, Task
    from models.portfolios import Portfolio
    from models.schools import School
    from models.users import User


class Autonomy(str, Enum):
    AUTONOMOUS = "AUTONOMOUS"
    ACCOMPANIED = "ACCOMPANIED"


class ActivityFiche(TimestampedModel):
    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="activity_fiches", on_delete=fields.CASCADE
    )
    school_id: int
    learner: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="activity_fiches", on_delete=fields.CASCADE
    )
    learner_id: int
    # Null once the period is deleted: the fiche then sits in the learner's free fiches (R8).
    portfolio: fields.ForeignKeyNullableRelation["Portfolio"] = fields.ForeignKeyField(
        "models.Portfolio", related_name="activity_fiches", null=True, on_delete=fields.SET_NULL
    )
    portfolio_id: int | None
    # Name of the period a free fiche came from, kept for the learner's folder.
    former_period_name = fields.CharField(max_length=200, null=True)
    # Reference number [n] in its portfolio (R18): given once at creation, never changed, kept when the fiche is
    # deleted, so a meeting sheet printed earlier still points at the right fiches.
    reference = fields.IntField(null=True)
    title = fields.CharField(max_length=300)
    # cast: null until set, which Tortoise's types cannot say (they make every field non-null).
    autonomy = cast("fields.Field[Autonomy | None]", fields.CharEnumField(Autonomy, max_length=12, null=True))
    workplace = fields.CharField(max_length=300, null=True)
    description = fields.TextField(default="")
    analysis = fields.TextField(default="")
    activity_types: fields.ManyToManyRelation["FrameworkActivity"] = fields.ManyToManyField(
        "models.FrameworkActivity", related_name="activity_fiches", through="activity_fiche_activity_type"
    )
    # Deleted by the learner: still listed for teachers, marked (R13).
    deleted_at = fields.DatetimeField(null=True)
    # Last creation or change by the learner; a teacher who read before it sees UNREAD.
    learner_changed_at = fields.DatetimeField(auto_now_add=True)
    version = fields.IntField(default=1)

    async def save(self, *args, **kwargs) -> None:
        if self.reference is None and self.portfolio_id is not None and not self._saved_in_db:
            # Every creation path goes through here; callers that may race hold the portfolio's row lock.
            self.reference = await next_reference(self.portfolio_id)
        await super().save(*args, **kwargs)

    class Meta:
        table = "activity_fiche"
        # Foreign keys get no index of their own: a learner's fiches (their own, their free ones) need this one.
        # (portfolio, update time): a portfolio's fiches changed since a time (`updatedSince`, migration 0017).
        indexes = (("portfolio_id", "deleted_at"), ("learner_id", "portfolio_id"), ("portfolio_id", "updated_at"))


async def next_reference(portfolio_id: int) -> int:
    """The number the next fiche of the portfolio gets: one more than any given, deleted fiches included."""
    rows = await ActivityFiche.filter(portfolio_id=portfolio_id).annotate(top=Max("reference")).values("top")
    return (rows[0]["top"] or 0) + 1 if rows else 1


class FicheTask(Model):
    """A task linked to a fiche: ticked by the learner, checked or added by the teacher (R14)."""

    id = fields.IntField(primary_key=True)
    # RESTRICT here and below: a framework entry is retired, never deleted under a fiche (nothing cascades).
    fiche: fields.ForeignKeyRelation["ActivityFiche"] = fields.ForeignKeyField(
        "models.ActivityFiche", related_name="task_links", on_delete=fields.CASCADE
    )
    fiche_id: int
    task: fields.ForeignKeyRelation["Task"] = fields.ForeignKeyField(
        "models.Task", related_name="fiche_links", on_delete=fields.RESTRICT
    )
    task_id: int
    ticked_by_learner = fields.BooleanField(default=False)
    checked_by_teacher = fields.BooleanField(default=False)

    class Meta:
        table = "activity_fiche_task"
        unique_together = (("fiche", "task"),)


class FicheEvaluationTarget(Model):
    """What the teacher plans to evaluate for a task of a fiche: a competence globally, or one criterion."""

    id = fields.IntField(primary_key=True)
    fiche: fields.ForeignKeyRelation["ActivityFiche"] = fields.ForeignKeyField(
        "models.ActivityFiche", related_name="evaluation_targets", on_delete=fields.CASCADE
    )
    fiche_id: int
    task: fields.ForeignKeyRelation["Task"] = fields.ForeignKeyField(
        "models.Task", related_name="evaluation_targets", on_delete=fields.RESTRICT
    )
    task_id: int
    competence: fields.ForeignKeyRelation["Competence"] = fields.ForeignKeyField(
        "models.Competence", related_name="evaluation_targets", on_delete=fields.RESTRICT
    )
    competence_id: int
    criterion: fields.ForeignKeyNullableRelation["Criterion"] = fields.ForeignKeyField(
        "models.Criterion", related_name="evaluation_targets", null=True, on_delete=fields.RESTRICT
    )
    criterion_id: int | None

    class Meta:
        table = "activity_fiche_target"
        unique_together = (("fiche", "task", "competence", "criterion"),)


class FicheRead(Model):
    """When a teacher last read a fiche (R13)."""

    id = fields.IntField(primary_key=True)
    fiche: fields.ForeignKeyRelation["ActivityFiche"] = fields.ForeignKeyField(
        "models.ActivityFiche", related_name="reads", on_delete=fields.CASCADE
    )
    fiche_id: int
    teacher: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="fiche_reads", on_delete=fields.CASCADE
    )
    teacher_id: int
    read_at = fields.DatetimeField()

    class Meta:
        table = "activity_fiche_read"
        unique_together = (("fiche", "teacher"),)


class AnnexKind(str, Enum):
    FILE = "FILE"
    URL = "URL"


class Annex(TimestampedModel):
    id = fields.IntField(primary_key=True)
    fiche: fields.ForeignKeyRelation["ActivityFiche"] = fields.ForeignKeyField(
        "models.ActivityFiche", related_name="annexes", on_delete=fields.CASCADE
    )
    fiche_id: int
    kind = fields.CharEnumField(AnnexKind, max_length=4)
    title = fields.CharField(max_length=300, default="")
    url = fields.CharField(max_length=2000, null=True)
    # Files: the name the learner gave, and the generated name on disk (never a client path).
    original_filename = fields.CharField(max_length=255, null=True)
    stored_name = fields.CharField(max_length=64, null=True, unique=True)
    content_type = fields.CharField(max_length=100, null=True)
    size = fields.BigIntField(null=True)

    class Meta:
        table = "annex"
        # Foreign keys get no index of their own: without it, a fiche's annexes are found by scanning them all.
        indexes = (("fiche_id",),)
