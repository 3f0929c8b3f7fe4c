"""Company trainers (R11): accounts, assignments, and what a trainer then reaches."""

from graph.types.common import encode_id
from models.users import LearnerStatus, Role, User
from tests.conftest import Api
from tests.periods.helpers import portfolio_of

CREATE = """mutation($input: %sInput!) { %s(input: $input) {
  trainer { id __typename fullName companyName email } temporaryPassword errors { field code reason message } } }"""

ASSIGN = """mutation($p: ID!, $t: ID!) { portfolioTrainerAssign(input: {portfolioId: $p, trainerId: $t}) {
  portfolio { trainers { fullName } } errors { field code reason message } } }"""

LOGIN = """mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token errors { code } } }"""

PASSWORD_CHANGE = """mutation($c: String!, $n: String!) { passwordChange(input: {currentPassword: $c, newPassword: $n}) {
  errors { code } } }"""
OWN_PASSWORD = "Seven quiet relays in Roubaix"

NEW_TUTOR = {
    "email": "paul.ohm@ohm.test",
    "firstName": "Paul",
    "lastName": "OHM",
    "companyName": "Ohm & fils",
    "jobTitle": "électricien",
}


async def test_a_teacher_creates_assigns_and_the_tutor_then_reaches_exactly_that_portfolio(teacher, anonymous, http):
    # given a new tutor account created by the teacher
    created = (await teacher.data(CREATE % ("TutorCreate", "tutorCreate"), input=NEW_TUTOR))["tutorCreate"]
    assert created["errors"] == [] and created["trainer"]["__typename"] == "Tutor"
    # when it is assigned to Matis's portfolio
    portfolio = encode_id("Portfolio", (await portfolio_of("CARLIER")).id)
    assigned = (await teacher.data(ASSIGN, p=portfolio, t=created["trainer"]["id"]))["portfolioTrainerAssign"]
    assert assigned == {"errors": [], "portfolio": {"trainers": [{"fullName": "Paul OHM"}]}}
    # then the tutor signs in with the temporary password, chooses their own, and sees only Matis
    login = (await anonymous.data(LOGIN, e="paul.ohm@ohm.test", p=created["temporaryPassword"]))["login"]
    changed = await Api(http, login["token"]).data(PASSWORD_CHANGE, c=created["temporaryPassword"], n=OWN_PASSWORD)
    assert changed["passwordChange"]["errors"] == []
    login = (await anonymous.data(LOGIN, e="paul.ohm@ohm.test", p=OWN_PASSWORD))["login"]
    tutor = Api(http, login["token"])
    learners = await tutor.data("{ learners { edges { node { fullName } } } }")
    assert [e["node"]["fullName"] for e in learners["learners"]["edges"]] == ["Matis CARLIER"]


async def test_trainer_management_lists_edits_and_deactivates(teacher):
    created = (await teacher.data(CREATE % ("TutorCreate", "tutorCreate"), input=NEW_TUTOR))["tutorCreate"]["trainer"]
    listed = await teacher.data("{ trainers(role: TUTOR) { nodes { fullName } } }")
    assert [t["fullName"] for t in listed["trainers"]["nodes"]] == ["Paul OHM", "Eude Toutcourt"]
    edited = await teacher.data(
        """mutation($id: ID!) { trainerUpdate(input: {id: $id, jobTitle: "chef de chantier"}) {
        trainer { jobTitle } errors { message } } }""",
        id=created["id"],
    )
    assert edited["trainerUpdate"] == {"trainer": {"jobTitle": "chef de chantier"}, "errors": []}
    email_change = await teacher.execute(
        """mutation($id: ID!) { trainerUpdate(input: {id: $id, email: "a@b.test"}) {
        errors { message } } }""",
        id=created["id"],
    )
    assert email_change["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await teacher.data(
        "mutation($id: ID!) { trainerDeactivate(input: {id: $id}) { errors { message } } }", id=created["id"]
    )
    listed = await teacher.data("{ trainers(role: TUTOR) { nodes { fullName } } }")
    assert [t["fullName"] for t in listed["trainers"]["nodes"]] == ["Eude Toutcourt"]
    assert not (await User.get(email="paul.ohm@ohm.test")).is_active


async def test_only_an_admin_creates_masters(teacher, admin):
    assert await teacher.error_code(CREATE % ("MasterCreate", "masterCreate"), input=NEW_TUTOR) == "FORBIDDEN"
    created = (await admin.data(CREATE % ("MasterCreate", "masterCreate"), input=NEW_TUTOR))["masterCreate"]
    assert created["errors"] == [] and created["trainer"]["__typename"] == "ApprenticeshipMaster"


async def test_a_tutor_cannot_follow_an_apprentice_nor_a_master_a_school_learner(admin):
    tutor = await User.get(role=Role.TUTOR)
    master = await User.get(role=Role.MASTER)
    apprentice = await portfolio_of("HÔT")
    pupil = await portfolio_of("CARLIER")
    assert (await User.get(last_name="HÔT")).learner_status is LearnerStatus.APPRENTICE
    for portfolio, trainer, kind in ((apprentice, tutor, "Tutor"), (pupil, master, "ApprenticeshipMaster")):
        data = await admin.data(ASSIGN, p=encode_id("Portfolio", portfolio.id), t=encode_id(kind, trainer.id))
        error = data["portfolioTrainerAssign"]["errors"][0]
        assert (error["field"], error["code"]) == (["input", "trainerId"], "INVALID")
    assert await apprentice.trainers.all().count() == 1  # only the demo master


async def test_a_duplicate_email_is_refused(teacher):
    data = await teacher.data(
        CREATE % ("TutorCreate", "tutorCreate"), input=NEW_TUTOR | {"email": "Professeur@demo.pfmp.test"}
    )
    error = data["tutorCreate"]["errors"][0]
    assert (error["field"], error["code"]) == (["input", "email"], "UNIQUE")
