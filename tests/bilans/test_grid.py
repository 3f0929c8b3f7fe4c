"""The bilan's header and grid (R17–R18): marks and reference numbers from the period's fiches."""

import datetime as dt

from models.bilans import CompanyBilan
from models.fiches import ActivityFiche, FicheTask
from models.frameworks import Competence, Criterion, FrameworkActivity, Task, Unit
from tests.bilans.conftest import BILAN, COMPLETE, gid


def _task(bilan: dict, code: str) -> dict:
    return next(t for a in bilan["activities"] for t in a["tasks"] if t["task"]["code"] == code)


def _under(bilan: dict, task: str, competence: str) -> dict:
    return next(c for c in _task(bilan, task)["competences"] if c["competence"]["code"] == competence)


def _competence(bilan: dict, code: str) -> dict:
    return next(c for c in bilan["competences"] if c["competence"]["code"] == code)


async def test_the_header_recalls_the_period_the_learner_and_the_workplace(teacher, demo):
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert bilan["status"] == "DRAFT"
    assert bilan["period"] == {
        "name": "Stage de découverte",
        "startDate": demo.period.start_date.isoformat(),
        "endDate": demo.period.end_date.isoformat(),
    }
    assert bilan["learner"] == {"fullName": "Angélique DUPIRE", "classroom": {"name": "CAPELECT"}}
    assert bilan["workplace"] == {
        "companyName": "Tout élec",
        "tutorName": "Eude Toutcourt",
        "tutorRole": "électricien",
        "activityDomain": "Entreprise générale d'électricité (particuliers)",
    }
    # R20: the meeting date defaults to the period's last day
    assert bilan["meetingDate"] == demo.period.end_date.isoformat() and bilan["meetingDateIsDefault"] is True
    assert bilan["engagement"] is None and bilan["comment"] == ""
    assert [s["value"] for s in bilan["scale"]] == [
        "NOT_EVALUATED",
        "NOT_ACQUIRED",
        "BEGINNING",
        "PARTIAL",
        "ACQUIRED",
        "MASTERED",
    ]


async def test_the_grid_lists_every_task_by_activity_and_marks_those_the_fiches_selected(teacher, demo):
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    # every task of the framework, grouped by activity, in order
    assert [a["activity"]["label"] for a in bilan["activities"]] == [
        "Préparation",
        "Réalisation",
        "Mise en service",
        "Maintenance",
        "Communication",
    ]
    codes = [t["task"]["code"] for a in bilan["activities"] for t in a["tasks"]]
    assert codes == ["TA 1-1", "TA 1-2", "TA 2-1", "TA 2-2", "TA 2-3", "TA 2-4", "TA 3-1", "TA 3-2", "TA 4-1", "TA 5-1"]
    # the fiches with their reference numbers, as the seed shows them
    assert bilan["fiches"] == [
        {"reference": 1, "title": "Fiche 1 : Découverte de l'entreprise"},
        {"reference": 2, "title": "À compléter"},
    ]
    # TA 1-1 and TA 1-2 were ticked on fiche [1]; nothing else
    marked = {code: _task(bilan, code)["ficheRefs"] for code in codes if _task(bilan, code)["marked"]}
    assert marked == {"TA 1-1": [1], "TA 1-2": [1]}
    # each task with its competences and their criteria
    assert [c["competence"]["code"] for c in _task(bilan, "TA 1-1")["competences"]] == ["C01", "C07", "C08"]
    assert len(_under(bilan, "TA 1-1", "C01")["criteria"]) == 5
    assert all(c["level"] == "NOT_EVALUATED" for c in bilan["competences"])


