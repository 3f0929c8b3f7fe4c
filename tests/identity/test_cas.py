"""casLogin against a CAS server served by the tests on the loopback interface."""

import asyncio
import time

import pytest

from models.users import ExternalIdentity
from tests.conftest import Api
from tests.identity.conftest import SERVICE


@pytest.fixture
def anonymous(anonymous):
    """These tests read the English messages (the French ones leave out the CAS server's own words)."""
    return anonymous.speaking("en")


CAS_LOGIN = """mutation($ticket: String!, $service: String) { casLogin(input: {ticket: $ticket, service: $service}) {
  token expiresAt user { __typename fullName } errors { field code reason message } } }"""
ME = "{ me { fullName role } }"


async def cas_login(client: Api, ticket: str, service: str | None = None) -> dict:
    return (await client.data(CAS_LOGIN, ticket=ticket, service=service))["casLogin"]


@pytest.fixture
async def linked_teacher(teacher):
    await ExternalIdentity.create(user=teacher.user, provider="cas", subject="cmartin")
    return teacher


async def test_a_valid_ticket_answers_a_token_of_the_server(anonymous, http, linked_teacher, idp):
    # given
    ticket = idp.ticket("cmartin")
    # when
    payload = await cas_login(anonymous, ticket)
    # then
    assert payload["errors"] == []
    assert payload["user"] == {"__typename": "Teacher", "fullName": "Claire MARTIN"}
    assert idp.cas_calls == [{"path": "/cas/serviceValidate", "ticket": ticket, "service": SERVICE}]
    assert (await Api(http, payload["token"]).data(ME))["me"] == {"fullName": "Claire MARTIN", "role": "TEACHER"}


async def test_a_ticket_works_once(anonymous, linked_teacher, idp):
    ticket = idp.ticket("cmartin")
    assert (await cas_login(anonymous, ticket))["token"]
    again = await cas_login(anonymous, ticket)
    assert again["token"] is None
    assert again["errors"] == [
        {
            "field": ["input", "ticket"],
            "code": "INVALID",
            "reason": "CAS_TICKET_REFUSED",
            "message": "The CAS ticket is unknown, expired or already used: sign in at the ENT again.",
        }
    ]


async def test_an_unknown_ticket_is_refused(anonymous, linked_teacher, idp):
    payload = await cas_login(anonymous, "ST-0000-never-issued")
    assert payload["token"] is None and payload["errors"][0]["field"] == ["input", "ticket"]
    assert len(idp.cas_calls) == 1


async def test_a_ticket_issued_to_another_service_is_refused(anonymous, linked_teacher, idp):
    ticket = idp.ticket("cmartin", service="https://other-app.example.test/")
    payload = await cas_login(anonymous, ticket)
    assert payload["token"] is None
    assert payload["errors"][0]["reason"] == "CAS_TICKET_NOT_FOR_SERVICE"
    assert payload["errors"][0]["message"] == "The CAS ticket was not issued for this service."


async def test_another_service_url_is_refused_without_asking_the_cas_server(anonymous, linked_teacher, idp):
    ticket = idp.ticket("cmartin", service="https://other-app.example.test/")
    payload = await cas_login(anonymous, ticket, service="https://other-app.example.test/")
    assert payload["errors"][0]["field"] == ["input", "service"]
    assert idp.cas_calls == []


async def test_the_service_url_may_carry_a_return_path(anonymous, linked_teacher, idp):
    service = f"{SERVICE}?next=/periods"
    payload = await cas_login(anonymous, idp.ticket("cmartin", service=service), service=service)
    assert payload["errors"] == [] and payload["token"]


@pytest.mark.parametrize("ticket", ["", "TGT-123", "ST-with space", "ST-" + "a" * 300, "ST-<x>"])
async def test_a_malformed_ticket_is_refused_without_asking_the_cas_server(anonymous, idp, ticket):
    payload = await cas_login(anonymous, ticket)
    assert payload["errors"][0]["field"] == ["input", "ticket"] and payload["token"] is None
    assert idp.cas_calls == []


async def test_a_person_without_account_is_refused_and_nothing_is_created(anonymous, idp):
    payload = await cas_login(anonymous, idp.ticket("inconnu"))
    assert payload["token"] is None
    assert (payload["errors"][0]["code"], payload["errors"][0]["reason"]) == ("NOT_FOUND", "IDENTITY_NOT_LINKED")
    assert "no account of this server is linked" in payload["errors"][0]["message"]
    assert not await ExternalIdentity.exists(subject="inconnu")


