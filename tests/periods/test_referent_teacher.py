"""The referent teacher (professeur référent) of a portfolio: the teacher who created the period until staff name
another teacher of the school (`portfolioReferentTeacherSet`), read as `Portfolio.referentTeacher`."""

from graph.types.common import encode_id
from models.periods import Period
from models.portfolios import Portfolio
from models.schools import School
from models.users import Role, User
from tests.periods.helpers import portfolio_of

SET = """mutation($id: ID!, $t: ID) { portfolioReferentTeacherSet(input: {id: $id, teacherId: $t}) {
  portfolio { referentTeacher { fullName } } errors { field code reason message } } }"""
READ = "query($id: ID!) { node(id: $id) { ... on Portfolio { referentTeacher { id fullName } } } }"


async def _teacher(school_id: int, first: str, last: str, email: str, **values) -> User:
    return await User.create(
        school_id=school_id, role=Role.TEACHER, email=email, first_name=first, last_name=last, **values
    )


async def _ids() -> tuple[Portfolio, str]:
    portfolio = await portfolio_of("DUPIRE")
    return portfolio, encode_id("Portfolio", portfolio.id)


async def test_the_referent_is_the_periods_creator_until_staff_name_another_teacher(teacher, admin, learner, tutor):
    portfolio, portfolio_id = await _ids()
    # given the demo period, created by Claire MARTIN: she is the referent of its portfolios
    for api in (teacher, learner, tutor):
        assert (await api.data(READ, id=portfolio_id))["node"]["referentTeacher"]["fullName"] == "Claire MARTIN"
    # when the admin names another teacher of the school, with every French diacritic in her name
    other = await _teacher(portfolio.school_id, "Éloïse", "DÛPONT-ŒÇÀ", "eloise@demo.pfmp.test")
    payload = (await admin.data(SET, id=portfolio_id, t=encode_id("Teacher", other.id)))["portfolioReferentTeacherSet"]
    # then she is the referent, for staff, the learner and the tutor alike
    assert payload == {"portfolio": {"referentTeacher": {"fullName": "Éloïse DÛPONT-ŒÇÀ"}}, "errors": []}
    for api in (teacher, learner, tutor):
        node = (await api.data(READ, id=portfolio_id))["node"]
        assert node["referentTeacher"] == {"id": encode_id("Teacher", other.id), "fullName": "Éloïse DÛPONT-ŒÇÀ"}
    # and the other portfolios of the period keep the period's creator
    hot = encode_id("Portfolio", (await portfolio_of("HÔT")).id)
    assert (await teacher.data(READ, id=hot))["node"]["referentTeacher"]["fullName"] == "Claire MARTIN"
    # when the teacher clears it, then the period's creator stands again
    payload = (await teacher.data(SET, id=portfolio_id, t=None))["portfolioReferentTeacherSet"]
    assert payload["portfolio"]["referentTeacher"] == {"fullName": "Claire MARTIN"}
    assert (await Portfolio.get(id=portfolio.id)).referent_teacher_id is None


async def test_a_teacher_of_another_school_is_refused_naming_the_field(teacher):
    portfolio, portfolio_id = await _ids()
    # given a teacher of another school
    school = await School.create(uai="0590088Z", name="Lycée « Ailleurs »")
    stranger = await _teacher(school.id, "Paul", "AILLEURS", "paul.ailleurs@x.test")
    # when the demo teacher names him referent
    payload = await teacher.data(SET, id=portfolio_id, t=encode_id("Teacher", stranger.id))
    # then he does not exist for her school: NOT_FOUND on teacherId, nothing written, nothing of him told
    [error] = payload["portfolioReferentTeacherSet"]["errors"]
    assert (error["field"], error["code"]) == (["input", "teacherId"], "NOT_FOUND")
    assert "AILLEURS" not in str(payload)
    assert (await Portfolio.get(id=portfolio.id)).referent_teacher_id is None


async def test_someone_who_is_not_a_teacher_or_is_deactivated_is_refused_naming_the_field(admin):
    portfolio, portfolio_id = await _ids()
    tutor = await User.get(role=Role.TUTOR)
    gone = await _teacher(portfolio.school_id, "Jean", "PARTI", "jean.parti@demo.pfmp.test", is_active=False)
    answers = []
    for value in (
        encode_id("Tutor", tutor.id),  # a global ID of another type
        encode_id("Teacher", tutor.id),  # a tutor's row named as a teacher
        "not-an-id",
        encode_id("Teacher", gone.id),
    ):
        [error] = (await admin.data(SET, id=portfolio_id, t=value))["portfolioReferentTeacherSet"]["errors"]
        answers.append((error["field"], error["code"], error["reason"]))
    assert answers == [
        (["input", "teacherId"], "INVALID", "ID_WRONG_TYPE"),
        (["input", "teacherId"], "NOT_FOUND", "ID_NOT_FOUND"),
        (["input", "teacherId"], "INVALID", "ID_MALFORMED"),
        (["input", "teacherId"], "INVALID", "TEACHER_DEACTIVATED"),
    ]
    assert (await Portfolio.get(id=portfolio.id)).referent_teacher_id is None


async def test_a_period_created_by_the_admin_has_no_referent_until_one_is_named(admin, teacher):
    portfolio, portfolio_id = await _ids()
    await Portfolio.filter(id=portfolio.id).update(referent_teacher_id=None)
    admin_user = await User.get(role=Role.ADMIN, school_id=portfolio.school_id)
    await Period.filter(id=portfolio.period_id).update(created_by_id=admin_user.id)
    assert (await teacher.data(READ, id=portfolio_id))["node"]["referentTeacher"] is None
