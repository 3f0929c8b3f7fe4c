"""Probes of the administrator's rules: levels and classrooms, learners, accounts."""

from graph.types.common import encode_id
from models.schools import Classroom, Level
from models.users import Role, User
from tests.access.registry import _mutate, _reachable_learner, agreed, probe


async def _learner_id(role: Role) -> str:
    return encode_id("Learner", (await User.get(last_name=_reachable_learner(role))).id)


@probe("school.structure.write")
async def _(api, role):
    level = encode_id("Level", (await Level.get(name="Première année de CAP")).id)
    return agreed(
        await _mutate(
            api,
            """mutation { levelCreate(input: {name: "Troisième prépa-métiers"}) {
            errors { code } } }""",
            "levelCreate",
        ),
        await _mutate(
            api,
            """mutation($l: ID!) { classroomCreate(input: {levelId: $l, name: "CAP 1 BIS"}) {
            errors { code } } }""",
            "classroomCreate",
            l=level,
        ),
        await _mutate(
            api,
            """mutation($l: ID!) { levelUpdate(input: {id: $l, diplomaName: "CAP Électricien",
            diplomaYear: CAP_1}) { errors { code } } }""",
            "levelUpdate",
            l=level,
        ),
        await _mutate(
            api,
            """mutation { schoolUpdate(input: {address: "1 rue de l'École, 59000 Lille",
            headOfSchool: "Marie PROVISEURE"}) { errors { code } } }""",
            "schoolUpdate",
        ),
    )


@probe("account.manage")
async def _(api, role):
    teacher = await User.get(email="professeur@demo.pfmp.test")
    leaving = await User.create(
        school_id=teacher.school_id,
        role=Role.TEACHER,
        email="depart@demo.pfmp.test",
        first_name="Jo",
        last_name="DÉPART",
    )
    classrooms = [encode_id("Classroom", c.id) for c in await Classroom.filter(school_id=teacher.school_id)]
    return agreed(
        await _mutate(
            api,
            "mutation($id: ID!) { userRevokeTokens(input: {id: $id}) { errors { code } } }",
            "userRevokeTokens",
            id=encode_id("Teacher", teacher.id),
        ),
        await _mutate(
            api,
            """mutation($c: [ID!]!) { teacherCreate(input: {email: "nouvelle.prof@demo.pfmp.test",
            firstName: "Ana", lastName: "NOUVELLE", classroomIds: $c}) { errors { code } } }""",
            "teacherCreate",
            c=classrooms,
        ),
        await _mutate(
            api,
            "mutation($id: ID!, $c: [ID!]!) { teacherClassroomsSet(input: {id: $id, classroomIds: $c}) { errors { code } } }",
            "teacherClassroomsSet",
            id=encode_id("Teacher", teacher.id),
            c=classrooms,
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { userDeactivate(input: {id: $id}) { errors { code } } }",
            "userDeactivate",
            id=encode_id("Teacher", leaving.id),
        ),
    )


@probe("learner.identity.write")
async def _(api, role):
    classroom = encode_id("Classroom", (await Classroom.get(name="CAPELECT")).id)
    return agreed(
        await _mutate(
            api,
            """mutation($id: ID!) { learnerUpdate(input: {id: $id, firstName: "Angie"}) {
            errors { code } } }""",
            "learnerUpdate",
            id=await _learner_id(role),
        ),
        await _mutate(
            api,
            """mutation($c: ID!) { learnerCreate(input: {firstName: "Noa", lastName: "NOUVEAU",
            classroomId: $c, email: "noa.nouveau@demo.pfmp.test", status: SCHOOL}) { errors { code } } }""",
            "learnerCreate",
            c=classroom,
        ),
    )


@probe("learner.personal.write")
async def _(api, role):
    return agreed(
        await _mutate(
            api,
            """mutation($id: ID!) { learnerUpdate(input: {id: $id, phone: "0600000001"}) {
            errors { code } } }""",
            "learnerUpdate",
            id=await _learner_id(role),
        ),
        await _mutate(
            api,
            """mutation($id: ID!) { learnerUpdate(input: {id: $id, leftAt: "2026-07-04"}) {
            errors { code } } }""",
            "learnerUpdate",
            id=await _learner_id(role),
        ),
    )


@probe("learner.erase")
async def _(api, role):
    # A learner of the school without a period (an open period refuses the erasure): the admin erases them.
    classroom = await Classroom.get(name="CAPELECT")
    leaving = await User.create(
        school_id=classroom.school_id,
        role=Role.LEARNER,
        email="partie@demo.pfmp.test",
        first_name="Léa",
        last_name="PARTIE",
        classroom=classroom,
    )
    return await _mutate(
        api,
        "mutation($id: ID!) { learnerErase(input: {id: $id}) { errors { code } } }",
        "learnerErase",
        id=encode_id("Learner", leaving.id),
    )
