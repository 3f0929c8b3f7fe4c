"""Refresh tokens (issue 16, part 4): sign-in answers one; tokenRefresh rotates it; a spent one presented again
revokes its whole family; signing out everywhere, changing the password or a deactivation revokes them; they
expire; refused refreshes are throttled like wrong passwords."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from graph.types.common import encode_id
from models.signin import RefreshToken
from models.users import Role, User
from permissions import refresh as refresh_strings
from resolvers.demo import DEMO_PASSWORD
from tests.conftest import DEMO_EMAIL, Api

LOGIN = """mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) {
  token expiresAt refreshToken refreshExpiresAt errors { code reason } } }"""
REFRESH = """mutation($r: String!) { tokenRefresh(input: {refreshToken: $r}) {
  token expiresAt refreshToken refreshExpiresAt retryAfter errors { field code reason } } }"""
ME = "{ me { id } }"
SIGN_OUT_EVERYWHERE = "mutation { signOutEverywhere { revoked errors { code } } }"
PASSWORD_CHANGE = """mutation($c: String!, $n: String!) { passwordChange(input: {currentPassword: $c, newPassword: $n}) {
  changed errors { code reason } } }"""
DEACTIVATE = "mutation($id: ID!) { userDeactivate(input: {id: $id}) { errors { code reason } } }"
THIRTY_DAYS = 30 * 24 * 3600


async def sign_in(api: Api, role: Role = Role.LEARNER) -> dict:
    payload = (await api.data(LOGIN, e=DEMO_EMAIL[role], p=DEMO_PASSWORD))["login"]
    assert payload["errors"] == [] and payload["refreshToken"], payload
    return payload


async def refresh(api: Api, token: str) -> dict:
    return (await api.data(REFRESH, r=token))["tokenRefresh"]


def reasons(payload: dict) -> list[str]:
    return [e["reason"] for e in payload["errors"]]


async def me(api: Api, token: str) -> dict:
    return await Api(api.http, token).execute(ME)


async def test_sign_in_answers_a_refresh_token_that_rotates(peers, clock):
    client = peers.at("192.0.2.10")
    # given a sign-in
    signed = await sign_in(client)
    assert signed["refreshToken"].startswith("pfmp-rt1.")
    assert dt.datetime.fromisoformat(signed["refreshExpiresAt"]).timestamp() == clock.now + THIRTY_DAYS
    # when the app exchanges the refresh token
    first = await refresh(client, signed["refreshToken"])
    # then it gets a working access token and a new refresh token, and again with that one
    assert first["errors"] == [] and first["token"] and first["refreshToken"] not in (None, signed["refreshToken"])
    assert (await me(client, first["token"]))["data"]["me"]["id"]
    second = await refresh(client, first["refreshToken"])
    assert second["errors"] == [] and second["refreshToken"] not in (first["refreshToken"], signed["refreshToken"])
    # and the database holds neither token, only hashes
    rows = await RefreshToken.all().values_list("digest", flat=True)
    for token in (signed["refreshToken"], first["refreshToken"], second["refreshToken"]):
        secret = token.split(".", 1)[1]
        assert all(secret not in digest and token not in digest for digest in rows)


async def test_a_spent_refresh_token_presented_again_revokes_its_family(peers):
    client = peers.at("192.0.2.11")
    # given two sign-ins of one learner (her phone and her laptop): two families
    phone, laptop = await sign_in(client), await sign_in(client)
    rotated = await refresh(client, phone["refreshToken"])
    assert rotated["errors"] == []
    # when the phone's first refresh token, already spent, is presented again (a thief replaying it)
    replayed = await refresh(client, phone["refreshToken"])
    # then it is refused, and so is its successor, which the app held: the whole family is revoked
    assert replayed["token"] is None and reasons(replayed) == ["REFRESH_TOKEN_REUSED"]
    assert replayed["errors"][0]["field"] == ["input", "refreshToken"]
    successor = await refresh(client, rotated["refreshToken"])
    assert successor["token"] is None and reasons(successor) == ["REFRESH_TOKEN_REVOKED"]
    # while the laptop's family still works
    assert (await refresh(client, laptop["refreshToken"]))["errors"] == []


async def test_two_refreshes_of_one_token_at_once_spend_it_once(peers):
    client = peers.at("192.0.2.12")
    signed = await sign_in(client)
    answers = await asyncio.gather(*(refresh(client, signed["refreshToken"]) for _ in range(3)))
    # at most one exchange succeeds; the others are reuses (or, once a reuse revoked the family, revoked)
    succeeded = [a for a in answers if a["token"]]
    refused = [reasons(a) for a in answers if not a["token"]]
    assert len(succeeded) <= 1 and ["REFRESH_TOKEN_REUSED"] in refused
    assert all(r in (["REFRESH_TOKEN_REUSED"], ["REFRESH_TOKEN_REVOKED"]) for r in refused)
    assert await RefreshToken.filter(spent_at__not_isnull=True).count() == 1
    if succeeded:
        assert reasons(await refresh(client, succeeded[0]["refreshToken"])) == ["REFRESH_TOKEN_REVOKED"]


async def test_signing_out_everywhere_revokes_the_refresh_tokens(peers):
    client = peers.at("192.0.2.13")
    signed = await sign_in(client)
    out = (await Api(client.http, signed["token"]).data(SIGN_OUT_EVERYWHERE))["signOutEverywhere"]
    assert out == {"revoked": True, "errors": []}
    refused = await refresh(client, signed["refreshToken"])
    assert refused["token"] is None and reasons(refused) == ["REFRESH_TOKEN_REVOKED"]


async def test_a_password_change_revokes_the_refresh_tokens(peers):
    client = peers.at("192.0.2.14")
    signed = await sign_in(client)
    changed = (
        await Api(client.http, signed["token"]).data(
            PASSWORD_CHANGE, c=DEMO_PASSWORD, n="Ornithorynque-Cartable-Velours-1987"
        )
    )["passwordChange"]
    assert changed == {"changed": True, "errors": []}
    assert reasons(await refresh(client, signed["refreshToken"])) == ["REFRESH_TOKEN_REVOKED"]


async def test_a_deactivated_account_cannot_refresh(peers, admin):
    client = peers.at("192.0.2.15")
    signed = await sign_in(client)
    learner = await User.get(email=DEMO_EMAIL[Role.LEARNER])
    done = (await admin.data(DEACTIVATE, id=encode_id("Learner", learner.id)))["userDeactivate"]
    assert done["errors"] == []
    assert reasons(await refresh(client, signed["refreshToken"])) == ["REFRESH_TOKEN_REVOKED"]


async def test_a_refresh_token_expires(peers, clock):
    client = peers.at("192.0.2.16")
    signed = await sign_in(client)
    # 30 days less a second after the sign-in it still works, and its successor lives 30 days from then
    clock.advance(THIRTY_DAYS - 1)
    renewed = await refresh(client, signed["refreshToken"])
    assert renewed["errors"] == []
    assert dt.datetime.fromisoformat(renewed["refreshExpiresAt"]).timestamp() == clock.now + THIRTY_DAYS
    # a token left unused 30 days is refused
    clock.advance(THIRTY_DAYS)
    expired = await refresh(client, renewed["refreshToken"])
    assert expired["token"] is None and reasons(expired) == ["REFRESH_TOKEN_EXPIRED"]


@pytest.mark.parametrize(
    "token", ["pfmp-rt1.madeup", "pfmp-rt1.", "not a token", "pfmp-rt1." + "a" * 200, "pfmp-tl1.1.secret"]
)
async def test_a_refresh_token_the_server_did_not_issue_is_refused(peers, token):
    refused = await refresh(peers.at("192.0.2.17"), token)
    assert refused["token"] is None and reasons(refused) == ["REFRESH_TOKEN_INVALID"]


async def test_refused_refreshes_are_throttled_per_address_with_the_sign_ins(peers):
    # given 20 made-up refresh tokens from one address (the address's limit of failures a minute)
    attacker, other = peers.at("198.51.100.7"), peers.at("198.51.100.8")
    for n in range(20):
        assert reasons(await refresh(attacker, f"pfmp-rt1.guess{n}")) == ["REFRESH_TOKEN_INVALID"]
    # then the address is throttled, for refreshes and sign-ins alike, even with a good refresh token
    good = await sign_in(other)
    throttled = await refresh(attacker, good["refreshToken"])
    assert throttled["token"] is None and [e["code"] for e in throttled["errors"]] == ["THROTTLED"]
    assert 0 < throttled["retryAfter"] <= 60
    login = (await attacker.data(LOGIN, e=DEMO_EMAIL[Role.TEACHER], p=DEMO_PASSWORD))["login"]
    assert [e["code"] for e in login["errors"]] == ["THROTTLED"]
    # while another address refreshes
    assert (await refresh(other, good["refreshToken"]))["errors"] == []


def test_only_a_refresh_token_string_is_hashed():
    # a well-formed string is hashed (the lookup then finds it or not), surrounding blanks aside; anything else is not
    token = refresh_strings.compose("a" * 91)  # 100 characters, the longest
    assert len(token) == refresh_strings.MAX_LENGTH
    assert refresh_strings.digest("key", token) == refresh_strings.digest("key", f"  {token}\n") is not None
    for malformed in (token + "a", "pfmp-rt1.", "pfmp-rt2.abc", "other.abc", "pfmp-rt1.é", "pfmp-rt1"):
        assert refresh_strings.digest("key", malformed) is None, malformed


async def test_the_start_up_sweep_deletes_the_refresh_tokens_expired_for_a_day(app):
    # given tokens expired 2 days, 25 hours and 23 hours ago, and one still valid for 23 hours
    user = await User.get(email=DEMO_EMAIL[Role.LEARNER])
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    ages = {"2 days": 48, "25 hours": 25, "23 hours": 23, "valid": -23}
    for name, hours in ages.items():
        await RefreshToken.create(
            user_id=user.id,
            digest=name,
            family=name,
            token_version=user.token_version,
            issued_at=now - dt.timedelta(days=30),
            expires_at=now - dt.timedelta(hours=hours),
        )
    # when the server starts
    assert await refresh_strings.sweep(now) == 2
    # then a token expired less than a day ago is kept (it is still told EXPIRED), the valid one too
    assert sorted(await RefreshToken.filter(digest__in=list(ages)).values_list("digest", flat=True)) == [
        "23 hours",
        "valid",
    ]
