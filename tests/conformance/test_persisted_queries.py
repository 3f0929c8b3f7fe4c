"""Automatic persisted queries against the live server, as an Apollo client's persisted-query link sends them
with `useGETForHashedQueries`: the hash alone on GET, PersistedQueryNotFound, the query with its hash on POST, then
the hash alone on GET answered (issue 16, part 4)."""

from __future__ import annotations

import hashlib
import json

import httpx

from models.users import Role
from resolvers.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conformance.server import live_server

TEACHER_EMAIL = next(email for role, email, *_ in DEMO_ACCOUNTS if role is Role.TEACHER)
LOGIN = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }"
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
