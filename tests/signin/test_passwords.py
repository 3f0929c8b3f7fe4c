"""New passwords (issue 11, part 6): judged by an estimator, never the account's own email or name; a trainer
created with a temporary password changes it before anything else works."""

from __future__ import annotations

import pytest

from graph.types.common import encode_id
from models.schools import Classroom
from models.users import Role, User
from resolvers.demo import DEMO_PASSWORD
from tests.conftest import Api
from tests.signin.conftest import login

CHANGE = """mutation($c: String!, $n: String!) { passwordChange(input: {currentPassword: $c, newPassword: $n}) {
  changed errors { field code reason message } } }"""
CREATE = """mutation($input: %sInput!) { %s(input: $input) { trainer { id } temporaryPassword errors { code } } }"""
STRONG = "Twelve orange kites over Lille"
# what permissions/passwords.py hashes for its constant-time placeholder
PLACEHOLDER_PHRASE = "no such account: constant-time placeholder"


# The demo learner is Angélique DUPIRE, angelique.dupire@demo.pfmp.test.
@pytest.mark.parametrize(
    "password",
    [
        "angelique.dupire@demo.pfmp.test",  # the email itself
        "angelique.dupire-2026",  # its local part
        "Angélique*Rivière*77",  # the first name, accents and case aside
        "ANGELIQUE forever 2026",
        "dupire-pfmp-aout-2026",  # the last name
    ],
)
async def test_a_new_password_may_not_contain_ones_email_or_name(learner, password):
    data = await learner.data(CHANGE, c=DEMO_PASSWORD, n=password)
    assert data["passwordChange"]["changed"] is False
    assert [(e["field"], e["code"]) for e in data["passwordChange"]["errors"]] == [
        (["input", "newPassword"], "INVALID")
    ]


@pytest.mark.parametrize("password", ["motdepasse123", "azertyuiop12", "1234567890", "password2026", "aaaaaaaaaaaa"])
async def test_a_long_enough_but_guessable_password_is_refused(learner, password):
    # ten characters or more: a length rule alone would take them
    assert len(password) >= 10
    data = await learner.data(CHANGE, c=DEMO_PASSWORD, n=password)
    assert data["passwordChange"]["changed"] is False
    assert data["passwordChange"]["errors"][0]["field"] == ["input", "newPassword"]
    assert data["passwordChange"]["errors"][0]["code"] == "INVALID"


async def test_a_hard_to_guess_password_is_taken(learner, anonymous):
    data = await learner.data(CHANGE, c=DEMO_PASSWORD, n=STRONG)
    assert data["passwordChange"] == {"changed": True, "errors": []}
    payload, _ = await login(anonymous, "angelique.dupire@demo.pfmp.test", STRONG)
    assert payload["token"]


@pytest.mark.parametrize(
    "creator, mutation, email",
    [
        (Role.TEACHER, "tutorCreate", "paul.ohm@ohm.test"),
        (Role.ADMIN, "masterCreate", "anne.volt@volt.test"),
    ],
)
async def test_a_trainer_on_a_temporary_password_must_change_it_before_anything_else(
    clients, http, anonymous, creator, mutation, email
):
    # given a trainer account created by staff, with a temporary password
    staff = clients[creator]
    created = (
        await staff.data(
            CREATE % (mutation[0].upper() + mutation[1:], mutation),
            input={"email": email, "firstName": "Paul", "lastName": "OHM", "companyName": "Ohm & fils"},
        )
    )[mutation]
    assert created["errors"] == []
    temporary = created["temporaryPassword"]
    # when the trainer signs in with it
    payload, _ = await login(anonymous, email, temporary)
    assert payload["token"] and payload["passwordChangeRequired"] is True
    trainer = Api(http, payload["token"])
    # then `me` answers, and every other operation is refused with PASSWORD_CHANGE_REQUIRED
    assert (await trainer.data("{ me { fullName } }"))["me"] == {"fullName": "Paul OHM"}
    for operation in (
        "{ learners { edges { node { id } } } }",
        '{ node(id: "%s") { id } }' % created["trainer"]["id"],
        "mutation { signOutEverywhere { revoked } }",
    ):
        assert await trainer.error_code(operation) == "PASSWORD_CHANGE_REQUIRED", operation
    portfolio = encode_id("Portfolio", 1)
    download = await http.get(f"/exports/meeting-sheet/{portfolio}", headers=trainer.headers)
    assert download.status_code == 403 and download.json()["code"] == "PASSWORD_CHANGE_REQUIRED"
    # until they choose their own password
    changed = await trainer.data(CHANGE, c=temporary, n=STRONG)
    assert changed["passwordChange"] == {"changed": True, "errors": []}
    payload, _ = await login(anonymous, email, STRONG)
    assert payload["passwordChangeRequired"] is False
    own = Api(http, payload["token"])
    assert (await own.data("{ learners { edges { node { id } } } }"))["learners"] == {"edges": []}


