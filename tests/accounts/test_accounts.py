"""The administrator's work on levels, classrooms and accounts, and a person's own password."""

import pytest

from graph.types.common import encode_id
from models.schools import Classroom, School
from models.users import Role, User
from resolvers.demo import DEMO_PASSWORD
from tests.conftest import Api

CREATE_LEARNER = """mutation($input: LearnerCreateInput!) { learnerCreate(input: $input) {
  user { ... on Learner { fullName status email classroom { name } } } temporaryPassword errors { field code } } }"""

LOGIN = """mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token errors { code } } }"""


async def test_an_admin_builds_the_school_and_a_new_teacher_reaches_their_learners(admin, anonymous, http):
    # given a new level with MELEC and a classroom in it
    level = (
        await admin.data("""mutation { levelCreate(input: {name: "Seconde MELEC", frameworkCode: "BACPRO-MELEC"}) {
        level { id name framework { code } } errors { code } } }""")
    )["levelCreate"]["level"]
    assert level["framework"] == {"code": "BACPRO-MELEC"}
    classroom = (
        await admin.data(
            """mutation($l: ID!) { classroomCreate(input: {levelId: $l, name: "2 MELEC A"}) {
        classroom { id name } errors { code } } }""",
            l=level["id"],
        )
    )["classroomCreate"]["classroom"]
    # and a learner in it, and a teacher of it
    learner = (
        await admin.data(
            CREATE_LEARNER,
            input={
                "firstName": "Inès",
                "lastName": "VOLTA",
                "email": "ines.volta@demo.pfmp.test",
                "classroomId": classroom["id"],
                "status": "APPRENTICE",
                "birthDate": "2010-05-04",
            },
        )
    )["learnerCreate"]
    assert learner["errors"] == [] and learner["user"]["status"] == "APPRENTICE"
    teacher = (
        await admin.data(
            """mutation($c: ID!) { teacherCreate(input: {email: "t2@demo.pfmp.test",
        firstName: "Tom", lastName: "WATT", classroomIds: [$c]}) { temporaryPassword errors { code } } }""",
            c=classroom["id"],
        )
    )["teacherCreate"]
    # when the teacher signs in with the temporary password and chooses their own
    token = (await anonymous.data(LOGIN, e="t2@demo.pfmp.test", p=teacher["temporaryPassword"]))["login"]["token"]
    changed = await Api(http, token).data(
        "mutation($c: String!, $n: String!) { passwordChange(input: {currentPassword: $c, newPassword: $n}) { changed } }",
        c=teacher["temporaryPassword"],
        n="Seven blue owls near Arras",
    )
    assert changed["passwordChange"]["changed"] is True
    token = (await anonymous.data(LOGIN, e="t2@demo.pfmp.test", p="Seven blue owls near Arras"))["login"]["token"]
    # then they reach exactly the new learner
    seen = await Api(http, token).data("{ learners { edges { node { fullName } } } }")
    assert [e["node"]["fullName"] for e in seen["learners"]["edges"]] == ["Inès VOLTA"]


async def test_learner_update_and_the_split_between_identity_and_personal_fields(admin, teacher):
    dupire = encode_id("Learner", (await User.get(last_name="DUPIRE")).id)
    capelect = encode_id("Classroom", (await Classroom.get(name="CAP 1 ELEC")).id)
    data = await admin.data(
        """mutation($id: ID!, $c: ID!) { learnerUpdate(input: {id: $id, classroomId: $c,
        phone: "0612345678"}) { user { ... on Learner { classroom { name } phone } } errors { code } } }""",
        id=dupire,
        c=capelect,
    )
    assert data["learnerUpdate"]["user"] == {"classroom": {"name": "CAP 1 ELEC"}, "phone": "0612345678"}
    assert (
        await teacher.error_code(
            """mutation($id: ID!) { learnerUpdate(input: {id: $id, lastName: "X"}) {
        errors { code } } }""",
            id=dupire,
        )
        == "FORBIDDEN"
    )


async def test_bad_account_input_names_the_field(admin):
    classroom = encode_id("Classroom", (await Classroom.get(name="CAPELECT")).id)
    for overrides, field, code in (
        ({"email": "nope"}, ["input", "email"], "INVALID"),
        ({"email": "professeur@demo.pfmp.test"}, ["input", "email"], "UNIQUE"),
        ({"firstName": ""}, ["input", "firstName"], "REQUIRED"),
        ({"birthDate": "1800-01-01"}, ["input", "birthDate"], "INVALID"),
    ):
        values = {"firstName": "A", "lastName": "B", "email": "a.b@demo.pfmp.test", "classroomId": classroom}
        data = await admin.data(CREATE_LEARNER, input=values | overrides)
        error = data["learnerCreate"]["errors"][0]
        assert (error["field"], error["code"]) == (field, code)
    assert not await User.exists(email="a.b@demo.pfmp.test")


