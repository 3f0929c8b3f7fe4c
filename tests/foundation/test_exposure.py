"""What a security review expects of the HTTP surface (issue 11, item 6): introspection and "Did you mean"
hints off in production unless a setting enables them, no password in a log line, cache and page headers."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import re

import httpx
import pytest

from graph.app import create_app
from graph.settings import load_settings

INTROSPECTION = [
    "{ __schema { queryType { name } } }",
    '{ __type(name: "Level") { name } }',
    "query { levels { name } ...F } fragment F on Query { __schema { types { name } } }",
]
TYPO = "{ levels { nme } }"  # graphql-core answers: Cannot query field 'nme' on type 'Level'. Did you mean 'name'?


@pytest.fixture
async def production(settings):
    """A client of the app configured as in production, with the token secret of the tests."""

    async def client_for(**overrides):
        values = dict(environment="production", graphiql=False, introspection=False)
        values.update(overrides)
        application = create_app(dataclasses.replace(settings, **values))
        context = application.router.lifespan_context(application)
        await context.__aenter__()
        opened.append(context)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t")

    opened: list = []
    yield client_for
    for context in opened:
        await context.__aexit__(None, None, None)


async def _post(client: httpx.AsyncClient, query: str, headers: dict | None = None) -> dict:
    response = await client.post("/graphql", json={"query": query}, headers=headers or {})
    assert response.status_code in (200, 400), response.text
    return response.json()


@pytest.mark.parametrize("query", INTROSPECTION)
async def test_introspection_is_refused_in_production(production, teacher, query):
    client = await production()
    body = await _post(client, query, teacher.headers)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "queryType" not in str(body) and "types" not in str(body.get("data"))


async def test_typename_still_answers_in_production(production, teacher):
    client = await production()
    assert await _post(client, "{ __typename levels { __typename } }", teacher.headers) == {
        "data": {"__typename": "Query", "levels": [{"__typename": "Level"}]}
    }


@pytest.mark.parametrize("query", INTROSPECTION[:2])
async def test_introspection_answers_in_production_when_the_setting_enables_it(production, teacher, query):
    client = await production(introspection=True)
    body = await _post(client, query, teacher.headers)
    assert "errors" not in body and body["data"]


@pytest.mark.parametrize("query", INTROSPECTION[:2])
async def test_introspection_answers_in_development(teacher, query):
    assert await teacher.data(query)


async def test_did_you_mean_is_cut_in_production(production, teacher):
    client = await production()
    body = await _post(client, TYPO, teacher.headers)
    message = body["errors"][0]["message"]
    assert "nme" in message and "Did you mean" not in message and "'name'" not in message
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_did_you_mean_is_kept_in_development(teacher):
    body = await teacher.execute(TYPO)
    assert "Did you mean 'name'?" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "environment, raw, expected",
    [
        ("production", None, False),
        ("production", "1", True),
        ("development", None, True),
        ("development", "0", False),
    ],
)
def test_the_introspection_setting(monkeypatch, tmp_path, environment, raw, expected):
    monkeypatch.setenv("PFMP_ENV", environment)
    monkeypatch.setenv("PFMP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PFMP_TOKEN_SECRET", "s" * 40)
    if raw is None:
        monkeypatch.delenv("PFMP_INTROSPECTION", raising=False)
    else:
        monkeypatch.setenv("PFMP_INTROSPECTION", raw)
    assert load_settings().introspection is expected


SECRET = "Inline-S3cret-pw-42"
LEAKY_REQUESTS = [
    # a validation failure (unknown field) of a login carrying its password inline
    {"query": 'mutation { login(input: {email: "a@b.test", password: "%s"}) { nope } }' % SECRET},
    # a syntax error on the same line as the password
    {"query": 'mutation { login(input: {email: "a@b.test", password: "%s"}) { token ' % SECRET},
    # a literal of the wrong type
    {"query": 'mutation { login(input: {email: "a@b.test", password: ["%s"]}) { token } }' % SECRET},
    # a variable of the wrong type: graphql-core repeats its value in the message
    {
        "query": 'mutation($p: String!) { login(input: {email: "a@b.test", password: $p}) { token } }',
        "variables": {"p": {"password": SECRET}},
    },
    # an enum given a secret-looking value
    {"query": "query($r: Role) { trainers(role: $r) { nodes { id } } }", "variables": {"r": SECRET}},
]


@pytest.mark.parametrize("request_body", LEAKY_REQUESTS, ids=["validation", "syntax", "literal", "variable", "enum"])
async def test_no_password_reaches_a_log_line(http, teacher, caplog, request_body):
    # given every logger recording everything
    caplog.set_level(logging.DEBUG)
    # when a request carrying a password fails
    response = await http.post("/graphql", json=request_body, headers=teacher.headers)
    assert response.json()["errors"]
    # then it was logged, but not the password
    assert caplog.records, "the failure should be logged"
    assert SECRET not in caplog.text
    assert all(SECRET not in str(record.args) for record in caplog.records)


async def test_post_answers_are_not_stored(http, teacher):
    answers = [
        await teacher.post("{ me { id } }"),
        await teacher.post("{ nope }"),
        await http.post("/graphql", content=b"null", headers={"content-type": "application/json"}),
        await http.post("/graphql", json={"query": "{ me { id } }"}),
    ]
    for response in answers:
        assert response.headers["cache-control"] == "no-store", response.text
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_get_answers_are_private_and_revalidated(http, teacher):
    response = await http.get(
        "/graphql", params={"query": "{ me { id } }"}, headers={**teacher.headers, "accept": "application/json"}
    )
    assert response.status_code == 200 and response.json()["data"]["me"]["id"]
    assert response.headers["cache-control"] == "private, no-cache"


async def test_the_graphiql_page_carries_a_content_security_policy(http):
    # when a browser opens GraphiQL
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    policy = {
        d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else ""
        for d in (part.strip() for part in response.headers["content-security-policy"].split(";"))
    }
    # then nothing loads by default, the page cannot be framed, and each inline script is allowed by its hash only
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    # and scripts, styles and fonts come from this server only (GraphiQL's files are served here)
    for directive in ("script-src", "style-src", "font-src"):
        assert "'self'" in policy[directive].split()
        assert "://" not in policy[directive] and "*" not in policy[directive]
    for source in re.findall(r'<script[^>]*\ssrc="([^"]+)"', response.text):
        assert source.startswith("/") and not source.startswith("//")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert int(response.headers["content-length"]) == len(response.content)
