"""Framework entries are retired, never deleted under what names them (issue 11).

Tasks, competences, criteria and framework activities get `retired_at`;
criteria get a stable `code`. The foreign keys from fiches, liaison fiches,
periods, templates and bilans to tasks, competences and criteria become
ON DELETE RESTRICT: nothing cascades from a framework change into them.

Only the ON DELETE action changes. Tortoise's own AlterField rebuilds a SQLite
table without its unique constraints and indexes, and the many-to-many link
tables are not models at all, so both databases are handled here: in place on
PostgreSQL, by SQLite's documented table rebuild (the table's own CREATE
statement with the one action changed, then its indexes) on SQLite. None of
the rebuilt tables is referenced by another, so dropping the old copy with
foreign keys enforced deletes nothing elsewhere.
"""

import re

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

# (table, column, referenced table): the links from results and fiches to framework entries.
LINKS = [
    ("activity_fiche_task", "task_id", "framework_task"),
    ("activity_fiche_target", "task_id", "framework_task"),
    ("activity_fiche_target", "competence_id", "framework_competence"),
    ("activity_fiche_target", "criterion_id", "framework_criterion"),
    ("company_bilan_mode", "competence_id", "framework_competence"),
    ("company_bilan_result", "competence_id", "framework_competence"),
    ("company_bilan_result", "criterion_id", "framework_criterion"),
    ("liaison_fiche_task", "task_id", "framework_task"),
    ("period_task", "task_id", "framework_task"),
    ("period_template_task", "task_id", "framework_task"),
]


async def _set_on_delete(editor, table: str, column: str, parent: str, action: str) -> None:
    client = editor.client
    if editor.DIALECT == "sqlite":
        _, rows = await client.execute_query(
            f"SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
        create = rows[0]["sql"]
        pattern = re.compile(rf'("{column}"[^,]*?REFERENCES "{parent}" \("id"\) ON DELETE )(CASCADE|RESTRICT|SET NULL)')
        changed, count = pattern.subn(rf"\g<1>{action}", create)
        if count != 1:
            raise RuntimeError(f"{table}.{column}: foreign key to {parent} not found")
        changed = changed.replace(f'"{table}"', f'"new__{table}"', 1)
        _, indexes = await client.execute_query(
            f"SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' AND sql IS NOT NULL")
        await client.execute_script(changed)
        await client.execute_script(f'INSERT INTO "new__{table}" SELECT * FROM "{table}"')
        await client.execute_script(f'DROP TABLE "{table}"')
        await client.execute_script(f'ALTER TABLE "new__{table}" RENAME TO "{table}"')
        for index in indexes:
            await client.execute_script(index["sql"])
        return
    _, rows = await client.execute_query(
        "SELECT con.conname AS name FROM pg_constraint con "
        "JOIN pg_class rel ON rel.oid = con.conrelid "
        "JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY(con.conkey) "
        f"WHERE con.contype = 'f' AND rel.relname = '{table}' AND att.attname = '{column}'")
    if len(rows) != 1:
        raise RuntimeError(f"{table}.{column}: foreign key to {parent} not found")
    name = rows[0]["name"]
    await client.execute_script(
        f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}", ADD CONSTRAINT "{name}" FOREIGN KEY ("{column}") '
        f'REFERENCES "{parent}" ("id") ON DELETE {action}')


def _links_on_delete(action: str):
    async def run(apps, editor) -> None:
        for table, column, parent in LINKS:
            await _set_on_delete(editor, table, column, parent, action)
    return run


class AlterOnDelete(ops.AlterField):
    """The model state of AlterField; the database is changed by the RunPython below."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        return None


def _fk(model: str, column: str, related_name: str, *, null: bool = False):
    extra = {"null": True} if null else {}
    return fields.ForeignKeyField(model, source_field=column, db_constraint=True, to_field="id",
                                  related_name=related_name, on_delete=OnDelete.RESTRICT, **extra)


class Migration(migrations.Migration):
    dependencies = [("models", "0003_evaluations_survive")]

    initial = False

    operations = [
        AlterOnDelete(model_name="BilanCompetenceMode", name="competence",
                      field=_fk("models.Competence", "competence_id", "bilan_modes")),
        AlterOnDelete(model_name="BilanResultEntry", name="competence",
                      field=_fk("models.Competence", "competence_id", "result_entries")),
        AlterOnDelete(model_name="BilanResultEntry", name="criterion",
                      field=_fk("models.Criterion", "criterion_id", "result_entries", null=True)),
        AlterOnDelete(model_name="FicheEvaluationTarget", name="competence",
                      field=_fk("models.Competence", "competence_id", "evaluation_targets")),
        AlterOnDelete(model_name="FicheEvaluationTarget", name="criterion",
                      field=_fk("models.Criterion", "criterion_id", "evaluation_targets", null=True)),
        AlterOnDelete(model_name="FicheEvaluationTarget", name="task",
                      field=_fk("models.Task", "task_id", "evaluation_targets")),
        AlterOnDelete(model_name="FicheTask", name="task", field=_fk("models.Task", "task_id", "fiche_links")),
        ops.RunPython(_links_on_delete("RESTRICT"), _links_on_delete("CASCADE")),
        ops.AddField(model_name="Competence", name="retired_at",
                     field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
        ops.AddField(model_name="Criterion", name="code", field=fields.CharField(null=True, max_length=30)),
        ops.AddField(model_name="Criterion", name="retired_at",
                     field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
        ops.AddField(model_name="FrameworkActivity", name="retired_at",
                     field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
        ops.AddField(model_name="Task", name="retired_at",
                     field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
    ]
