"""Framework shape stamps (models.frameworks.FrameworkShapeStamp): a random token per framework, replaced by triggers
on every insert, update or delete of a row of its structure, whatever the path (import, retirement, the CLI, SQL),
on PostgreSQL and on SQLite alike. The visit screen and the documents keep a framework's structure per process under
its token (resolvers/bilans/grid.py) instead of reading it in seven statements per request. Existing frameworks get a
token now. A later migration that rebuilds one of these tables on SQLite must create its triggers again."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# (table of a framework's structure, its column naming the framework or the parent row, the parent's table or None)
STRUCTURE = [
    ("scale_level", "framework_id", None),
    ("framework_unit", "framework_id", None),
    ("framework_activity", "framework_id", None),
    ("framework_task", "framework_id", None),
    ("framework_competence", "framework_id", None),
    ("framework_criterion", "competence_id", "framework_competence"),
    ("framework_task_competence", "task_id", "framework_task"),
]

POSTGRES_TOKEN = "(random() * 9.2e18)::bigint"
# SQLite's random() is already a signed 64-bit integer.
SQLITE_TOKEN = "random()"

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION pfmp_framework_shape_changed() RETURNS trigger AS $$
DECLARE
    keys integer[] := '{{}}';
    frameworks integer[];
BEGIN
    IF TG_OP <> 'DELETE' THEN
        keys := keys || (to_jsonb(NEW) ->> TG_ARGV[0])::integer;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        keys := keys || (to_jsonb(OLD) ->> TG_ARGV[0])::integer;
    END IF;
    IF TG_NARGS > 1 THEN
        -- a criterion or a task's link: its framework is its parent's (gone when the parent's deletion cascades:
        -- the parent's own trigger has replaced the token then)
        EXECUTE format('SELECT array_agg(framework_id) FROM %I WHERE id = ANY($1)', TG_ARGV[1]) INTO frameworks
            USING keys;
    ELSE
        frameworks := keys;
    END IF;
    INSERT INTO framework_shape_stamp (framework_id, token)
        SELECT f, {POSTGRES_TOKEN} FROM (SELECT DISTINCT f FROM unnest(frameworks) AS f WHERE f IS NOT NULL) AS d
        ON CONFLICT (framework_id) DO UPDATE SET token = excluded.token;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _postgres_triggers() -> str:
    triggers = ""
    for table, column, parent in STRUCTURE:
        arguments = f"'{column}', '{parent}'" if parent else f"'{column}'"
        triggers += (
            f"CREATE TRIGGER {table}_shape AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION pfmp_framework_shape_changed({arguments});\n"
        )
    backfill = f"INSERT INTO framework_shape_stamp (framework_id, token) SELECT id, {POSTGRES_TOKEN} FROM framework;\n"
    return POSTGRES_FUNCTION + triggers + backfill


def _sqlite_triggers() -> str:
    script = []
    for table, column, parent in STRUCTURE:
        for op, rows in (("insert", ["NEW"]), ("update", ["NEW", "OLD"]), ("delete", ["OLD"])):
            keys = ", ".join(f"{row}.{column}" for row in rows)
            if parent is None:
                source = f"SELECT id, {SQLITE_TOKEN} FROM framework WHERE id IN ({keys})"
            else:
                # `WHERE true`: SQLite's upsert after a SELECT … FROM needs a WHERE to parse
                source = (
                    f"SELECT framework_id, {SQLITE_TOKEN} FROM "
                    f"(SELECT DISTINCT framework_id FROM {parent} WHERE id IN ({keys})) WHERE true"
                )
            script.append(
                f"CREATE TRIGGER {table}_shape_{op} AFTER {op.upper()} ON {table} FOR EACH ROW BEGIN "
                f"INSERT INTO framework_shape_stamp (framework_id, token) {source} "
                "ON CONFLICT (framework_id) DO UPDATE SET token = excluded.token; END;"
            )
    script.append(f"INSERT INTO framework_shape_stamp (framework_id, token) SELECT id, {SQLITE_TOKEN} FROM framework;")
    return "\n".join(script)


async def _create(apps, editor) -> None:
    client = editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(_postgres_triggers())
    else:
        await client.execute_script(_sqlite_triggers())


async def _drop(apps, editor) -> None:
    client = editor.client
    if client.capabilities.dialect == "postgres":
        drops = [f"DROP TRIGGER IF EXISTS {table}_shape ON {table};" for table, _, _ in STRUCTURE]
        drops.append("DROP FUNCTION IF EXISTS pfmp_framework_shape_changed();")
    else:
        drops = [
            f"DROP TRIGGER IF EXISTS {table}_shape_{op};"
            for table, _, _ in STRUCTURE
            for op in ("insert", "update", "delete")
        ]
    await client.execute_script("\n".join(drops))


class Migration(migrations.Migration):
    dependencies = [("models", "0017_update_times")]

    initial = False

    operations = [
        ops.CreateModel(
            name="FrameworkShapeStamp",
            fields=[
                ("framework_id", fields.IntField(primary_key=True, generated=False)),
                ("token", fields.BigIntField()),
            ],
            options={
                "table": "framework_shape_stamp",
                "app": "models",
                "pk_attr": "framework_id",
                "table_description": "A token that changes with every write of a framework's structure.",
            },
            bases=["Model"],
        ),
        ops.RunPython(_create, _drop),
    ]
