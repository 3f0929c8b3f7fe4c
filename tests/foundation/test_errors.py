"""The error model: every error carries a code, nothing unexpected leaks, limits hold."""

import pytest

from graph.schema import MAX_ALIASES, MAX_DEPTH
from models.schools import Level


@pytest.mark.parametrize(
    "query, code",
    [
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ me { id }", "GRAPHQL_PARSE_FAILED"),
        ('{ learners(first: "ten") { edges { cursor } } }', "GRAPHQL_VALIDATION_FAILED"),
        ('{ node(id: "%%%") { id } }', "BAD_USER_INPUT"),
        ('{ node(id: "TGVhcm5lcg==") { id } }', "BAD_USER_INPUT"),  # "Learner" without a key
        ("{ learners(first: 101) { edges { cursor } } }", "BAD_USER_INPUT"),
        ("{ learners(first: -1) { edges { cursor } } }", "BAD_USER_INPUT"),
        ('{ learners(after: "garbage") { edges { cursor } } }', "BAD_USER_INPUT"),
        ('{ learners(levelId: "TGV2ZWw6MQ==", classroomId: "TGV2ZWw6MQ==") { edges { cursor } } }', "BAD_USER_INPUT"),
    ],
)
async def test_bad_requests_answer_an_error_with_a_code(teacher, query, code):
    response = await teacher.post(query)
    assert response.status_code in (200, 400)
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code
    assert "Traceback" not in response.text and "SELECT" not in response.text


async def test_a_wrong_variable_type_names_the_variable(teacher):
    body = await teacher.execute("query($n: Int) { learners(first: $n) { edges { cursor } } }", n="many")
    assert body["errors"][0]["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT")
    assert "$n" in body["errors"][0]["message"]


async def test_a_query_deeper_than_the_limit_is_refused(teacher):
    query = "{ levels { " + "classrooms { level { " * MAX_DEPTH + "name" + " } }" * MAX_DEPTH + " } }"
    body = await teacher.execute(query)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "depth" in body["errors"][0]["message"]


async def test_too_many_aliases_are_refused(teacher):
    query = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(MAX_ALIASES + 1)) + " }"
    body = await teacher.execute(query)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_request_body_over_the_limit_gets_413(http, settings):
    response = await http.post(
        "/graphql",
        content=b"{" + b" " * settings.request_body_limit + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_a_mutation_over_get_is_refused(http, teacher):
    response = await http.get(
        "/graphql", params={"query": "mutation { signOutEverywhere { revoked } }"}, headers=teacher.headers
    )
    assert response.status_code in (400, 405)


async def test_an_unexpected_failure_is_masked_and_coded(teacher, monkeypatch):
    # given a resolver whose database access fails in an unforeseen way

    def broken(*args, **kwargs):
        raise RuntimeError("SELECT * FROM secret_table at /srv/pfmp/models.py")

    monkeypatch.setattr(Level, "filter", broken)
    # when it is queried
    response = await teacher.speaking("en").post("{ levels { name } }")
    # then the client learns nothing of it but that it happened
    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error."
    french = (await teacher.post("{ levels { name } }")).json()["errors"][0]
    assert (french["message"], french["extensions"]["code"]) == ("Erreur inattendue.", "INTERNAL_SERVER_ERROR")
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret_table" not in response.text and "/srv" not in response.text
