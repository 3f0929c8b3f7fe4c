"""The audit trail (issue 17, part 3): one new table, append-only. A trigger refuses any UPDATE of its rows, on
PostgreSQL and on SQLite alike; deleting stays possible, for the purge past the retention
(`models.audit.purge_audit_entries`). No column of another table changes."""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.audit import AuditKind
from models.users import Role

POSTGRES_TRIGGER = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_update();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_entry
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
"""


async def _append_only(apps, editor) -> None:
    client = editor.client
    postgres = client.capabilities.dialect == "postgres"
    await client.execute_script(POSTGRES_TRIGGER if postgres else SQLITE_TRIGGER)


async def _drop_trigger(apps, editor) -> None:
    client = editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(
            "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry; "
            "DROP FUNCTION IF EXISTS audit_entry_refuse_update();"
        )
    else:
        await client.execute_script("DROP TRIGGER IF EXISTS audit_entry_append_only;")


class Migration(migrations.Migration):
    dependencies = [("models", "0014_retention")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("school_id", fields.IntField()),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("kind", fields.CharEnumField(AuditKind, max_length=30)),
                ("actor_id", fields.IntField(null=True)),
                ("actor_role", fields.CharEnumField(Role, max_length=10, null=True)),
                ("link_id", fields.IntField(null=True)),
                ("subject_type", fields.CharField(max_length=40, null=True)),
                ("subject_id", fields.IntField(null=True)),
                ("detail", fields.CharField(max_length=200)),
                ("address", fields.CharField(max_length=64, null=True)),
                ("user_agent", fields.CharField(max_length=255, null=True)),
            ],
            options={
                "table": "audit_entry",
                "app": "models",
                "indexes": [Index(fields=["school_id", "id"]), Index(fields=["at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.RunPython(_append_only, _drop_trigger),
    ]