ACCOUNT_CREATE = """mutation($input: %s!) { %s(input: $input) { user { id } temporaryPassword errors { code } } }"""


@pytest.mark.parametrize(
    "mutation, input_type", [("teacherCreate", "TeacherCreateInput"), ("learnerCreate", "LearnerCreateInput")]
)
async def test_a_teacher_or_learner_on_a_temporary_password_must_change_it_before_anything_else(
    admin, http, anonymous, mutation, input_type
):
    # given an account the administrator creates: its password is one staff know, so it is temporary too
    classroom = encode_id("Classroom", (await Classroom.get(name="CAPELECT")).id)
    values = {"email": "ines.ampere@demo.pfmp.test", "firstName": "Inès", "lastName": "AMPÈRE"}
    values |= {"classroomIds": [classroom]} if mutation == "teacherCreate" else {"classroomId": classroom}
    created = (await admin.data(ACCOUNT_CREATE % (input_type, mutation), input=values))[mutation]
    assert created["errors"] == []
    temporary = created["temporaryPassword"]
    # when the person signs in with it, they are told to change it
    payload, _ = await login(anonymous, values["email"], temporary)
    assert payload["token"] and payload["passwordChangeRequired"] is True
    person = Api(http, payload["token"])
    # and nothing but `me` works: no reads, no writes, no downloads
    assert (await person.data("{ me { fullName } }"))["me"] == {"fullName": "Inès AMPÈRE"}
    for operation in (
        "{ learners { edges { node { id } } } }",
        '{ node(id: "%s") { id } }' % created["user"]["id"],
        "mutation { signOutEverywhere { revoked } }",
    ):
        assert await person.error_code(operation) == "PASSWORD_CHANGE_REQUIRED", operation
    learner_synthesis = f"/exports/learner-synthesis/{created['user']['id']}"
    download = await http.get(learner_synthesis, headers=person.headers)
    assert download.status_code == 403 and download.json()["code"] == "PASSWORD_CHANGE_REQUIRED"
    # until they choose their own
    assert (await person.data(CHANGE, c=temporary, n=STRONG))["passwordChange"] == {"changed": True, "errors": []}
    payload, _ = await login(anonymous, values["email"], STRONG)
    assert payload["passwordChangeRequired"] is False
    own = Api(http, payload["token"])
    assert "learners" in await own.data("{ learners { edges { node { id } } } }")


async def test_an_account_without_a_password_cannot_be_signed_into_with_any(anonymous):
    # given an account that signs in through its school's ENT only: no password of its own
    email = "eude.toutcourt@demo.pfmp.test"
    await User.filter(email=email).update(password_hash=None)
    # then no password opens it: not the demo's, not the phrase the constant-time placeholder hash was made from
    # (it is in the source, so anyone can read it)
    for password in (DEMO_PASSWORD, PLACEHOLDER_PHRASE):
        payload, _ = await login(anonymous, email, password)
        assert payload["token"] is None, password
