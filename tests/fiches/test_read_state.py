"""R13: READ, UNREAD or DELETED for each teacher; marking read is a mutation, never a side effect."""

import pytest

from models.fiches import ActivityFiche, FicheRead
from models.portfolios import Portfolio
from models.schools import Classroom
from models.users import Role, User
from tests.conftest import Api, token_for
from tests.fiches.conftest import (
    ADD_URL,
    DELETE,
    MARK_READ,
    NODE,
    TASKS_SET,
    UPDATE,
    Demo,
    fiche,
    lock_period_of,
    mutate,
)


async def _state(api, fiche_id: str) -> str | None:
    return (await fiche(api, fiche_id))["readState"]


@pytest.fixture
async def second_teacher(http, settings, app) -> Api:
    """Another teacher of CAPELECT: read states are per teacher."""
    school_id = (await User.get(role=Role.TEACHER)).school_id
    user = await User.create(
        school_id=school_id, role=Role.TEACHER, email="autre.prof@demo.pfmp.test", first_name="Paul", last_name="NOEL"
    )
    await user.taught_classrooms.add(await Classroom.get(name="CAPELECT"))
    return Api(http, token_for(user, settings), user)


async def test_reading_a_fiche_does_not_mark_it_read(teacher, demo):
    for _ in range(2):
        assert await _state(teacher, demo.fiche1) == "UNREAD"
    assert await FicheRead.all().count() == 0


async def test_marking_read_is_per_teacher(teacher, second_teacher, demo):
    # when one teacher marks the fiche read
    payload = await mutate(teacher, MARK_READ, "activityFicheMarkRead", id=demo.fiche1)
    # then it is READ for them only
    assert payload == {"activityFiche": {"readState": "READ"}, "errors": []}
    assert await _state(teacher, demo.fiche1) == "READ"
    assert await _state(second_teacher, demo.fiche1) == "UNREAD"
    assert await _state(teacher, demo.fiche2) == "UNREAD"


@pytest.mark.parametrize("change", ["edit", "tick", "annex"])
async def test_a_change_by_the_learner_makes_it_unread_again(change, teacher, learner, demo):
    # given the teacher read the fiche
    await mutate(teacher, MARK_READ, "activityFicheMarkRead", id=demo.fiche1)
    # when the learner changes it
    if change == "edit":
        result = await mutate(
            learner, UPDATE, "activityFicheUpdate", input={"id": demo.fiche1, "version": 1, "analysis": "Plus."}
        )
    elif change == "tick":
        result = await mutate(learner, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[demo.tasks["TA 1-1"]])
    else:
        result = await mutate(learner, ADD_URL, "annexAddUrl", f=demo.fiche1, u="https://example.org/photo", t=None)
    assert result["errors"] == []
    # then it is UNREAD again, until read again
    assert await _state(teacher, demo.fiche1) == "UNREAD"
    await mutate(teacher, MARK_READ, "activityFicheMarkRead", id=demo.fiche1)
    assert await _state(teacher, demo.fiche1) == "READ"


async def test_a_change_by_the_teacher_leaves_it_read(teacher, demo):
    await mutate(teacher, MARK_READ, "activityFicheMarkRead", id=demo.fiche1)
    result = await mutate(teacher, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[demo.tasks["TA 1-1"]])
    assert result["errors"] == []
    assert await _state(teacher, demo.fiche1) == "READ"


async def test_a_deleted_fiche_is_deleted_even_once_read(teacher, learner, demo):
    await mutate(learner, DELETE, "activityFicheDelete", id=demo.fiche2)
    assert await _state(teacher, demo.fiche2) == "DELETED"
    payload = await mutate(teacher, MARK_READ, "activityFicheMarkRead", id=demo.fiche2)
    assert payload == {"activityFiche": {"readState": "DELETED"}, "errors": []}


async def test_marking_read_twice_keeps_one_row_and_works_on_a_locked_period(teacher, demo):
    await lock_period_of(demo.dupire_portfolio)
    for _ in range(2):
        assert (await mutate(teacher, MARK_READ, "activityFicheMarkRead", id=demo.fiche1))["errors"] == []
    assert await FicheRead.filter(fiche_id=Demo.pk(demo.fiche1)).count() == 1


