"""A wrong current password in passwordChange counts in the sign-in throttle (issue 11, part 4): keyed like a
failed sign-in, by the account's email and the client's address, and refused with the same THROTTLED answer.
Whoever holds a token (a stolen one, a shared computer left signed in) gets no more guesses than at the login."""

from __future__ import annotations

from resolvers.demo import DEMO_PASSWORD
from tests.conftest import Api
from tests.signin.conftest import login
from tests.signin.test_throttle import TEACHER, WRONG, fail, throttled

CHANGE = """mutation($c: String!, $n: String!) { passwordChange(input: {currentPassword: $c, newPassword: $n}) {
  changed retryAfter errors { field code reason message } } }"""
NEW = "Quatre chevaux bleus traversent la Loire"


async def change(api: Api, current: str) -> tuple[dict, dict]:
    response = await api.post(CHANGE, {"c": current, "n": NEW})
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]["passwordChange"], dict(response.headers)


def wrong_current(payload: dict) -> bool:
    return payload["changed"] is False and [(e["field"], e["code"]) for e in payload["errors"]] == [
        (["input", "currentPassword"], "INVALID")
    ]


def signed_in_at(peers, host: str, teacher: Api) -> Api:
    return Api(peers.at(host).http, teacher.token, teacher.user)


async def test_five_wrong_current_passwords_lock_the_account_as_five_failed_sign_ins(peers, teacher, clock):
    client = signed_in_at(peers, "198.51.100.20", teacher)
    # given five wrong current passwords
    for _ in range(5):
        payload, _ = await change(client, WRONG)
        assert wrong_current(payload), payload
    # when the right one comes right after
    payload, headers = await change(client, DEMO_PASSWORD)
    # then it is refused as a sign-in is, with the time to retry, and the password is unchanged
    assert payload["changed"] is False
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(None, "THROTTLED")]
    assert payload["retryAfter"] == 60 and headers["retry-after"] == "60"
    assert payload["errors"][0]["reason"] == "SIGN_IN_THROTTLED"
    assert "60 secondes" in payload["errors"][0]["message"]
    # and the account's sign-in is locked too, from any address
    signin, _ = await login(peers.at("198.51.100.21"), TEACHER, DEMO_PASSWORD)
    assert throttled(signin) and signin["retryAfter"] == 60
    # once the minute is over, the right current password changes it
    clock.advance(60)
    payload, _ = await change(client, DEMO_PASSWORD)
    assert payload == {"changed": True, "retryAfter": None, "errors": []}


async def test_failed_sign_ins_and_wrong_current_passwords_add_up(peers, teacher):
    # given three failed sign-ins of the teacher's email
    await fail(peers.at("198.51.100.30"), TEACHER, 3)
    client = signed_in_at(peers, "198.51.100.31", teacher)
    # when two wrong current passwords follow
    for _ in range(2):
        assert wrong_current((await change(client, WRONG))[0])
    # then the account is locked: for passwordChange and for login
    assert [e["code"] for e in (await change(client, DEMO_PASSWORD))[0]["errors"]] == ["THROTTLED"]
    assert throttled((await login(peers.at("198.51.100.32"), TEACHER, DEMO_PASSWORD))[0])


async def test_wrong_current_passwords_count_against_the_address(peers, teacher, learner):
    # given twenty failed sign-ins from one address, each on another email (no account lock involved)
    school = peers.at("198.51.100.40")
    for n in range(19):
        await fail(school, f"guess{n}@demo.pfmp.test")
    # and a wrong current password from the same address, the twentieth failure
    assert wrong_current((await change(signed_in_at(peers, "198.51.100.40", learner), WRONG))[0])
    # then a password change from that address is refused, even of another account with its right password
    payload, _ = await change(signed_in_at(peers, "198.51.100.40", teacher), DEMO_PASSWORD)
    assert [e["code"] for e in payload["errors"]] == ["THROTTLED"]
    # while from another address it goes through
    payload, _ = await change(signed_in_at(peers, "198.51.100.41", teacher), DEMO_PASSWORD)
    assert payload["changed"] is True


async def test_a_right_current_password_forgets_the_failures(peers, teacher):
    client = signed_in_at(peers, "198.51.100.50", teacher)
    for _ in range(4):
        assert wrong_current((await change(client, WRONG))[0])
    # the right one (with a weak new password: refused for that, but the current one was right)
    response = await client.post(CHANGE, {"c": DEMO_PASSWORD, "n": "short"})
    assert response.json()["data"]["passwordChange"]["errors"][0]["field"] == ["input", "newPassword"]
    # then four more failures do not lock
    await fail(peers.at("198.51.100.51"), TEACHER, 4)
    payload, _ = await login(peers.at("198.51.100.52"), TEACHER, DEMO_PASSWORD)
    assert payload["token"]
