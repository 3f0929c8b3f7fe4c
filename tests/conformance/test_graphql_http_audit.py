"""GraphQL over HTTP conformance: the graphql-http audit suite (npm) against the live server.

Needs Node.js and the npm package graphql-http installed in $PFMP_AUDIT_DIR
(`.ci/run` installs it). Without them the test is skipped, unless
PFMP_REQUIRE_AUDIT=1 says the run must include it.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conformance.server import live_server

AUDIT_DIR = os.environ.get("PFMP_AUDIT_DIR", "")
HAVE_AUDIT = bool(shutil.which("node")) and (Path(AUDIT_DIR) / "node_modules" / "graphql-http").is_dir()


@pytest.mark.skipif(
    not HAVE_AUDIT and os.environ.get("PFMP_REQUIRE_AUDIT") != "1",
    reason="graphql-http audit not installed (set PFMP_AUDIT_DIR)",
)
def test_no_must_of_the_graphql_over_http_audit_fails(tmp_path):
    assert HAVE_AUDIT, "PFMP_REQUIRE_AUDIT=1 but node or graphql-http is missing"
    with live_server(tmp_path) as base:
        result = subprocess.run(
            ["node", str(Path(__file__).with_name("audit.mjs")), f"{base}/graphql"],
            env={**os.environ, "PFMP_AUDIT_DIR": AUDIT_DIR},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"error":0' in result.stdout
    # The SHOULDs too (application/graphql-response+json: 400 on parse and validation failures, no data entry).
    assert '"warn":0' in result.stdout, result.stdout
