"""Reading a CAS server's validation answer (protocol 2 and 3): what it says, and what is refused."""

import datetime as dt
from dataclasses import replace

import pytest

from graph.messages import render
from models.signin import ProviderSession
from models.users import ExternalIdentity, User
from permissions.cas import CasRefused, CasUnavailable, logout_ticket, parse_answer, service_allowed, single_logout
from permissions.identities import find_user
from tests.identity.conftest import provider_sessions

NS = 'xmlns:cas="http://www.yale.edu/tp/cas"'


def _success(inner: str, prolog: str = "") -> bytes:
    return (
        f"{prolog}<cas:serviceResponse {NS}><cas:authenticationSuccess><cas:user>cmartin</cas:user>"
        f"{inner}</cas:authenticationSuccess></cas:serviceResponse>"
    ).encode()


def test_attributes_as_elements_and_as_name_value_pairs():
    person = parse_answer(
        _success(
            "<cas:attributes><cas:mail> c.martin@ent.test </cas:mail><cas:groupe>A</cas:groupe><cas:groupe>B</cas:groupe>"
            '<cas:attribute name="ENTPersonJointure" value="AC-LILLE$123"/><cas:attribute name="vide"/>'
            "<cas:attribute>sans nom</cas:attribute><cas:empty/></cas:attributes>"
        )
    )
    assert person.user == "cmartin"
    assert person.attributes == {
        "mail": ["c.martin@ent.test"],
        "groupe": ["A", "B"],
        "ENTPersonJointure": ["AC-LILLE$123"],
        "vide": [""],
        "attribute": ["sans nom"],
        "empty": [""],
    }
    assert person.identifier("ENTPersonJointure") == "AC-LILLE$123"
    assert person.identifier(None) == "cmartin"
    assert person.identifier("absent") is None


def test_an_answer_without_attributes_has_none():
    assert parse_answer(_success("")).attributes == {}


def test_an_answer_without_namespace_is_read_too():
    body = b"<serviceResponse><authenticationSuccess><user>cmartin</user></authenticationSuccess></serviceResponse>"
    assert parse_answer(body).user == "cmartin"


@pytest.mark.parametrize(
    "body",
    [
        _success("", prolog="<!DOCTYPE cas:serviceResponse>"),  # no DTD at all, even a harmless one
        b"\x00\xff not xml",
        b"<html>Service unavailable</html>",
        f"<cas:serviceResponse {NS}/>".encode(),
    ],
    ids=["dtd", "garbage", "html", "empty"],
)
def test_an_answer_that_cannot_be_read_says_so(body):
    with pytest.raises(CasUnavailable) as caught:
        parse_answer(body)
    assert str(caught.value) == "The CAS server's answer cannot be read."


@pytest.mark.parametrize(
    "user",
    [b"<cas:user>  </cas:user>", b"<cas:user></cas:user>", b"<cas:user/>", b""],
    ids=["blank", "empty", "self-closed", "no user element"],
)
def test_an_answer_naming_nobody_is_unusable(user):
    with pytest.raises(CasUnavailable, match="^The CAS server's answer names nobody.$"):
        parse_answer(_success("").replace(b"<cas:user>cmartin</cas:user>", user))


@pytest.mark.parametrize(
    "code, error, message",
    [
        ("INTERNAL_ERROR", CasUnavailable, "The CAS server reported an internal error; try again later."),
        ("INVALID_SERVICE", CasRefused, "CAS_TICKET_NOT_FOR_SERVICE"),
        ("INVALID_TICKET", CasRefused, "CAS_TICKET_REFUSED"),
    ],
)
def test_a_failure_says_whether_to_retry(code, error, message):
    body = (
        f'<cas:serviceResponse {NS}><cas:authenticationFailure code="{code}">x</cas:authenticationFailure>'
        f"</cas:serviceResponse>"
    )
    with pytest.raises(error) as caught:
        parse_answer(body.encode())
    assert type(caught.value) is error and str(caught.value) == message


def test_a_person_without_account_is_told_whom_to_ask():

    assert render("reason", "IDENTITY_NOT_LINKED", {"provider": "ent"}, "en") == (
        "You are signed in at 'ent', but no account of this server is linked to "
        "that identity. Ask your school's administrator to link it."
    )


