"""Idempotency keys (issue 16, part 4): a retried write answers its first result instead of writing twice."""

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.users import User


class IdempotencyKey(Model):
    """One key a user sent with a write (the `Idempotency-Key` header), kept 24 hours (resolvers/idempotency.py).

    Claimed (its row committed, `completed_at` null) before the write runs, completed in the write's own
    transaction with the id of the object it answered; deleted again when the write answered errors. The unique
    pair (user, key) is what keeps two concurrent requests with one key from both writing, across processes."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="idempotency_keys", on_delete=fields.CASCADE
    )
    user_id: int
    key = fields.CharField(max_length=100)
    # The mutation's field name, and a SHA-256 of it with its arguments (uploaded files by their bytes' SHA-256).
    operation = fields.CharField(max_length=60)
    fingerprint = fields.CharField(max_length=64)
    # The primary key of the object the first answer named (the created fiche or annex, the bilan).
    result_id = fields.IntField(null=True)
    claimed_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "idempotency_key"
        unique_together = (("user", "key"),)
