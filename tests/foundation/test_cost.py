"""Expensive fields carry a cost: a query asking for many level dashboards at once is refused with a code before it
runs (issue 11, item 5), while the screens the front ends send stay well under the limit."""

from __future__ import annotations

import time

import pytest
from graphql import parse

from bench import operations
from graph.cost import BATCHED_PAGES, FIELD_COST, FIELD_ROWS, MAX_COST, operation_cost
from graph.schema import schema
from graph.types.common import MAX_PAGE, encode_id
from graph.types.portfolios import PORTFOLIO_PAGE
from models.bilans import CompanyBilan
from models.periods import Period
from models.schools import Level
from models.users import User

DASHBOARD = "dashboard { learners { nodes { learner { fullName } competences { currentLevel } } } }"


def _aliased_dashboards(count: int) -> str:
    return (
        "query($id: ID!) { "
        + " ".join(f"d{n}: node(id: $id) {{ ... on Level {{ {DASHBOARD} }} }}" for n in range(count))
        + " }"
    )


async def _level_id() -> str:
    level = await Level.all().order_by("position", "id").first()
    return encode_id("Level", level.id)


def _assert_too_costly(body: dict) -> None:
    assert body.get("data") is None, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"] == MAX_COST


async def test_twenty_five_level_dashboards_through_aliases_are_refused_before_running(teacher, sql_counter):
    level_id = await _level_id()
    # when a teacher asks for 25 level dashboards in one query
    sql_counter.reset()
    started = time.perf_counter()
    body = await teacher.execute(_aliased_dashboards(25), id=level_id)
    elapsed = time.perf_counter() - started
    # then it is refused with a code, and nothing was computed: only the token check reached the database
    _assert_too_costly(body)
    assert sql_counter.count <= 1, sql_counter.statements
    assert elapsed < 1.0


async def test_many_dashboards_through_nodes_are_refused(teacher):
    level_id = await _level_id()
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Level { %s } } }" % DASHBOARD
    _assert_too_costly(await teacher.execute(query, ids=[level_id] * 25))
    literal = "{ nodes(ids: [%s]) { ... on Level { %s } } }" % (
        ", ".join(f'"{level_id}"' for _ in range(25)),
        DASHBOARD,
    )
    _assert_too_costly(await teacher.execute(literal))


async def test_dashboards_through_fragments_are_counted(teacher):
    level_id = await _level_id()
    query = (
        "query($id: ID!) { "
        + " ".join(f"d{n}: node(id: $id) {{ ...Board }}" for n in range(25))
        + " } fragment Board on Level { "
        + DASHBOARD
        + " }"
    )
    _assert_too_costly(await teacher.execute(query, id=level_id))


async def test_one_level_dashboard_answers(teacher):
    data = await teacher.data(_aliased_dashboards(1), id=await _level_id())
    assert data["d0"]["dashboard"]["learners"]["nodes"]


async def test_the_ordinary_screens_stay_well_under_the_limit(teacher):
    # given the documents the front ends send (bench/operations.py), on the demo rows
    period = await Period.all().order_by("id").first()
    learner = await User.get(email="angelique.dupire@demo.pfmp.test")
    bilan = await CompanyBilan.all().order_by("id").first()
    screens = {
        "period view": (operations.PERIOD_VIEW, {"id": encode_id("Period", period.id)}),
        "learner view": (operations.LEARNER_VIEW, {"id": encode_id("Learner", learner.id)}),
        "level dashboard": (operations.DASHBOARD, {"id": await _level_id()}),
    }
    if bilan is not None:
        screens["visit screen"] = (operations.VISIT, {"id": encode_id("CompanyBilan", bilan.id)})
    for name, (document, variables) in screens.items():
        # then each costs at most a quarter of the limit, and answers

        cost = operation_cost(schema._schema, parse(document), None, variables)
        assert cost <= MAX_COST // 4, (name, cost)
        body = await teacher.execute(document, **variables)
        assert not body.get("errors"), (name, body)


def test_every_declared_cost_names_a_field_of_the_schema():
    for type_name, field_name in [*FIELD_COST, *FIELD_ROWS, *BATCHED_PAGES]:
        assert field_name in schema._schema.get_type(type_name).fields, (type_name, field_name)
    # a batched page's largest size is the one its resolver allows
    assert BATCHED_PAGES[("Period", "portfolios")] == PORTFOLIO_PAGE
    assert BATCHED_PAGES[("Portfolio", "activityFiches")] == MAX_PAGE


@pytest.mark.parametrize("first, refused", [(10, False), (100, True)])
async def test_a_connection_costs_per_row_asked(teacher, first, refused):
    # two pages of learner dashboards: 20 of them answer, 200 are as costly as several level dashboards
    page = "learners(first: $n) { edges { node { dashboard { competences { currentLevel } } } } }"
    query = "query($n: Int) { a: %s b: %s }" % (page, page)
    body = await teacher.execute(query, n=first)
    if refused:
        _assert_too_costly(body)
    else:
        assert not body.get("errors"), body
