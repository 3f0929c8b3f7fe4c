"""Every list answers only the rows in the viewer's reach (access.md, "Reach").

Expectations come from the demo data of domain.md (CAP 1 ELEC: CARLIER, LECAM;
CAPELECT: DUPIRE, FABROWSKI, HÔT; period « Stage de découverte » for the
first-year level; the tutor follows DUPIRE, the master the apprentice HÔT),
plus rows made here that no demo account may reach but the admin: a
second-year classroom the demo teacher does not teach, its learner Zoé HORS,
her period on the second-year level and her portfolio, followed by another tutor.
FABROWSKI's portfolio is one no trainer is assigned to.
"""

import datetime as dt

import pytest

from graph.types.common import encode_id
from models.frameworks import Framework
from models.periods import Period, PeriodTemplate
from models.schools import Classroom, Level
from models.users import LearnerStatus, Role, User
from resolvers.periods.portfolio_rules import open_portfolio

FIRST_YEAR, SECOND_YEAR = "Première année de CAP", "Deuxième année de CAP"
EVERY_DEMO_LEARNER = {"Matis CARLIER", "Jean LECAM", "Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT"}
DUPIRE_FICHES = ["À compléter", "Fiche 1 : Découverte de l'entreprise"]  # newest first

EVERYTHING = """query($discovery: ID!, $second: ID!) {
  levels { name }
  classrooms { name learners { fullName } }
  learners(first: 100) { edges { node { fullName
      portfolios { period { name } activityFiches { nodes { title } } } } } }
  discovery: node(id: $discovery) { ... on Period {
    portfolios { nodes { learner { fullName } activityFiches { nodes { title } } } } } }
  second: node(id: $second) { ... on Period { name portfolios { nodes { learner { fullName } } } } }
  trainers { nodes { fullName } }
}"""


@pytest.fixture
async def outside_the_demo_accounts(app) -> Period:
    """Zoé HORS in CAP 2 ELEC (second year, not taught by the demo teacher), her period and her tutor."""
    school_id = (await User.get(role=Role.TEACHER)).school_id
    second_year = await Level.get(name=SECOND_YEAR)
    classroom = await Classroom.create(school_id=school_id, level=second_year, name="CAP 2 ELEC")
    zoe = await User.create(
        school_id=school_id,
        role=Role.LEARNER,
        email="zoe.hors@demo.pfmp.test",
        first_name="Zoé",
        last_name="HORS",
        learner_status=LearnerStatus.SCHOOL,
        classroom=classroom,
    )
    tutor = await User.create(
        school_id=school_id,
        role=Role.TUTOR,
        email="paul.ailleurs@x.test",
        first_name="Paul",
        last_name="AILLEURS",
        company_name="Ailleurs SARL",
    )
    period = await Period.create(
        school_id=school_id,
        level=second_year,
        name="Stage de deuxième année",
        start_date=dt.date(2026, 1, 5),
        end_date=dt.date(2026, 1, 30),
        school_year=2025,
        certifying=True,
        objectives="",
        created_by_id=tutor.id,
    )
    portfolio = await open_portfolio(period, zoe, [])
    await portfolio.trainers.add(tutor)
    return period


def _names(rows, key="fullName") -> set[str]:
    return {row[key] for row in rows}


async def _everything(api, second: Period) -> dict:
    discovery = await Period.get(name="Stage de découverte")
    return await api.data(
        EVERYTHING, discovery=encode_id("Period", discovery.id), second=encode_id("Period", second.id)
    )


def _fiches_by_learner(data) -> dict[str, list[str]]:
    return {
        e["node"]["fullName"]: [f["title"] for p in e["node"]["portfolios"] for f in p["activityFiches"]["nodes"]]
        for e in data["learners"]["edges"]
    }


def _discovery_portfolios(data) -> dict[str, list[str]]:
    return {
        p["learner"]["fullName"]: [f["title"] for f in p["activityFiches"]["nodes"]]
        for p in data["discovery"]["portfolios"]["nodes"]
    }


async def test_the_admin_lists_every_row_of_the_school(admin, outside_the_demo_accounts):
    data = await _everything(admin, outside_the_demo_accounts)
    assert _names(data["levels"], "name") == {FIRST_YEAR, SECOND_YEAR}
    assert _names(data["classrooms"], "name") == {"CAP 1 ELEC", "CAPELECT", "CAP 2 ELEC"}
    assert set(_fiches_by_learner(data)) == EVERY_DEMO_LEARNER | {"Zoé HORS"}
    assert set(_discovery_portfolios(data)) == EVERY_DEMO_LEARNER
    assert data["second"] == {
        "name": "Stage de deuxième année",
        "portfolios": {"nodes": [{"learner": {"fullName": "Zoé HORS"}}]},
    }
    assert _names(data["trainers"]["nodes"]) == {"Eude Toutcourt", "Sylvie Ampère", "Paul AILLEURS"}


