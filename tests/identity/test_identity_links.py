"""userExternalIdentitySet and externalIdentities: the admin links accounts to their identity-provider identifiers."""

import pytest

from models.schools import School
from models.users import ExternalIdentity, Role, User
from tests.identity.conftest import gid, person_id

SET = """mutation($u: ID!, $p: String!, $s: String) { userExternalIdentitySet(input: {userId: $u, provider: $p, subject: $s}) {
  user { __typename fullName } externalIdentity { provider subject } errors { field code reason message } } }"""
READ = "query($u: ID!) { externalIdentities(userId: $u) { provider subject } }"


async def set_link(client, user_id: str, provider: str, subject: str | None) -> dict:
    return (await client.data(SET, u=user_id, p=provider, s=subject))["userExternalIdentitySet"]


async def test_the_admin_links_replaces_and_removes_an_identity(admin, learner):
    # given
    learner_id = person_id(learner.user)
    # when / then: set
    payload = await set_link(admin, learner_id, "ent", "AC-LILLE$1234567")
    assert payload == {
        "user": {"__typename": "Learner", "fullName": "Angélique DUPIRE"},
        "externalIdentity": {"provider": "ent", "subject": "AC-LILLE$1234567"},
        "errors": [],
    }
    await set_link(admin, learner_id, "cas", "adupire")
    assert (await admin.data(READ, u=learner_id))["externalIdentities"] == [
        {"provider": "cas", "subject": "adupire"},
        {"provider": "ent", "subject": "AC-LILLE$1234567"},
    ]
    # replace
    await set_link(admin, learner_id, "ent", "AC-LILLE$7654321")
    assert await ExternalIdentity.filter(user_id=learner.user.id, provider="ent").values_list("subject", flat=True) == [
        "AC-LILLE$7654321"
    ]
    # remove
    payload = await set_link(admin, learner_id, "ent", None)
    assert payload["externalIdentity"] is None and payload["errors"] == []
    assert (await admin.data(READ, u=learner_id))["externalIdentities"] == [{"provider": "cas", "subject": "adupire"}]


async def test_an_identity_already_linked_to_another_account_is_a_conflict(admin, learner, teacher):
    await set_link(admin, person_id(teacher.user), "ent", "shared-id")
    payload = await set_link(admin, person_id(learner.user), "ent", "shared-id")
    assert payload["errors"] == [
        {
            "field": ["input", "subject"],
            "code": "CONFLICT",
            "reason": "IDENTITY_LINK_TAKEN",
            "message": "Un autre compte est déjà lié à cette identité chez « ent ».",
        }
    ]
    assert not await ExternalIdentity.exists(user_id=learner.user.id)


async def test_an_unknown_provider_is_refused(admin, learner):
    payload = await set_link(admin, person_id(learner.user), "google", "x")
    assert payload["errors"][0]["field"] == ["input", "provider"]
    assert payload["errors"][0]["reason"] == "IDENTITY_PROVIDER_UNKNOWN"
    assert "configurés : 'ent', 'academie', 'down', 'cas'" in payload["errors"][0]["message"]
    assert not await ExternalIdentity.exists(user_id=learner.user.id)


async def test_an_account_of_another_school_does_not_exist_for_the_admin(admin):
    # given
    school = await School.create(uai="0590001B", name="Autre lycée")
    other = await User.create(school=school, role=Role.LEARNER, email="x@other.test", first_name="X", last_name="Y")
    # when
    payload = await set_link(admin, gid("Learner", other.id), "ent", "stolen")
    # then
    assert payload["errors"] == [
        {
            "field": ["input", "userId"],
            "code": "NOT_FOUND",
            "reason": "ID_NOT_FOUND",
            "message": "Cet identifiant ne désigne aucun élément « compte » à votre portée.",
        }
    ]
    assert (await admin.data(READ, u=gid("Learner", other.id)))["externalIdentities"] is None
    assert not await ExternalIdentity.exists(subject="stolen")


async def test_an_id_of_the_wrong_kind_is_not_found(admin, learner):
    payload = await set_link(admin, gid("Teacher", learner.user.id), "ent", "x")
    assert payload["errors"][0]["code"] == "NOT_FOUND"


async def test_a_too_long_subject_is_refused(admin, learner):
    payload = await set_link(admin, person_id(learner.user), "ent", "x" * 255)
    assert payload["errors"][0]["field"] == ["input", "subject"]


@pytest.mark.parametrize("role", [Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER, None])
async def test_only_admins_manage_identity_links(clients, learner, role):
    client = clients[role]
    expected = "UNAUTHENTICATED" if role is None else "FORBIDDEN"
    assert await client.error_code(SET, u=person_id(learner.user), p="ent", s="mine") == expected
    assert await client.error_code(READ, u=person_id(learner.user)) == expected
    assert not await ExternalIdentity.exists(subject="mine")
