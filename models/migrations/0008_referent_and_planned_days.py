"""A portfolio's referent teacher (`portfolio.referent_teacher_id`, a teacher of the school; null: the teacher who
created the period) and a period's planned days when the school sets them (`period.planned_days_override`; null:
the working days between its dates). Both columns are nullable, so existing rows need no data step."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0007_attestation_facts")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Portfolio",
            name="referent_teacher",
            field=fields.ForeignKeyField(
                "models.User",
                source_field="referent_teacher_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="referred_portfolios",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.AddField(model_name="Period", name="planned_days_override", field=fields.IntField(null=True)),
    ]
