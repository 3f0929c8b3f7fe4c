"""What fuzzing the API found (tests/conformance/fuzz.py), each kept as a regular test.

Every case used to answer "Unexpected error." (INTERNAL_SERVER_ERROR): a driver or ORM exception
escaping a resolver. Each now gets the answer the error model gives to bad input.
"""

from __future__ import annotations

import base64
import json

import pytest

from graph.types.common import encode_id

LOGIN = (
    "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token errors { code message } } }"
)
FRAMEWORK = "query($c: String!) { framework(code: $c) { code } }"
LEVEL_CREATE = """mutation($input: LevelCreateInput!) { levelCreate(input: $input) {
  level { name } errors { field code reason message } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
PERIOD_DELETE = "mutation($id: ID!) { periodDelete(input: {id: $id}) { deletedPeriodId errors { field code } } }"
LEARNERS = "query($after: String) { learners(first: 2, after: $after) { edges { cursor } } }"


def cursor(position: int | str) -> str:
    """A cursor of the offset kind the learners' list once issued."""
    return base64.b64encode(f"arrayconnection:{position}".encode()).decode()


def learners_cursor(*values) -> str:
    """A cursor of the learners' list as it is issued now: the list's name and the sort values of a row."""
    return base64.b64encode(json.dumps(["learners.last_name", list(values)]).encode()).decode()


async def execute_ascii(api, query: str, **variables) -> dict:
    """Like Api.execute, with the body as ASCII JSON: the only way to send an unpaired surrogate (as an escape)."""
    response = await api.http.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={**api.headers, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def raw_id(type_name: str, key: int) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


# Keys beyond the 32-bit primary keys: OverflowError on SQLite, DataError on PostgreSQL.


@pytest.mark.parametrize("key", [2**31, 2**40, 2**70], ids=["2^31", "2^40", "2^70"])
async def test_an_id_beyond_any_key_is_bad_input(admin, key):
    assert await admin.error_code(NODE, id=raw_id("Period", key)) == "BAD_USER_INPUT"
    data = await admin.data(PERIOD_DELETE, id=raw_id("Period", key))
    assert [(e["field"], e["code"]) for e in data["periodDelete"]["errors"]] == [(["input", "id"], "INVALID")]


async def test_the_largest_key_is_a_valid_id_of_no_row(admin):
    assert (await admin.data(NODE, id=encode_id("Period", 2**31 - 1)))["node"] is None


# Page cursors naming a negative or huge position (a negative OFFSET, or one no driver converts), and cursors
# whose values no column holds.


@pytest.mark.parametrize("position", [-5, -1, 2**31, 10**30, "1e3"])
async def test_a_cursor_this_server_cannot_have_issued_is_bad_input(admin, position):
    assert await admin.error_code(LEARNERS, after=cursor(position)) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "values",
    [("DUPIRE", "Angélique", 2**31), ("DUPIRE", "Angélique", 10**30), ("DUPIRE", 1.5, 3), ("DUPIRE", None, 3), ("A",)],
    ids=["key 2^31", "key 10^30", "a float", "a null", "too few"],
)
async def test_a_keyset_cursor_this_server_cannot_have_issued_is_bad_input(admin, values):
    assert await admin.error_code(LEARNERS, after=learners_cursor(*values)) == "BAD_USER_INPUT"


async def test_the_cursors_this_server_issues_still_page(admin):
    first = (await admin.data(LEARNERS, after=None))["learners"]["edges"]
    second = (await admin.data(LEARNERS, after=first[-1]["cursor"]))["learners"]["edges"]
    assert second and not {e["cursor"] for e in first} & {e["cursor"] for e in second}


# Tortoise validates a filter's value against the column (ValidationError) instead of finding no row.


async def test_signing_in_with_an_email_longer_than_any_account_is_wrong_credentials(anonymous):
    data = await anonymous.data(LOGIN, e="a" * 300 + "@demo.pfmp.test", p="demo-pfmp-2026")
    assert data["login"]["token"] is None
    assert [e["code"] for e in data["login"]["errors"]] == ["INVALID"]


async def test_a_framework_code_longer_than_any_code_is_no_framework(teacher):
    assert (await teacher.data(FRAMEWORK, c="C" * 51))["framework"] is None
    assert (await teacher.data(FRAMEWORK, c="CAP-ELEC"))["framework"]["code"] == "CAP-ELEC"


async def test_a_level_with_a_framework_code_longer_than_any_code_is_not_found(admin):
    data = await admin.data(LEVEL_CREATE, input={"name": "Troisième année", "frameworkCode": "X" * 300})
    assert data["levelCreate"]["level"] is None
    assert [(e["field"], e["code"]) for e in data["levelCreate"]["errors"]] == [
        (["input", "frameworkCode"], "NOT_FOUND")
    ]


# Text no column can hold: NUL (PostgreSQL refuses it) and unpaired surrogates (no UTF-8 encoder takes them).


@pytest.mark.parametrize("text", ["CAP\x00ELEC", "CAP\ud800", "\udfff"], ids=["nul", "high-surrogate", "low"])
async def test_unstorable_text_in_a_variable_is_bad_input_naming_it(teacher, text):
    body = await execute_ascii(teacher, FRAMEWORK, c=text)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "variables.c" in error["message"]


async def test_unstorable_text_deep_in_an_input_object_is_found(admin):
    body = await admin.execute(LEVEL_CREATE, input={"name": "Niveau\x00", "frameworkCode": None})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "variables.input.name" in body["errors"][0]["message"]


async def test_unstorable_text_in_a_literal_is_bad_input(anonymous):
    body = await anonymous.execute('mutation { login(input: {email: "a\\u0000@b.fr", password: "x"}) { token } }')
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("literal", "code"),
    [
        ('"CAP\\u0000"', "BAD_USER_INPUT"),
        ('"CAP\\u{0}"', "BAD_USER_INPUT"),
        ('"CAP\x00"', "BAD_USER_INPUT"),
        ('"CAP\\ud800"', "GRAPHQL_PARSE_FAILED"),
        ('"CAP\ud800"', "GRAPHQL_PARSE_FAILED"),
        ('"""CAP\udfff"""', "GRAPHQL_PARSE_FAILED"),
    ],
    ids=["escaped-nul", "braced-nul", "raw-nul", "escaped-surrogate", "raw-surrogate", "raw-in-a-block-string"],
)
async def test_unstorable_text_in_any_literal_is_refused_before_any_resolver(teacher, literal, code):
    # The text guard finds NUL escaped or written as it is; the parser refuses a surrogate either way.
    body = await execute_ascii(teacher, "query { framework(code: %s) { code } }" % literal)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == code, body


async def test_a_backslash_that_escapes_no_unstorable_text_is_answered(teacher):
    body = await execute_ascii(teacher, 'query { framework(code: "CAP\\u0041\\n") { code } }')
    assert body == {"data": {"framework": None}}, body


async def test_unstorable_text_in_sign_in_is_refused_before_any_lookup(anonymous):
    body = await execute_ascii(anonymous, LOGIN, e="admin@demo.pfmp.test", p="demo\ud800")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
