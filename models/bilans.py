"""Company bilans (joint evaluation at the end of a period) and interim reviews.

Results are an append-only log (who set which level when); the current result
of an item is the latest entry for it.
"""

from enum import Enum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel
from models.frameworks import AchievementLevel

if TYPE_CHECKING:
    from models.frameworks import Competence, Criterion
    from models.portfolios import Portfolio
    from models.schools import School
    from models.users import User


class BilanStatus(str, Enum):
    DRAFT = "DRAFT"
    COMPLETED = "COMPLETED"


class EvaluationMode(str, Enum):
    GLOBAL = "GLOBAL"
    CRITERIA = "CRITERIA"


class SignatureMode(str, Enum):
    """How a completed bilan was signed: in the application, or on paper (its signed scan kept with it)."""

    APP = "APP"
    PAPER = "PAPER"


class BilanEventKind(str, Enum):
    COMPLETED = "COMPLETED"
    REOPENED = "REOPENED"
    SIGNED_ON_PAPER = "SIGNED_ON_PAPER"


class CompanyBilan(TimestampedModel):
    id = fields.IntField(primary_key=True)
    portfolio: fields.OneToOneRelation["Portfolio"] = fields.OneToOneField(
        "models.Portfolio", related_name="bilan", on_delete=fields.CASCADE
    )
    portfolio_id: int
    status = fields.CharEnumField(BilanStatus, max_length=10, default=BilanStatus.DRAFT)
    # 1 to 4 stars; null while not yet set.
    engagement = fields.SmallIntField(null=True)
    # Null means "the period's last day" (R20).
    meeting_date = fields.DateField(null=True)
    comment = fields.TextField(default="")
    completed_at = fields.DatetimeField(null=True)
    # The grid as it stood at completion: a completed bilan no longer follows the fiches (R21).
    frozen_grid: fields.JSONField[dict | None] = fields.JSONField(null=True)
    version = fields.IntField(default=1)
    # Null while draft; set at completion.
    signature_mode = fields.CharEnumField(SignatureMode, max_length=10, null=True)
    # The signed paper sheet, scanned (PDF, PNG or JPEG), in the annex store under its generated name; the client's
    # name is kept as a label only. Kept when the bilan is reopened (the teacher replaces it with the newly signed
    # sheet before completing on paper again).
    scan_stored_name = fields.CharField(max_length=64, null=True, unique=True)
    scan_filename = fields.CharField(max_length=255, null=True)
    scan_content_type = fields.CharField(max_length=100, null=True)
    scan_size = fields.BigIntField(null=True)

    class Meta:
        table = "company_bilan"


class BilanCompetenceMode(Model):
    id = fields.IntField(primary_key=True)
    # RESTRICT here and in the result log: a framework entry is retired, never deleted under a bilan.
    bilan: fields.ForeignKeyRelation["CompanyBilan"] = fields.ForeignKeyField(
        "models.CompanyBilan", related_name="modes", on_delete=fields.CASCADE
    )
    bilan_id: int
    competence: fields.ForeignKeyRelation["Competence"] = fields.ForeignKeyField(
        "models.Competence", related_name="bilan_modes", on_delete=fields.RESTRICT
    )
    competence_id: int
    mode = fields.CharEnumField(EvaluationMode, max_length=10)

    class Meta:
        table = "company_bilan_mode"
        unique_together = (("bilan", "competence"),)


class BilanResultEntry(Model):
    """One change of one result, never updated nor deleted."""

    id = fields.BigIntField(primary_key=True)
    bilan: fields.ForeignKeyRelation["CompanyBilan"] = fields.ForeignKeyField(
        "models.CompanyBilan", related_name="result_entries", on_delete=fields.CASCADE
    )
    bilan_id: int
    competence: fields.ForeignKeyRelation["Competence"] = fields.ForeignKeyField(
        "models.Competence", related_name="result_entries", on_delete=fields.RESTRICT
    )
    competence_id: int
    criterion: fields.ForeignKeyNullableRelation["Criterion"] = fields.ForeignKeyField(
        "models.Criterion", related_name="result_entries", null=True, on_delete=fields.RESTRICT
    )
    criterion_id: int | None
    level = fields.CharEnumField(AchievementLevel, max_length=20)
    previous_level = fields.CharEnumField(AchievementLevel, max_length=20, null=True)
    author: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="result_entries", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "company_bilan_result"
        indexes = (("bilan_id", "competence_id", "criterion_id"),)


class BilanEvent(Model):
    """Completion, reopening (logged, R21) and paper signature of a bilan."""

    id = fields.BigIntField(primary_key=True)
    bilan: fields.ForeignKeyRelation["CompanyBilan"] = fields.ForeignKeyField(
        "models.CompanyBilan", related_name="events", on_delete=fields.CASCADE
    )
    bilan_id: int
    kind = fields.CharEnumField(BilanEventKind, max_length=20)
    author: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="bilan_events", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    note = fields.TextField(default="")
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "company_bilan_event"
        # Foreign keys get no index of their own: without it, a bilan's history is found by scanning every event.
        indexes = (("bilan_id",),)


class InterimReview(TimestampedModel):
    """Bilan intermédiaire de compétences: consolidates completed bilans up to a date (R25)."""

    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="interim_reviews", on_delete=fields.CASCADE
    )
    school_id: int
    learner: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="interim_reviews", on_delete=fields.CASCADE
    )
    learner_id: int
    review_date = fields.DateField()
    created_by: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="created_reviews", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    # The bilans it consolidated while they exist: R7 locks their periods, and a consolidated bilan cannot be reopened.
    bilans: fields.ManyToManyRelation["CompanyBilan"] = fields.ManyToManyField(
        "models.CompanyBilan", related_name="interim_reviews", through="interim_review_bilan"
    )
    # What it consolidated, written once at creation and never changed (resolvers/bilans/review_record.py): the review
    # and the learner's history read it, so deleting a period afterwards (R8) changes neither.
    record: fields.JSONField[dict | None] = fields.JSONField(null=True)

    class Meta:
        table = "interim_review"
        # Foreign keys get no index of their own: without it, a learner's reviews are found by scanning them all.
        indexes = (("learner_id", "review_date"),)
