"""Reads of a learner's personal fields (email, birth date, phone) by anyone but the learner are traced, one
entry per learner read, all of a request in one statement."""

from __future__ import annotations

import datetime as dt

from graph.types.common import encode_id
from models.audit import AuditEntry
from models.schools import Classroom
from models.users import LearnerStatus, Role, User
from tests.audit.conftest import ADDRESS, USER_AGENT, entries

PERSONAL = "{ learners(first: 100) { edges { node { id fullName email phone birthDate } } } }"
NAMES_ONLY = "{ learners(first: 100) { edges { node { id fullName classroom { name } } } } }"


async def test_a_teacher_reading_learners_emails_is_traced_per_learner(admin, teacher):
    # when the teacher reads the personal fields of the learners they teach
    read = (await teacher.data(PERSONAL))["learners"]["edges"]
    with_email = {edge["node"]["id"] for edge in read if edge["node"]["email"]}
    assert len(with_email) >= 2
    # then the admin finds one entry per learner read, naming the teacher, the address and the client
    found = await entries(admin, kind="PERSONAL_READ")
    assert {entry["subjectId"] for entry in found} == with_email
    assert len(found) == len(with_email)
    for entry in found:
        assert entry["actorId"] == encode_id("Teacher", teacher.user.id)
        assert entry["actorRole"] == "TEACHER"
        assert entry["subjectType"] == "Learner"
        assert entry["address"] == ADDRESS
        assert entry["userAgent"] == USER_AGENT
        assert entry["detail"].startswith("email")
        assert entry["trainerLinkId"] is None


async def test_only_the_fields_read_are_named(admin, teacher):
    angelique = await User.get(email="angelique.dupire@demo.pfmp.test")
    await teacher.data(
        "query($id: ID!) { node(id: $id) { ... on Learner { birthDate } } }", id=encode_id("Learner", angelique.id)
    )
    [entry] = await entries(admin, kind="PERSONAL_READ")
    assert entry["detail"] == "birthDate"
    assert entry["subjectId"] == encode_id("Learner", angelique.id)


async def test_names_alone_are_not_traced(admin, teacher, tutor):
    await teacher.data(NAMES_ONLY)
    # a tutor asking for the personal fields gets null (access.md): nothing was read
    tutor_read = (await tutor.data(PERSONAL))["learners"]["edges"]
    assert tutor_read and all(edge["node"]["email"] is None for edge in tutor_read)
    assert await entries(admin, kind="PERSONAL_READ") == []


async def test_a_learner_reading_their_own_data_records_nothing(admin, learner):
    me = (await learner.data(PERSONAL))["learners"]["edges"]
    assert [edge["node"]["email"] for edge in me] == [learner.user.email]
    await learner.data(
        "query($id: ID!) { node(id: $id) { ... on Learner { email phone birthDate } } }",
        id=encode_id("Learner", learner.user.id),
    )
    assert await entries(admin) == []


async def test_an_admin_reading_personal_fields_is_traced_too(admin):
    await admin.data(PERSONAL)
    found = await entries(admin, kind="PERSONAL_READ")
    assert found and {entry["actorRole"] for entry in found} == {"ADMIN"}


async def test_reading_30_learners_writes_one_insert(admin, teacher, sql_counter):
    # given 30 more learners in a classroom the teacher teaches
    classroom = await Classroom.get(name="CAPELECT")
    for number in range(30):
        await User.create(
            school_id=classroom.school_id,
            role=Role.LEARNER,
            email=f"eleve{number}@demo.pfmp.test",
            first_name="Élève",
            last_name=f"NUMERO{number:02d}",
            learner_status=LearnerStatus.SCHOOL,
            classroom=classroom,
            birth_date=dt.date(2010, 1, 1),
            phone="0600000000",
        )
    # when the teacher reads their personal fields in one request
    sql_counter.reset()
    read = (await teacher.data(PERSONAL))["learners"]["edges"]
    inserts = [s for s in sql_counter.statements if s.lstrip().upper().startswith("INSERT") and "audit_entry" in s]
    # then one INSERT holds an entry for every learner read
    assert len(inserts) == 1, sql_counter.statements
    assert len(read) >= 32
    assert await AuditEntry.filter(kind="PERSONAL_READ").count() == len(read)
