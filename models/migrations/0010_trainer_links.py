"""Trainer links (issue 16, part 1): one new table, the links staff issue to a company trainer for one portfolio,
holding a keyed hash of each link's secret, never the secret. No column of another table changes."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


def _user(name: str, related_name: str, *, null: bool, on_delete: OnDelete) -> tuple:
    return (
        name,
        fields.ForeignKeyField(
            "models.User",
            source_field=f"{name}_id",
            null=null,
            db_constraint=True,
            to_field="id",
            related_name=related_name,
            on_delete=on_delete,
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0009_pfmp_allowance")]

    initial = False

    operations = [
        ops.CreateModel(
            name="TrainerLink",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "school",
                    fields.ForeignKeyField(
                        "models.School",
                        source_field="school_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="trainer_links",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "portfolio",
                    fields.ForeignKeyField(
                        "models.Portfolio",
                        source_field="portfolio_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="trainer_links",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                _user("trainer", "trainer_links", null=False, on_delete=OnDelete.CASCADE),
                ("secret_digest", fields.CharField(max_length=64)),
                _user("issued_by", "issued_trainer_links", null=True, on_delete=OnDelete.SET_NULL),
                ("issued_by_name", fields.CharField(max_length=210)),
                ("issued_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                _user("revoked_by", "revoked_trainer_links", null=True, on_delete=OnDelete.SET_NULL),
                ("last_used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "trainer_link",
                "app": "models",
                "indexes": [Index(fields=["portfolio_id"]), Index(fields=["trainer_id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
