"""The sign-in throttle (issue 11, part 4): per email, per client address, shared by every server process.

The expected figures are the issue's: after 5 failures an account waits, 1 minute doubling up to 15; an address
gets at most 20 failures a minute. Time moves through the clock in the settings, never by sleeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress

import pytest
from starlette.requests import Request

from models.signin import SigninThrottle
from permissions import throttle
from resolvers.demo import DEMO_PASSWORD
from tests.signin.conftest import login

TEACHER = "professeur@demo.pfmp.test"
WRONG = "not-the-password"


def throttled(payload: dict) -> bool:
    return [e["code"] for e in payload["errors"]] == ["THROTTLED"] and payload["token"] is None


async def fail(api, email: str, times: int = 1, **kwargs) -> None:
    for _ in range(times):
        payload, _ = await login(api, email, WRONG, **kwargs)
        assert [e["code"] for e in payload["errors"]] == ["INVALID"], payload


async def test_five_failures_lock_the_account_for_a_minute_with_the_time_to_retry(anonymous, clock):
    # given five wrong passwords for the teacher's email
    await fail(anonymous, TEACHER, 5)
    # when the right password comes right after
    payload, response = await login(anonymous, TEACHER, DEMO_PASSWORD)
    # then it is refused without a token, saying when to retry, in the payload and the Retry-After header
    assert throttled(payload)
    assert payload["retryAfter"] == 60
    assert response.headers["retry-after"] == "60"
    assert payload["errors"][0]["reason"] == "SIGN_IN_THROTTLED"
    assert "60 secondes" in payload["errors"][0]["message"]
    # and 30 seconds later, 30 are left
    clock.advance(30)
    payload, _ = await login(anonymous, TEACHER, DEMO_PASSWORD)
    assert throttled(payload) and payload["retryAfter"] == 30
    # half a second before the end, whole seconds: one is left
    clock.advance(29.5)
    payload, response = await login(anonymous, TEACHER, DEMO_PASSWORD)
    assert throttled(payload) and payload["retryAfter"] == 1 and response.headers["retry-after"] == "1"
    # once the minute is over, the right password signs in
    clock.advance(0.5)
    payload, _ = await login(anonymous, TEACHER, DEMO_PASSWORD)
    assert payload["errors"] == [] and payload["token"]


async def test_four_failures_do_not_lock(anonymous):
    await fail(anonymous, TEACHER, 4)
    payload, _ = await login(anonymous, TEACHER, DEMO_PASSWORD)
    assert payload["errors"] == [] and payload["token"]


async def test_the_wait_doubles_at_each_further_failure_up_to_fifteen_minutes(anonymous, clock):
    await fail(anonymous, TEACHER, 5)
    waits = []
    for _ in range(6):
        payload, _ = await login(anonymous, TEACHER, WRONG)
        assert throttled(payload)
        waits.append(payload["retryAfter"])
        # the lock over, one more wrong password
        clock.advance(payload["retryAfter"])
        await fail(anonymous, TEACHER)
    assert waits == [60, 120, 240, 480, 900, 900]


async def test_an_hour_without_attempts_forgets_the_failures_of_the_account(anonymous, clock):
    # permissions/throttle.py Limits: failures in a row are forgotten after an hour without attempts
    await fail(anonymous, TEACHER, 4)
    clock.advance(3600)  # an hour to the second: still remembered, the fifth locks
    await fail(anonymous, TEACHER)
    payload, _ = await login(anonymous, TEACHER, DEMO_PASSWORD)
    assert throttled(payload) and payload["retryAfter"] == 60
    clock.advance(3601)  # then more than an hour: the count starts again, four more do not lock
    await fail(anonymous, TEACHER, 4)
    payload, _ = await login(anonymous, TEACHER, DEMO_PASSWORD)
    assert payload["errors"] == [] and payload["token"]


async def test_rows_quiet_for_more_than_an_hour_are_deleted_by_the_next_attempt(anonymous, peers, clock):
    await fail(peers.at("192.0.2.1"), "first@demo.pfmp.test")
    clock.advance(3600)
    await fail(peers.at("192.0.2.2"), "second@demo.pfmp.test")
    assert await SigninThrottle.all().count() == 4  # an hour to the second: kept
    clock.advance(1)
    await fail(peers.at("192.0.2.3"), "third@demo.pfmp.test")
    kept = await SigninThrottle.all().values_list("key", flat=True)
    assert sorted(kept) == sorted(
        [throttle.account_key(f"{n}@demo.pfmp.test") for n in ("second", "third")]
        + ["address:192.0.2.2", "address:192.0.2.3"]
    )


async def test_two_attempts_at_once_at_the_fifth_failure_are_one_counted_and_one_refused(anonymous, settings):
    # two server processes (or two requests) reading the account at four failures at the same time: the row lock
    # makes one the fifth failure and the other wait for it, then see the block
    await fail(anonymous, TEACHER, 4)
    attempts = await asyncio.gather(*(throttle.begin(settings, TEACHER, f"192.0.2.{n}") for n in (1, 2)))
    assert sorted(attempt.retry_after or 0 for attempt in attempts) == [0, 60]
    assert (await SigninThrottle.get(key=throttle.account_key(TEACHER))).failures == 5
    # the same for two trainer-link exchanges at once from an address at nineteen refusals of the minute
    for _ in range(19):
        await throttle.begin_exchange(settings, "192.0.2.9")
    exchanges = await asyncio.gather(*(throttle.begin_exchange(settings, "192.0.2.9") for _ in range(2)))
    assert sorted(exchange.retry_after or 0 for exchange in exchanges) == [0, 60]


async def test_a_success_forgets_the_failures_of_the_account(anonymous):
    await fail(anonymous, TEACHER, 4)
    assert (await login(anonymous, TEACHER, DEMO_PASSWORD))[0]["token"]
    await fail(anonymous, TEACHER, 4)
    payload, _ = await login(anonymous, TEACHER, DEMO_PASSWORD)
    assert payload["errors"] == [] and payload["token"]


async def test_a_locked_account_answers_exactly_as_a_locked_unknown_email(anonymous):
    # given the teacher's email and an email no account has, each locked by five failures
    unknown = "nobody-here@demo.pfmp.test"
    await fail(anonymous, TEACHER, 5)
    await fail(anonymous, unknown, 5)
    # when both are tried, the teacher's with the right password
    known_payload, known_response = await login(anonymous, TEACHER, DEMO_PASSWORD)
    unknown_payload, unknown_response = await login(anonymous, unknown, DEMO_PASSWORD)
    # then the answers are the same, byte for byte, headers included
    assert throttled(known_payload)
    assert known_response.content == unknown_response.content
    assert known_response.headers.get("retry-after") == unknown_response.headers.get("retry-after") == "60"


async def test_an_address_gets_at_most_twenty_failures_a_minute(peers, clock):
    # given twenty failures from one address, each on a different email (no account lock involved)
    school = peers.at("198.51.100.7")
    for n in range(20):
        await fail(school, f"guess{n}@demo.pfmp.test")
        clock.advance(1)
    # then the next attempt from that address is refused, even the right password, until the first one is a minute old
    payload, response = await login(school, TEACHER, DEMO_PASSWORD)
    assert throttled(payload)
    assert payload["retryAfter"] == 40 and response.headers["retry-after"] == "40"
    # while another address signs in
    payload, _ = await login(peers.at("198.51.100.8"), TEACHER, DEMO_PASSWORD)
    assert payload["token"]
    # and a minute after its first failure, the address may try again (one more: the window slides)
    clock.advance(40)
    payload, _ = await login(school, TEACHER, DEMO_PASSWORD)
    assert payload["token"]


async def test_the_shared_state_names_an_account_by_the_hash_of_its_email_and_an_address_as_is(peers, settings):
    # models/signin.py: every server process (of this version or the next, during a rolling upgrade) reads the
    # same rows, keyed "account:<sha256 of the email>", "address:<ip>" and, for refused trainer-link exchanges,
    # "link:<ip>"; the email typed is never kept, and emails are compared without case or surrounding spaces,
    # so one account whatever its spelling
    await fail(peers.at("203.0.113.9"), " Someone.Mistyped@demo.pfmp.test")
    await fail(peers.at("203.0.113.9"), "someone.mistyped@DEMO.pfmp.test")
    await throttle.begin_exchange(settings, "203.0.113.9")
    rows = await SigninThrottle.all().values_list("key", "failures")
    account = "account:" + hashlib.sha256(b"someone.mistyped@demo.pfmp.test").hexdigest()
    assert sorted(rows) == [(account, 2), ("address:203.0.113.9", 0), ("link:203.0.113.9", 0)]


async def test_an_address_that_is_not_an_ip_is_kept_to_the_keys_hundred_characters(peers, settings):
    # a socket named rather than numbered (a Unix socket behind a local proxy) counts under its name, cut to the
    # column's 100 characters (models/signin.py), which PostgreSQL enforces
    await fail(peers.at("proxy-" + "x" * 200), "someone@demo.pfmp.test")
    keys = await SigninThrottle.filter(key__startswith="address:").values_list("key", flat=True)
    assert keys == [("address:proxy-" + "x" * 200)[:100]]
    # and so are its refused trainer-link exchanges
    await throttle.begin_exchange(settings, "proxy-" + "x" * 200)
    keys = await SigninThrottle.filter(key__startswith="link:").values_list("key", flat=True)
    assert keys == [("link:proxy-" + "x" * 200)[:100]]


async def test_a_refused_attempt_reads_one_row_set_and_writes_nothing(anonymous, settings, sql_counter):
    # a flood is mostly refused attempts: they must not queue for the write lock (permissions/throttle.py)
    await fail(anonymous, TEACHER, 5)
    before = await SigninThrottle.all().order_by("key").values()
    sql_counter.reset()
    attempt = await throttle.begin(settings, TEACHER, "192.0.2.1")
    assert attempt.retry_after == 60
    assert [statement.split()[0].upper() for statement in sql_counter.statements] == ["SELECT"]
    assert await SigninThrottle.all().order_by("key").values() == before
    # and so does a trainer-link exchange from an address past its twenty refusals of the minute
    for _ in range(20):
        assert (await throttle.begin_exchange(settings, "192.0.2.9")).retry_after is None
    before = await SigninThrottle.all().order_by("key").values()
    sql_counter.reset()
    assert (await throttle.begin_exchange(settings, "192.0.2.9")).retry_after == 60
    assert [statement.split()[0].upper() for statement in sql_counter.statements] == ["SELECT"]
    assert await SigninThrottle.all().order_by("key").values() == before


async def test_a_success_whose_attempt_left_the_addresss_count_gives_nothing_back(anonymous, settings, clock):
    # an attempt whose password check ends after its failure has left the address's minute, a later failure
    # from the address counted meanwhile
    attempt = await throttle.begin(settings, TEACHER, "192.0.2.1")
    clock.advance(61)
    later = await throttle.begin(settings, "guess@demo.pfmp.test", "192.0.2.1")
    await throttle.succeeded(attempt)
    # the account's failures are forgotten, the address keeps the later failure
    assert await SigninThrottle.filter(key=throttle.account_key(TEACHER)).count() == 0
    address = await SigninThrottle.get(key="address:192.0.2.1")
    assert (address.recent, address.blocked_until) == ([later.stamp], None)


async def test_successes_do_not_count_against_an_address(peers):
    # a classroom behind one school address: thirty learners sign in within the minute
    school = peers.at("198.51.100.9")
    for _ in range(30):
        payload, _ = await login(school, TEACHER, DEMO_PASSWORD)
        assert payload["token"]


async def test_x_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy(peers):
    # given a client that claims a different address at each attempt
    client = peers.at("203.0.113.50")
    for n in range(20):
        await fail(client, f"guess{n}@demo.pfmp.test", headers={"X-Forwarded-For": f"192.0.2.{n + 1}"})
    # then the failures all counted against its socket address
    payload, _ = await login(client, TEACHER, DEMO_PASSWORD, headers={"X-Forwarded-For": "192.0.2.200"})
    assert throttled(payload)


@pytest.mark.parametrize("trusted_proxies", [(ipaddress.ip_network("10.0.0.0/8"),)])
async def test_x_forwarded_for_is_honoured_from_a_trusted_proxy(peers, trusted_proxies):
    # given a reverse proxy at 10.1.2.3 (trusted) forwarding the failures of one client
    proxy = peers.at("10.1.2.3")
    for n in range(20):
        await fail(proxy, f"guess{n}@demo.pfmp.test", headers={"X-Forwarded-For": "192.0.2.10, 10.9.9.9"})
    # then that client is refused, other clients behind the same proxy are not
    payload, _ = await login(proxy, TEACHER, DEMO_PASSWORD, headers={"X-Forwarded-For": "192.0.2.10"})
    assert throttled(payload)
    payload, _ = await login(proxy, TEACHER, DEMO_PASSWORD, headers={"X-Forwarded-For": "192.0.2.11"})
    assert payload["token"]
    # and a forged left-most entry does not escape: the proxy appends the real address on the right
    payload, _ = await login(proxy, TEACHER, DEMO_PASSWORD, headers={"X-Forwarded-For": "192.0.2.99, 192.0.2.10"})
    assert throttled(payload)


@pytest.mark.parametrize("signin_throttle", [False])
async def test_with_the_throttle_off_nothing_is_refused(anonymous, signin_throttle):
    await fail(anonymous, TEACHER, 8)
    payload, _ = await login(anonymous, TEACHER, DEMO_PASSWORD)
    assert payload["token"]


def _request(client: tuple[str, int] | None, forwarded_for: str | None = None) -> Request:
    headers = [] if forwarded_for is None else [(b"x-forwarded-for", forwarded_for.encode())]
    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers, "client": client})


def test_a_client_without_an_ip_address_is_counted_under_its_name_or_as_unknown():
    # a socket without an address (a test client, a Unix socket) still counts, under one shared key
    assert throttle.client_address(None, ()) == "unknown"
    assert throttle.client_address(_request(None), ()) == "unknown"
    assert throttle.client_address(_request(("", 0)), ()) == "unknown"
    assert throttle.client_address(_request(("testclient", 50000)), ()) == "testclient"
    assert throttle.client_address(_request(("192.0.2.7", 50000)), ()) == "192.0.2.7"


def test_a_trusted_proxy_without_a_readable_forwarded_address_is_counted_under_its_own():
    # the proxy's own requests (a health probe, a client it did not label) and a hop that is not an address:
    # the last address vouched for is the proxy's socket
    proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    assert throttle.client_address(_request(("10.1.2.3", 443)), proxies) == "10.1.2.3"
    assert throttle.client_address(_request(("10.1.2.3", 443), "not-an-address"), proxies) == "10.1.2.3"
    assert throttle.client_address(_request(("10.1.2.3", 443), "192.0.2.10, junk"), proxies) == "10.1.2.3"
    assert throttle.client_address(_request(("10.1.2.3", 443), "192.0.2.10, 10.9.9.9"), proxies) == "192.0.2.10"
