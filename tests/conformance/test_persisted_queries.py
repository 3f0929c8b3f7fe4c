"""Automatic persisted queries against the live server, as an Apollo client's persisted-query link sends them
with `useGETForHashedQueries`: the hash alone on GET, PersistedQueryNotFound, the query with its hash on POST, then
the hash alone on GET answered (issue 16, part 4)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from models.users import Role
from resolvers.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conformance.server import live_server

AUDIT_DIR = os.environ.get("PFMP_AUDIT_DIR", "")
HAVE_APOLLO = bool(shutil.which("node")) and (Path(AUDIT_DIR) / "node_modules" / "@apollo" / "client").is_dir()
TEACHER_EMAIL = next(email for role, email, *_ in DEMO_ACCOUNTS if role is Role.TEACHER)
LOGIN = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { token } }"
QUERY = "query MyClassrooms {\n  me {\n    __typename\n    ... on Teacher {\n      classrooms {\n        name\n      }\n    }\n  }\n}"


def _apollo_get(http: httpx.Client, operation: str, variables: dict, digest: str) -> httpx.Response:
    # The link's GET: operationName, variables and extensions as JSON in the query string, no query.
    return http.get(
        "/graphql",
        params={
            "operationName": operation,
            "variables": json.dumps(variables, separators=(",", ":")),
            "extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}}, separators=(",", ":")),
        },
    )


def test_an_apollo_style_client_registers_a_query_then_sends_its_hash_alone(tmp_path):
    digest = hashlib.sha256(QUERY.encode()).hexdigest()
    with live_server(tmp_path) as base, httpx.Client(base_url=base, timeout=30) as http:
        token = http.post(
            "/graphql", json={"query": LOGIN, "variables": {"email": TEACHER_EMAIL, "password": DEMO_PASSWORD}}
        ).json()["data"]["login"]["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        # first the hash alone, on GET: the server does not know it
        first = _apollo_get(http, "MyClassrooms", {}, digest)
        assert first.status_code == 200
        errors = first.json()["errors"]
        assert errors[0]["message"] == "PersistedQueryNotFound"
        assert errors[0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        # then the link retries on POST with the query and its hash
        retried = http.post(
            "/graphql",
            json={
                "operationName": "MyClassrooms",
                "variables": {},
                "query": QUERY,
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
            },
        )
        assert retried.status_code == 200
        answer = retried.json()
        assert answer["data"]["me"]["__typename"] == "Teacher"
        assert {c["name"] for c in answer["data"]["me"]["classrooms"]} == {"CAP 1 ELEC", "CAPELECT"}
        # and from then on the hash alone on GET is answered, the same answer
        again = _apollo_get(http, "MyClassrooms", {}, digest)
        assert again.status_code == 200
        assert again.json() == answer
        # a GET of a few hundred bytes instead of the document
        assert QUERY.encode() not in str(again.request.url).encode()


@pytest.mark.skipif(
    not HAVE_APOLLO and os.environ.get("PFMP_REQUIRE_AUDIT") != "1",
    reason="@apollo/client not installed (set PFMP_AUDIT_DIR)",
)
def test_apollo_clients_persisted_query_link_against_the_live_server(tmp_path):
    assert HAVE_APOLLO, "PFMP_REQUIRE_AUDIT=1 but node or @apollo/client is missing"
    with live_server(tmp_path) as base:
        result = subprocess.run(
            ["node", str(Path(__file__).with_name("apq_client.mjs")), f"{base}/graphql", TEACHER_EMAIL, DEMO_PASSWORD],
            env={**os.environ, "PFMP_AUDIT_DIR": AUDIT_DIR},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    sent = report["sent"]
    # the link's first request is the hash alone on GET, answered PersistedQueryNotFound; it retries on POST with
    # the query; the second time the hash alone on GET is answered
    assert [(s["method"], s["withQuery"], s["errorCodes"]) for s in sent] == [
        ("GET", False, ["PERSISTED_QUERY_NOT_FOUND"]),
        ("POST", True, []),
        ("GET", False, []),
    ]
    assert len({s["hash"] for s in sent}) == 1 and all(s["status"] == 200 for s in sent)
    assert report["first"] == report["second"]
    assert {c["name"] for c in report["first"]["me"]["classrooms"]} == {"CAP 1 ELEC", "CAPELECT"}