async def test_deactivating_and_revoking(admin, teacher):
    teacher_id = encode_id("Teacher", teacher.user.id)
    revoked = await admin.data(
        "mutation($id: ID!) { userRevokeTokens(input: {id: $id}) { errors { code } } }", id=teacher_id
    )
    assert revoked["userRevokeTokens"]["errors"] == []
    assert await teacher.error_code("{ me { id } }") == "UNAUTHENTICATED"
    await admin.data("mutation($id: ID!) { userDeactivate(input: {id: $id}) { errors { code } } }", id=teacher_id)
    assert not (await User.get(id=teacher.user.id)).is_active
    own = await admin.data(
        "mutation($id: ID!) { userDeactivate(input: {id: $id}) { errors { field code } } }",
        id=encode_id("Administrator", admin.user.id),
    )
    assert own["userDeactivate"]["errors"] == [{"field": ["input", "id"], "code": "INVALID"}]


async def test_changing_ones_password_revokes_previous_tokens(learner, anonymous):
    change = """mutation($c: String!, $n: String!) { passwordChange(input: {currentPassword: $c, newPassword: $n}) {
        changed errors { field code } } }"""
    wrong = await learner.data(change, c="not it", n="a-new-long-password")
    assert wrong["passwordChange"] == {
        "changed": False,
        "errors": [{"field": ["input", "currentPassword"], "code": "INVALID"}],
    }
    short = await learner.data(change, c=DEMO_PASSWORD, n="short")
    assert short["passwordChange"]["errors"] == [{"field": ["input", "newPassword"], "code": "INVALID"}]
    done = await learner.data(change, c=DEMO_PASSWORD, n="a-new-long-password")
    assert done["passwordChange"] == {"changed": True, "errors": []}
    assert await learner.error_code("{ me { id } }") == "UNAUTHENTICATED"
    login = await anonymous.data(LOGIN, e="angelique.dupire@demo.pfmp.test", p="a-new-long-password")
    assert login["login"]["token"]


CREATE_TEACHER = """mutation($input: TeacherCreateInput!) { teacherCreate(input: $input) {
  user { id } temporaryPassword errors { field code reason message } } }"""
CREATE_LEARNER_FULL = """mutation($input: LearnerCreateInput!) { learnerCreate(input: $input) {
  user { id } temporaryPassword errors { field code reason message } } }"""
UPDATE_LEARNER_EMAIL = """mutation($id: ID!, $e: String!) { learnerUpdate(input: {id: $id, email: $e}) {
  user { id } errors { field code reason message } } }"""
OWN_SCHOOL_EMAIL = "professeur@demo.pfmp.test"


@pytest.fixture
async def other_school_email() -> str:
    school = await School.create(uai="0590001C", name="Lycée Volta")
    await User.create(
        school=school, role=Role.TEACHER, email="marc.volta@volta.test", first_name="Marc", last_name="VOLTA"
    )
    return "marc.volta@volta.test"


def _reveals_nothing(payload: dict) -> None:
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["input", "email"], "UNIQUE")]
    assert not any(word in str(payload) for word in ("Volta", "VOLTA", "Marc", "0590001C", "exist"))


async def test_a_teacher_created_with_an_email_of_another_school_answers_as_with_one_of_this_school(
    admin, other_school_email
):
    # given an email taken in this school and one taken in another school
    values = {"firstName": "Tom", "lastName": "WATT", "email": OWN_SCHOOL_EMAIL}
    own = (await admin.data(CREATE_TEACHER, input=values))["teacherCreate"]
    other = (await admin.data(CREATE_TEACHER, input=values | {"email": other_school_email}))["teacherCreate"]
    # then both answers are the same, word for word, and say nothing of the other school or its person
    assert other == own
    _reveals_nothing(other)
    assert other["user"] is None and other["temporaryPassword"] is None
    assert not await User.exists(last_name="WATT")


