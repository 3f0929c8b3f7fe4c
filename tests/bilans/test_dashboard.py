"""The learner's dashboard (R26), for one learner and for a whole level."""

import datetime as dt

import pytest

from graph.types.common import encode_id
from models.bilans import CompanyBilan
from models.users import Role, User
from tests.bilans.conftest import UPDATE, another_period
from tests.bilans.test_reviews import _evaluate_and_complete

DASHBOARD = """
  learner { fullName }
  competences { competence { code } currentLevel history { level date mode period { name } } }
  periods { period { name } bilanStatus engagement ficheCount completedFicheCount }
"""
LEARNER_DASHBOARD = "query($id: ID!) { node(id: $id) { ... on Learner { dashboard { %s } } } }" % DASHBOARD
LEVEL_DASHBOARD = (
    """query($id: ID!) { node(id: $id) { ... on Level { dashboard {
  competences { code } learners { totalCount nodes { %s } } } } } }"""
    % DASHBOARD
)


@pytest.fixture
async def history(teacher, demo):
    """Angélique: two completed bilans (C07 ACQUIRED then MASTERED; C01 by criteria) and a third one in draft."""
    today = dt.date.today()
    second = await another_period(demo, "PFMP 2", today - dt.timedelta(days=25))
    third = await another_period(demo, "PFMP 3", today - dt.timedelta(days=5))
    c01, c07 = demo.competence_id("C01"), demo.competence_id("C07")
    await _evaluate_and_complete(teacher, demo.bilan_id, [{"competenceId": c07, "level": "ACQUIRED"}], 3)
    second_bilan = await CompanyBilan.get(portfolio=second)
    version = second_bilan.version
    modes = (
        await teacher.data(
            UPDATE,
            input={
                "id": encode_id("CompanyBilan", second_bilan.id),
                "version": version,
                "modes": [{"competenceId": c01, "mode": "CRITERIA"}],
            },
        )
    )["bilanUpdate"]
    assert modes["errors"] == []
    await _evaluate_and_complete(
        teacher,
        encode_id("CompanyBilan", second_bilan.id),
        [
            {"competenceId": c07, "level": "MASTERED"},
            {"competenceId": c01, "criterionId": demo.criterion_id("C01", 1), "level": "NOT_ACQUIRED"},
            {"competenceId": c01, "criterionId": demo.criterion_id("C01", 2), "level": "ACQUIRED"},
            {"competenceId": c01, "criterionId": demo.criterion_id("C01", 3), "level": "MASTERED"},
        ],
        4,
    )
    third_bilan = await CompanyBilan.get(portfolio=third)
    draft = (
        await teacher.data(
            UPDATE,
            input={
                "id": encode_id("CompanyBilan", third_bilan.id),
                "version": 1,
                "engagement": 1,
                "results": [{"competenceId": c07, "level": "NOT_ACQUIRED"}],
            },
        )
    )["bilanUpdate"]
    assert draft["errors"] == []
    return second, third


def _line(dashboard: dict, code: str) -> dict:
    return next(c for c in dashboard["competences"] if c["competence"]["code"] == code)


def _check_angelique(dashboard: dict, demo) -> None:
    assert dashboard["learner"]["fullName"] == "Angélique DUPIRE"
    assert [c["competence"]["code"] for c in dashboard["competences"]] == [f"C0{i}" for i in range(1, 10)]
    c07 = _line(dashboard, "C07")
    assert c07["currentLevel"] == "MASTERED"
    assert [(h["level"], h["period"]["name"]) for h in c07["history"]] == [
        ("ACQUIRED", "Stage de découverte"),
        ("MASTERED", "PFMP 2"),
    ]
    assert c07["history"][0]["date"] == demo.period.end_date.isoformat()
    # C01 by criteria: NOT_ACQUIRED, ACQUIRED, MASTERED → the lower median, ACQUIRED
    c01 = _line(dashboard, "C01")
    assert [(h["level"], h["mode"]) for h in c01["history"]] == [("ACQUIRED", "CRITERIA")]
    assert _line(dashboard, "C02") == {"competence": {"code": "C02"}, "currentLevel": "NOT_EVALUATED", "history": []}
    # engagement per period from completed bilans only: the draft's stays hidden
    assert dashboard["periods"] == [
        {
            "period": {"name": "Stage de découverte"},
            "bilanStatus": "COMPLETED",
            "engagement": 3,
            "ficheCount": 2,
            "completedFicheCount": 1,
        },
        {
            "period": {"name": "PFMP 2"},
            "bilanStatus": "COMPLETED",
            "engagement": 4,
            "ficheCount": 1,
            "completedFicheCount": 0,
        },
        {
            "period": {"name": "PFMP 3"},
            "bilanStatus": "DRAFT",
            "engagement": None,
            "ficheCount": 1,
            "completedFicheCount": 0,
        },
    ]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.TEACHER, Role.LEARNER], ids=lambda r: r.value)
async def test_the_dashboard_shows_levels_over_time_engagement_and_fiches(clients, demo, history, role):
    data = await clients[role].data(LEARNER_DASHBOARD, id=encode_id("Learner", demo.learner.id))
    _check_angelique(data["node"]["dashboard"], demo)


async def test_trainers_do_not_see_the_dashboard(tutor, demo, history):
    data = await tutor.data(LEARNER_DASHBOARD, id=encode_id("Learner", demo.learner.id))
    assert data["node"] == {"dashboard": None}


async def test_the_level_dashboard_lists_every_learner_in_reach(teacher, learner, tutor, demo, history):
    level_id = encode_id("Level", demo.period.level_id)
    data = (await teacher.data(LEVEL_DASHBOARD, id=level_id))["node"]["dashboard"]
    assert [c["code"] for c in data["competences"]] == [f"C0{i}" for i in range(1, 10)]
    assert data["learners"]["totalCount"] == 5
    assert [d["learner"]["fullName"] for d in data["learners"]["nodes"]] == [
        "Matis CARLIER",
        "Angélique DUPIRE",
        "Marine FABROWSKI",
        "Lydie HÔT",
        "Jean LECAM",
    ]
    _check_angelique(data["learners"]["nodes"][1], demo)
    carlier = data["learners"]["nodes"][0]
    assert all(c["currentLevel"] == "NOT_EVALUATED" for c in carlier["competences"])
    assert carlier["periods"] == [
        {
            "period": {"name": "Stage de découverte"},
            "bilanStatus": "DRAFT",
            "engagement": None,
            "ficheCount": 1,
            "completedFicheCount": 0,
        }
    ]
    # a learner sees only their own row; a tutor no dashboard at all
    own = (await learner.data(LEVEL_DASHBOARD, id=level_id))["node"]["dashboard"]
    assert [d["learner"]["fullName"] for d in own["learners"]["nodes"]] == ["Angélique DUPIRE"]
    assert (await tutor.data(LEVEL_DASHBOARD, id=level_id))["node"] in (None, {"dashboard": None})


async def test_a_learner_with_nothing_yet_has_an_empty_dashboard(teacher, demo):
    lecam = await User.get(last_name="LECAM")
    data = await teacher.data(LEARNER_DASHBOARD, id=encode_id("Learner", lecam.id))
    dashboard = data["node"]["dashboard"]
    assert len(dashboard["competences"]) == 9
    assert all(c["history"] == [] for c in dashboard["competences"])
