"""Lists that scale (issue 13, part 2): `totalCount`, cursors that hold their row (a row added before them moves
no page), a cursor of another list refused, `orderBy` and a search by name — on `learners`, a period's portfolios
the bilan's result log and a level's dashboards. Expected orders come from the demo data of spec/domain.md: Matis CARLIER and Jean LECAM (CAP 1 ELEC),
Angélique DUPIRE, Marine FABROWSKI and Lydie HÔT (CAPELECT)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from graph.types.bilans import RESULT_LOG_ORDER
from graph.types.common import encode_id
from graph.types.portfolios import PERIOD_PORTFOLIOS
from models.periods import Period
from models.schools import Classroom
from models.users import LearnerStatus, Role, User
from resolvers.periods.portfolio_rules import open_portfolio
from tests.periods.helpers import demo_period, level_id, period_id, portfolio_of

PAGE = """query($first: Int, $after: String, $order: LearnerOrder, $search: String) {
  learners(first: $first, after: $after, orderBy: $order, search: $search) {
    totalCount edges { cursor node { fullName } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""

BY_LAST_NAME = ["Matis CARLIER", "Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT", "Jean LECAM"]
BY_FIRST_NAME = ["Angélique DUPIRE", "Jean LECAM", "Lydie HÔT", "Marine FABROWSKI", "Matis CARLIER"]


def names(page: dict) -> list[str]:
    return [edge["node"]["fullName"] for edge in page["learners"]["edges"]]


async def every_page(api, size: int, **variables) -> list[list[str]]:
    pages, after = [], None
    while True:
        page = await api.data(PAGE, first=size, after=after, **variables)
        pages.append(names(page))
        if not page["learners"]["pageInfo"]["hasNextPage"]:
            return pages
        after = page["learners"]["pageInfo"]["endCursor"]


async def test_the_total_count_is_the_whole_lists_whatever_the_page(admin, learner):
    page = await admin.data(PAGE, first=2)
    assert names(page) == BY_LAST_NAME[:2]
    assert page["learners"]["totalCount"] == 5
    # the learner's reach is themself: the count says so too
    own = await learner.data(PAGE, first=2)
    assert (names(own), own["learners"]["totalCount"]) == (["Angélique DUPIRE"], 1)


@pytest.mark.parametrize(("order", "expected"), [("LAST_NAME", BY_LAST_NAME), ("FIRST_NAME", BY_FIRST_NAME)])
async def test_pages_follow_the_order_asked(admin, order, expected):
    pages = await every_page(admin, 2, order=order)
    assert pages == [expected[0:2], expected[2:4], expected[4:5]]


async def test_a_learner_added_before_the_cursor_moves_no_page(admin):
    # given the first page read
    first = await admin.data(PAGE, first=2)
    after = first["learners"]["pageInfo"]["endCursor"]
    # when a learner who sorts first joins the school
    classroom = await Classroom.get(name="CAPELECT")
    await User.create(
        school_id=classroom.school_id,
        role=Role.LEARNER,
        email="aaron.abel@demo.pfmp.test",
        first_name="Aaron",
        last_name="ABEL",
        learner_status=LearnerStatus.SCHOOL,
        classroom_id=classroom.id,
    )
    # then the next page starts where the first one ended, as an offset would not
    second = await admin.data(PAGE, first=2, after=after)
    assert names(second) == BY_LAST_NAME[2:4]
    assert second["learners"]["pageInfo"]["hasPreviousPage"] is True
    assert second["learners"]["totalCount"] == 6


async def test_a_cursor_of_another_list_or_order_is_bad_input(admin):
    by_first_name = (await admin.data(PAGE, first=1, order="FIRST_NAME"))["learners"]["pageInfo"]["endCursor"]
    assert await admin.error_code(PAGE, first=1, after=by_first_name) == "BAD_USER_INPUT"
    # a cursor of a bilan's result log, as that list issues it for its change number 1
    log_cursor = RESULT_LOG_ORDER.cursor(SimpleNamespace(id=1))
    assert await admin.error_code(PAGE, first=1, after=log_cursor) == "BAD_USER_INPUT"
    body = await admin.execute(PAGE, first=1, after="bm90IGEgY3Vyc29y")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("dup", ["Angélique DUPIRE"]),
        ("DUP ang", ["Angélique DUPIRE"]),
        ("ma", ["Marine FABROWSKI", "Matis CARLIER"]),
        ("ma car", ["Matis CARLIER"]),
        ("upire", []),
        ("zz", []),
    ],
)
async def test_a_search_finds_names_by_the_start_of_their_words(admin, search, expected):
    page = await admin.data(PAGE, first=10, search=search, order="FIRST_NAME")
    assert names(page) == expected
    assert page["learners"]["totalCount"] == len(expected)


async def test_the_count_costs_one_statement_whatever_the_rows(admin, sql_counter):
    without = "{ learners(first: 100) { edges { node { fullName } } } }"
    with_count = "{ learners(first: 100) { totalCount edges { node { fullName } } } }"
    sql_counter.reset()
    await admin.data(without)
    listed = sql_counter.count
    sql_counter.reset()
    await admin.data(with_count)
    assert sql_counter.count == listed + 1


# Period.portfolios: a page of the period view, built in one batch (graph/types/portfolios.py).

PORTFOLIOS = """query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Period {
  portfolios(first: $first, after: $after) { totalCount
    edges { cursor node { learner { fullName } } } pageInfo { hasNextPage hasPreviousPage endCursor } } } } }"""

# The period view of bench/operations.py, read as `nodes` or as `edges { node }`: the same fields planned.
VIEW = """query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Period {
  portfolios(first: $first, after: $after) { totalCount pageInfo { endCursor } %s } } } }"""
VIEW_FIELDS = """id completedFicheCount bilanStatus learner { fullName classroom { name } }
  liaisonFiche { workplace { companyName } } trainers { fullName }"""


def listed(page: dict) -> list[str]:
    return [edge["node"]["learner"]["fullName"] for edge in page["node"]["portfolios"]["edges"]]


async def test_a_periods_portfolios_page_by_learner_name_with_their_count(admin, learner):
    period = await period_id()
    pages, after = [], None
    while True:
        page = await admin.data(PORTFOLIOS, id=period, first=2, after=after)
        portfolios = page["node"]["portfolios"]
        assert portfolios["totalCount"] == 5
        assert portfolios["pageInfo"]["hasPreviousPage"] is (after is not None)
        pages.append(listed(page))
        if not portfolios["pageInfo"]["hasNextPage"]:
            break
        after = portfolios["pageInfo"]["endCursor"]
    assert pages == [BY_LAST_NAME[0:2], BY_LAST_NAME[2:4], BY_LAST_NAME[4:5]]
    # without `first`, the whole period in one page; the learner's reach is their own portfolio
    whole = await admin.data(PORTFOLIOS, id=period)
    assert listed(whole) == BY_LAST_NAME and whole["node"]["portfolios"]["pageInfo"]["hasNextPage"] is False
    own = await learner.data(PORTFOLIOS, id=period, first=2)
    assert (listed(own), own["node"]["portfolios"]["totalCount"]) == (["Angélique DUPIRE"], 1)


async def test_a_portfolio_added_before_the_cursor_moves_no_page(admin):
    # given the first page read
    period = await demo_period()
    first = await admin.data(PORTFOLIOS, id=await period_id(period), first=2)
    after = first["node"]["portfolios"]["pageInfo"]["endCursor"]
    # when a learner who sorts first is assigned to the period
    classroom = await Classroom.get(name="CAPELECT")
    abel = await User.create(
        school_id=classroom.school_id,
        role=Role.LEARNER,
        email="aaron.abel@demo.pfmp.test",
        first_name="Aaron",
        last_name="ABEL",
        learner_status=LearnerStatus.SCHOOL,
        classroom_id=classroom.id,
    )
    await open_portfolio(period, abel, [])
    # then the next page starts where the first one ended, and the count has the newcomer
    second = await admin.data(PORTFOLIOS, id=await period_id(period), first=2, after=after)
    assert listed(second) == BY_LAST_NAME[2:4]
    assert second["node"]["portfolios"]["totalCount"] == 6
    assert listed(await admin.data(PORTFOLIOS, id=await period_id(period), first=1)) == ["Aaron ABEL"]


async def test_a_cursor_of_another_list_or_a_page_too_long_is_bad_input_for_portfolios(admin):
    period = await period_id()
    learners_cursor = (await admin.data(PAGE, first=1))["learners"]["pageInfo"]["endCursor"]
    assert await admin.error_code(PORTFOLIOS, id=period, first=1, after=learners_cursor) == "BAD_USER_INPUT"
    portfolios_cursor = (await admin.data(PORTFOLIOS, id=period, first=1))["node"]["portfolios"]["pageInfo"]
    assert await admin.error_code(PAGE, first=1, after=portfolios_cursor["endCursor"]) == "BAD_USER_INPUT"
    # a cursor naming this list with numbers where names are: never issued
    forged = PERIOD_PORTFOLIOS.cursor_of([1, 2, 3])
    assert await admin.error_code(PORTFOLIOS, id=period, first=1, after=forged) == "BAD_USER_INPUT"
    assert await admin.error_code(PORTFOLIOS, id=period, first=501) == "BAD_USER_INPUT"
    assert await admin.error_code(PORTFOLIOS, id=period, first=-1) == "BAD_USER_INPUT"


async def test_every_page_of_the_period_view_costs_the_same_statements_whatever_the_rows(teacher, sql_counter):
    period = await demo_period()
    period_gid = await period_id(period)

    async def statements(shape: str, **variables) -> tuple[int, dict]:
        sql_counter.reset()
        data = await teacher.data(VIEW % shape, id=period_gid, **variables)
        return sql_counter.count, data["node"]["portfolios"]

    nodes = f"nodes {{ {VIEW_FIELDS} }}"
    edges = f"edges {{ node {{ {VIEW_FIELDS} }} }}"
    # given the demo period of five learners, read as nodes and as edges: the same fields planned, answered
    five, whole = await statements(nodes)
    assert (await statements(edges))[0] == five
    assert [edge["node"] for edge in (await statements(edges))[1]["edges"]] == whole["nodes"]
    assert len(whole["nodes"]) == 5 and whole["nodes"][1]["trainers"] == [{"fullName": "Eude Toutcourt"}]
    # when thirty more learners are assigned
    period_row = await Period.get(id=period.id)
    classroom = await Classroom.get(name="CAP 1 ELEC")
    for n in range(30):
        newcomer = await User.create(
            school_id=classroom.school_id,
            role=Role.LEARNER,
            email=f"z{n}@demo.pfmp.test",
            first_name="Zoé",
            last_name=f"ZZ{n:02d}",
            learner_status=LearnerStatus.SCHOOL,
            classroom_id=classroom.id,
        )
        await open_portfolio(period_row, newcomer, [])
    # then the whole list, a first page and the page after its cursor cost what five rows cost
    count, whole = await statements(nodes)
    assert (count, len(whole["nodes"]), whole["totalCount"]) == (five, 35, 35)
    count, page = await statements(nodes, first=10)
    assert (count, len(page["nodes"])) == (five, 10)
    count, second = await statements(edges, first=10, after=page["pageInfo"]["endCursor"])
    assert (count, [edge["node"] for edge in second["edges"]]) == (five, whole["nodes"][10:20])


# Portfolio.activityFiches: newest first, read whole per portfolio and paged (graph/types/fiches.py).

FICHES = """query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Portfolio {
  activityFiches(first: $first, after: $after) { totalCount
    edges { cursor node { title } } pageInfo { hasNextPage hasPreviousPage endCursor } } } } }"""
# The learner view's fiches (bench/operations.py), prefetched with the learner's portfolios.
LEARNER_FICHES = """query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Learner {
  portfolios { activityFiches(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    nodes { title number readState annexCount tasks { task { code } } } } } } } }"""
PORTFOLIO_FICHES_ALONE = """query($id: ID!) { node(id: $id) { ... on Portfolio {
  activityFiches { nodes { title number readState annexCount tasks { task { code } } } } } } }"""
CREATE_FICHE = """mutation($p: ID!, $t: String!) { activityFicheCreate(input: {portfolioId: $p, title: $t}) {
  errors { code } } }"""
DUPIRE_FICHES = ["À compléter", "Fiche 1 : Découverte de l'entreprise"]  # the demo's, newest first


async def _dupire() -> tuple[str, str]:
    portfolio = await portfolio_of("DUPIRE")
    return encode_id("Portfolio", portfolio.id), encode_id("Learner", portfolio.learner_id)


def titles(page: dict) -> list[str]:
    return [edge["node"]["title"] for edge in page["node"]["activityFiches"]["edges"]]


async def _write(api, portfolio: str, *names: str) -> None:
    for name in names:
        assert (await api.data(CREATE_FICHE, p=portfolio, t=name))["activityFicheCreate"]["errors"] == []


async def test_a_portfolios_fiches_page_newest_first_and_a_newer_one_moves_no_page(teacher, learner):
    portfolio, _ = await _dupire()
    await _write(learner, portfolio, "Fiche 3", "Fiche 4")
    expected = ["Fiche 4", "Fiche 3", *DUPIRE_FICHES]
    # the first page, then the next one after its cursor
    first = await teacher.data(FICHES, id=portfolio, first=3)
    fiches = first["node"]["activityFiches"]
    assert (titles(first), fiches["totalCount"], fiches["pageInfo"]["hasNextPage"]) == (expected[:3], 4, True)
    # when the learner writes a newer fiche, which sorts first
    await _write(learner, portfolio, "Fiche 5")
    # then the next page starts where the first ended, and the count has it
    second = await teacher.data(FICHES, id=portfolio, first=3, after=fiches["pageInfo"]["endCursor"])
    page = second["node"]["activityFiches"]
    assert (titles(second), page["totalCount"], page["pageInfo"]["hasNextPage"]) == (expected[3:], 5, False)
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert titles(await teacher.data(FICHES, id=portfolio)) == ["Fiche 5", *expected]


async def test_a_cursor_of_another_list_is_bad_input_for_fiches(teacher):
    portfolio, _ = await _dupire()
    period_cursor = (await teacher.data(PORTFOLIOS, id=await period_id(), first=1))["node"]["portfolios"]
    after = period_cursor["pageInfo"]["endCursor"]
    assert await teacher.error_code(FICHES, id=portfolio, first=1, after=after) == "BAD_USER_INPUT"
    fiche_cursor = (await teacher.data(FICHES, id=portfolio, first=1))["node"]["activityFiches"]["pageInfo"]
    assert await teacher.error_code(PORTFOLIOS, id=await period_id(), after=fiche_cursor["endCursor"]) == (
        "BAD_USER_INPUT"
    )
    assert await teacher.error_code(FICHES, id=portfolio, first=101) == "BAD_USER_INPUT"


async def test_the_fiches_pages_of_the_learner_view_cost_the_same_statements_whatever_the_rows(
    teacher, learner, sql_counter
):
    portfolio, learner_gid = await _dupire()

    async def statements(**variables) -> tuple[int, dict]:
        sql_counter.reset()
        data = await teacher.data(LEARNER_FICHES, id=learner_gid, **variables)
        return sql_counter.count, data["node"]["portfolios"][0]["activityFiches"]

    two, whole = await statements()
    assert [f["title"] for f in whole["nodes"]] == DUPIRE_FICHES and whole["totalCount"] == 2
    # the same fields through a portfolio reached alone, field by field: the same answer
    alone = await teacher.data(PORTFOLIO_FICHES_ALONE, id=portfolio)
    assert alone["node"]["activityFiches"]["nodes"] == whole["nodes"]
    # when the learner writes twenty more fiches
    await _write(learner, portfolio, *(f"Fiche n° {n}" for n in range(20)))
    # then the whole list, a first page and the page after its cursor cost what two fiches cost
    count, whole = await statements()
    assert (count, len(whole["nodes"]), whole["totalCount"]) == (two, 22, 22)
    count, page = await statements(first=5)
    assert (count, page["nodes"]) == (two, whole["nodes"][:5])
    count, page = await statements(first=5, after=page["pageInfo"]["endCursor"])
    assert (count, page["nodes"]) == (two, whole["nodes"][5:10])


LISTED_FICHES = """query($id: ID!) { node(id: $id) { ... on Learner {
  portfolios { activityFiches { nodes { title %s } } } } } }"""


async def test_the_tasks_of_every_listed_fiche_with_their_codes_cost_one_statement(teacher, learner, sql_counter):
    portfolio, learner_gid = await _dupire()
    await _write(learner, portfolio, *(f"Fiche n° {n}" for n in range(5)))
    sql_counter.reset()
    await teacher.data(LISTED_FICHES % "", id=learner_gid)
    bare = sql_counter.count
    sql_counter.reset()
    data = await teacher.data(LISTED_FICHES % "tasks { task { code label } tickedByLearner }", id=learner_gid)
    # the links and their tasks' columns in one statement, for every fiche of every portfolio
    assert sql_counter.count == bare + 1, sql_counter.statements
    demo_fiche = data["node"]["portfolios"][0]["activityFiches"]["nodes"][-1]
    assert demo_fiche["tasks"] and all(link["task"]["code"] and link["task"]["label"] for link in demo_fiche["tasks"])


# trainers: the school's company trainers, by name, paged in the database (resolvers/people/trainers.py).

TRAINERS = """query($first: Int, $after: String) { trainers(first: $first, after: $after) { totalCount
  edges { cursor node { fullName } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


def trainer_names(page: dict) -> list[str]:
    return [edge["node"]["fullName"] for edge in page["trainers"]["edges"]]


async def test_the_trainers_page_by_name_and_one_added_before_the_cursor_moves_no_page(admin, sql_counter):
    # given the school's trainers, read whole, then a page of one
    whole = await admin.data(TRAINERS)
    expected = trainer_names(whole)
    assert len(expected) == whole["trainers"]["totalCount"] >= 2
    sql_counter.reset()
    first = await admin.data(TRAINERS, first=1)
    statements = sql_counter.count
    assert trainer_names(first) == expected[:1] and first["trainers"]["pageInfo"]["hasNextPage"] is True
    # when a tutor who sorts first is created
    await User.create(
        school_id=admin.user.school_id, role=Role.TUTOR, email="aa@entreprise.test", first_name="Aa", last_name="AAA"
    )
    # then the next page follows the first one's cursor, in as many statements, and the count has the newcomer
    sql_counter.reset()
    second = await admin.data(TRAINERS, first=1, after=first["trainers"]["pageInfo"]["endCursor"])
    assert sql_counter.count == statements
    assert trainer_names(second) == expected[1:2] and second["trainers"]["totalCount"] == len(expected) + 1
    # and a cursor of another list is refused
    learners_cursor = (await admin.data(PAGE, first=1))["learners"]["pageInfo"]["endCursor"]
    assert await admin.error_code(TRAINERS, first=1, after=learners_cursor) == "BAD_USER_INPUT"
    assert await admin.error_code(PAGE, first=1, after=first["trainers"]["pageInfo"]["endCursor"]) == "BAD_USER_INPUT"


# A level's dashboards: by learner name, paged in the database, each page's dashboards computed together
# (graph/types/dashboard.py); the statements are counted in tests/bilans/test_statements.py.

DASHBOARDS = """query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Level { dashboard {
  learners(first: $first, after: $after) { totalCount nodes { learner { fullName } }
    pageInfo { hasNextPage endCursor } } } } } }"""


async def test_a_levels_dashboards_page_by_name_and_refuse_another_lists_cursor(teacher):
    level = await level_id("Première année de CAP")
    pages, after = [], None
    while True:
        page = (await teacher.data(DASHBOARDS, id=level, first=2, after=after))["node"]["dashboard"]["learners"]
        assert page["totalCount"] == 5
        pages.append([node["learner"]["fullName"] for node in page["nodes"]])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == [BY_LAST_NAME[0:2], BY_LAST_NAME[2:4], BY_LAST_NAME[4:5]]
    learners_cursor = (await teacher.data(PAGE, first=1))["learners"]["pageInfo"]["endCursor"]
    assert await teacher.error_code(DASHBOARDS, id=level, first=1, after=learners_cursor) == "BAD_USER_INPUT"
    assert await teacher.error_code(PAGE, first=1, after=after) == "BAD_USER_INPUT"
    assert await teacher.error_code(DASHBOARDS, id=level, first=101) == "BAD_USER_INPUT"
