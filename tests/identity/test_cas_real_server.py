"""casLogin against a real CAS 3.0 server (django-cas-server, tests/cas_server.py): the browser's sign-in at the
CAS login page, then the ticket it hands the front end, validated by our server over CAS 2 and CAS 3.

test_cas.py drives the answers a real server never gives (garbled, hostile, slow); here the server is the real
thing, so these tests show the protocol as deployed: tickets, services and attributes.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from graph.settings import Provisioning
from models.audit import AuditEntry, AuditKind
from models.schools import Classroom
from models.users import ExternalIdentity, Role, User
from tests.cas_server import CasAccount, CasServer
from tests.conftest import Api, _settings
from tests.identity.conftest import SERVICE

CAS_LOGIN = """mutation($ticket: String!, $service: String) { casLogin(input: {ticket: $ticket, service: $service}) {
  token user { __typename fullName } errors { field code reason } } }"""
ME = "{ me { fullName role } }"
ACCOUNTS = [
    CasAccount("cmartin", "mot-de-passe-cas-1", "claire.martin@ac-lille.test", "Claire", "MARTIN"),
    CasAccount("adupire", "mot-de-passe-cas-2", "angelique.dupire@demo.pfmp.test", "Angélique", "DUPIRE"),
    # The ENT's profile, UAI and class of a learner nobody here knows yet, as CAS groups.
    CasAccount(
        "ttoulemonde",
        "mot-de-passe-cas-3",
        "theo.toulemonde@ac-lille.test",
        "Théo",
        "TOULEMONDE",
        ("National_ELV", "0599999Z", "1CAPELEC"),
    ),
]
# The CAS rules of the test that creates accounts: every ENT value read from the one `groups` attribute.
CAS_RULES = Provisioning(
    provision=True,
    profile_roles=(("National_ELV", "LEARNER"),),
    profile_claim="groups",
    uai_claim="groups",
    structure_claim="groups",
    given_name_claim="first_name",
    family_name_claim="last_name",
)


class LogoutListener:
    """Where the CAS server sends its single-logout requests: each one kept as sent (body and content type), for
    the test to hand to the app under test, which runs in-process."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                received.append((body, self.headers.get("content-type", "")))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cas-logout"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def slo():
    listener = LogoutListener()
    yield listener
    listener.server.shutdown()


@pytest.fixture(scope="module")
def cas(slo):
    pattern = r"^https://pfmp\.example\.test/.*"
    server = CasServer(ACCOUNTS, service_pattern=pattern, slo_callback=slo.url).start()
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
    assert again["errors"] == [{"field": ["input", "ticket"], "code": "INVALID", "reason": "CAS_TICKET_REFUSED"}]


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


@pytest.mark.identity_settings(cas_provisioning=CAS_RULES)
async def test_the_cas_rules_create_a_learner_from_the_attributes_once(anonymous, cas, browser):
    # given
    await Classroom.filter(name="CAP 1 ELEC").update(external_code="1CAPELEC")
    accounts = await User.all().count()
    # when: Théo signs in twice at the CAS server (from two browsers)
    first = await cas_login(anonymous, await cas.sign_in(browser, "ttoulemonde", "mot-de-passe-cas-3", SERVICE))
    async with httpx.AsyncClient(timeout=30) as phone:
        second = await cas_login(anonymous, await cas.sign_in(phone, "ttoulemonde", "mot-de-passe-cas-3", SERVICE))
    # then: one account, in the classroom the attribute names, linked to his CAS user, traced once
    assert first["errors"] == second["errors"] == []
    assert first["user"] == second["user"] == {"__typename": "Learner", "fullName": "Théo TOULEMONDE"}
    assert await User.all().count() == accounts + 1
    user = await User.get(email="theo.toulemonde@ac-lille.test").prefetch_related("classroom")
    assert (user.role, user.classroom.name) == (Role.LEARNER, "CAP 1 ELEC")
    assert await ExternalIdentity.filter(user_id=user.id).values_list("provider", "subject") == [("cas", "ttoulemonde")]
    [entry] = await AuditEntry.filter(kind=AuditKind.ACCESS_CHANGE, subject_id=user.id)
    assert (entry.actor_id, entry.detail) == (None, "account created at sign-in through cas")


