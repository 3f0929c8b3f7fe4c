"""Every column the API finds rows by leads an index, on both databases: otherwise the lookup scans the whole
table and slows down as schools are added (measured with bench/load.py at academy scale: the learner view's
annexes and a level's dashboard portfolios went from index scans to 10-20 ms scans of every school's rows)."""

import pytest
from tortoise import connections

# (table, column): the row-reach filters of permissions/scopes.py and the loaders' parent keys.
LOOKUPS = [
    ("portfolio", "period_id"),
    ("portfolio", "learner_id"),
    ("portfolio_trainer", "portfolio_id"),
    ("portfolio_trainer", "user_id"),
    ("liaison_fiche", "portfolio_id"),
    ("company_bilan", "portfolio_id"),
    ("activity_fiche", "portfolio_id"),
    ("activity_fiche", "learner_id"),
    ("activity_fiche_task", "fiche_id"),
    ("activity_fiche_target", "fiche_id"),
    ("activity_fiche_read", "fiche_id"),
    ("annex", "fiche_id"),
    ("company_bilan_mode", "bilan_id"),
    ("company_bilan_result", "bilan_id"),
    ("company_bilan_event", "bilan_id"),
    ("interim_review", "learner_id"),
    ("teacher_classroom", "app_user_id"),
    ("period", "level_id"),
    ("trainer_link", "portfolio_id"),
    ("trainer_link", "trainer_id"),
    # issue 16, part 4: a key is claimed and found by (user, key); a refresh token by its hash, a family revoked
    # whole, expired rows swept by their expiry
    ("idempotency_key", "user_id"),
    ("idempotency_key", "expires_at"),
    ("refresh_token", "digest"),
    ("refresh_token", "family"),
    ("refresh_token", "expires_at"),
    ("refresh_token", "user_id"),
]


async def _leading_columns(backend: str, table: str) -> set[str]:
    connection = connections.get("default")
    if backend == "postgres":
        rows = await connection.execute_query_dict(
            "SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = $1::regclass",
            [table],
        )
        return {row["name"] for row in rows}
    found = set()
    for index in await connection.execute_query_dict(f'PRAGMA index_list("{table}")'):
        columns = await connection.execute_query_dict(f'PRAGMA index_info("{index["name"]}")')
        found.update(c["name"] for c in columns if c["seqno"] == 0)
    return found


@pytest.mark.parametrize("table, column", LOOKUPS)
async def test_a_lookup_column_leads_an_index(app, backend, table, column):
    assert column in await _leading_columns(backend, table), f"no index starts with {table}.{column}"
