"""New passwords (issue 11, part 6): judged by an estimator, never the account's own email or name; a trainer
created with a temporary password changes it before anything else works."""

from __future__ import annotations

import os
import re
import threading

import pytest

from graph.types.common import encode_id
from models.schools import Classroom
from models.users import Role, User
from permissions import passwords
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


async def test_a_refused_new_password_is_told_why_in_words(learner):
    data = await learner.data(CHANGE, c=DEMO_PASSWORD, n="Kq7#vZ2!p")
    assert data["passwordChange"]["errors"] == [
        {
            "field": ["input", "newPassword"],
            "code": "INVALID",
            "reason": "PASSWORD_TOO_SHORT",
            "message": "Le mot de passe doit compter au moins 10 caractères.",
        }
    ]


LEA = dict(email="l.nouvel@ent.example.test", first_name="Léa", last_name="NOUVEL")
# hard to guess (zxcvbn scores them 3 or 4) and free of Léa's names
TEN = "Kq7#vZ2!pW"
LONG = "Vr8!kT2#mQ" * 12 + "Zx4$pL9&"


@pytest.mark.parametrize(
    ("password", "weakness"),
    [
        (TEN[:9], ("PASSWORD_TOO_SHORT", {"min": 10})),
        (TEN, None),  # ten characters are enough
        (LONG, None),  # 128 characters are not too many
        (LONG + "a", ("PASSWORD_TOO_LONG", {"max": 128})),
        # a name of three letters is refused as a word of its own, whatever separates it, accents and case aside
        ("Kites.Lea.over-Lille9", ("PASSWORD_PERSONAL", {})),
        ("Kites over LÉA in Lille", ("PASSWORD_PERSONAL", {})),
        # and not inside another word
        ("Galeas over Kites 2031", None),
    ],
    ids=["nine", "ten", "128", "129", "short-name-between-dots", "short-name-accented", "short-name-inside"],
)
def test_the_length_bounds_and_short_names_of_a_new_password(password, weakness):
    assert passwords.password_weakness(password, **LEA) == weakness


def test_a_temporary_password_is_sixteen_url_safe_characters_never_the_same():
    made = {passwords.temporary_password() for _ in range(50)}
    assert len(made) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", password) for password in made)  # 96 random bits each


async def test_hashing_and_verifying_run_on_the_low_priority_hashing_threads(monkeypatch):
    # the default executor would work as well, but would compete at normal priority with the event loop's helpers
    seen: list[tuple[str, int]] = []
    hasher = passwords._hasher

    class Watched:
        def _note(self) -> None:
            thread = threading.current_thread()
            seen.append((thread.name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))

        def hash(self, password: str) -> str:
            self._note()
            return hasher.hash(password)

        def verify(self, password_hash: str, password: str) -> bool:
            self._note()
            return hasher.verify(password_hash, password)

    monkeypatch.setattr(passwords, "_hasher", Watched())
    hashed = await passwords.hash_password_off_loop(STRONG)
    assert await passwords.verify_password(hashed, STRONG)
    assert [name.startswith("argon2") for name, _ in seen] == [True, True]
    assert all(niceness >= passwords.HASH_NICENESS for _, niceness in seen)


EMMA = dict(email="zorglub@ac-lille.fr", first_name="Emma", last_name="Al")


@pytest.mark.parametrize(
    ("person", "password", "weakness"),
    [
        (EMMA, "My zorglub kites 2031", "PASSWORD_PERSONAL"),  # the email's local part
        (EMMA, "Kites over Lille 2031 ok", None),  # a word of the email's domain is no name
        (EMMA, "Gemmaville kites 2031", "PASSWORD_PERSONAL"),  # a name of four letters, even inside a word
        (EMMA, "Al kites over Lille 2031", None),  # a name of two letters reads as initials
        (LEA, "n0uv3l!2031", "PASSWORD_TOO_EASY"),  # the name in leetspeak: the estimator knows the person
    ],
    ids=["local-part", "domain-word", "four-letters-inside", "two-letters", "leetspeak-name"],
)
def test_what_of_the_account_a_new_password_may_hold(person, password, weakness):
    found = passwords.password_weakness(password, **person)
    assert (found and found[0]) == weakness


def test_a_guessable_password_gets_the_estimators_advice():
    # the English message appends it (graph/locale): one space, then the warning and the suggestions
    assert passwords.password_weakness("motdepasse123", **LEA) == (
        "PASSWORD_TOO_EASY",
        {"advice": " This is similar to a commonly used password. Add another word or two. Uncommon words are better."},
    )
