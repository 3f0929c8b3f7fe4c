"""R14: the learner ticks tasks; the teacher checks, removes or adds them, then picks what to evaluate."""

import pytest

from graph.types.common import encode_id
from models.fiches import FicheEvaluationTarget, FicheTask
from models.frameworks import Task
from models.users import Role
from tests.fiches.conftest import TARGETS_SET, TASKS_SET, Demo, fiche, lock_period_of, make_free, mutate

GRID = """query($id: ID!) { node(id: $id) { ... on ActivityFiche { linkingGrid { activity { code label }
  tasks { task { code } linked tickedByLearner checkedByTeacher
          competences { competence { code } weight evaluatedGlobally criteria { criterion { position } selected } } } } } } }"""


def _tasks(payload) -> list[tuple[str, bool, bool]]:
    return [(t["task"]["code"], t["tickedByLearner"], t["checkedByTeacher"]) for t in payload["activityFiche"]["tasks"]]


def _targets(payload) -> list[tuple]:
    return [
        (t["task"]["code"], t["competence"]["code"], (t["criterion"] or {}).get("position"))
        for t in payload["activityFiche"]["evaluationTargets"]
    ]


async def test_the_learner_ticks_tasks_only(learner, demo):
    # when the learner ticks TA 1-2 and TA 2-1 instead of TA 1-1 and TA 1-2
    payload = await mutate(
        learner, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[demo.tasks["TA 2-1"], demo.tasks["TA 1-2"]]
    )
    # then their ticks are exactly those, in framework order
    assert payload["errors"] == []
    assert _tasks(payload) == [("TA 1-2", True, False), ("TA 2-1", True, False)]


async def test_the_teacher_checks_removes_and_adds_tasks(teacher, learner, demo):
    # given the learner ticked TA 1-1 and TA 1-2 (demo data)
    # when the teacher keeps TA 1-1, drops TA 1-2 and adds TA 2-2
    payload = await mutate(
        teacher, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[demo.tasks["TA 1-1"], demo.tasks["TA 2-2"]]
    )
    # then the set is the teacher's, the learner's tick still shown on TA 1-1
    assert payload["errors"] == []
    assert _tasks(payload) == [("TA 1-1", True, True), ("TA 2-2", False, True)]
    # and a later untick by the learner keeps the task the teacher checked
    again = await mutate(learner, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[])
    assert _tasks(again) == [("TA 1-1", False, True), ("TA 2-2", False, True)]


async def test_the_teacher_picks_competences_globally_or_criteria_in_detail(teacher, learner, demo):
    # when the teacher evaluates C01 globally on TA 1-1 and two criteria of C07 on TA 1-2
    payload = await mutate(
        teacher,
        TARGETS_SET,
        "activityFicheTargetsSet",
        id=demo.fiche1,
        t=[
            {
                "taskId": demo.tasks["TA 1-2"],
                "competenceId": demo.competences["C07"],
                "criterionId": demo.criteria[("C07", 2)],
            },
            {"taskId": demo.tasks["TA 1-1"], "competenceId": demo.competences["C01"]},
            {
                "taskId": demo.tasks["TA 1-2"],
                "competenceId": demo.competences["C07"],
                "criterionId": demo.criteria[("C07", 1)],
            },
        ],
    )
    # then the fiche holds them in framework order, for the learner to read too
    assert payload["errors"] == []
    expected = [("TA 1-1", "C01", None), ("TA 1-2", "C07", 1), ("TA 1-2", "C07", 2)]
    assert _targets(payload) == expected
    seen = await fiche(learner, demo.fiche1)
    assert [
        (t["task"]["code"], t["competence"]["code"], (t["criterion"] or {}).get("position"))
        for t in seen["evaluationTargets"]
    ] == expected
    # and the grid shows the choice
    grid = (await teacher.data(GRID, id=demo.fiche1))["node"]["linkingGrid"]
    ta11 = grid[0]["tasks"][0]
    assert ta11["task"]["code"] == "TA 1-1" and ta11["linked"] is True
    c01 = next(c for c in ta11["competences"] if c["competence"]["code"] == "C01")
    assert c01["evaluatedGlobally"] is True and not any(k["selected"] for k in c01["criteria"])
    ta12 = grid[0]["tasks"][1]
    c07 = next(c for c in ta12["competences"] if c["competence"]["code"] == "C07")
    assert c07["evaluatedGlobally"] is False
    assert [k["criterion"]["position"] for k in c07["criteria"] if k["selected"]] == [1, 2]
    # when the teacher removes TA 1-2 from the fiche, its targets go with it
    after = await mutate(teacher, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[demo.tasks["TA 1-1"]])
    assert _targets(after) == [("TA 1-1", "C01", None)]


async def test_the_grid_lists_the_framework_by_activity_with_its_links(teacher, demo):
    grid = (await teacher.data(GRID, id=demo.fiche1))["node"]["linkingGrid"]
    assert [a["activity"]["code"] for a in grid][:2] == ["1", "2"]
    assert [t["task"]["code"] for t in grid[0]["tasks"]] == ["TA 1-1", "TA 1-2"]
    ta11 = grid[0]["tasks"][0]
    assert (ta11["linked"], ta11["tickedByLearner"], ta11["checkedByTeacher"]) == (True, True, False)
    assert [c["competence"]["code"] for c in ta11["competences"]] == ["C01", "C07", "C08"]
    assert [k["criterion"]["position"] for k in ta11["competences"][0]["criteria"]] == [1, 2, 3, 4, 5]
    assert grid[1]["tasks"][0]["linked"] is False