@pytest.mark.identity_settings(cas_provisioning=CAS_RULES)
async def test_a_cas_person_without_the_attributes_the_rules_read_is_refused_in_the_payload(anonymous, cas, browser):
    # when: Claire's CAS account carries no groups (no UAI, no profile)
    payload = await cas_login(anonymous, await cas.sign_in(browser, "cmartin", "mot-de-passe-cas-1", SERVICE))
    # then
    assert payload["token"] is None
    assert payload["errors"] == [{"field": ["input", "ticket"], "code": "INVALID", "reason": "CAS_ATTRIBUTE_MISSING"}]


async def test_a_person_the_cas_server_knows_but_no_account_is_linked_to_is_refused(anonymous, cas, browser):
    ticket = await cas.sign_in(browser, "cmartin", "mot-de-passe-cas-1", SERVICE)
    payload = await cas_login(anonymous, ticket)
    assert payload["token"] is None
    assert (payload["errors"][0]["code"], payload["errors"][0]["reason"]) == ("NOT_FOUND", "IDENTITY_NOT_LINKED")


async def test_signing_out_at_the_cas_server_revokes_the_tokens_of_that_sign_in_only(
    http, anonymous, teacher, cas, slo
):
    # given: Claire signed in twice at the CAS server (two browsers), each sign-in answered one token of ours
    await ExternalIdentity.create(user=teacher.user, provider="cas", subject="cmartin")
    async with httpx.AsyncClient(timeout=30) as office, httpx.AsyncClient(timeout=30) as phone:
        office_token = (
            await cas_login(anonymous, await cas.sign_in(office, "cmartin", "mot-de-passe-cas-1", SERVICE))
        )["token"]
        phone_token = (await cas_login(anonymous, await cas.sign_in(phone, "cmartin", "mot-de-passe-cas-1", SERVICE)))[
            "token"
        ]
        slo.received.clear()
        # when: she signs out at the CAS server in the office; it sends its logout request, handed to us as sent
        await cas.sign_out(office)
    assert len(slo.received) == 1
    body, content_type = slo.received[0]
    answer = await http.post("/auth/cas/logout", content=body, headers={"content-type": content_type})
    # then: the office's token is refused, the phone's still works
    assert answer.status_code == 200
    refused = await Api(http, office_token).execute(ME)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await Api(http, phone_token).data(ME))["me"]["fullName"] == "Claire MARTIN"


@pytest.mark.parametrize(
    "request_body",
    [
        "",
        "<samlp:LogoutRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'>"
        "<samlp:SessionIndex>ST-never-issued</samlp:SessionIndex></samlp:LogoutRequest>",
        "<!DOCTYPE x [<!ENTITY e 'ST-x'>]><LogoutRequest><SessionIndex>&e;</SessionIndex></LogoutRequest>",
        "<Other><SessionIndex>{ticket}</SessionIndex></Other>",
        "not xml at all",
    ],
)
async def test_a_logout_request_naming_no_session_of_ours_revokes_nothing(
    http, anonymous, teacher, cas, browser, request_body
):
    await ExternalIdentity.create(user=teacher.user, provider="cas", subject="cmartin")
    ticket = await cas.sign_in(browser, "cmartin", "mot-de-passe-cas-1", SERVICE)
    token = (await cas_login(anonymous, ticket))["token"]
    # when
    answer = await http.post("/auth/cas/logout", data={"logoutRequest": request_body.format(ticket=ticket)})
    # then
    assert answer.status_code == 200 and answer.text == ""
    assert (await Api(http, token).data(ME))["me"]["fullName"] == "Claire MARTIN"