@pytest.mark.identity_settings(cas_attribute="ENTPersonJointure", cas_protocol="3")
async def test_cas3_maps_the_person_by_the_configured_attribute(anonymous, learner, idp):
    # given
    await ExternalIdentity.create(user=learner.user, provider="cas", subject="AC-LILLE$1234567")
    ticket = idp.ticket("adupire", ENTPersonJointure="AC-LILLE$1234567", mail="a@example.test")
    # when
    payload = await cas_login(anonymous, ticket)
    # then
    assert payload["user"] == {"__typename": "Learner", "fullName": "Angélique DUPIRE"}
    assert idp.cas_calls[0]["path"] == "/cas/p3/serviceValidate"


@pytest.mark.identity_settings(cas_attribute="ENTPersonJointure")
async def test_a_missing_attribute_is_refused(anonymous, learner, idp):
    payload = await cas_login(anonymous, idp.ticket("adupire"))
    assert payload["errors"][0]["reason"] == "CAS_ATTRIBUTE_MISSING"
    assert "did not send the attribute 'ENTPersonJointure'" in payload["errors"][0]["message"]


@pytest.mark.identity_settings(cas_attribute="mail", cas_match="email")
async def test_the_person_can_be_matched_by_email(anonymous, learner, idp):
    payload = await cas_login(anonymous, idp.ticket("adupire", mail="ANGELIQUE.DUPIRE@demo.pfmp.test"))
    assert payload["user"]["fullName"] == "Angélique DUPIRE"


@pytest.mark.identity_settings(cas_server_url=None, cas_service_url=None)
async def test_cas_sign_in_is_off_unless_configured(anonymous, idp):
    payload = await cas_login(anonymous, "ST-123")
    assert payload["errors"] == [
        {
            "field": None,
            "code": "INVALID",
            "reason": "CAS_NOT_CONFIGURED",
            "message": "Sign-in through CAS is not configured on this server.",
        }
    ]


@pytest.mark.identity_settings(cas_timeout=0.5)
async def test_a_slow_cas_server_is_a_clear_error_and_the_server_keeps_serving(anonymous, admin, linked_teacher, idp):
    # given: the CAS server takes 3 s to answer
    idp.cas_delay = 3.0
    ticket = idp.ticket("cmartin")
    finished: dict[str, float] = {}

    async def login():
        result = await anonymous.execute(CAS_LOGIN, ticket=ticket)
        finished["cas"] = time.monotonic()
        return result

    async def other_request():
        await asyncio.sleep(0.1)
        data = await admin.data(ME)
        finished["other"] = time.monotonic()
        return data

    # when
    started = time.monotonic()
    body, other = await asyncio.gather(login(), other_request())
    # then
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["errors"][0]["message"] == "The CAS server did not answer in time; try again later."
    assert finished["cas"] - started < 2.0
    assert other["me"]["role"] == "ADMIN" and finished["other"] < finished["cas"]


@pytest.mark.identity_settings(cas_server_url="http://127.0.0.1:9/cas")
async def test_an_unreachable_cas_server_is_a_clear_error(anonymous, idp):
    body = await anonymous.execute(CAS_LOGIN, ticket="ST-123")
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["errors"][0]["message"] == "The CAS server cannot be reached; try again later."


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess>
<cas:user>&lol4;</cas:user></cas:authenticationSuccess></cas:serviceResponse>"""


# A well-formed success, one byte over the 256 KiB a CAS answer may take (docs/identity.md).
_NAMED = b'<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user>cmartin'
_END = b"</cas:user></cas:authenticationSuccess></cas:serviceResponse>"
OVERSIZED = _NAMED + b" " * (256 * 1024 + 1 - len(_NAMED) - len(_END)) + _END


@pytest.mark.parametrize(
    "answer",
    [
        BOMB,
        b"<html>Service unavailable</html>",
        b"\x00\xff not xml",
        b'<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"/>',
        OVERSIZED,
    ],
    ids=["entity bomb", "html", "garbage", "empty", "over 256 KiB"],
)
async def test_a_garbled_or_hostile_cas_answer_is_refused(anonymous, linked_teacher, idp, answer):
    idp.cas_raw_answer = answer
    body = await anonymous.execute(CAS_LOGIN, ticket=idp.ticket("cmartin"))
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "Traceback" not in str(body)