@pytest.mark.parametrize(
    "target, field, code",
    [
        ({"taskId": "TA 2-1", "competenceId": "C02"}, "taskId", "INVALID"),  # task not on the fiche
        ({"taskId": "TA 1-1", "competenceId": "C02"}, "competenceId", "INVALID"),  # C02 not linked to TA 1-1
        ({"taskId": "TA 1-1", "competenceId": "C01", "criterionId": ("C07", 1)}, "criterionId", "INVALID"),
    ],
)
async def test_targets_must_follow_the_framework(target, field, code, teacher, demo):
    given = {"taskId": demo.tasks[target["taskId"]], "competenceId": demo.competences[target["competenceId"]]}
    if "criterionId" in target:
        given["criterionId"] = demo.criteria[target["criterionId"]]
    ok = {"taskId": demo.tasks["TA 1-1"], "competenceId": demo.competences["C07"]}
    payload = await mutate(teacher, TARGETS_SET, "activityFicheTargetsSet", id=demo.fiche1, t=[ok, given])
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["input", "targets", "1", field], code)]
    assert await FicheEvaluationTarget.all().count() == 0


async def test_a_competence_is_evaluated_globally_or_by_criteria_not_both(teacher, demo):
    both = [
        {"taskId": demo.tasks["TA 1-1"], "competenceId": demo.competences["C01"]},
        {
            "taskId": demo.tasks["TA 1-1"],
            "competenceId": demo.competences["C01"],
            "criterionId": demo.criteria[("C01", 1)],
        },
    ]
    payload = await mutate(teacher, TARGETS_SET, "activityFicheTargetsSet", id=demo.fiche1, t=both)
    assert [e["code"] for e in payload["errors"]] == ["INVALID"]
    twice = [both[0], both[0]]
    payload = await mutate(teacher, TARGETS_SET, "activityFicheTargetsSet", id=demo.fiche1, t=twice)
    assert [e["code"] for e in payload["errors"]] == ["INVALID"]
    assert await FicheEvaluationTarget.all().count() == 0


async def test_tasks_must_be_of_the_fiches_framework(learner, demo, app):
    # given a task of another framework (Bac Pro MELEC)

    other = await Task.filter(framework__code__not="CAP-ELEC").first()
    payload = await mutate(learner, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[encode_id("Task", other.id)])
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["input", "taskIds", "0"], "INVALID")]
    # the message names the kind of row and its code, in French by default
    assert payload["errors"][0]["message"] == f"Tâche {other.code} : hors du référentiel du niveau de cette fiche."
    assert await FicheTask.filter(fiche_id=Demo.pk(demo.fiche1)).count() == 2


async def test_locked_and_free_fiches_keep_their_tasks_and_targets(teacher, learner, demo):
    await lock_period_of(demo.dupire_portfolio)
    target = [{"taskId": demo.tasks["TA 1-1"], "competenceId": demo.competences["C01"]}]
    for api, document, name, variables in (
        (learner, TASKS_SET, "activityFicheTasksSet", {"t": []}),
        (teacher, TASKS_SET, "activityFicheTasksSet", {"t": []}),
        (teacher, TARGETS_SET, "activityFicheTargetsSet", {"t": target}),
    ):
        payload = await mutate(api, document, name, id=demo.fiche1, **variables)
        assert [e["code"] for e in payload["errors"]] == ["CONFLICT"]
    await make_free(demo.fiche2)
    free = await mutate(learner, TASKS_SET, "activityFicheTasksSet", id=demo.fiche2, t=[demo.tasks["TA 1-1"]])
    assert [e["code"] for e in free["errors"]] == ["CONFLICT"]
    assert await FicheTask.filter(fiche_id=Demo.pk(demo.fiche1)).count() == 2
    assert await FicheEvaluationTarget.all().count() == 0


async def test_a_learner_cannot_set_targets_nor_touch_anothers_tasks(learner, demo):
    target = [{"taskId": demo.tasks["TA 1-1"], "competenceId": demo.competences["C01"]}]
    assert await learner.error_code(TARGETS_SET, id=demo.fiche1, t=target) == "FORBIDDEN"
    other = await mutate(learner, TASKS_SET, "activityFicheTasksSet", id=demo.carlier_fiche, t=[])
    assert [e["code"] for e in other["errors"]] == ["NOT_FOUND"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.TUTOR, Role.MASTER], ids=lambda r: r.value)
async def test_other_roles_may_not_link(role, clients, demo):
    api = clients[role]
    target = demo.hot_fiche if role is Role.MASTER else demo.fiche1
    assert await api.error_code(TASKS_SET, id=target, t=[]) == "FORBIDDEN"
    assert await api.error_code(TARGETS_SET, id=target, t=[]) == "FORBIDDEN"
    assert await FicheTask.filter(fiche_id=Demo.pk(demo.fiche1)).count() == 2
