"""The migration files apply to an empty database of each kind, and re-applying is a no-op."""

import os

from tortoise import Tortoise, connections

from graph.database import apply_migrations
from graph.settings import tortoise_config
from tests.conftest import _pg_admin, _with_database

EXPECTED_TABLES = {
    "school", "level", "classroom", "app_user", "teacher_classroom", "external_identity", "framework",
    "framework_task", "framework_competence", "framework_criterion", "framework_task_competence",
    "scale_level", "framework_unit", "framework_activity", "framework_attitude", "period_template", "period",
    "period_task", "portfolio", "portfolio_trainer", "liaison_fiche", "liaison_fiche_task", "activity_fiche",
    "activity_fiche_task", "activity_fiche_target", "activity_fiche_read", "annex", "company_bilan",
    "company_bilan_mode", "company_bilan_result", "company_bilan_event", "interim_review", "interim_review_bilan",
}


async def _tables(url: str) -> set[str]:
    await Tortoise.init(config=tortoise_config(url))
    try:
        connection = connections.get("default")
        if url.startswith("sqlite"):
            _, rows = await connection.execute_query("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            _, rows = await connection.execute_query(
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'")
        return {row["name"] for row in rows}
    finally:
        await Tortoise.close_connections()


async def test_migrations_apply_to_an_empty_database(backend, server_url, tmp_path):
    # given an empty database of the kind under test
    if backend == "postgres":
        name = f"pfmp_empty_{os.getpid()}"
        await _pg_admin(server_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
        url = _with_database(server_url, name)
    else:
        url = f"sqlite://{tmp_path / 'empty.sqlite3'}"
    try:
        # when the migrations run twice
        await apply_migrations(url)
        await apply_migrations(url)
        # then every table of the model exists
        assert EXPECTED_TABLES <= await _tables(url)
    finally:
        if backend == "postgres":
            await _pg_admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
