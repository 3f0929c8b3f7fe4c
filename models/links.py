"""Trainer links: a credential staff hand a company trainer for one portfolio (docs/company-side.md)."""

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.portfolios import Portfolio
    from models.schools import School
    from models.users import User


class TrainerLink(Model):
    """A signed, expiring link for one portfolio, held by one trainer row: only a keyed hash of its secret is kept."""

    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="trainer_links", on_delete=fields.CASCADE
    )
    school_id: int
    portfolio: fields.ForeignKeyRelation["Portfolio"] = fields.ForeignKeyField(
        "models.Portfolio", related_name="trainer_links", on_delete=fields.CASCADE
    )
    portfolio_id: int
    trainer: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="trainer_links", on_delete=fields.CASCADE
    )
    trainer_id: int
    # HMAC-SHA256 of the link's secret under the token secret, in hex (permissions/links.py): never the secret.
    secret_digest = fields.CharField(max_length=64)
    issued_by: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="issued_trainer_links", null=True, on_delete=fields.SET_NULL
    )
    issued_by_id: int | None
    # Kept as written when issued, so the list still names the issuer once their account is gone.
    issued_by_name = fields.CharField(max_length=210)
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_by: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="revoked_trainer_links", null=True, on_delete=fields.SET_NULL
    )
    revoked_by_id: int | None
    # The last exchange of the link for an access token.
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "trainer_link"
        indexes = (("portfolio_id",), ("trainer_id",))
