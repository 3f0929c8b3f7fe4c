"""Just-in-time linking and provisioning from a provider's claims, through bearer tokens of the loopback provider
(tests/identity/conftest.py): linking by verified email, a learner created with their classroom, the refusals, the
audit entry, a second sign-in and two first sign-ins at once. The code flow's own cases are in
test_oidc_code_flow.py, the CAS one in test_cas_real_server.py."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from graph.app import create_app
from graph.settings import Provisioning
from models.audit import AuditEntry, AuditKind
from models.schools import Classroom, School
from models.users import ExternalIdentity, Role, User
from permissions import oidc, provisioning
from tests.conftest import Api, _settings
from tests.identity.conftest import ent
from tests.identity.test_oidc import refused

ME = "{ me { __typename fullName role } }"
UAI = "0599999Z"
RULES = Provisioning(
    link_by_email=True,
    provision=True,
    profile_roles=(("National_ELV", "LEARNER"), ("National_ENS", "TEACHER")),
)


@pytest.fixture
def settings(tmp_path, database_url, idp):
    oidc.clear_key_cache()
    return _settings(tmp_path, database_url, oidc_providers=(ent(idp, provisioning=RULES),))


def learner_claims(**extra) -> dict:
    claims = {
        "sub": "ent-lea",
        "given_name": "Léa",
        "family_name": "NOUVEL",
        "email": "lea.nouvel@ent.example.test",
        "email_verified": True,
        # ENT claims may be lists: one UAI of a school here among others, the class as `<structure>$<code>`.
        "ENTPersonProfils": ["National_ELV"],
        "ENTPersonStructRattachRNE": ["0333333Y", UAI],
        "ENTEleveClasses": ["0599999Z$1CAPELEC"],
    }
    claims.update(extra)
    return claims


async def test_a_verified_email_links_the_account_of_the_school_once_and_traces_it(http, teacher, idp):
    # given: Claire's ENT identity is linked to nothing here
    claims = dict(sub="ent-claire", email="Professeur@demo.pfmp.test", email_verified=True)
    claims["ENTPersonStructRattachRNE"] = UAI
    # when: two requests with her provider's token
    first = await Api(http, idp.token(**claims)).data(ME)
    second = await Api(http, idp.token(**claims)).data(ME)
    # then: her account, linked, one audit entry naming the provider and no actor
    assert first == second == {"me": {"__typename": "Teacher", "fullName": "Claire MARTIN", "role": "TEACHER"}}
    link = await ExternalIdentity.get(provider="ent", subject="ent-claire")
    assert link.user_id == teacher.user.id
    [entry] = await AuditEntry.filter(kind=AuditKind.ACCESS_CHANGE, subject_id=teacher.user.id)
    assert (entry.subject_type, entry.actor_id, entry.actor_role) == ("Teacher", None, None)
    assert entry.detail == "identity linked by email at sign-in through ent"


async def test_an_administrators_email_is_never_linked(http, admin, idp):
    # given: an ENT identity vouching for the school administrator's email
    claims = learner_claims(sub="ent-alain", email="admin@demo.pfmp.test", email_verified=True)
    links = await ExternalIdentity.all().count()
    # when
    answer = await refused(http, idp.token(**claims))
    # then: the email is taken, the administrator's account is not handed over
    assert "already" in answer
    assert await ExternalIdentity.all().count() == links
    assert not await AuditEntry.filter(kind=AuditKind.ACCESS_CHANGE).exists()


async def test_a_new_learner_is_created_in_the_classroom_the_claim_names_by_code(http, idp):
    # given
    await Classroom.filter(name="CAP 1 ELEC").update(external_code="1CAPELEC")
    accounts = await User.all().count()
    token = idp.token(**learner_claims())
    # when
    first = await Api(http, token).data(ME)
    again = await Api(http, idp.token(**learner_claims())).data(ME)
    # then
    assert first == again == {"me": {"__typename": "Learner", "fullName": "Léa NOUVEL", "role": "LEARNER"}}
    assert await User.all().count() == accounts + 1
    user = await User.get(email="lea.nouvel@ent.example.test").prefetch_related("classroom", "school")
    assert (user.role, user.school.uai, user.classroom.name) == (Role.LEARNER, UAI, "CAP 1 ELEC")
    assert user.password_hash is None
    [entry] = await AuditEntry.filter(kind=AuditKind.ACCESS_CHANGE, subject_id=user.id)
    assert (entry.subject_type, entry.actor_id, entry.school_id) == ("Learner", None, user.school_id)
    assert entry.detail == "account created at sign-in through ent"
    # from where: the request that signed in (httpx's test transport and its own User-Agent)
    assert (entry.address, entry.user_agent) == ("127.0.0.1", f"python-httpx/{httpx.__version__}")


@pytest.mark.parametrize(
    "structure, classroom",
    [
        ("0599999Z$1CAPELEC", "CAP 1 ELEC"),  # by the code after the last "$"
        ("CAP 1 ELEC", "CAP 1 ELEC"),  # by name
        ("0599999Z$B", "Atelier B"),  # a code of one character
        ("N" * 100, "N" * 100),  # a name as long as the column holds
        ("0444444W$2CAPELEC", None),  # the code of another school's classroom
        ("0599999Z$", None),
    ],
    ids=["code", "name", "one-character code", "100-character name", "another school's code", "empty code"],
)
async def test_the_structure_claim_names_a_classroom_of_the_learners_school_only(http, idp, structure, classroom):
    # given the demo school's classrooms, and a classroom of another school
    elec = await Classroom.get(name="CAP 1 ELEC")
    await Classroom.filter(id=elec.id).update(external_code="1CAPELEC")
    await Classroom.create(school_id=elec.school_id, level_id=elec.level_id, name="Atelier B", external_code="B")
    await Classroom.create(school_id=elec.school_id, level_id=elec.level_id, name="N" * 100)
    other = await School.create(uai="0444444W", name="Lycée de la Plaine")
    await Classroom.create(school=other, level_id=elec.level_id, name="CAP 2 ELEC", external_code="2CAPELEC")
    # when a new learner signs in
    data = await Api(http, idp.token(**learner_claims(ENTEleveClasses=[structure]))).data(ME)
    # then the account is made in the demo school, in the classroom named there or in none
    assert data["me"]["fullName"] == "Léa NOUVEL"
    user = await User.get(email="lea.nouvel@ent.example.test").prefetch_related("classroom", "school")
    assert user.school.uai == UAI
    assert (user.classroom.name if user.classroom else None) == classroom


LEARNERS_NAMED = "query($search: String) { learners(search: $search) { nodes { fullName } } }"


async def test_an_account_the_provider_creates_shows_at_once_in_the_schools_cached_lists(
    tmp_path, database_url, idp, admin
):
    # given: a server with the response cache on, whose administrator's list is cached
    await Classroom.filter(name="CAP 1 ELEC").update(external_code="1CAPELEC")
    cached = _settings(
        tmp_path, database_url, response_cache_bytes=8 * 1024 * 1024, oidc_providers=(ent(idp, provisioning=RULES),)
    )
    application = create_app(cached)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http_cached,
    ):
        school_admin = Api(http_cached, admin.token)
        before = await school_admin.post(LEARNERS_NAMED, {"search": "nouvel"})
        again = await school_admin.post(LEARNERS_NAMED, {"search": "nouvel"})
        # when: Léa signs in for the first time; the provider's rules create her account
        await Api(http_cached, idp.token(**learner_claims())).data(ME)
        after = await school_admin.post(LEARNERS_NAMED, {"search": "nouvel"})
    # then: the list read before was cached, and the one read after shows her
    assert before.json()["data"]["learners"]["nodes"] == []
    assert (before.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")
    assert after.json()["data"]["learners"]["nodes"] == [{"fullName": "Léa NOUVEL"}]


async def test_two_first_sign_ins_at_once_make_one_account(http, idp):
    # given
    accounts = await User.all().count()
    tokens = [idp.token(**learner_claims()), idp.token(**learner_claims())]
    # when
    answers = await asyncio.gather(*(Api(http, token).data(ME) for token in tokens))
    # then
    assert answers[0] == answers[1] == {"me": {"__typename": "Learner", "fullName": "Léa NOUVEL", "role": "LEARNER"}}
    assert await User.all().count() == accounts + 1
    assert await ExternalIdentity.filter(provider="ent", subject="ent-lea").count() == 1
    assert await AuditEntry.filter(kind=AuditKind.ACCESS_CHANGE).count() == 1


NOT_CARRIED = "The access token does not carry the '{}' claim this server needs."
NOT_ALLOWED = (
    "Your profile at the identity provider ({}) does not allow creating an account on this server. "
    "Ask your school's administrator."
)
SEVERAL_ROLES = (
    "Your profiles at the identity provider ({}) map to several roles: the account cannot be created. "
    "Ask your school's administrator."
)
NO_SCHOOL = (
    "The identity provider names no school of this server (claim 'ENTPersonStructRattachRNE'): an account is "
    "created or linked only in a school already here."
)
SEVERAL_SCHOOLS = (
    "The identity provider names several schools of this server (claim 'ENTPersonStructRattachRNE'): the account "
    "cannot be tied to one. Ask your school's administrator to link it."
)
LONG_PROFILES = ["P" * 150, "Q" * 150]


@pytest.mark.parametrize(
    "claims, message",
    [
        (learner_claims(ENTPersonProfils="National_PERS"), NOT_ALLOWED.format("National_PERS")),
        (
            learner_claims(ENTPersonProfils=["National_PERS", "National_DIR"]),
            NOT_ALLOWED.format("National_PERS, National_DIR"),
        ),
        # the profiles named in the message are cut at 200 characters
        (learner_claims(ENTPersonProfils=LONG_PROFILES), NOT_ALLOWED.format(", ".join(LONG_PROFILES)[:200])),
        (learner_claims(ENTPersonProfils=None), NOT_CARRIED.format("ENTPersonProfils")),
        (learner_claims(ENTPersonProfils=["", ""]), NOT_CARRIED.format("ENTPersonProfils")),
        (learner_claims(ENTPersonStructRattachRNE="0333333Y"), NO_SCHOOL),
        (learner_claims(ENTPersonStructRattachRNE=None), NOT_CARRIED.format("ENTPersonStructRattachRNE")),
        (learner_claims(ENTPersonStructRattachRNE=["0599999Z", "0444444W"]), SEVERAL_SCHOOLS),
        (
            learner_claims(ENTPersonProfils=["National_ELV", "National_ENS"]),
            SEVERAL_ROLES.format("National_ELV, National_ENS"),
        ),
        (
            learner_claims(ENTPersonProfils=["National_ELV", "National_ENS", *LONG_PROFILES]),
            SEVERAL_ROLES.format(", ".join(["National_ELV", "National_ENS", *LONG_PROFILES])[:200]),
        ),
        (
            learner_claims(email="professeur@demo.pfmp.test", email_verified=False),
            "The identity provider has not verified this email address.",
        ),
        (learner_claims(family_name=None), NOT_CARRIED.format("family_name")),
    ],
    ids=[
        "profile not mapped",
        "two profiles not mapped",
        "long profiles",
        "no profile",
        "blank profiles",
        "unknown UAI",
        "no UAI",
        "two schools",
        "two roles",
        "two roles, long profiles",
        "email unverified",
        "no family name",
    ],
)
async def test_claims_that_name_no_account_to_make_are_refused_and_nothing_is_written(http, idp, claims, message):
    # given a second school here, UAI 0444444W, which only the "two schools" case names
    await School.create(uai="0444444W", name="Lycée de la Plaine")
    accounts, links = await User.all().count(), await ExternalIdentity.all().count()
    # when
    answer = await refused(http, idp.token(**claims))
    # then, told why in the catalog's words
    assert answer == message
    assert (await User.all().count(), await ExternalIdentity.all().count()) == (accounts, links)
    assert not await AuditEntry.filter(kind=AuditKind.ACCESS_CHANGE).exists()


# an address of 254 characters, the longest an email may be (RFC 5321's path limit less its brackets)
LONGEST = "a" * (254 - len("@ent.example.test")) + "@ent.example.test"


@pytest.mark.parametrize(
    "email, kept",
    [
        ("Lea.Nouvel@ENT.example.test", "lea.nouvel@ent.example.test"),
        (LONGEST, LONGEST),
        ("b" + LONGEST, None),  # 255 characters
        (None, None),
        ("", None),
        ("lea.nouvel", None),
        ("@ent.example.test", None),
        ("lea@localhost", None),
        ("lea@.test.", None),  # a domain that is dots around one word
        ("lea nouvel@ent.example.test", None),
    ],
)
def test_an_email_claim_is_kept_only_when_it_looks_like_an_address(email, kept):
    assert provisioning.verified_email(RULES, {"email": email, "email_verified": True}) == kept
