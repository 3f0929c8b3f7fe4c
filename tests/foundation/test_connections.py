"""Lists that scale (issue 13, part 2): `totalCount`, cursors that hold their row (a row added before them moves
no page), a cursor of another list refused, `orderBy` and a search by name — on `learners`, and the bilan's
result log. Expected orders come from the demo data of spec/domain.md: Matis CARLIER and Jean LECAM (CAP 1 ELEC),
Angélique DUPIRE, Marine FABROWSKI and Lydie HÔT (CAPELECT)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from graph.types.bilans import RESULT_LOG_ORDER
from models.schools import Classroom
from models.users import LearnerStatus, Role, User

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
