"""The views (R1–R3), in a constant number of SQL statements."""

import datetime as dt

from graph.types.common import encode_id
from models.fiches import ActivityFiche, Annex, AnnexKind, FicheRead
from models.frameworks import Task
from models.periods import Period
from models.schools import Classroom, Level
from models.users import LearnerStatus, Role, User
from resolvers.demo import current_school_year
from resolvers.periods.portfolio_rules import open_portfolio
from tests.periods.helpers import demo_period, learner_id, level_id

YEAR = current_school_year(dt.date.today())

PERIOD_VIEW = """query($id: ID!) { node(id: $id) { ... on Period {
  name startDate endDate durationDays locked tasks { code }
  portfolios { nodes { daysDone completedFicheCount bilanStatus
    learner { fullName classroom { name } }
    trainers { fullName companyName }
    liaisonFiche { workplace { companyName } objectives tasks { code } }
    activityFiches { nodes { title completed } } } } } } }"""

LEARNER_VIEW = """query($id: ID!) { node(id: $id) { ... on Learner { fullName
  portfolios { period { name startDate } completedFicheCount liaisonFiche { workplace { companyName } }
               activityFiches { nodes { title } } }
  freeFiches { title } } } }"""


async def test_by_periods_lists_the_current_year_in_creation_order(teacher):
    # given two more periods this year and one last year
    period = await demo_period()
    for name, year in (("PFMP 2", YEAR), ("PFMP 3", YEAR), ("Ancienne", YEAR - 1)):
        await Period.create(
            school_id=period.school_id,
            level_id=period.level_id,
            name=name,
            school_year=year,
            start_date=dt.date(year + 1, 3, 1),
            end_date=dt.date(year + 1, 3, 20),
        )
    query = "query($l: ID!, $y: Int) { periods(levelId: $l, schoolYear: $y) { name } }"
    data = await teacher.data(query, l=await level_id())
    assert [p["name"] for p in data["periods"]] == ["Stage de découverte", "PFMP 2", "PFMP 3"]
    older = await teacher.data(query, l=await level_id(), y=YEAR - 1)
    assert [p["name"] for p in older["periods"]] == ["Ancienne"]
    nested = await teacher.data("{ levels { name periods { name } } }")
    assert [p["name"] for p in nested["levels"][0]["periods"]] == ["Stage de découverte", "PFMP 2", "PFMP 3"]


async def test_a_period_lists_one_portfolio_per_learner_with_classroom_and_completed_fiches(teacher):
    data = await teacher.data(PERIOD_VIEW, id=encode_id("Period", (await demo_period()).id))
    rows = [
        (p["learner"]["fullName"], p["learner"]["classroom"]["name"], p["completedFicheCount"])
        for p in data["node"]["portfolios"]["nodes"]
    ]
    # the seed's own screen: Angélique has one fiche completed (and one to complete)
    assert rows == [
        ("Matis CARLIER", "CAP 1 ELEC", 0),
        ("Angélique DUPIRE", "CAPELECT", 1),
        ("Marine FABROWSKI", "CAPELECT", 0),
        ("Lydie HÔT", "CAPELECT", 0),
        ("Jean LECAM", "CAP 1 ELEC", 0),
    ]
    dupire = data["node"]["portfolios"]["nodes"][1]
    assert dupire["trainers"] == [{"fullName": "Eude Toutcourt", "companyName": "Tout élec"}]
    assert dupire["liaisonFiche"]["workplace"]["companyName"] == "Tout élec"


async def test_a_deleted_fiche_or_an_empty_description_does_not_count_as_completed(teacher):
    fiche = await ActivityFiche.get(title="Fiche 1 : Découverte de l'entreprise")
    await ActivityFiche.filter(id=fiche.id).update(deleted_at=dt.datetime.now(dt.UTC))
    data = await teacher.data(PERIOD_VIEW, id=encode_id("Period", (await demo_period()).id))
    assert [p["completedFicheCount"] for p in data["node"]["portfolios"]["nodes"]] == [0, 0, 0, 0, 0]