async def test_a_learner_created_or_edited_with_an_email_of_another_school_answers_as_with_one_of_this_school(
    admin, other_school_email
):
    classroom = encode_id("Classroom", (await Classroom.get(name="CAPELECT")).id)
    values = {"firstName": "Inès", "lastName": "AMPÈRE", "email": OWN_SCHOOL_EMAIL, "classroomId": classroom}
    own = (await admin.data(CREATE_LEARNER_FULL, input=values))["learnerCreate"]
    other = (await admin.data(CREATE_LEARNER_FULL, input=values | {"email": other_school_email}))["learnerCreate"]
    assert other == own
    _reveals_nothing(other)
    assert not await User.exists(last_name="AMPÈRE")
    # and changing a learner's email to one of another school answers as to one of this school
    dupire = await User.get(last_name="DUPIRE")
    learner_id = encode_id("Learner", dupire.id)
    own = (await admin.data(UPDATE_LEARNER_EMAIL, id=learner_id, e=OWN_SCHOOL_EMAIL))["learnerUpdate"]
    other = (await admin.data(UPDATE_LEARNER_EMAIL, id=learner_id, e=other_school_email))["learnerUpdate"]
    assert other == own
    _reveals_nothing(other)
    assert (await User.get(id=dupire.id)).email == dupire.email


LEVEL = """query { levels { name diplomaName diplomaYear } school { address headOfSchool } }"""


async def test_the_admin_edits_the_school_and_the_diploma_of_a_level_and_everyone_reads_them(admin, learner, tutor):
    # given the demo: its school's address and head of school, its CAP levels and their years
    read = await learner.data(LEVEL)
    assert read["school"] == {"address": "12 rue des Artisans, 59000 Lille", "headOfSchool": "Nathalie LEPROVISEUR"}
    assert read["levels"] == [
        {"name": "Première année de CAP", "diplomaName": "CAP Électricien", "diplomaYear": "CAP_1"}
    ]
    # when the admin moves to a new address and names the Bac Pro level's diploma
    school = await admin.data(
        'mutation { schoolUpdate(input: {address: "1 rue Neuve, 59100 Roubaix"}) '
        "{ school { address headOfSchool } errors { code } } }"
    )
    assert school["schoolUpdate"] == {
        "school": {"address": "1 rue Neuve, 59100 Roubaix", "headOfSchool": "Nathalie LEPROVISEUR"},
        "errors": [],
    }
    created = (await admin.data('mutation { levelCreate(input: {name: "Seconde MELEC"}) { level { id } } }'))[
        "levelCreate"
    ]["level"]
    updated = await admin.data(
        """mutation($id: ID!) { levelUpdate(input: {id: $id, diplomaName: "Bac pro MELEC",
        diplomaYear: BAC_PRO_SECONDE}) { level { name diplomaName diplomaYear } errors { code } } }""",
        id=created["id"],
    )
    # then the level keeps its name and says its diploma; the tutor reads the school as it is now
    assert updated["levelUpdate"] == {
        "level": {"name": "Seconde MELEC", "diplomaName": "Bac pro MELEC", "diplomaYear": "BAC_PRO_SECONDE"},
        "errors": [],
    }
    assert (await tutor.data(LEVEL))["school"]["address"] == "1 rue Neuve, 59100 Roubaix"


async def test_a_level_update_refuses_a_taken_name_and_an_unknown_year_naming_the_field(admin):
    first = await admin.data("query { levels { id name } }")
    level = first["levels"][0]["id"]
    await admin.data('mutation { levelCreate(input: {name: "Seconde MELEC"}) { errors { code } } }')
    taken = await admin.data(
        'mutation($id: ID!) { levelUpdate(input: {id: $id, name: "Seconde MELEC"}) { errors { field code reason } } }',
        id=level,
    )
    assert taken["levelUpdate"]["errors"] == [
        {"field": ["input", "name"], "code": "UNIQUE", "reason": "LEVEL_NAME_TAKEN"}
    ]
    cleared = await admin.data(
        "mutation($id: ID!) { levelUpdate(input: {id: $id, position: null}) { errors { field code reason message } } }",
        id=level,
    )
    assert cleared["levelUpdate"]["errors"] == [
        {
            "field": ["input", "position"],
            "code": "REQUIRED",
            "reason": "VALUE_REQUIRED",
            "message": "Le rang : ce champ est obligatoire.",
        }
    ]
    unknown = await admin.http.post(
        "/graphql",
        json={
            "query": "mutation($id: ID!) { levelUpdate(input: {id: $id, diplomaYear: CAP_3}) { errors { code } } }",
            "variables": {"id": level},
        },
        headers=admin.headers,
    )
    assert "CAP_3" in unknown.text and "Traceback" not in unknown.text
    too_long = await admin.data(
        "mutation($a: String!) { schoolUpdate(input: {address: $a}) { errors { field code reason } } }", a="x" * 501
    )
    assert too_long["schoolUpdate"]["errors"] == [
        {"field": ["input", "address"], "code": "INVALID", "reason": "TEXT_TOO_LONG"}
    ]
