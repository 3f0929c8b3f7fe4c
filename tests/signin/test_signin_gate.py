"""A throttled sign-in is refused before the GraphQL layer (graph/signin_gate.py), with the answer the GraphQL
layer gives: under a flood, refusals no longer cost a parse, a validation and an execution each.

The expected answer is the throttle's (docs/trust.md, Sign-in): `errors: [{code: THROTTLED, message: "… try again
in N seconds."}]`, `retryAfter: N` and `Retry-After: N`; here it is also compared byte for byte with what the
GraphQL view alone answers to the same request.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from graph.app import PortfolioGraphQL
from graph.signin_gate import Blocks
from models.signin import SigninThrottle
from resolvers.demo import DEMO_PASSWORD
from tests.conformance.server import ServerProcess
from tests.signin.conftest import LOGIN, login

TEACHER = "professeur@demo.pfmp.test"
WRONG = "not-the-password"
GATE = "sign-in refused before the GraphQL layer"
ALIASED = """mutation SignIn($password: String!) {
  attempt: login(input: {password: $password, email: "Professeur@demo.pfmp.test "}) {
    wait: retryAfter __typename errors { __typename message kind: code field } token user { id }
  }
}"""


def gate_refusals(caplog) -> int:
    return sum(GATE in record.getMessage() for record in caplog.records if record.name == "pfmp.signin")


async def block_address(api, n: int = 20) -> None:
    """Twenty failures from one address, each on its own unknown email (no account lock involved)."""
    for i in range(n):
        payload, _ = await login(api, f"guess{i}@demo.pfmp.test", WRONG)
        assert [e["code"] for e in payload["errors"]] == ["INVALID"], payload


@pytest.fixture
def gate_log(caplog):
    caplog.set_level(logging.DEBUG, logger="pfmp.signin")
    return caplog


@pytest.mark.parametrize(
    ("document", "variables", "headers", "message"),
    [
        (
            LOGIN,
            {"email": TEACHER, "password": DEMO_PASSWORD},
            {},
            "Trop de connexions échouées : réessayez dans 60 secondes.",
        ),
        (
            ALIASED,
            {"password": DEMO_PASSWORD},
            {"Accept": "application/graphql-response+json", "Accept-Language": "en-GB,en;q=0.9"},
            "Too many failed sign-ins: try again in 60 seconds.",
        ),
        (
            LOGIN,
            {"email": TEACHER, "password": DEMO_PASSWORD},
            {"Authorization": "Bearer not-a-token", "Accept-Language": "en"},
            "Too many failed sign-ins: try again in 60 seconds.",
        ),
        (
            "mutation($input: LoginInput!) { login(input: $input) { token retryAfter errors { code message } } }",
            {"input": {"email": TEACHER, "password": DEMO_PASSWORD}},
            {},
            "Trop de connexions échouées : réessayez dans 60 secondes.",
        ),
    ],
    ids=["login", "aliased-literal-graphql-response-in-english", "with-a-bad-token-in-english", "input-variable"],
)
async def test_a_throttled_address_is_refused_before_graphql_with_the_answer_graphql_gives(
    peers, settings, gate_log, document, variables, headers, message
):
    # given an address that failed twenty times within the minute
    school = peers.at("198.51.100.7")
    await block_address(school)
    assert gate_refusals(gate_log) == 0  # failures are not refusals: they went through GraphQL
    body = {"query": document, "variables": variables}
    # when it signs in again, with the right password
    refused = await school.http.post("/graphql", json=body, headers=headers)
    # then the gate refused it: the GraphQL layer never saw it
    assert gate_refusals(gate_log) == 1
    # with the throttle's answer: THROTTLED, the wait in the payload and in Retry-After
    answer = refused.json()
    assert "errors" not in answer
    payload = answer["data"][next(iter(answer["data"]))]
    wait = payload.get("retryAfter", payload.get("wait"))
    assert wait == 60 and refused.headers["retry-after"] == "60"
    errors = payload["errors"]
    assert [e.get("code", e.get("kind")) for e in errors] == ["THROTTLED"]
    assert errors[0]["message"] == message
    assert errors[0].get("reason", "SIGN_IN_THROTTLED") == "SIGN_IN_THROTTLED"
    # and byte for byte what the GraphQL view alone answers to the same request from the same address
    view = httpx.ASGITransport(app=PortfolioGraphQL(settings), client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=view, base_url="http://testserver") as graphql_only:
        reference = await graphql_only.post("/graphql", json=body, headers=headers)
    assert gate_refusals(gate_log) == 1
    assert refused.status_code == reference.status_code == 200
    assert refused.content == reference.content
    assert refused.headers["content-type"] == reference.headers["content-type"]
    assert refused.headers["retry-after"] == reference.headers["retry-after"]


async def test_other_operations_from_a_throttled_address_still_work_and_other_addresses_sign_in(
    peers, settings, gate_log
):
    # given a blocked address
    school = peers.at("198.51.100.7")
    await block_address(school)
    # then a signed-in person behind it reads, and an anonymous query is answered
    signed_in = peers.at("198.51.100.7")
    token, _ = await login(peers.at("198.51.100.8"), TEACHER, DEMO_PASSWORD)
    signed_in.token = token["token"]
    assert (await signed_in.data("{ me { __typename } }"))["me"]["__typename"] == "Teacher"
    assert (await school.execute("{ __typename }")) == {"data": {"__typename": "Query"}}
    # a mutation other than login is answered by GraphQL (here: not signed in)
    assert await school.error_code("mutation { signOutEverywhere { revoked } }") == "UNAUTHENTICATED"
    # and a login the gate does not recognise (a fragment) is still refused, by the GraphQL layer
    fragment = """mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { ...P } }
    fragment P on LoginPayload { token retryAfter errors { code } }"""
    data = await school.data(fragment, e=TEACHER, p=DEMO_PASSWORD)
    assert data["login"]["errors"] == [{"code": "THROTTLED"}] and data["login"]["retryAfter"] == 60
    # a malformed login is answered as before (here: a validation error), not THROTTLED
    assert await school.error_code("mutation { login(input: {email: 1, password: 2}) { token } }") == (
        "GRAPHQL_VALIDATION_FAILED"
    )
    assert gate_refusals(gate_log) == 0
    # while another address signs in with the same document
    payload, _ = await login(peers.at("198.51.100.9"), TEACHER, DEMO_PASSWORD)
    assert payload["token"] and payload["errors"] == []


@pytest.mark.parametrize("clock", [time.time])
async def test_the_gate_reads_the_throttle_another_server_process_wrote(peers, database_url, tmp_path, gate_log, clock):
    # given a second server process, `pfmp serve`, on the same database, where 127.0.0.1 fails twenty times
    server = ServerProcess(tmp_path / "second", extra_env={"DATABASE_URL": database_url}, args=())
    base = await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as other:

            async def other_login(email: str, password: str) -> dict:
                response = await other.post(
                    "/graphql", json={"query": LOGIN, "variables": {"email": email, "password": password}}
                )
                assert response.status_code == 200, response.text
                return response.json()["data"]["login"]

            for n in range(20):
                assert (await other_login(f"guess{n}@demo.pfmp.test", WRONG))["errors"][0]["code"] == "INVALID"
            # then this process refuses 127.0.0.1 at the gate
            here, response = await login(peers.at("127.0.0.1"), TEACHER, DEMO_PASSWORD)
            assert [e["code"] for e in here["errors"]] == ["THROTTLED"] and here["token"] is None
            # (the address waits until its first failure, seconds ago, is a minute old)
            assert 0 < here["retryAfter"] <= 60 and response.headers["retry-after"] == str(here["retryAfter"])
            assert gate_refusals(gate_log) == 1
            # so does the other process
            there = await other_login(TEACHER, DEMO_PASSWORD)
            assert [e["code"] for e in there["errors"]] == ["THROTTLED"]
            # and another address signs in here
            payload, _ = await login(peers.at("198.51.100.9"), TEACHER, DEMO_PASSWORD)
            assert payload["token"]
    finally:
        await asyncio.to_thread(server.stop)


async def test_a_block_this_process_read_is_kept_a_moment_and_the_database_stays_the_truth(
    peers, gate_log, sql_counter, clock
):
    # given a blocked address, refused once at the gate (which read the block)
    school = peers.at("198.51.100.7")
    await block_address(school)
    assert throttled_code(await login(school, TEACHER, DEMO_PASSWORD))
    # when it tries again a second later, the gate answers from what it read: no statement at all
    clock.advance(1)
    sql_counter.reset()
    payload, response = await login(school, TEACHER, DEMO_PASSWORD)
    assert sql_counter.count == 0
    assert payload["retryAfter"] == 59 and response.headers["retry-after"] == "59"
    assert gate_refusals(gate_log) == 2
    # and when the block is lifted in the database (by hand here), the gate sees it within two seconds
    await SigninThrottle.filter(key="address:198.51.100.7").delete()
    clock.advance(Blocks.RECHECK)
    payload, _ = await login(school, TEACHER, DEMO_PASSWORD)
    assert payload["token"] and payload["errors"] == []


def throttled_code(answer: tuple[dict, object]) -> bool:
    return [e["code"] for e in answer[0]["errors"]] == ["THROTTLED"]
