"""Retention and erasure (issue 17, part 2): a learner's leaving date and erasure time, and each school's
retention policy, its columns filled with the defaults for the schools that already exist (db_default)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0013_idempotency_and_refresh")]

    initial = False

    operations = [
        ops.AddField(model_name="User", name="left_at", field=fields.DateField(null=True)),
        ops.AddField(model_name="User", name="erased_at", field=fields.DatetimeField(null=True)),
        ops.AddField(
            model_name="School",
            name="retention_school_years",
            field=fields.SmallIntField(default=2, db_default=2),
        ),
        ops.AddField(
            model_name="School",
            name="audit_retention_days",
            field=fields.IntField(default=365, db_default=365),
        ),
        ops.AddField(
            model_name="School",
            name="allowance_retention_years",
            field=fields.SmallIntField(default=10, db_default=10),
        ),
    ]
