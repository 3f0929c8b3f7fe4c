"""The migration files apply to an empty database of each kind, re-applying is a no-op, and 0004 keeps data."""

from tortoise import Tortoise, connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.migrations.api.migrate import migrate as migrate_api

from graph.database import apply_migrations
from graph.settings import tortoise_config

EXPECTED_TABLES = {
    "school",
    "level",
    "classroom",
    "app_user",
    "teacher_classroom",
    "external_identity",
    "framework",
    "framework_task",
    "framework_competence",
    "framework_criterion",
    "framework_task_competence",
    "scale_level",
    "framework_unit",
    "framework_activity",
    "framework_attitude",
    "period_template",
    "period",
    "period_task",
    "portfolio",
    "portfolio_trainer",
    "liaison_fiche",
    "liaison_fiche_task",
    "activity_fiche",
    "activity_fiche_task",
    "activity_fiche_target",
    "activity_fiche_read",
    "annex",
    "company_bilan",
    "company_bilan_mode",
    "company_bilan_result",
    "company_bilan_event",
    "interim_review",
    "interim_review_bilan",
    "signin_throttle",
    "data_stamp",
    "allowance_rate",
    "allowance_statement",
    "trainer_link",
    "idempotency_key",
    "refresh_token",
    "audit_entry",
}


