"""A framework's structure is kept per process under a token that every write of it replaces (migration 0018's
triggers, models.frameworks.FrameworkShapeStamp): the visit screen reads it in one statement instead of seven,
and never a structure older than the database's, whoever wrote it (here the ORM, as another process or the CLI
would: nothing of this process is told)."""

from __future__ import annotations

from collections import OrderedDict

from models.frameworks import (
    Competence,
    Criterion,
    Framework,
    FrameworkActivity,
    FrameworkShapeStamp,
    ScaleLevel,
    Task,
    TaskCompetence,
    Unit,
)
from resolvers.bilans import grid
from tests.bilans.conftest import gid

SHAPE_STATEMENTS = 7  # activities, tasks, links, competences, criteria, scale, units

CRITERIA = """query($id: ID!) { node(id: $id) { ... on CompanyBilan {
  activities { tasks { task { code label } competences { competence { code label }
    criteria { criterion { id label } } } } } scale { value label } } } }"""


async def _tokens() -> dict[int, int]:
    return dict(await FrameworkShapeStamp.all().values_list("framework_id", "token"))


async def _link(cap: Framework, competence: Competence) -> None:
    await TaskCompetence.create(task=await Task.get(code="TX", framework=cap), competence=competence)


async def test_every_write_of_a_frameworks_structure_gives_it_a_new_token_and_no_other(app):
    cap = await Framework.get(school_id=None, code="CAP-ELEC")
    competence = await Competence.filter(framework=cap).order_by("position").first()
    task = await Task.filter(framework=cap).order_by("position").first()
    activity = await FrameworkActivity.filter(framework=cap).order_by("position").first()
    assert competence and task and activity
    before = await _tokens()
    assert cap.id in before and len(before) == await Framework.all().count()
    writes = [
        (
            "activity inserted",
            lambda: FrameworkActivity.create(framework=cap, code="AX", label="Nouvelle", position=99),
        ),
        ("activity updated", lambda: FrameworkActivity.filter(id=activity.id).update(label="Renommée")),
        (
            "task inserted",
            lambda: Task.create(framework=cap, activity=activity, code="TX", label="Nouvelle", position=99),
        ),
        ("task updated", lambda: Task.filter(id=task.id).update(label="Renommée")),
        ("competence updated", lambda: Competence.filter(id=competence.id).update(label="Renommée")),
        ("criterion inserted", lambda: Criterion.create(competence=competence, label="Nouveau", position=99)),
        ("criterion updated", lambda: Criterion.filter(competence=competence, position=99).update(label="Renommé")),
        ("criterion deleted", lambda: Criterion.filter(competence=competence, position=99).delete()),
        ("link inserted", lambda: _link(cap, competence)),
        ("link updated", lambda: TaskCompetence.filter(task__code="TX", task__framework=cap).update(weight=1)),
        ("link deleted", lambda: TaskCompetence.filter(task__code="TX", task__framework=cap).delete()),
        ("task deleted", lambda: Task.filter(code="TX", framework=cap).delete()),
        ("activity deleted", lambda: FrameworkActivity.filter(code="AX", framework=cap).delete()),
        ("scale level updated", lambda: ScaleLevel.filter(framework=cap, position=1).update(label="Renommé")),
        ("unit inserted", lambda: Unit.create(framework=cap, code="UX", label="Nouvelle", position=99)),
        ("unit deleted", lambda: Unit.filter(framework=cap, code="UX").delete()),
    ]
    for what, write in writes:
        await write()
        after = await _tokens()
        assert after[cap.id] != before[cap.id], what
        assert {k: v for k, v in after.items() if k != cap.id} == {k: v for k, v in before.items() if k != cap.id}, what
        before = after


async def test_the_visit_screen_reads_the_framework_once_and_again_after_any_write(demo, teacher, sql_counter):
    async def read() -> tuple[int, dict]:
        sql_counter.reset()
        body = await teacher.execute(CRITERIA, id=demo.bilan_id)
        assert not body.get("errors"), body["errors"]
        return sql_counter.count, body["data"]["node"]

    def labels(node: dict) -> dict[str, str]:
        return {
            criterion["criterion"]["id"]: criterion["criterion"]["label"]
            for activity in node["activities"]
            for task in activity["tasks"]
            for competence in task["competences"]
            for criterion in competence["criteria"]
        }

    # given the grid read once by this process (the framework's structure kept from then on)
    await read()
    kept, before = await read()
    criterion = demo.criteria[next(iter(demo.criteria))]
    assert labels(before)[gid("Criterion", criterion.id)] == criterion.label
    # when a criterion is renamed outside this process's knowledge
    await Criterion.filter(id=criterion.id).update(label="Libellé réécrit")
    # then the next read loads the structure again and shows the new label, and the one after reads it kept
    reloaded, after = await read()
    assert labels(after)[gid("Criterion", criterion.id)] == "Libellé réécrit"
    assert reloaded == kept + SHAPE_STATEMENTS, (kept, reloaded)
    again, latest = await read()
    assert again == kept and latest == after
    # and a scale level's label too (a write of another table of the structure)
    cap = await Framework.get(school_id=None, code="CAP-ELEC")
    await ScaleLevel.filter(framework=cap, position=1).update(label="Échelle réécrite")
    _, relabelled = await read()
    assert "Échelle réécrite" in [level["label"] for level in relabelled["scale"]]


async def test_the_process_keeps_the_frameworks_read_last_and_lets_the_oldest_go(app, monkeypatch):
    # given room for one framework's structure
    monkeypatch.setattr(grid, "SHAPES_KEPT", 1)
    monkeypatch.setattr(grid, "_kept_shapes", OrderedDict())
    cap = await Framework.get(school_id=None, code="CAP-ELEC")
    melec = await Framework.get(school_id=None, code="BACPRO-MELEC")
    # when CAP-ELEC is read, then MELEC, then CAP-ELEC again
    kept = []
    for framework in (cap, melec, cap):
        shape = (await grid.kept_framework_shapes([framework.id]))[framework.id]
        assert shape.id == framework.id
        kept.append(list(grid._kept_shapes))
    # then the one kept is always the one read last
    assert kept == [[cap.id], [melec.id], [cap.id]]