@pytest.mark.parametrize("role", [Role.LEARNER, Role.TUTOR, Role.MASTER], ids=lambda r: r.value)
async def test_read_states_are_for_staff_only(role, clients, demo):
    api = clients[role]
    target = demo.hot_fiche if role is Role.MASTER else demo.fiche1
    assert (await api.data(NODE, id=target))["node"]["readState"] is None
    assert await api.error_code(MARK_READ, id=target) == "FORBIDDEN"
    assert await FicheRead.all().count() == 0


async def test_an_admin_sees_states_but_may_not_mark_read(admin, demo):
    assert await _state(admin, demo.fiche1) == "UNREAD"
    assert await admin.error_code(MARK_READ, id=demo.fiche1) == "FORBIDDEN"


async def test_a_teacher_cannot_mark_a_fiche_out_of_reach(teacher, demo):
    # given the teacher no longer teaches CAPELECT
    await teacher.user.taught_classrooms.remove(await Classroom.get(name="CAPELECT"))
    payload = await mutate(teacher, MARK_READ, "activityFicheMarkRead", id=demo.fiche1)
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    assert await FicheRead.all().count() == 0


COUNTS = """query($id: ID!) { node(id: $id) { ... on Portfolio {
  ficheCount completedFicheCount unreadFicheCount } } }"""
PERIOD_COUNTS = """query($id: ID!) { node(id: $id) { ... on Period { portfolios { nodes { id %s } } } } }"""


async def _counts(api, portfolio_id: str) -> dict:
    return (await api.data(COUNTS, id=portfolio_id))["node"]


async def test_a_portfolio_counts_its_fiches_and_those_unread_by_the_teacher_asking(
    teacher, second_teacher, learner, demo
):
    # given DUPIRE's two demo fiches (« Fiche 1 » written, « À compléter » not), read by no teacher
    assert await _counts(teacher, demo.dupire_portfolio) == {
        "ficheCount": 2,
        "completedFicheCount": 1,
        "unreadFicheCount": 2,
    }
    # when the teacher marks the first read: one left for them, still two for their colleague
    await mutate(teacher, MARK_READ, "activityFicheMarkRead", id=demo.fiche1)
    assert (await _counts(teacher, demo.dupire_portfolio))["unreadFicheCount"] == 1
    assert (await _counts(second_teacher, demo.dupire_portfolio))["unreadFicheCount"] == 2
    # when the learner changes it, it is unread again; when they delete the other, it is counted nowhere
    await mutate(learner, UPDATE, "activityFicheUpdate", input={"id": demo.fiche1, "version": 1, "analysis": "Plus."})
    await mutate(learner, DELETE, "activityFicheDelete", id=demo.fiche2)
    assert await _counts(teacher, demo.dupire_portfolio) == {
        "ficheCount": 1,
        "completedFicheCount": 1,
        "unreadFicheCount": 1,
    }


@pytest.mark.parametrize("role", [Role.LEARNER, Role.TUTOR], ids=lambda r: r.value)
async def test_the_unread_count_is_for_staff_only(role, clients, demo):
    counts = await _counts(clients[role], demo.dupire_portfolio)
    assert counts == {"ficheCount": 2, "completedFicheCount": 1, "unreadFicheCount": None}


async def test_the_counts_of_a_periods_portfolios_cost_three_statements_whatever_the_fiches(teacher, demo, sql_counter):
    period_id = (
        await teacher.data(
            "query($id: ID!) { node(id: $id) { ... on Portfolio { period { id } } } }", id=demo.dupire_portfolio
        )
    )["node"]["period"]["id"]

    async def statements(fields: str) -> int:
        sql_counter.reset()
        await teacher.data(PERIOD_COUNTS % fields, id=period_id)
        return sql_counter.count

    bare = await statements("")
    assert await statements("ficheCount unreadFicheCount") == bare + 3
    # when the learners have many more fiches, the same
    portfolio = await Portfolio.get(id=Demo.pk(demo.dupire_portfolio))
    await ActivityFiche.bulk_create(
        [
            ActivityFiche(
                school_id=portfolio.school_id,
                learner_id=portfolio.learner_id,
                portfolio_id=portfolio.id,
                reference=10 + i,
                title=f"Fiche {10 + i}",
            )
            for i in range(20)
        ]
    )
    assert await statements("ficheCount unreadFicheCount") == bare + 3
    counts = await _counts(teacher, demo.dupire_portfolio)
    assert (counts["ficheCount"], counts["unreadFicheCount"]) == (22, 22)
