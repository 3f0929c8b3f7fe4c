"""Trainers' seen state (issue 16, part 3): `Portfolio.newFicheCount` counts the fiches created or changed since
the trainer last marked the portfolio seen (`markSeen`); nobody else has one; the count of a list of portfolios
costs a fixed number of statements."""

from __future__ import annotations

from graph.types.common import encode_id
from models.fiches import ActivityFiche
from models.periods import Period
from models.portfolios import Portfolio, TrainerSeen
from models.users import User

MARK = "mutation($p: ID!) { markSeen(input: {portfolioId: $p}) { portfolio { newFicheCount } errors { field code } } }"
COUNT = "query($id: ID!) { node(id: $id) { ... on Portfolio { newFicheCount } } }"
CREATE = """mutation($p: ID!, $t: String!) { activityFicheCreate(input: {portfolioId: $p, title: $t, description: "x"})
  { activityFiche { id version } errors { code } } }"""
UPDATE = """mutation($id: ID!, $v: Int!) { activityFicheUpdate(input: {id: $id, version: $v, description: "y"})
  { errors { code } } }"""
DELETE = "mutation($id: ID!) { activityFicheDelete(input: {id: $id}) { errors { code } } }"
PERIOD_COUNTS = "query($id: ID!) { node(id: $id) { ... on Period { portfolios { nodes { id newFicheCount } } } } }"


async def _angelique_portfolio() -> Portfolio:
    return await Portfolio.get(learner__last_name="DUPIRE", period__name="Stage de découverte")


async def _count(api, portfolio: str):
    return (await api.data(COUNT, id=portfolio))["node"]["newFicheCount"]


async def test_the_count_follows_the_fiches_changed_since_the_trainer_marked_the_portfolio_seen(tutor, learner):
    portfolio = encode_id("Portfolio", (await _angelique_portfolio()).id)
    # never marked: every fiche of the portfolio (the demo's « Fiche 1 » and « À compléter »)
    assert await _count(tutor, portfolio) == 2
    marked = (await tutor.data(MARK, p=portfolio))["markSeen"]
    assert marked == {"portfolio": {"newFicheCount": 0}, "errors": []}

    created = (await learner.data(CREATE, p=portfolio, t="Nouvelle"))["activityFicheCreate"]["activityFiche"]
    assert await _count(tutor, portfolio) == 1
    first = await ActivityFiche.get(title="Fiche 1 : Découverte de l'entreprise")
    fiche1 = encode_id("ActivityFiche", first.id)
    assert (await learner.data(UPDATE, id=fiche1, v=first.version))["activityFicheUpdate"]["errors"] == []
    assert await _count(tutor, portfolio) == 2
    # a deleted fiche is no news to count
    assert (await learner.data(DELETE, id=created["id"]))["activityFicheDelete"]["errors"] == []
    assert await _count(tutor, portfolio) == 1

    # marked again: nothing new; one seen row per trainer and portfolio
    assert (await tutor.data(MARK, p=portfolio))["markSeen"]["portfolio"]["newFicheCount"] == 0
    assert await TrainerSeen.filter(trainer_id=tutor.user.id).count() == 1


async def test_nobody_but_the_trainer_has_a_seen_state(teacher, learner, admin, tutor):
    portfolio = encode_id("Portfolio", (await _angelique_portfolio()).id)
    for api in (teacher, learner, admin):
        assert await _count(api, portfolio) is None
        body = await api.execute(MARK, p=portfolio)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # a portfolio the tutor does not follow does not exist for them
    other = await Portfolio.get(learner__last_name="CARLIER", period__name="Stage de découverte")
    refused = (await tutor.data(MARK, p=encode_id("Portfolio", other.id)))["markSeen"]
    assert refused == {"portfolio": None, "errors": [{"field": ["input", "portfolioId"], "code": "NOT_FOUND"}]}
    assert await TrainerSeen.all().count() == 0


async def test_the_counts_of_a_list_of_portfolios_cost_a_fixed_number_of_statements(tutor, sql_counter):
    period = await Period.get(name="Stage de découverte")
    period_id = encode_id("Period", period.id)

    async def statements() -> tuple[int, list]:
        sql_counter.reset()
        body = await tutor.execute(PERIOD_COUNTS, id=period_id)
        assert not body.get("errors"), body
        return sql_counter.count, body["data"]["node"]["portfolios"]["nodes"]

    one, listed = await statements()
    assert len(listed) == 1
    # the tutor now follows every school-status learner of the period, some of them marked seen
    user = await User.get(id=tutor.user.id)
    portfolios = await Portfolio.filter(period=period, learner__last_name__in=["CARLIER", "LECAM", "FABROWSKI"])
    for portfolio in portfolios:
        await portfolio.trainers.add(user)
    await tutor.data(MARK, p=encode_id("Portfolio", portfolios[0].id))
    many, listed = await statements()
    assert len(listed) == 4
    assert many == one
