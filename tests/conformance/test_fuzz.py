"""Fuzzing the whole GraphQL schema with schemathesis, with each role's token and without one (fuzz.py).

A few minutes: it runs only with PFMP_FUZZ=1 and the `fuzz` extra installed. PFMP_FUZZ_EXAMPLES and
PFMP_FUZZ_SECONDS bound it (examples an operation, seconds a role). On PostgreSQL each role gets a fresh
database on the harness's server. What it once found is kept in test_fuzz_regressions.py, which always runs.
"""

from __future__ import annotations

import os

import pytest

from tests.conformance.fuzz import fuzz_live_servers, report

pytestmark = pytest.mark.skipif(
    os.environ.get("PFMP_FUZZ") != "1",
    reason="fuzzing runs only with PFMP_FUZZ=1 (a few minutes; pip install -e '.[fuzz]')",
)


def test_no_role_gets_a_5xx_a_masked_defect_or_a_leak(tmp_path, backend, server_url):
    runs = fuzz_live_servers(
        tmp_path,
        examples=int(os.environ.get("PFMP_FUZZ_EXAMPLES", "20")),
        seconds=int(os.environ.get("PFMP_FUZZ_SECONDS", "30")),
        postgres_url=server_url if backend == "postgres" else None,
    )
    assert all(run.clean for run in runs), report(runs)