async def test_by_learners_gives_every_period_and_the_free_fiches(learner):
    data = await learner.data(LEARNER_VIEW, id=await learner_id("DUPIRE"))
    assert data["node"]["portfolios"] == [
        {
            "period": {"name": "Stage de découverte", "startDate": f"{YEAR}-11-16"},
            "completedFicheCount": 1,
            "liaisonFiche": {"workplace": {"companyName": "Tout élec"}},
            "activityFiches": {"nodes": [{"title": "À compléter"}, {"title": "Fiche 1 : Découverte de l'entreprise"}]},
        }
    ]
    assert data["node"]["freeFiches"] == []


async def _more_learners(count: int) -> None:
    """`count` more learners in CAP 1 ELEC, each in the demo period with two completed fiches."""
    period = await demo_period()
    classroom = await Classroom.get(name="CAP 1 ELEC")
    tasks = await Task.filter(framework__code="CAP-ELEC", code__in=["TA 1-1"])
    tutor = await User.get(role=Role.TUTOR)
    for i in range(count):
        learner = await User.create(
            school_id=period.school_id,
            role=Role.LEARNER,
            email=f"n{i}@x.test",
            first_name="N",
            last_name=f"ZZ{i:03d}",
            learner_status=LearnerStatus.SCHOOL,
            classroom_id=classroom.id,
        )
        portfolio = await open_portfolio(period, learner, tasks)
        await portfolio.trainers.add(tutor)
        await ActivityFiche.create(
            school_id=period.school_id, learner=learner, portfolio=portfolio, title="Fiche", description="fait"
        )


async def test_the_period_view_costs_the_same_for_5_and_for_60_learners(teacher, sql_counter):
    period_id = encode_id("Period", (await demo_period()).id)
    sql_counter.reset()
    await teacher.data(PERIOD_VIEW, id=period_id)
    with_five = sql_counter.count
    await _more_learners(55)
    sql_counter.reset()
    data = await teacher.data(PERIOD_VIEW, id=period_id)
    assert len(data["node"]["portfolios"]["nodes"]) == 60
    assert sql_counter.count == with_five, sql_counter.statements


async def test_the_learner_view_costs_the_same_for_one_and_for_many_periods(teacher, sql_counter):
    learner = await User.get(last_name="DUPIRE")
    sql_counter.reset()
    await teacher.data(LEARNER_VIEW, id=encode_id("Learner", learner.id))
    with_one = sql_counter.count
    level = await Level.get(name="Première année de CAP")
    for i in range(6):
        period = await Period.create(
            school_id=level.school_id,
            level=level,
            name=f"P{i}",
            school_year=YEAR,
            start_date=dt.date(YEAR + 1, 1, 1 + i),
            end_date=dt.date(YEAR + 1, 2, 1),
        )
        await open_portfolio(period, learner, [])
    sql_counter.reset()
    data = await teacher.data(LEARNER_VIEW, id=encode_id("Learner", learner.id))
    assert len(data["node"]["portfolios"]) == 7
    assert sql_counter.count == with_one


async def test_the_learners_of_a_level(teacher):
    data = await teacher.data(
        "query($l: ID!) { learners(levelId: $l) { edges { node { fullName } } } }", l=await level_id()
    )
    assert len(data["learners"]["edges"]) == 5
    empty = await teacher.data(
        "query($l: ID!) { learners(levelId: $l) { edges { node { fullName } } } }",
        l=await level_id("Deuxième année de CAP"),
    )
    assert empty["learners"]["edges"] == []


LEARNERS_WITH_FREE_FICHES_AND_PERIODS = """query($l: ID!) { learners(levelId: $l, first: 100) { edges { node {
  fullName freeFiches { title } classroom { level { name periods { name } } } } } } }"""


async def test_free_fiches_and_level_periods_cost_the_same_for_5_and_for_45_learners(teacher, sql_counter):
    level = await level_id()
    sql_counter.reset()
    data = await teacher.data(LEARNERS_WITH_FREE_FICHES_AND_PERIODS, l=level)
    with_five = sql_counter.count
    learners = [edge["node"] for edge in data["learners"]["edges"]]
    assert len(learners) == 5
    assert all(learner["freeFiches"] == [] for learner in learners)
    assert all(learner["classroom"]["level"]["periods"] for learner in learners)
    await _more_learners(40)
    sql_counter.reset()
    data = await teacher.data(LEARNERS_WITH_FREE_FICHES_AND_PERIODS, l=level)
    assert len(data["learners"]["edges"]) == 45
    assert sql_counter.count == with_five, sql_counter.statements
    print(f"\nlearners with free fiches and level periods: {with_five} statements")


