"""R14, the learner's ticks and the teacher's checks on one fiche never touch another fiche's tasks."""

from tests.fiches.conftest import CREATE, TARGETS_SET, TASKS_SET, fiche, mutate


def _tasks(node) -> list[tuple[str, bool, bool]]:
    return [(t["task"]["code"], t["tickedByLearner"], t["checkedByTeacher"]) for t in node["tasks"]]


async def test_ticks_and_checks_change_only_the_fiche_they_name(teacher, learner, demo):
    t = demo.tasks
    # given DUPIRE's second fiche ticked TA 1-1 by the learner
    await mutate(learner, TASKS_SET, "activityFicheTasksSet", id=demo.fiche2, t=[t["TA 1-1"]])
    # and the teacher checked TA 1-1 (ticked by the learner), TA 2-1 and TA 2-2 on the first fiche
    await mutate(teacher, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[t["TA 1-1"], t["TA 2-1"], t["TA 2-2"]])
    # and TA 2-2 on a third fiche
    third = (
        await mutate(
            learner, CREATE, "activityFicheCreate", input={"portfolioId": demo.dupire_portfolio, "title": "Fiche 3"}
        )
    )["activityFiche"]["id"]
    await mutate(teacher, TASKS_SET, "activityFicheTasksSet", id=third, t=[t["TA 2-2"]])
    # when the learner ticks only TA 2-2 on the first fiche
    payload = await mutate(learner, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[t["TA 2-2"]])
    # then TA 2-2 is ticked there, TA 1-1 loses the learner's tick but stays checked, TA 2-1 stays as it was
    assert payload["errors"] == []
    assert _tasks(payload["activityFiche"]) == [
        ("TA 1-1", False, True),
        ("TA 2-1", False, True),
        ("TA 2-2", True, True),
    ]
    # and the other fiches are as they were
    assert _tasks(await fiche(learner, demo.fiche2)) == [("TA 1-1", True, False)]
    assert _tasks(await fiche(learner, third)) == [("TA 2-2", False, True)]


async def test_removing_a_task_from_one_fiche_keeps_it_and_its_targets_on_the_others(teacher, learner, demo):
    t = demo.tasks
    # given the second fiche ticked TA 1-1 and TA 1-2, with C01 to evaluate under TA 1-1
    await mutate(learner, TASKS_SET, "activityFicheTasksSet", id=demo.fiche2, t=[t["TA 1-1"], t["TA 1-2"]])
    targets = await mutate(
        teacher,
        TARGETS_SET,
        "activityFicheTargetsSet",
        id=demo.fiche2,
        t=[{"taskId": t["TA 1-1"], "competenceId": demo.competences["C01"]}],
    )
    assert targets["errors"] == []
    # when the teacher drops TA 1-1 from the first fiche
    payload = await mutate(teacher, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[t["TA 1-2"]])
    assert _tasks(payload["activityFiche"]) == [("TA 1-2", True, True)]
    # then the second fiche keeps both tasks and its target
    second = await fiche(teacher, demo.fiche2)
    assert _tasks(second) == [("TA 1-1", True, False), ("TA 1-2", True, False)]
    assert [(x["task"]["code"], x["competence"]["code"]) for x in second["evaluationTargets"]] == [("TA 1-1", "C01")]
