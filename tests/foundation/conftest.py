"""Fixtures of the foundation tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from tortoise import Tortoise

from tests.conftest import _pg_admin, _with_database


@pytest.fixture
async def scratch_database(backend, server_url, tmp_path, request) -> AsyncIterator[str]:
    """The URL of an empty database of the kind under test, of this test's own (a migration test migrates it to
    where it needs), dropped at the end on PostgreSQL."""
    if backend != "postgres":
        yield f"sqlite://{tmp_path / 'scratch.sqlite3'}"
        await Tortoise.close_connections()
        return
    name = f"pfmp_scratch_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    await _pg_admin(server_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    try:
        yield _with_database(server_url, name)
    finally:
        await Tortoise.close_connections()
        await _pg_admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