PORTFOLIO_FIELDS = """id daysDone createdAt completedFicheCount bilanStatus
  learner { id fullName status email phone birthDate classroom { id name } }
  liaisonFiche { id version objectives workplace { companyName activityDomain service tutorName tutorRole } }
  trainers { id fullName role companyName jobTitle email phone }"""


async def test_a_portfolio_answers_the_same_in_its_period_list_as_reached_alone_for_every_role(clients):
    # The list builds its portfolios for all its rows at once; a portfolio reached alone goes field by field.
    # Both must answer the same values, and the same nulls where access.md refuses a field to the role.
    period_id = encode_id("Period", (await demo_period()).id)
    listed_query = (
        f"query($id: ID!) {{ node(id: $id) {{ ... on Period {{ portfolios {{ nodes {{ {PORTFOLIO_FIELDS} }} }} }} }} }}"
    )
    alone_query = f"query($id: ID!) {{ node(id: $id) {{ ... on Portfolio {{ {PORTFOLIO_FIELDS} }} }} }}"
    compared = 0
    for role in (Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER):
        api = clients[role]
        listed = (await api.data(listed_query, id=period_id))["node"]
        for portfolio in listed["portfolios"]["nodes"] if listed else []:
            alone = (await api.data(alone_query, id=portfolio["id"]))["node"]
            assert alone == portfolio, role
            compared += 1
    # the teacher reaches every portfolio of the demo period, the learner their own
    assert compared >= 6


FICHE_FIELDS = "id number title completed readState annexCount deletedAt tasks { task { id code } tickedByLearner checkedByTeacher }"


async def test_a_learners_portfolios_and_fiches_answer_the_same_listed_as_reached_alone_for_every_role(clients):
    # Given fiches in each state the list reads at once: one read by the teacher, one changed since, one
    # deleted, one with an annex (the demo's own fiches have tasks).
    teacher = await User.filter(role=Role.TEACHER).order_by("id").first()
    fiches = await ActivityFiche.filter(portfolio_id__not_isnull=True).order_by("id")
    assert len(fiches) >= 2
    await FicheRead.create(fiche_id=fiches[0].id, teacher_id=teacher.id, read_at=dt.datetime.now(dt.UTC))
    await Annex.create(fiche_id=fiches[0].id, kind=AnnexKind.URL, title="Photos", url="https://example.org/p")
    await ActivityFiche.filter(id=fiches[1].id).update(deleted_at=dt.datetime.now(dt.UTC))
    listed_query = f"""query($id: ID!) {{ node(id: $id) {{ ... on Learner {{ portfolios {{ id bilanStatus
      period {{ id name startDate }} liaisonFiche {{ id workplace {{ companyName }} }}
      activityFiches {{ nodes {{ {FICHE_FIELDS} }} }} }} }} }} }}"""
    alone_query = """query($id: ID!) { node(id: $id) { ... on Portfolio { id bilanStatus
      period { id name startDate } liaisonFiche { id workplace { companyName } }
      activityFiches { nodes { id } } } } }"""
    fiche_query = f"query($id: ID!) {{ node(id: $id) {{ ... on ActivityFiche {{ {FICHE_FIELDS} }} }} }}"
    learners = {row.learner_id for row in fiches}
    compared = 0
    for role in (Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER):
        api = clients[role]
        for pk in learners:
            listed = (await api.data(listed_query, id=encode_id("Learner", pk)))["node"]
            for portfolio in listed["portfolios"] if listed else []:
                alone = (await api.data(alone_query, id=portfolio["id"]))["node"]
                assert {**alone, "activityFiches": None} == {**portfolio, "activityFiches": None}, role
                assert [f["id"] for f in alone["activityFiches"]["nodes"]] == [
                    f["id"] for f in portfolio["activityFiches"]["nodes"]
                ]
                for fiche in portfolio["activityFiches"]["nodes"]:
                    assert (await api.data(fiche_query, id=fiche["id"]))["node"] == fiche, role
                    compared += 1
    # the teacher sees the read, the deleted and the annexed fiche as such
    assert compared >= 4
