"""Portfolios (one learner in one period), trainer assignments and liaison fiches."""

from tortoise import fields

from models.base import TimestampedModel


class Portfolio(TimestampedModel):
    id = fields.IntField(primary_key=True)
    school = fields.ForeignKeyField("models.School", related_name="portfolios", on_delete=fields.CASCADE)
    period = fields.ForeignKeyField("models.Period", related_name="portfolios", on_delete=fields.CASCADE)
    learner = fields.ForeignKeyField("models.User", related_name="portfolios", on_delete=fields.CASCADE)
    # Days the learner actually worked in the company (absences deducted), for the attestation.
    days_done = fields.DecimalField(max_digits=5, decimal_places=1, null=True)
    trainers = fields.ManyToManyField(
        "models.User", related_name="trained_portfolios", through="portfolio_trainer"
    )

    class Meta:
        table = "portfolio"
        unique_together = (("period", "learner"),)
        # Foreign keys get no index of their own: without it, a learner's portfolios are found by scanning them all.
        indexes = (("learner_id",),)


class LiaisonFiche(TimestampedModel):
    """Fiche de liaison entreprise: workplace, objectives and activities of one portfolio."""

    id = fields.IntField(primary_key=True)
    portfolio = fields.OneToOneField("models.Portfolio", related_name="liaison_fiche", on_delete=fields.CASCADE)
    # Workplace (lieu de réalisation): filled in by the learner.
    company_name = fields.CharField(max_length=200, null=True)
    activity_domain = fields.CharField(max_length=300, null=True)
    service = fields.CharField(max_length=200, null=True)
    tutor_name = fields.CharField(max_length=200, null=True)
    tutor_role = fields.CharField(max_length=200, null=True)
    objectives = fields.TextField(default="")
    tasks = fields.ManyToManyField("models.Task", related_name="liaison_fiches", through="liaison_fiche_task")
    # An individualized part keeps its own value when the period is edited (R6).
    objectives_individualized = fields.BooleanField(default=False)
    tasks_individualized = fields.BooleanField(default=False)
    version = fields.IntField(default=1)

    class Meta:
        table = "liaison_fiche"