async def test_targets_mark_competences_and_criteria_with_the_fiches_that_chose_them(teacher, demo):
    # given fiche [1] evaluates C01 globally for TA 1-1, and two criteria of C07 for TA 1-2
    fiche1, fiche2 = demo.fiches
    await demo.target(fiche1, "TA 1-1", "C01")
    await demo.target(fiche1, "TA 1-2", "C07", 1)
    await demo.target(fiche2, "TA 1-2", "C07", 1)
    await demo.target(fiche2, "TA 1-2", "C07", 3)
    # when the teacher opens the bilan
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    # then the grid marks them with the fiches' numbers
    c01 = _under(bilan, "TA 1-1", "C01")
    assert (c01["marked"], c01["ficheRefs"]) == (True, [1])
    assert _under(bilan, "TA 1-2", "C01")["marked"] is False
    c07 = _under(bilan, "TA 1-2", "C07")
    assert (c07["marked"], c07["ficheRefs"]) == (True, [])
    assert [(k["criterion"]["position"], k["ficheRefs"]) for k in c07["criteria"] if k["marked"]] == [
        (1, [1, 2]),
        (3, [2]),
    ]
    assert _task(bilan, "TA 1-2")["ficheRefs"] == [1, 2]
    # and the modes follow the fiches: criteria only → CRITERIA, the competence itself → GLOBAL
    assert (_competence(bilan, "C01")["mode"], _competence(bilan, "C01")["modeChosen"]) == ("GLOBAL", False)
    assert _competence(bilan, "C07")["mode"] == "CRITERIA"
    assert _competence(bilan, "C07")["ficheRefs"] == [1, 2]
    assert _competence(bilan, "C08")["marked"] is False
    # when the bilan is completed (R21: frozen whole) and fiche [2] then selects C01 for TA 1-1 too
    done = (await teacher.data(COMPLETE, id=demo.bilan_id, v=await demo.version()))["bilanComplete"]
    assert done["errors"] == []
    await demo.target(fiche2, "TA 1-1", "C01")
    # then the completed bilan reads back the fiches, marks and references it was completed with
    frozen = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert frozen["status"] == "COMPLETED"
    assert (
        frozen["fiches"]
        == bilan["fiches"]
        == [
            {"reference": 1, "title": fiche1.title},
            {"reference": 2, "title": fiche2.title},
        ]
    )
    assert (_under(frozen, "TA 1-1", "C01")["marked"], _under(frozen, "TA 1-1", "C01")["ficheRefs"]) == (True, [1])
    links = await teacher.data(
        "query($id: ID!) { node(id: $id) { ... on CompanyBilan { fiches { reference fiche { id } } } } }",
        id=demo.bilan_id,
    )
    assert links["node"]["fiches"] == [
        {"reference": 1, "fiche": {"id": gid("ActivityFiche", fiche1.id)}},
        {"reference": 2, "fiche": {"id": gid("ActivityFiche", fiche2.id)}},
    ]
    assert frozen["activities"] == bilan["activities"]
    assert frozen["competences"] == bilan["competences"]
    # and a bilan completed before grids were frozen holds its header alone (migration 0003): it reads, unmarked
    stored = await CompanyBilan.get(id=demo.bilan.id)
    await CompanyBilan.filter(id=demo.bilan.id).update(frozen_grid={"header": stored.frozen_grid["header"]})
    bare = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert bare["fiches"] == [] and not any(t["marked"] for a in bare["activities"] for t in a["tasks"])


async def test_a_fiche_added_or_changed_later_marks_more_while_draft(teacher, demo):
    # given the bilan as first read
    before = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert _task(before, "TA 2-1")["marked"] is False
    # when the learner writes a third fiche linked to TA 2-1, and fiche [2] gets TA 3-1
    third = await ActivityFiche.create(
        school_id=demo.learner.school_id,
        learner=demo.learner,
        portfolio=demo.portfolio,
        title="Fiche 3 : pose de goulottes",
    )
    await FicheTask.create(fiche=third, task=demo.tasks["TA 2-1"], ticked_by_learner=True)
    await FicheTask.create(fiche=demo.fiches[1], task=demo.tasks["TA 3-1"], ticked_by_learner=True)
    # then the draft bilan follows
    after = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert [f["reference"] for f in after["fiches"]] == [1, 2, 3]
    assert _task(after, "TA 2-1")["ficheRefs"] == [3]
    assert _task(after, "TA 3-1")["ficheRefs"] == [2]


async def test_deleted_fiches_and_other_portfolios_fiches_do_not_mark(teacher, demo):
    # given fiche [1] is deleted by the learner, and another learner's fiche selects TA 4-1
    await ActivityFiche.filter(id=demo.fiches[0].id).update(deleted_at=dt.datetime.now(dt.UTC))
    other = await ActivityFiche.filter(title="À compléter").exclude(portfolio_id=demo.portfolio.id).first()
    await FicheTask.create(fiche=other, task=demo.tasks["TA 4-1"], ticked_by_learner=True)
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    # then the remaining fiche keeps its number [2] (R18: a number never changes) and nothing is marked
    assert bilan["fiches"] == [{"reference": 2, "title": "À compléter"}]
    assert not any(t["marked"] for a in bilan["activities"] for t in a["tasks"])


