"""Malformed requests answer 4xx with a JSON error and a code, never 5xx (issue 11, item 5); a file upload nobody
may send is refused before its body is read."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest

from graph.app import create_app

JSON = {"content-type": "application/json"}


def _nested(depth: int, leaf: str = "1", open_: str = '{"a":', close: str = "}") -> str:
    return open_ * depth + leaf + close * depth


def _assert_coded_4xx(response: httpx.Response, code: str = "BAD_REQUEST") -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    errors = response.json()["errors"]
    assert errors and errors[0]["extensions"]["code"] == code
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"1",
        b'"x"',
        b"true",
        b"[]",
        b"[{}]",
        b"",
        b"{",
        b"\xff\xfe",
        b'{"query": 1}',
        b'{"query": ["{ me { id } }"]}',
        b'{"query": "{ __typename }", "variables": "x"}',
        b'{"query": "{ __typename }", "variables": []}',
        b'{"query": "{ __typename }", "variables": 3}',
        b'{"query": "{ __typename }", "extensions": "x"}',
    ],
    ids=repr,
)
async def test_a_json_body_that_is_not_a_graphql_request_is_a_coded_400(http, body):
    response = await http.post("/graphql", content=body, headers=JSON)
    _assert_coded_4xx(response)
    assert response.status_code == 400


@pytest.mark.parametrize("open_, close", [('{"a":', "}"), ("[", "]")], ids=["objects", "lists"])
@pytest.mark.parametrize("depth", [40, 5000])
async def test_variables_nested_deep_are_a_coded_400(http, open_, close, depth):
    # given variables nested beyond any input of the schema (5000: beyond what the JSON decoder can recurse)
    body = '{"query": "query($v: String) { __typename }", "variables": {"v": %s}}' % _nested(depth, "1", open_, close)
    # when posted, then refused as a bad request rather than a crash
    response = await http.post("/graphql", content=body.encode(), headers=JSON)
    _assert_coded_4xx(response)


async def test_variables_nested_deep_over_get_are_a_coded_400(http):
    response = await http.get(
        "/graphql", params={"query": "{ __typename }", "variables": _nested(40)}, headers={"accept": "application/json"}
    )
    _assert_coded_4xx(response)


async def test_shallow_variables_still_work(teacher):
    body = await teacher.execute("query($c: String!) { framework(code: $c) { code } }", c="CAP-ELEC")
    assert body == {"data": {"framework": {"code": "CAP-ELEC"}}}


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
async def test_an_unsupported_content_type_is_a_coded_4xx(http, content_type):
    response = await http.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": content_type}
    )
    _assert_coded_4xx(response)


async def test_a_request_without_a_query_is_a_coded_4xx(http):
    _assert_coded_4xx(await http.post("/graphql", content=b"{}", headers=JSON))
    _assert_coded_4xx(await http.get("/graphql", headers={"accept": "application/json"}))


async def test_other_methods_are_refused_with_a_4xx(http):
    for method in ("PUT", "DELETE", "PATCH"):
        response = await http.request(method, "/graphql", content=b'{"query": "{ __typename }"}', headers=JSON)
        assert response.status_code == 405


UPLOAD_OPERATIONS = json.dumps(
    {
        "query": 'mutation($f: Upload!) { annexUpload(input: {ficheId: "QWN0aXZpdHlGaWNoZTox", file: $f}) { errors { code } } }',
        "variables": {"f": None},
    }
).encode()
CHUNK = 1024 * 1024


class CountingBody:
    """A 20 MiB multipart upload sent in 1 MiB chunks, counting how many chunks the server pulled."""

    def __init__(self, megabytes: int = 20):
        self.megabytes = megabytes
        self.pulled = 0

    async def __aiter__(self):
        self.pulled += 1
        yield (
            b'--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            + UPLOAD_OPERATIONS
            + b'\r\n--b\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0": ["variables.f"]}\r\n'
            b'--b\r\nContent-Disposition: form-data; name="0"; filename="big.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
        )
        for _ in range(self.megabytes):
            self.pulled += 1
            yield b"x" * CHUNK
        self.pulled += 1
        yield b"\r\n--b--\r\n"


@pytest.fixture
async def roomy_http(settings):
    """The app with an upload limit above 20 MiB: what refuses the upload below is not the size cap."""
    roomy = dataclasses.replace(settings, upload_limit=32 * CHUNK, request_body_limit=33 * CHUNK)
    application = create_app(roomy)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client:
            yield client


@pytest.mark.parametrize(
    "authorization, status, code",
    [
        (None, 401, "UNAUTHENTICATED"),
        ("Bearer not-a-token", 401, "UNAUTHENTICATED"),
        ("Basic dXNlcjpwYXNz", 401, "UNAUTHENTICATED"),
    ],
    ids=["anonymous", "bad token", "not bearer"],
)
async def test_an_anonymous_upload_is_refused_before_its_body_is_read(
    roomy_http, settings, authorization, status, code
):
    # given a 20 MiB upload without a valid token
    body = CountingBody(20)
    headers = {"content-type": "multipart/form-data; boundary=b"}
    if authorization:
        headers["authorization"] = authorization
    # when it is posted
    response = await roomy_http.post("/graphql", content=body, headers=headers)
    # then it is refused, coded, and the server pulled nothing of the body
    _assert_coded_4xx(response, code)
    assert response.status_code == status
    assert body.pulled == 0
    assert list((settings.annex_dir).rglob("*.pdf")) == []


async def test_an_upload_from_a_role_that_may_upload_nothing_is_refused_unread(roomy_http, tutor):
    # access.md: Annex · upload is the learner's own only, a bilan's paper scan the teacher's; a tutor has no file
    body = CountingBody(20)
    response = await roomy_http.post(
        "/graphql", content=body, headers={"content-type": "multipart/form-data; boundary=b", **tutor.headers}
    )
    _assert_coded_4xx(response, "FORBIDDEN")
    assert response.status_code == 403
    assert body.pulled == 0


async def test_a_learner_upload_is_still_read(roomy_http, learner):
    # the learner may upload: the body is read (here to its end) and the mutation answers in its payload
    body = CountingBody(1)
    response = await roomy_http.post(
        "/graphql", content=body, headers={"content-type": "multipart/form-data; boundary=b", **learner.headers}
    )
    assert response.status_code == 200, response.text
    assert body.pulled == 3
    assert "errors" in response.json()["data"]["annexUpload"]


async def test_a_body_over_the_cap_is_a_coded_413(http, settings):
    # declared too large up front
    declared = await http.post("/graphql", content=b"{" + b" " * settings.request_body_limit + b"}", headers=JSON)
    _assert_coded_4xx(declared, "PAYLOAD_TOO_LARGE")
    assert declared.status_code == 413

    # found too large while reading a body sent without a length
    async def chunks():
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(settings.request_body_limit // CHUNK + 1):
            yield b"x" * CHUNK
        yield b'"}'

    streamed = await http.post("/graphql", content=chunks(), headers=JSON)
    _assert_coded_4xx(streamed, "PAYLOAD_TOO_LARGE")
    assert streamed.status_code == 413


GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json, application/json;q=0.9"}


@pytest.mark.parametrize(
    "query, code",
    [
        ("{ me { id }", "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int!) { learners(first: $n) { edges { cursor } } }", None),  # $n missing: a coercion failure
    ],
)
async def test_in_the_graphql_response_media_type_a_request_error_is_a_400_without_data(teacher, query, code):
    # GraphQL over HTTP: with application/graphql-response+json, a request that never executes is a 400
    response = await teacher.post(query, headers=GRAPHQL_RESPONSE)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    body = response.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"]
    if code:
        assert body["errors"][0]["extensions"]["code"] == code


async def test_in_the_graphql_response_media_type_an_executed_request_is_a_200(teacher, anonymous):
    ok = await teacher.post("{ me { id } }", headers=GRAPHQL_RESPONSE)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/graphql-response+json")
    assert ok.json()["data"]["me"]["id"]
    # a field error is an executed request: data is there (null), and the status stays 200
    refused = await anonymous.post("{ me { id } }", headers=GRAPHQL_RESPONSE)
    assert refused.status_code == 200 and refused.json()["data"] is None
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_in_plain_json_a_request_error_stays_a_200(teacher):
    response = await teacher.post("{ nope }", headers={"accept": "application/json"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
