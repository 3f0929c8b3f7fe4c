"""Row reach: what each role sees at all, through lists and through node(id:)."""

import pytest

from graph.types.common import encode_id
from models.schools import Classroom, Level, School
from models.users import LearnerStatus, Role, User

LEARNERS = "{ learners { edges { node { id fullName } } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename ... on Learner { fullName } } }"

EXPECTED_LEARNERS = {
    Role.ADMIN: {"Matis CARLIER", "Jean LECAM", "Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT"},
    Role.TEACHER: {"Matis CARLIER", "Jean LECAM", "Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT"},
    Role.LEARNER: {"Angélique DUPIRE"},
    Role.TUTOR: {"Angélique DUPIRE"},
    Role.MASTER: {"Lydie HÔT"},
}


@pytest.fixture
async def other_school_learner(app) -> User:
    school = await School.create(uai="0590001B", name="Autre lycée")
    level = await Level.create(school=school, name="Première année de CAP")
    classroom = await Classroom.create(school=school, level=level, name="CAP 1 AUTRE")
    return await User.create(
        school=school,
        role=Role.LEARNER,
        email="ailleurs@other.test",
        first_name="Léa",
        last_name="AILLEURS",
        learner_status=LearnerStatus.SCHOOL,
        classroom=classroom,
    )


@pytest.mark.parametrize("role", list(EXPECTED_LEARNERS), ids=lambda r: r.value)
async def test_each_role_lists_exactly_the_learners_it_reaches(role, clients, other_school_learner):
    data = await clients[role].data(LEARNERS)
    assert {e["node"]["fullName"] for e in data["learners"]["edges"]} == EXPECTED_LEARNERS[role]


@pytest.mark.parametrize("role", list(EXPECTED_LEARNERS), ids=lambda r: r.value)
async def test_node_never_answers_a_learner_out_of_reach(role, clients, other_school_learner):
    # given every learner of both schools
    everyone = await User.filter(role=Role.LEARNER)
    for row in everyone:
        # when the role refetches each by ID
        data = await clients[role].data(NODE, id=encode_id("Learner", row.id))
        # then only those in reach exist for it
        if row.full_name in EXPECTED_LEARNERS[role]:
            assert data["node"] == {"__typename": "Learner", "fullName": row.full_name}
        else:
            assert data["node"] is None


async def test_a_teacher_reaches_only_the_classrooms_they_teach(teacher, app):
    # given the teacher no longer teaches CAPELECT
    capelect = await Classroom.get(name="CAPELECT")
    await teacher.user.taught_classrooms.remove(capelect)
    data = await teacher.data("{ learners { edges { node { fullName } } } classrooms { name } }")
    assert {e["node"]["fullName"] for e in data["learners"]["edges"]} == {"Matis CARLIER", "Jean LECAM"}
    assert data["classrooms"] == [{"name": "CAP 1 ELEC"}]


async def test_an_id_of_one_type_cannot_name_a_row_of_another(admin):
    teacher = await User.get(role=Role.TEACHER)
    data = await admin.data(NODE, id=encode_id("Learner", teacher.id))
    assert data["node"] is None


async def test_learner_list_pages_with_cursors(admin):
    first = await admin.data(
        "{ learners(first: 2) { edges { node { fullName } } pageInfo { hasNextPage endCursor } } }"
    )
    page = first["learners"]
    assert [e["node"]["fullName"] for e in page["edges"]] == ["Matis CARLIER", "Angélique DUPIRE"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await admin.data(
        "query($a: String) { learners(first: 10, after: $a) { edges { node { fullName } } "
        "pageInfo { hasNextPage hasPreviousPage } } }",
        a=page["pageInfo"]["endCursor"],
    )
    assert [e["node"]["fullName"] for e in rest["learners"]["edges"]] == ["Marine FABROWSKI", "Lydie HÔT", "Jean LECAM"]
    assert rest["learners"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}


async def test_listing_learners_runs_a_constant_number_of_statements(admin, sql_counter, app):
    # given many more learners in one classroom
    classroom = await Classroom.get(name="CAP 1 ELEC")
    query = "{ learners(first: 100) { edges { node { fullName email classroom { name level { name } } } } } }"
    sql_counter.reset()
    await admin.data(query)
    few = sql_counter.count
    await User.bulk_create(
        [
            User(
                school_id=classroom.school_id,
                role=Role.LEARNER,
                email=f"l{i}@demo.pfmp.test",
                first_name="L",
                last_name=f"N{i:03d}",
                learner_status=LearnerStatus.SCHOOL,
                classroom_id=classroom.id,
            )
            for i in range(60)
        ]
    )
    # when the list is read again
    sql_counter.reset()
    data = await admin.data(query)
    # then it took as many statements as for five learners
    assert len(data["learners"]["edges"]) == 65
    assert sql_counter.count == few
