"""access.md: "Trainer · edit names, deactivate — ADMIN W, TEACHER W (trainers of learners they teach, or created
by them)"; and creating a trainer with an email taken in another school reveals nothing of it (issue 11, item 6)."""

import pytest

from graph.types.common import encode_id
from models.schools import Classroom, School
from models.users import Role, User
from tests.periods.helpers import portfolio_of

CREATE = """mutation($input: TutorCreateInput!) { tutorCreate(input: $input) {
  trainer { id } temporaryPassword errors { field code reason message } } }"""
RENAME = """mutation($id: ID!) { trainerUpdate(input: {id: $id, lastName: "RENOMMÉ"}) {
  trainer { lastName } errors { field code reason message } } }"""
DEACTIVATE = """mutation($id: ID!) { trainerDeactivate(input: {id: $id}) { trainer { id } errors { code } } }"""
ASSIGN = """mutation($p: ID!, $t: ID!) { portfolioTrainerAssign(input: {portfolioId: $p, trainerId: $t}) {
  errors { code } } }"""
DEMO_TUTOR = "eude.toutcourt@demo.pfmp.test"  # follows Angélique DUPIRE, of CAPELECT


def _tutor(n: int) -> dict:
    return {"email": f"tuteur{n}@entreprise.test", "firstName": "Tom", "lastName": f"TUTEUR{n}"}


async def _created_by(api, n: int) -> str:
    payload = (await api.data(CREATE, input=_tutor(n)))["tutorCreate"]
    assert payload["errors"] == []
    return payload["trainer"]["id"]


async def _code(api, query: str, **variables) -> str:
    body = await api.execute(query, **variables)
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    payload = next(iter(body["data"].values()))
    return payload["errors"][0]["code"] if payload["errors"] else "OK"


async def test_a_teacher_manages_the_trainer_of_a_learner_they_teach(teacher):
    tutor = encode_id("Tutor", (await User.get(email=DEMO_TUTOR)).id)
    assert await _code(teacher, RENAME, id=tutor) == "OK"
    assert (await User.get(email=DEMO_TUTOR)).last_name == "RENOMMÉ"
    assert await _code(teacher, DEACTIVATE, id=tutor) == "OK"


async def test_a_teacher_manages_a_trainer_they_created(teacher):
    tutor = await _created_by(teacher, 1)
    assert await _code(teacher, RENAME, id=tutor) == "OK"
    assert await _code(teacher, DEACTIVATE, id=tutor) == "OK"


async def test_a_teacher_may_not_manage_a_trainer_created_by_someone_else_following_none_of_their_learners(
    teacher, admin
):
    # given a tutor the administrator created, who follows nobody yet
    tutor = await _created_by(admin, 2)
    # then the teacher sees the tutor, but may neither rename nor deactivate them, and nothing changes
    assert "TUTEUR2" in str(await teacher.data("{ trainers { nodes { lastName } } }"))
    assert await _code(teacher, RENAME, id=tutor) == "FORBIDDEN"
    assert await _code(teacher, DEACTIVATE, id=tutor) == "FORBIDDEN"
    row = await User.get(email="tuteur2@entreprise.test")
    assert (row.last_name, row.is_active) == ("TUTEUR2", True)
    # when the tutor comes to follow a learner the teacher teaches, the teacher manages them
    portfolio = encode_id("Portfolio", (await portfolio_of("CARLIER")).id)
    assert await _code(admin, ASSIGN, p=portfolio, t=tutor) == "OK"
    assert await _code(teacher, RENAME, id=tutor) == "OK"


async def test_a_teacher_no_longer_manages_the_trainer_of_a_classroom_they_stopped_teaching(teacher, admin):
    # given the demo teacher now teaches CAP 1 ELEC only, not Angélique's CAPELECT
    cap1 = await Classroom.get(name="CAP 1 ELEC")
    payload = await admin.data(
        """mutation($id: ID!, $c: [ID!]!) { teacherClassroomsSet(input: {id: $id, classroomIds: $c}) {
        errors { code } } }""",
        id=encode_id("Teacher", teacher.user.id),
        c=[encode_id("Classroom", cap1.id)],
    )
    assert payload["teacherClassroomsSet"]["errors"] == []
    # then the tutor who follows only Angélique is no longer theirs to rename (the admin still may)
    tutor = encode_id("Tutor", (await User.get(email=DEMO_TUTOR)).id)
    assert await _code(teacher, RENAME, id=tutor) == "FORBIDDEN"
    assert await _code(admin, RENAME, id=tutor) == "OK"


async def test_an_admin_manages_every_trainer_of_the_school(teacher, admin):
    tutor = await _created_by(teacher, 3)
    assert await _code(admin, RENAME, id=tutor) == "OK"
    assert await _code(admin, DEACTIVATE, id=tutor) == "OK"


@pytest.fixture
async def other_school_account() -> str:
    school = await School.create(uai="0590001C", name="Lycée Volta")
    await User.create(
        school=school, role=Role.TUTOR, email="marc.volta@volta.test", first_name="Marc", last_name="VOLTA"
    )
    return "marc.volta@volta.test"


async def test_an_email_taken_in_another_school_answers_as_one_taken_in_this_school(teacher, other_school_account):
    # given an email taken in this school and one taken in another school
    own = (await teacher.data(CREATE, input=_tutor(4) | {"email": DEMO_TUTOR}))["tutorCreate"]
    other = (await teacher.data(CREATE, input=_tutor(5) | {"email": other_school_account}))["tutorCreate"]
    # then both answers are the same, word for word, and name neither the school nor the person
    assert other == own
    assert [(e["field"], e["code"]) for e in other["errors"]] == [(["input", "email"], "UNIQUE")]
    assert other["trainer"] is None and other["temporaryPassword"] is None
    assert not any(word in str(other) for word in ("Volta", "VOLTA", "Marc", "0590001C", "exist"))
    # and nothing was created
    assert await User.filter(last_name__in=["TUTEUR4", "TUTEUR5"]).count() == 0
    assert await User.filter(email=other_school_account).count() == 1


async def test_changing_a_trainer_email_to_one_of_another_school_reveals_nothing(admin, other_school_account):
    tutor = encode_id("Tutor", (await User.get(email=DEMO_TUTOR)).id)
    query = """mutation($id: ID!, $e: String!) { trainerUpdate(input: {id: $id, email: $e}) {
      errors { field code reason message } } }"""
    own = await admin.data(query, id=tutor, e="professeur@demo.pfmp.test")
    other = await admin.data(query, id=tutor, e=other_school_account)
    assert other == own and other["trainerUpdate"]["errors"][0]["code"] == "UNIQUE"
    assert (await User.get(email=DEMO_TUTOR)).email == DEMO_TUTOR