async def test_a_teacher_lists_only_the_classrooms_they_teach_and_what_hangs_off_them(
    teacher, outside_the_demo_accounts
):
    data = await _everything(teacher, outside_the_demo_accounts)
    assert _names(data["levels"], "name") == {FIRST_YEAR}
    assert {c["name"]: _names(c["learners"]) for c in data["classrooms"]} == {
        "CAP 1 ELEC": {"Matis CARLIER", "Jean LECAM"},
        "CAPELECT": {"Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT"},
    }
    fiches = _fiches_by_learner(data)
    assert set(fiches) == EVERY_DEMO_LEARNER
    assert fiches["Angélique DUPIRE"] == DUPIRE_FICHES
    assert set(_discovery_portfolios(data)) == EVERY_DEMO_LEARNER
    assert data["second"] is None


async def test_a_teacher_who_stops_teaching_a_classroom_no_longer_lists_its_learners_portfolios_or_fiches(
    teacher, outside_the_demo_accounts
):
    await teacher.user.taught_classrooms.remove(await Classroom.get(name="CAPELECT"))
    data = await _everything(teacher, outside_the_demo_accounts)
    assert _names(data["classrooms"], "name") == {"CAP 1 ELEC"}
    assert set(_fiches_by_learner(data)) == {"Matis CARLIER", "Jean LECAM"}
    assert set(_discovery_portfolios(data)) == {"Matis CARLIER", "Jean LECAM"}


async def test_a_learner_lists_only_their_own_rows(learner, outside_the_demo_accounts):
    data = await _everything(learner, outside_the_demo_accounts)
    assert _names(data["levels"], "name") == {FIRST_YEAR}
    assert [(c["name"], _names(c["learners"])) for c in data["classrooms"]] == [("CAPELECT", {"Angélique DUPIRE"})]
    assert _fiches_by_learner(data) == {"Angélique DUPIRE": DUPIRE_FICHES}
    assert _discovery_portfolios(data) == {"Angélique DUPIRE": DUPIRE_FICHES}
    assert data["second"] is None
    assert _names(data["trainers"]["nodes"]) == {"Eude Toutcourt"}


@pytest.mark.parametrize(
    "role, followed, fiches, trainer",
    [
        (Role.TUTOR, "Angélique DUPIRE", DUPIRE_FICHES, "Eude Toutcourt"),
        (Role.MASTER, "Lydie HÔT", ["À compléter"], "Sylvie Ampère"),
    ],
    ids=["TUTOR", "MASTER"],
)
async def test_a_trainer_lists_only_the_portfolios_they_are_assigned_to(
    role, followed, fiches, trainer, clients, outside_the_demo_accounts
):
    data = await _everything(clients[role], outside_the_demo_accounts)
    assert _names(data["levels"], "name") == {FIRST_YEAR}
    assert [(c["name"], _names(c["learners"])) for c in data["classrooms"]] == [("CAPELECT", {followed})]
    assert _fiches_by_learner(data) == {followed: fiches}
    # Period.portfolios: FABROWSKI's portfolio has no trainer, the others follow someone else
    assert _discovery_portfolios(data) == {followed: fiches}
    assert data["second"] is None
    assert _names(data["trainers"]["nodes"]) == {trainer}


async def test_assigning_a_trainer_to_one_more_portfolio_widens_their_lists_by_exactly_that_portfolio(
    tutor, outside_the_demo_accounts
):
    # given the tutor now also follows FABROWSKI
    fabrowski = await User.get(last_name="FABROWSKI")
    portfolio = await fabrowski.portfolios.all().first()
    await portfolio.trainers.add(tutor.user)
    data = await _everything(tutor, outside_the_demo_accounts)
    assert _discovery_portfolios(data) == {"Angélique DUPIRE": DUPIRE_FICHES, "Marine FABROWSKI": ["À compléter"]}
    assert set(_fiches_by_learner(data)) == {"Angélique DUPIRE", "Marine FABROWSKI"}


async def test_framework_lists_are_the_built_in_ones_and_the_schools_own(clients, outside_the_demo_accounts):
    # a framework private to the school is listed to everyone of the school
    school_id = (await User.get(role=Role.TEACHER)).school_id
    await Framework.create(school_id=school_id, code="CAP-PROPRE", name="Référentiel de l'école", content_hash="0" * 64)
    for role in (Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER):
        codes = {f["code"] for f in (await clients[role].data("{ frameworks { code } }"))["frameworks"]}
        assert {"CAP-ELEC", "CAP-PROPRE"} <= codes, role


@pytest.mark.parametrize(
    "role", [Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER], ids=lambda r: r.value
)
async def test_period_templates_are_those_of_the_levels_in_reach(role, clients, outside_the_demo_accounts):
    # given a template on each level: the second year is taught by no demo teacher and followed by no demo trainer
    school_id = (await User.get(role=Role.TEACHER)).school_id
    templates = {
        name: await PeriodTemplate.create(
            school_id=school_id, level=await Level.get(name=level), name=name, objectives=""
        )
        for name, level in (("Annexe première année", FIRST_YEAR), ("Annexe deuxième année", SECOND_YEAR))
    }
    seen = set()
    for row in templates.values():
        data = await clients[role].data(
            "query($id: ID!) { node(id: $id) { ... on PeriodTemplate { name } } }",
            id=encode_id("PeriodTemplate", row.id),
        )
        if data["node"]:
            seen.add(data["node"]["name"])
    assert seen == (
        {"Annexe première année", "Annexe deuxième année"} if role is Role.ADMIN else {"Annexe première année"}
    )