def test_the_service_url_may_carry_a_return_path_after_its_own_query_string():

    assert service_allowed("https://pfmp.test/cas?ent=lille", "https://pfmp.test/cas?ent=lille&next=%2Fa")
    assert not service_allowed("https://pfmp.test/cas?ent=lille", "https://pfmp.test/cas?ent=lille?next=%2Fa")
    assert service_allowed("https://pfmp.test/cas", "https://pfmp.test/cas?next=%2Fa")
    assert not service_allowed("https://pfmp.test/cas", "https://pfmp.test/cas&next=%2Fa")


async def test_an_identity_names_an_account_only_at_the_provider_that_gave_it(app):

    teacher = await User.get(email="professeur@demo.pfmp.test")
    longest = "s" * 254
    await ExternalIdentity.create(user=teacher, provider="ent-cas", subject=longest)
    assert (await find_user("ent-cas", "subject", longest)).id == teacher.id
    assert await find_user("ent-oidc", "subject", longest) is None
    assert await find_user("ent-cas", "subject", "") is None


# A CAS server's single-logout request (SAML 2 LogoutRequest, as django-cas-server and Apereo CAS send it).
LOGOUT = (
    "<samlp:LogoutRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol' ID='LR-1' Version='2.0'>"
    "<saml:NameID xmlns:saml='urn:oasis:names:tc:SAML:2.0:assertion'>cmartin</saml:NameID>"
    "<samlp:SessionIndex>{index}</samlp:SessionIndex></samlp:LogoutRequest>"
)


def test_a_logout_request_names_its_ticket():
    assert logout_ticket(LOGOUT.format(index=" ST-1-abc.def_g ")) == "ST-1-abc.def_g"


def test_a_logout_request_of_64_kib_is_read_and_a_longer_one_is_not():
    request = LOGOUT.format(index="ST-1")
    padded = request + " " * (64 * 1024 - len(request))  # white space after the root element: still well-formed
    assert logout_ticket(padded) == "ST-1"
    assert logout_ticket(padded + " ") is None


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<!DOCTYPE samlp:LogoutRequest>" + LOGOUT.format(index="ST-1"),  # no DTD at all, even a harmless one
        LOGOUT.format(index="ST-1").replace("LogoutRequest", "AuthnRequest"),
        LOGOUT.replace("<samlp:SessionIndex>{index}</samlp:SessionIndex>", ""),
        LOGOUT.format(index=""),
        LOGOUT.format(index="TGT-1-abc"),
        LOGOUT.format(index="ST-" + "a" * 253),
        "not xml at all",
    ],
    ids=[
        "empty",
        "dtd",
        "another request",
        "no session index",
        "empty index",
        "not a service ticket",
        "too long",
        "garbage",
    ],
)
def test_a_logout_request_naming_no_well_formed_ticket_names_none(body):
    assert logout_ticket(body) is None


async def test_a_single_logout_revokes_the_cas_sessions_of_its_ticket_once(app, server_in_guiana):
    # given: a CAS sign-in, and an OpenID provider's session whose id happens to read as that ticket
    settings = app.state.settings
    teacher = await User.get(email="professeur@demo.pfmp.test")
    sessions = [
        (await provider_sessions(teacher.id, provider, "cmartin", "ST-1-abc"))[0]
        for provider in (settings.cas_provider, "ent")
    ]
    # when: the CAS server's logout request comes, then again a minute later, then a request that is none
    first = await single_logout(settings, LOGOUT.format(index="ST-1-abc"))
    again = await single_logout(replace(settings, clock=lambda: settings.clock() + 60), LOGOUT.format(index="ST-1-abc"))
    nothing = await single_logout(settings, "not a logout request")
    # then: the CAS session revoked once, when it came (whatever the server's time zone), the other kept
    cas_session, other = [await ProviderSession.get(id=s.id) for s in sessions]
    assert (first, again, nothing) == (1, 0, 0)
    assert abs(cas_session.revoked_at - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=30)
    assert other.revoked_at is None
