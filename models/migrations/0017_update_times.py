"""Update times a sync can trust (issue 13, part 2: `updatedSince`). `portfolio` and `activity_fiche` had an
`updated_at` column since 0001 (not null), but only Tortoise's `save()` set it (`auto_now`): a `QuerySet.update()`
left it behind, and so did a change to a row the list's node shows (a fiche's tasks or annexes, a portfolio's
fiches, bilan, liaison fiche or trainers). Triggers now set it on every write, whatever the path, on PostgreSQL
and on SQLite alike:

- a row of `portfolio`, `activity_fiche` or `liaison_fiche` updated without a new `updated_at` gets the time of
  the write (a `save()` keeps the time Tortoise gave it, so a mutation's answer shows what a later read shows);
- a fiche is touched by a write of its tasks, evaluation targets, activity types and annexes;
- a portfolio is touched by a write of its fiches (their counts), its bilan (status, progress), its liaison fiche
  (and so its tasks) and its trainers.

Old rows get the newest of the times they and those rows hold. Indexes (period, update time) and (portfolio,
update time) serve `updatedSince`. A later migration that rebuilds one of these tables on SQLite must create its
triggers again."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# (table whose write touches, its column naming the touched row, the touched table)
PARENTS = [
    ("activity_fiche_task", "fiche_id", "activity_fiche"),
    ("activity_fiche_target", "fiche_id", "activity_fiche"),
    ("activity_fiche_activity_type", "activity_fiche_id", "activity_fiche"),
    ("annex", "fiche_id", "activity_fiche"),
    ("liaison_fiche_task", "liaison_fiche_id", "liaison_fiche"),
    ("activity_fiche", "portfolio_id", "portfolio"),
    ("company_bilan", "portfolio_id", "portfolio"),
    ("liaison_fiche", "portfolio_id", "portfolio"),
    ("portfolio_trainer", "portfolio_id", "portfolio"),
]
# Tables whose own update sets their time when the writer did not.
OWN = ["portfolio", "activity_fiche", "liaison_fiche"]

# SQLite: the text Tortoise writes (`isoformat(" ")`, UTC), to the millisecond SQLite's clock gives.
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000+00:00'"

POSTGRES_FUNCTIONS = """
CREATE OR REPLACE FUNCTION pfmp_touch_own() RETURNS trigger AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := clock_timestamp();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION pfmp_touch_parent() RETURNS trigger AS $$
DECLARE
    ids integer[] := '{}';
BEGIN
    IF TG_OP <> 'DELETE' THEN
        ids := ids || (to_jsonb(NEW) ->> TG_ARGV[1])::integer;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        ids := ids || (to_jsonb(OLD) ->> TG_ARGV[1])::integer;
    END IF;
    EXECUTE format('UPDATE %I SET updated_at = clock_timestamp() WHERE id = ANY($1)', TG_ARGV[0]) USING ids;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _postgres_triggers() -> str:
    own = "".join(
        f"CREATE TRIGGER {table}_touch BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION pfmp_touch_own();\n"
        for table in OWN
    )
    parents = "".join(
        f"CREATE TRIGGER {child}_touch_{parent} AFTER INSERT OR UPDATE OR DELETE ON {child} FOR EACH ROW "
        f"EXECUTE FUNCTION pfmp_touch_parent('{parent}', '{column}');\n"
        for child, column, parent in PARENTS
    )
    return POSTGRES_FUNCTIONS + own + parents


def _sqlite_triggers() -> str:
    script = []
    for table in OWN:
        # Recursive triggers are off in SQLite: the inner update does not fire this trigger again.
        script.append(
            f"CREATE TRIGGER {table}_touch AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN NEW.updated_at IS OLD.updated_at BEGIN "
            f"UPDATE {table} SET updated_at = {SQLITE_NOW} WHERE id = NEW.id; END;"
        )
    for child, column, parent in PARENTS:
        touch = f"UPDATE {parent} SET updated_at = {SQLITE_NOW} WHERE id"
        name = f"{child}_touch_{parent}"
        script += [
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {child} FOR EACH ROW BEGIN "
            f"{touch} = NEW.{column}; END;",
            f"CREATE TRIGGER {name}_update AFTER UPDATE ON {child} FOR EACH ROW BEGIN "
            f"{touch} IN (NEW.{column}, OLD.{column}); END;",
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {child} FOR EACH ROW BEGIN "
            f"{touch} = OLD.{column}; END;",
        ]
    return "\n".join(script)


def _backfill(newest: str) -> str:
    """Old rows: the newest time they or the rows their node shows hold (`newest`: GREATEST or SQLite's MAX)."""
    return f"""
UPDATE activity_fiche SET updated_at = {newest}(
    updated_at, learner_changed_at, COALESCE(deleted_at, updated_at),
    COALESCE((SELECT MAX(a.updated_at) FROM annex a WHERE a.fiche_id = activity_fiche.id), updated_at));
UPDATE portfolio SET updated_at = {newest}(
    updated_at,
    COALESCE((SELECT MAX(f.updated_at) FROM activity_fiche f WHERE f.portfolio_id = portfolio.id), updated_at),
    COALESCE((SELECT MAX(b.updated_at) FROM company_bilan b WHERE b.portfolio_id = portfolio.id), updated_at),
    COALESCE((SELECT MAX(l.updated_at) FROM liaison_fiche l WHERE l.portfolio_id = portfolio.id), updated_at));
"""


async def _create(apps, editor) -> None:
    client = editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(_backfill("GREATEST") + _postgres_triggers())
    else:
        await client.execute_script(_backfill("MAX") + _sqlite_triggers())


async def _drop(apps, editor) -> None:
    client = editor.client
    postgres = client.capabilities.dialect == "postgres"
    names = [(f"{table}_touch", table) for table in OWN]
    for child, _, parent in PARENTS:
        stem = f"{child}_touch_{parent}"
        names += [(stem, child)] if postgres else [(f"{stem}_{op}", child) for op in ("insert", "update", "delete")]
    if postgres:
        drops = [f"DROP TRIGGER IF EXISTS {name} ON {table};" for name, table in names]
        drops += ["DROP FUNCTION IF EXISTS pfmp_touch_own();", "DROP FUNCTION IF EXISTS pfmp_touch_parent();"]
    else:
        drops = [f"DROP TRIGGER IF EXISTS {name};" for name, _ in names]
    await client.execute_script("\n".join(drops))


class Migration(migrations.Migration):
    dependencies = [("models", "0016_provider_sessions")]

    initial = False

    operations = [
        ops.AddIndex(model_name="Portfolio", index=Index(fields=["period_id", "updated_at"])),
        ops.AddIndex(model_name="ActivityFiche", index=Index(fields=["portfolio_id", "updated_at"])),
        ops.RunPython(_create, _drop),
    ]
