"""Trainers' seen state: when a tutor or master last marked one of their portfolios seen (`markSeen`), from which
the portfolio's `newFicheCount` counts the fiches created or changed since. A new table only."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0010_trainer_links")]

    initial = False

    operations = [
        ops.CreateModel(
            name="TrainerSeen",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "trainer",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="trainer_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="seen_portfolios",
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
                        related_name="trainer_seen",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("seen_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "trainer_seen",
                "app": "models",
                "unique_together": (("trainer", "portfolio"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
