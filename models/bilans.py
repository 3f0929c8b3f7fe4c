"""Company bilans (joint evaluation at the end of a period) and interim reviews.

Results are an append-only log (who set which level when); the current result
of an item is the latest entry for it.
"""

from enum import Enum

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel
from models.frameworks import AchievementLevel


class BilanStatus(str, Enum):
    DRAFT = "DRAFT"
    COMPLETED = "COMPLETED"


class EvaluationMode(str, Enum):
    GLOBAL = "GLOBAL"
    CRITERIA = "CRITERIA"


class BilanEventKind(str, Enum):
    COMPLETED = "COMPLETED"
    REOPENED = "REOPENED"
    SIGNED_ON_PAPER = "SIGNED_ON_PAPER"


class CompanyBilan(TimestampedModel):
    id = fields.IntField(primary_key=True)
    portfolio = fields.OneToOneField("models.Portfolio", related_name="bilan", on_delete=fields.CASCADE)
    status = fields.CharEnumField(BilanStatus, max_length=10, default=BilanStatus.DRAFT)
    # 1 to 4 stars; null while not yet set.
    engagement = fields.SmallIntField(null=True)
    # Null means "the period's last day" (R20).
    meeting_date = fields.DateField(null=True)
    comment = fields.TextField(default="")
    completed_at = fields.DatetimeField(null=True)
    # The grid as it stood at completion: a completed bilan no longer follows the fiches (R21).
    frozen_grid = fields.JSONField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "company_bilan"


class BilanCompetenceMode(Model):
    id = fields.IntField(primary_key=True)
    bilan = fields.ForeignKeyField("models.CompanyBilan", related_name="modes", on_delete=fields.CASCADE)
    competence = fields.ForeignKeyField("models.Competence", related_name="bilan_modes", on_delete=fields.CASCADE)
    mode = fields.CharEnumField(EvaluationMode, max_length=10)

    class Meta:
        table = "company_bilan_mode"
        unique_together = (("bilan", "competence"),)


class BilanResultEntry(Model):
    """One change of one result, never updated nor deleted."""

    id = fields.BigIntField(primary_key=True)
    bilan = fields.ForeignKeyField("models.CompanyBilan", related_name="result_entries", on_delete=fields.CASCADE)
    competence = fields.ForeignKeyField("models.Competence", related_name="result_entries", on_delete=fields.CASCADE)
    criterion = fields.ForeignKeyField(
        "models.Criterion", related_name="result_entries", null=True, on_delete=fields.CASCADE
    )
    level = fields.CharEnumField(AchievementLevel, max_length=20)
    previous_level = fields.CharEnumField(AchievementLevel, max_length=20, null=True)
    author = fields.ForeignKeyField("models.User", related_name="result_entries", null=True, on_delete=fields.SET_NULL)
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "company_bilan_result"
        indexes = (("bilan_id", "competence_id", "criterion_id"),)


class BilanEvent(Model):
    """Completion, reopening (logged, R21) and paper signature of a bilan."""

    id = fields.BigIntField(primary_key=True)
    bilan = fields.ForeignKeyField("models.CompanyBilan", related_name="events", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(BilanEventKind, max_length=20)
    author = fields.ForeignKeyField("models.User", related_name="bilan_events", null=True, on_delete=fields.SET_NULL)
    note = fields.TextField(default="")
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "company_bilan_event"
        # Foreign keys get no index of their own: without it, a bilan's history is found by scanning every event.
        indexes = (("bilan_id",),)


class InterimReview(TimestampedModel):
    """Bilan intermédiaire de compétences: consolidates completed bilans up to a date (R25)."""

    id = fields.IntField(primary_key=True)
    school = fields.ForeignKeyField("models.School", related_name="interim_reviews", on_delete=fields.CASCADE)
    learner = fields.ForeignKeyField("models.User", related_name="interim_reviews", on_delete=fields.CASCADE)
    review_date = fields.DateField()
    created_by = fields.ForeignKeyField("models.User", related_name="created_reviews", null=True, on_delete=fields.SET_NULL)
    # The bilans it consolidated while they exist: R7 locks their periods, and a consolidated bilan cannot be reopened.
    bilans = fields.ManyToManyField("models.CompanyBilan", related_name="interim_reviews", through="interim_review_bilan")
    # What it consolidated, written once at creation and never changed (resolvers/review_record.py): the review
    # and the learner's history read it, so deleting a period afterwards (R8) changes neither.
    record = fields.JSONField(null=True)

    class Meta:
        table = "interim_review"
        # Foreign keys get no index of their own: without it, a learner's reviews are found by scanning them all.
        indexes = (("learner_id", "review_date"),)
