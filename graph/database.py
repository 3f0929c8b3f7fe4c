"""Bringing a database up to date: migrations, built-in frameworks, demo data."""

from __future__ import annotations

import contextlib

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate as migrate_api

from graph.settings import Settings, tortoise_config
from models import stamps
from resolvers.demo import load_demo_data
from resolvers.frameworks.importing import load_builtin_frameworks


async def apply_migrations(database_url: str) -> None:
    """Apply every pending migration of models/migrations (the same files on SQLite and PostgreSQL)."""
    await migrate_api(config=tortoise_config(database_url))
    await Tortoise.close_connections()


@contextlib.asynccontextmanager
async def orm(database_url: str):
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()


async def prepare_database(settings: Settings, *, demo: bool = False) -> dict:
    """Migrate, load the built-in frameworks, and fill an empty database with the demo data if asked.

    Bumps the global data stamp (models/stamps.py): a release may change what a read answers (a migration that
    changes rows, new code), so no answer cached or tagged before it is served again."""
    await apply_migrations(settings.database_url)
    report = {}
    async with orm(settings.database_url):
        await stamps.bump(stamps.GLOBAL)
        results = await load_builtin_frameworks()
        report["frameworks_changed"] = sum(1 for r in results if r.changed)
        if demo:
            report["demo_loaded"] = await load_demo_data()
    return report
