"""The throttle holds across server processes, and hashing never holds up the rest of the server."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from models.signin import SigninThrottle
from resolvers.demo import DEMO_PASSWORD
from tests.conformance.server import ServerProcess
from tests.signin.conftest import LOGIN, login

TEACHER = "professeur@demo.pfmp.test"


@pytest.mark.parametrize("clock", [time.time])
async def test_two_server_processes_on_one_database_share_the_throttle(anonymous, database_url, tmp_path, clock):
    # given a second server process, `pfmp serve`, on the same database
    server = ServerProcess(tmp_path / "second", extra_env={"DATABASE_URL": database_url}, args=())
    base = await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as other:

            async def other_login(password: str) -> dict:
                response = await other.post(
                    "/graphql", json={"query": LOGIN, "variables": {"email": TEACHER, "password": password}}
                )
                return response.json()["data"]["login"]

            # when three wrong passwords go to this process and two to the other
            for _ in range(3):
                assert (await login(anonymous, TEACHER, "wrong-one"))[0]["errors"][0]["code"] == "INVALID"
            for _ in range(2):
                assert (await other_login("wrong-two"))["errors"][0]["code"] == "INVALID"
            # then the account is locked on both
            here, _ = await login(anonymous, TEACHER, DEMO_PASSWORD)
            there = await other_login(DEMO_PASSWORD)
            assert [e["code"] for e in here["errors"]] == ["THROTTLED"]
            assert [e["code"] for e in there["errors"]] == ["THROTTLED"]
            assert 55 <= there["retryAfter"] <= 60 and 55 <= here["retryAfter"] <= 60
    finally:
        await asyncio.to_thread(server.stop)


async def test_healthz_answers_while_sign_ins_hash(anonymous, http):
    # given more concurrent sign-ins (each with its own unknown email) than the database has connections
    finished: list[str] = []

    async def one_login(n: int) -> None:
        await login(anonymous, f"flood{n}@demo.pfmp.test", "wrong-password")
        finished.append(f"login {n}")

    logins = [asyncio.create_task(one_login(n)) for n in range(12)]
    try:
        # when every one of them has passed the throttle (its row is written) and so is hashing or queued to
        deadline = time.monotonic() + 30
        while await SigninThrottle.filter(key__startswith="account:").count() < 12:
            assert time.monotonic() < deadline, "the sign-ins never got past the throttle"
            await asyncio.sleep(0.005)
        response = await http.get("/healthz")
        finished.append("healthz")
        # then the health check answered before any of the sign-ins did
        assert response.status_code == 200
        assert finished[0] == "healthz", finished
    finally:
        await asyncio.gather(*logins)
    assert len(finished) == 13


async def test_healthz_answers_while_a_password_change_hashes(learner, http):
    finished: list[str] = []

    async def change() -> None:
        data = await learner.data(
            """mutation($c: String!, $n: String!) {
            passwordChange(input: {currentPassword: $c, newPassword: $n}) { changed errors { code } } }""",
            c=DEMO_PASSWORD,
            n="Twelve orange kites over Lille",
        )
        assert data["passwordChange"]["changed"]
        finished.append("passwordChange")

    task = asyncio.create_task(change())
    try:
        # the change verifies the current password, then hashes the new one: a quarter of a second each here
        await asyncio.sleep(0.05)
        assert (await http.get("/healthz")).status_code == 200
        finished.append("healthz")
    finally:
        await task
    assert finished == ["healthz", "passwordChange"]