async def test_a_completed_bilan_keeps_its_grid_whatever_the_fiches_do(teacher, demo):
    # given a target, then the bilan completed
    await demo.target(demo.fiches[0], "TA 1-1", "C01")
    frozen = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    done = await teacher.data(COMPLETE, id=demo.bilan_id, v=frozen["version"])
    assert done["bilanComplete"]["errors"] == []
    # when the fiches change afterwards: a new fiche, a renamed one, a new target
    extra = await ActivityFiche.create(
        school_id=demo.learner.school_id, learner=demo.learner, portfolio=demo.portfolio, title="Fiche tardive"
    )
    await FicheTask.create(fiche=extra, task=demo.tasks["TA 5-1"], ticked_by_learner=True)
    await ActivityFiche.filter(id=demo.fiches[0].id).update(title="Renommée")
    await demo.target(demo.fiches[1], "TA 1-2", "C02")
    # then the completed bilan shows the grid as it stood
    after = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert after["status"] == "COMPLETED"
    for key in ("fiches", "activities", "competences"):
        assert after[key] == frozen[key], key


async def test_an_unknown_or_foreign_id_answers_null(teacher, demo):
    data = await teacher.data(BILAN, id=gid("CompanyBilan", 999999))
    assert data["node"] is None


ORDER_AND_UNITS = """query($id: ID!) { node(id: $id) { ... on CompanyBilan {
  activities { activity { label } tasks { task { code } competences { competence { code } } } }
  competences { competence { code unitCode } criteria { criterion { position } } } } } }"""


async def test_the_grid_follows_the_frameworks_positions_and_names_each_competences_unit(teacher, demo):
    # given: the framework's activities, tasks, competences and criteria renumbered backwards, so that their
    # positions no longer follow the order they were written in
    bilan = (await teacher.data(ORDER_AND_UNITS, id=demo.bilan_id))["node"]
    framework_id = next(iter(demo.competences.values())).framework_id
    for model in (FrameworkActivity, Task, Competence):
        for row in await model.filter(framework_id=framework_id):
            row.position = 1000 - row.position
            await row.save(update_fields=["position"])
    for row in await Criterion.filter(competence__framework_id=framework_id):
        row.position = 1000 - row.position
        await row.save(update_fields=["position"])
    # when
    again = (await teacher.data(ORDER_AND_UNITS, id=demo.bilan_id))["node"]
    # then every list of the grid is in the new positions' order: the old order reversed
    assert [a["activity"]["label"] for a in again["activities"]] == [
        "Communication",
        "Maintenance",
        "Mise en service",
        "Réalisation",
        "Préparation",
    ]
    assert [[t["task"]["code"] for t in a["tasks"]] for a in again["activities"]] == [
        [t["task"]["code"] for t in reversed(a["tasks"])] for a in reversed(bilan["activities"])
    ]
    assert [c["competence"]["code"] for c in again["competences"]] == [
        c["competence"]["code"] for c in reversed(bilan["competences"])
    ]
    assert [[k["criterion"]["position"] for k in c["criteria"]] for c in again["competences"]] == [
        sorted(1000 - k["criterion"]["position"] for k in c["criteria"]) for c in reversed(bilan["competences"])
    ]
    # under each task too, its competences in the competences' order
    order = [c["competence"]["code"] for c in again["competences"]]
    under_tasks = [[c["competence"]["code"] for c in t["competences"]] for a in again["activities"] for t in a["tasks"]]
    assert any(len(codes) > 1 for codes in under_tasks)
    assert all(codes == sorted(codes, key=order.index) for codes in under_tasks)
    # and each competence names the certification unit the framework puts it in
    units = {u.id: u.code for u in await Unit.filter(framework_id=framework_id)}
    expected = {c.code: units.get(c.unit_id) for c in await Competence.filter(framework_id=framework_id)}
    assert {c["competence"]["code"]: c["competence"]["unitCode"] for c in again["competences"]} == expected
    assert any(expected.values())
