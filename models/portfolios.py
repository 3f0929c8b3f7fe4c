"""Portfolios (one learner in one period), trainer assignments and liaison fiches."""

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel

if TYPE_CHECKING:
    from models.frameworks import Task
    from models.periods import Period
    from models.schools import School
    from models.users import User


class Portfolio(TimestampedModel):
    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="portfolios", on_delete=fields.CASCADE
    )
    school_id: int
    period: fields.ForeignKeyRelation["Period"] = fields.ForeignKeyField(
        "models.Period", related_name="portfolios", on_delete=fields.CASCADE
    )
    period_id: int
    learner: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="portfolios", on_delete=fields.CASCADE
    )
    learner_id: int
    # Days the learner actually worked in the company (absences deducted), for the attestation.
    days_done = fields.DecimalField(max_digits=5, decimal_places=1, null=True)
    trainers: fields.ManyToManyRelation["User"] = fields.ManyToManyField(
        "models.User", related_name="trained_portfolios", through="portfolio_trainer"
    )
    # The professeur référent, a teacher of the school; None: the teacher who created the period.
    referent_teacher: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="referred_portfolios", null=True, on_delete=fields.SET_NULL
    )
    referent_teacher_id: int | None

    class Meta:
        table = "portfolio"
        unique_together = (("period", "learner"),)
        # Foreign keys get no index of their own: without it, a learner's portfolios are found by scanning them all.
        # (period, update time): a period's portfolios changed since a time (`updatedSince`, migration 0017).
        indexes = (("learner_id",), ("period_id", "updated_at"))


class LiaisonFiche(TimestampedModel):
    """Fiche de liaison entreprise: workplace, objectives and activities of one portfolio."""

    id = fields.IntField(primary_key=True)
    portfolio: fields.OneToOneRelation["Portfolio"] = fields.OneToOneField(
        "models.Portfolio", related_name="liaison_fiche", on_delete=fields.CASCADE
    )
    portfolio_id: int
    # Workplace (lieu de réalisation): filled in by the learner.
    company_name = fields.CharField(max_length=200, null=True)
    activity_domain = fields.CharField(max_length=300, null=True)
    service = fields.CharField(max_length=200, null=True)
    # The company's postal address and SIRET (14 digits), printed on the attestation.
    company_address = fields.CharField(max_length=500, null=True)
    company_siret = fields.CharField(max_length=14, null=True)
    tutor_name = fields.CharField(max_length=200, null=True)
    tutor_role = fields.CharField(max_length=200, null=True)
    objectives = fields.TextField(default="")
    tasks: fields.ManyToManyRelation["Task"] = fields.ManyToManyField(
        "models.Task", related_name="liaison_fiches", through="liaison_fiche_task"
    )
    # An individualized part keeps its own value when the period is edited (R6).
    objectives_individualized = fields.BooleanField(default=False)
    tasks_individualized = fields.BooleanField(default=False)
    version = fields.IntField(default=1)

    class Meta:
        table = "liaison_fiche"


class TrainerSeen(Model):
    """When a trainer last marked one of their portfolios seen (`markSeen`): the fiches created or changed since
    make the portfolio's `newFicheCount`. No row: never marked, every fiche counts."""

    id = fields.IntField(primary_key=True)
    trainer: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="seen_portfolios", on_delete=fields.CASCADE
    )
    trainer_id: int
    portfolio: fields.ForeignKeyRelation["Portfolio"] = fields.ForeignKeyField(
        "models.Portfolio", related_name="trainer_seen", on_delete=fields.CASCADE
    )
    portfolio_id: int
    seen_at = fields.DatetimeField()

    class Meta:
        table = "trainer_seen"
        unique_together = (("trainer", "portfolio"),)
        # The count is asked per portfolio for one trainer: the unique index (trainer, portfolio) serves it.
