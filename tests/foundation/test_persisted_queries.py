"""Automatic persisted queries (issue 16, part 4) through the real app: the hash protocol Apollo clients send,
on GET and POST; a hash runs exactly what its query would, under the same rules (GET for queries only, the cost
limit, validation)."""

from __future__ import annotations

import hashlib
import json

import pytest

from graph.cost import MAX_COST
from tests.conftest import _settings

ME = "query Me { me { __typename } }"
LOGIN = 'mutation { login(input: {email: "nobody@x.test", password: "x"}) { token } }'


@pytest.fixture
def settings(tmp_path, database_url):
    # As served in production: GraphiQL off (a GET without `query` must still be answered), the response cache on.
    return _settings(tmp_path, database_url, graphiql=False, response_cache_bytes=1 << 20)


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _extensions(query: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": _hash(query)}}


async def _get(api, query: str, **params):
    return await api.http.get(
        "/graphql",
        params={"extensions": json.dumps(_extensions(query)), **params},
        headers=api.headers,
    )


async def _post(api, body: dict):
    return await api.http.post("/graphql", json=body, headers=api.headers)


def _not_found(response) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
    }


async def test_an_unknown_hash_is_not_found_then_registered_with_its_query_then_runs_alone(teacher):
    # given a hash the server has never seen, sent alone on GET and on POST
    _not_found(await _get(teacher, ME, operationName="Me"))
    _not_found(await _post(teacher, {"operationName": "Me", "extensions": _extensions(ME)}))
    # when the client sends the query with its hash
    registered = await _post(teacher, {"query": ME, "operationName": "Me", "extensions": _extensions(ME)})
    assert registered.json() == {"data": {"me": {"__typename": "Teacher"}}}
    # then the hash alone runs it, on GET and on POST, for anyone (the document is not the viewer's)
    alone = await _get(teacher, ME, operationName="Me")
    assert alone.status_code == 200 and alone.json() == {"data": {"me": {"__typename": "Teacher"}}}
    assert (await _post(teacher, {"extensions": _extensions(ME)})).json() == registered.json()


async def test_a_hash_that_is_not_the_querys_is_refused_and_not_kept(teacher):
    other = "query Other { me { id } }"
    # when a query comes with the hash of another document
    refused = await _post(teacher, {"query": other, "extensions": _extensions(ME)})
    # then it is refused, runs nothing, and the hash names nothing afterwards
    assert refused.status_code == 400
    assert "sha256Hash" in refused.json()["errors"][0]["message"]
    assert "data" not in refused.json()
    _not_found(await _post(teacher, {"extensions": _extensions(ME)}))


async def test_a_malformed_persisted_query_extension_is_refused(teacher):
    for persisted in (
        {"version": 2, "sha256Hash": _hash(ME)},
        {"version": 1, "sha256Hash": "abc"},
        {"version": 1},
        "yes",
    ):
        response = await _post(teacher, {"query": ME, "extensions": {"persistedQuery": persisted}})
        assert response.status_code == 400, persisted
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_an_invalid_query_is_never_kept_under_its_hash(teacher):
    broken = "query { nothingHere }"
    first = await _post(teacher, {"query": broken, "extensions": _extensions(broken)})
    assert first.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    _not_found(await _post(teacher, {"extensions": _extensions(broken)}))


async def test_a_persisted_mutation_still_cannot_run_on_get(anonymous):
    # given a mutation registered by POST
    await _post(anonymous, {"query": LOGIN, "extensions": _extensions(LOGIN)})
    # when its hash alone comes on GET, then it is refused as the mutation's text would be
    response = await _get(anonymous, LOGIN)
    assert response.status_code in (400, 405)
    assert "data" not in response.json() or response.json()["data"] is None
    # and on POST it runs
    answer = (await _post(anonymous, {"extensions": _extensions(LOGIN)})).json()
    assert answer == {"data": {"login": {"token": None}}}


async def test_a_persisted_query_is_held_to_the_cost_limit(teacher):
    level_id = "TGV2ZWw6MQ=="  # Level:1: the cost is judged before anything is read
    costly = (
        "query($id: ID!) { "
        + " ".join(f"d{n}: node(id: $id) {{ ... on Level {{ dashboard {{ __typename }} }} }}" for n in range(25))
        + " }"
    )
    first = (
        await _post(teacher, {"query": costly, "variables": {"id": level_id}, "extensions": _extensions(costly)})
    ).json()
    assert first["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert first["errors"][0]["extensions"]["maxCost"] == MAX_COST
    # refused before it ran: never kept, so the hash alone is not found
    _not_found(await _post(teacher, {"variables": {"id": level_id}, "extensions": _extensions(costly)}))
