"""Clients on bad networks (issue 16, part 4): two new tables, the idempotency keys of retried writes and the
rotating refresh tokens of sign-ins (only a keyed hash of each token's secret). No column of another table changes."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


def _user(related_name: str) -> tuple:
    return (
        "user",
        fields.ForeignKeyField(
            "models.User",
            source_field="user_id",
            db_constraint=True,
            to_field="id",
            related_name=related_name,
            on_delete=OnDelete.CASCADE,
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0012_bilan_paper_scan")]

    initial = False

    operations = [
        ops.CreateModel(
            name="IdempotencyKey",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                _user("idempotency_keys"),
                ("key", fields.CharField(max_length=100)),
                ("operation", fields.CharField(max_length=60)),
                ("fingerprint", fields.CharField(max_length=64)),
                ("result_id", fields.IntField(null=True)),
                ("claimed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("completed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "idempotency_key",
                "app": "models",
                "unique_together": (("user", "key"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RefreshToken",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                _user("refresh_tokens"),
                ("digest", fields.CharField(max_length=64, unique=True)),
                ("family", fields.CharField(max_length=32, db_index=True)),
                ("token_version", fields.IntField()),
                ("issued_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("spent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "refresh_token", "app": "models", "indexes": [Index(fields=["user_id"])], "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