async def _tables(url: str) -> set[str]:
    await Tortoise.init(config=tortoise_config(url))
    try:
        connection = connections.get("default")
        if url.startswith("sqlite"):
            _, rows = await connection.execute_query("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            _, rows = await connection.execute_query(
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        return {row["name"] for row in rows}
    finally:
        await Tortoise.close_connections()


async def _national_rates(url: str) -> list[tuple]:
    await Tortoise.init(config=tortoise_config(url))
    try:
        _, rows = await connections.get("default").execute_query(
            "SELECT diploma_year, valid_from, daily_rate_cents FROM allowance_rate WHERE school_id IS NULL "
            "ORDER BY diploma_year"
        )
        return [(row["diploma_year"], str(row["valid_from"]), row["daily_rate_cents"]) for row in rows]
    finally:
        await Tortoise.close_connections()


async def test_migrations_apply_to_an_empty_database(scratch_database):
    # given an empty database of the kind under test
    url = scratch_database
    # when the migrations run twice
    await apply_migrations(url)
    await apply_migrations(url)
    # then every table of the model exists
    assert EXPECTED_TABLES <= await _tables(url)
    # and the national allowance rates are stored once (domain.md: CAP 10 € and 15 €, the CAP in one year
    # 15 €, Bac Pro 10 €, 15 €, 20 € a day, from 1 September 2023)
    assert await _national_rates(url) == [
        ("BAC_PRO_PREMIERE", "2023-09-01", 1500),
        ("BAC_PRO_SECONDE", "2023-09-01", 1000),
        ("BAC_PRO_TERMINALE", "2023-09-01", 2000),
        ("CAP_1", "2023-09-01", 1000),
        ("CAP_2", "2023-09-01", 1500),
        ("CAP_ONE_YEAR", "2023-09-01", 1500),
    ]


T = "'2026-01-05 08:00:00+00:00'"
# One row in every table 0004 rebuilds, with the parents they need, in the schema as 0002 left it.
ROWS_BEFORE_0004 = [
    f"INSERT INTO school (id, uai, name, created_at, updated_at) VALUES (1, '0590000A', 'Lycée', {T}, {T})",
    f"INSERT INTO framework (id, code, name, source, notes, content_hash, created_at, updated_at) "
    f"VALUES (1, 'F', 'F', '', '[]', 'x', {T}, {T})",
    "INSERT INTO framework_activity (id, code, label, position, framework_id) VALUES (1, '1', 'A', 0, 1)",
    "INSERT INTO framework_task (id, code, label, position, provisional, activity_id, framework_id) "
    "VALUES (1, 'T1', 'T', 0, FALSE, 1, 1)",
    "INSERT INTO framework_competence (id, code, label, position, framework_id) VALUES (1, 'C1', 'C', 0, 1)",
    "INSERT INTO framework_criterion (id, label, position, competence_id) VALUES (1, 'K', 1, 1)",
    f"INSERT INTO level (id, name, position, school_id, framework_id, created_at, updated_at) "
    f"VALUES (1, 'L', 1, 1, 1, {T}, {T})",
    f"INSERT INTO app_user (id, role, email, first_name, last_name, is_active, token_version, school_id, "
    f"created_at, updated_at) VALUES (1, 'LEARNER', 'a@b.test', 'A', 'B', TRUE, 1, 1, {T}, {T})",
    f"INSERT INTO period_template (id, name, objectives, level_id, school_id, created_at, updated_at) "
    f"VALUES (1, 'M', '', 1, 1, {T}, {T})",
    f"INSERT INTO period (id, name, start_date, end_date, school_year, certifying, objectives, version, level_id, "
    f"school_id, created_at, updated_at) VALUES (1, 'P', '2026-01-05', '2026-01-16', 2025, TRUE, '', 1, 1, 1, {T}, {T})",
    f"INSERT INTO portfolio (id, learner_id, period_id, school_id, created_at, updated_at) VALUES (1, 1, 1, 1, {T}, {T})",
    f"INSERT INTO liaison_fiche (id, objectives, objectives_individualized, tasks_individualized, version, "
    f"portfolio_id, created_at, updated_at) VALUES (1, '', FALSE, FALSE, 1, 1, {T}, {T})",
    f"INSERT INTO activity_fiche (id, title, description, analysis, learner_changed_at, version, learner_id, "
    f"school_id, portfolio_id, created_at, updated_at) VALUES (1, 'F', '', '', {T}, 1, 1, 1, 1, {T}, {T})",
    f"INSERT INTO company_bilan (id, status, comment, version, portfolio_id, created_at, updated_at) "
    f"VALUES (1, 'DRAFT', '', 1, 1, {T}, {T})",
    "INSERT INTO period_task (period_id, task_id) VALUES (1, 1)",
    "INSERT INTO period_template_task (period_template_id, task_id) VALUES (1, 1)",
    "INSERT INTO liaison_fiche_task (liaison_fiche_id, task_id) VALUES (1, 1)",
    "INSERT INTO activity_fiche_task (id, ticked_by_learner, checked_by_teacher, fiche_id, task_id) "
    "VALUES (1, TRUE, FALSE, 1, 1)",
    "INSERT INTO activity_fiche_target (id, fiche_id, task_id, competence_id, criterion_id) VALUES (1, 1, 1, 1, 1)",
    "INSERT INTO company_bilan_mode (id, mode, bilan_id, competence_id) VALUES (1, 'CRITERIA', 1, 1)",
    f"INSERT INTO company_bilan_result (id, level, recorded_at, bilan_id, competence_id, criterion_id) "
    f"VALUES (1, 'ACQUIRED', {T}, 1, 1, 1)",
]
REBUILT = [
    "activity_fiche_task",
    "activity_fiche_target",
    "company_bilan_mode",
    "company_bilan_result",
    "liaison_fiche_task",
    "period_task",
    "period_template_task",
]


async def _rows(url: str, statements: list[str] | None = None) -> dict[str, list]:
    await Tortoise.init(config=tortoise_config(url))
    try:
        connection = connections.get("default")
        for statement in statements or []:
            await connection.execute_script(statement)
        found = {}
        for table in REBUILT:
            _, rows = await connection.execute_query(f'SELECT * FROM "{table}"')
            found[table] = sorted(tuple(sorted(dict(row).items())) for row in rows)
        return found
    finally:
        await Tortoise.close_connections()


async def _refused(url: str, statement: str) -> bool:
    await Tortoise.init(config=tortoise_config(url))
    try:
        try:
            await connections.get("default").execute_script(statement)
        except (IntegrityError, OperationalError):
            return True
        return False
    finally:
        await Tortoise.close_connections()


async def test_0004_keeps_every_link_and_makes_framework_entries_undeletable_under_them(scratch_database):
    # given a database left by 0002 with a fiche, a liaison fiche, a period, a template and a bilan naming entries
    url = scratch_database
    await migrate_api(config=tortoise_config(url), target="models.0002_foreign_key_indexes")
    await Tortoise.close_connections()
    before = await _rows(url, ROWS_BEFORE_0004)
    assert all(before[table] for table in REBUILT)
    # when 0004 runs
    await apply_migrations(url)
    # then every row is still there as it was
    assert await _rows(url) == before
    # and the database refuses to delete a framework entry something names (nothing cascades)
    for table in ("framework_criterion", "framework_competence", "framework_task"):
        assert await _refused(url, f"DELETE FROM {table} WHERE id = 1"), table
    # and the rebuilt tables kept their unique constraints
    assert await _refused(
        url,
        "INSERT INTO activity_fiche_task (id, ticked_by_learner, checked_by_teacher, "
        "fiche_id, task_id) VALUES (2, TRUE, FALSE, 1, 1)",
    )
    assert await _refused(url, "INSERT INTO liaison_fiche_task (liaison_fiche_id, task_id) VALUES (1, 1)")
    assert await _refused(
        url, "INSERT INTO company_bilan_mode (id, mode, bilan_id, competence_id) VALUES (2, 'GLOBAL', 1, 1)"
    )
    # while deleting what holds the links still takes them along
    assert not await _refused(url, "DELETE FROM period WHERE id = 1")
    after = await _rows(url)
    assert after["liaison_fiche_task"] == [] and after["company_bilan_result"] == []
    assert after["period_template_task"] == before["period_template_task"]
