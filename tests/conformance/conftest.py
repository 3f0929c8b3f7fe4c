"""Fixtures of the conformance tests (the harness's own are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conformance.server import ServerProcess


@pytest.fixture
def fault_server(tmp_path, database_url):
    """A `pfmp serve` process on this test's copy of the demo database, with its data and temporary files
    in the test's folder (the `settings` fixture's annex folder is the server's too)."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    server = ServerProcess(tmp_path, args=(), extra_env={"DATABASE_URL": database_url, "TMPDIR": str(tmp_path / "tmp")})
    yield server
    server.stop()
