"""casLogin against a real CAS 3.0 server (django-cas-server, tests/cas_server.py): the browser's sign-in at the
CAS login page, then the ticket it hands the front end, validated by our server over CAS 2 and CAS 3.

test_cas.py drives the answers a real server never gives (garbled, hostile, slow); here the server is the real
thing, so these tests show the protocol as deployed: tickets, services and attributes.
"""

import httpx
import pytest

from models.users import ExternalIdentity
from tests.cas_server import CasAccount, CasServer
from tests.conftest import Api, _settings
from tests.identity.conftest import SERVICE

CAS_LOGIN = """mutation($ticket: String!, $service: String) { casLogin(ticket: $ticket, service: $service) {
  token user { __typename fullName } errors { field code reason } } }"""
ME = "{ me { fullName role } }"
ACCOUNTS = [
    CasAccount("cmartin", "mot-de-passe-cas-1", "claire.martin@ac-lille.test", "Claire", "MARTIN"),
    CasAccount("adupire", "mot-de-passe-cas-2", "angelique.dupire@demo.pfmp.test", "Angélique", "DUPIRE"),
]


@pytest.fixture(scope="module")
def cas():
    server = CasServer(ACCOUNTS, service_pattern=r"^https://pfmp\.example\.test/.*").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(request, tmp_path, database_url, cas):
    values = dict(cas_server_url=cas.base, cas_service_url=SERVICE, cas_timeout=10.0)
    marker = request.node.get_closest_marker("identity_settings")
    if marker:
        values.update(marker.kwargs)
    return _settings(tmp_path, database_url, **values)


@pytest.fixture
async def browser():
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def cas_login(client: Api, ticket: str, service: str | None = None) -> dict:
    return (await client.data(CAS_LOGIN, ticket=ticket, service=service))["casLogin"]


async def test_a_teacher_signs_in_at_the_cas_login_page_and_gets_a_token_of_the_server(
    anonymous, http, teacher, cas, browser
):
    # given: the teacher's account is linked to her CAS user name
    await ExternalIdentity.create(user=teacher.user, provider="cas", subject="cmartin")
    # when: she signs in at the CAS server, and the front end hands us the ticket
    ticket = await cas.sign_in(browser, "cmartin", "mot-de-passe-cas-1", SERVICE)
    payload = await cas_login(anonymous, ticket)
    # then
    assert ticket.startswith("ST-")
    assert payload["errors"] == []
    assert payload["user"] == {"__typename": "Teacher", "fullName": "Claire MARTIN"}
    assert (await Api(http, payload["token"]).data(ME))["me"] == {"fullName": "Claire MARTIN", "role": "TEACHER"}


async def test_the_cas_server_accepts_a_ticket_once(anonymous, teacher, cas, browser):
    await ExternalIdentity.create(user=teacher.user, provider="cas", subject="cmartin")
    ticket = await cas.sign_in(browser, "cmartin", "mot-de-passe-cas-1", SERVICE)
    assert (await cas_login(anonymous, ticket))["token"]
    # when
    again = await cas_login(anonymous, ticket)
    # then
    assert again["token"] is None
    assert again["errors"] == [{"field": ["ticket"], "code": "INVALID", "reason": "CAS_TICKET_REFUSED"}]


async def test_a_ticket_issued_for_another_page_of_the_service_is_refused(anonymous, teacher, cas, browser):
    await ExternalIdentity.create(user=teacher.user, provider="cas", subject="cmartin")
    ticket = await cas.sign_in(browser, "cmartin", "mot-de-passe-cas-1", "https://pfmp.example.test/elsewhere")
    # when: the front end says the ticket was for the configured service URL
    payload = await cas_login(anonymous, ticket)
    # then
    assert payload["token"] is None
    assert payload["errors"][0]["reason"] == "CAS_TICKET_NOT_FOR_SERVICE"


async def test_the_service_url_may_carry_a_return_path(anonymous, teacher, cas, browser):
    await ExternalIdentity.create(user=teacher.user, provider="cas", subject="cmartin")
    service = f"{SERVICE}?next=/periods"
    ticket = await cas.sign_in(browser, "cmartin", "mot-de-passe-cas-1", service)
    payload = await cas_login(anonymous, ticket, service=service)
    assert payload["errors"] == [] and payload["token"]


@pytest.mark.identity_settings(cas_protocol="3", cas_attribute="email", cas_match="email")
async def test_cas3_releases_the_email_attribute_that_names_the_learner(anonymous, learner, cas, browser):
    # when: no identity link, the account is found by the email the CAS server releases
    ticket = await cas.sign_in(browser, "adupire", "mot-de-passe-cas-2", SERVICE)
    payload = await cas_login(anonymous, ticket)
    # then
    assert payload["errors"] == []
    assert payload["user"] == {"__typename": "Learner", "fullName": "Angélique DUPIRE"}


async def test_a_person_the_cas_server_knows_but_no_account_is_linked_to_is_refused(anonymous, cas, browser):
    ticket = await cas.sign_in(browser, "cmartin", "mot-de-passe-cas-1", SERVICE)
    payload = await cas_login(anonymous, ticket)
    assert payload["token"] is None
    assert (payload["errors"][0]["code"], payload["errors"][0]["reason"]) == ("NOT_FOUND", "IDENTITY_NOT_LINKED")
