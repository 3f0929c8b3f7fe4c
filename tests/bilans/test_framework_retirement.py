"""A framework re-import retires what fiches, liaison fiches, periods and bilan results name (issue 11).

The school imports its own version of CAP-ELEC and the demo level follows it;
the teacher links a fiche, plans a liaison fiche and enters bilan results
through the API; then the admin imports a file without some of the entries
they name. Nothing they hold may change, the entries show as retired, and no
new link may name them until a file lists them again.
"""

from __future__ import annotations

import copy
import json

import pytest
from tortoise.exceptions import IntegrityError, OperationalError

from graph.types.common import decode_id, encode_id
from models import frameworks as fw
from models.bilans import BilanCompetenceMode, BilanResultEntry
from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Level
from resolvers.frameworks.importing import BUILTIN_DIR
from tests.bilans.conftest import COMPLETE, UPDATE, Demo, errors

IMPORT = """mutation($content: String!) { frameworkImport(input: {content: $content}) {
  created changed framework { id } errors { field code reason message } } }"""

TASKS_SET = """mutation($id: ID!, $t: [ID!]!) { activityFicheTasksSet(input: {id: $id, taskIds: $t}) {
  activityFiche { id } errors { field code reason message } } }"""

TARGETS_SET = """mutation($id: ID!, $t: [EvaluationTargetInput!]!) { activityFicheTargetsSet(input: {id: $id, targets: $t}) {
  activityFiche { id } errors { field code reason message } } }"""

PLAN = """mutation($input: LiaisonFichePlanUpdateInput!) { liaisonFichePlanUpdate(input: $input) { liaisonFiche { version } errors { field code reason message } } }"""

PERIOD_CREATE = """mutation($input: PeriodCreateInput!) { periodCreate(input: $input) {
  period { id } errors { field code reason message } } }"""

# What the fiche, the liaison fiche and the bilan show of the entries a re-import retires.
FICHE = """query($id: ID!) { node(id: $id) { ... on ActivityFiche {
  tasks { task { id code label retired } tickedByLearner checkedByTeacher }
  evaluationTargets { task { id code retired } competence { id code retired } criterion { id code label retired } }
  linkingGrid { activity { code } tasks { task { code retired } linked competences { competence { code retired }
    evaluatedGlobally criteria { criterion { code retired } selected } } } } } } }"""

LIAISON = """query($id: ID!) { node(id: $id) { ... on Portfolio { liaisonFiche { id version
  tasks { id code label retired } } } } }"""

BILAN = """query($id: ID!) { node(id: $id) { ... on CompanyBilan {
  activities { tasks { task { code retired } marked ficheRefs competences { competence { code retired } level mode
    criteria { criterion { code retired } marked level } } } }
  competences { competence { id code retired } mode modeChosen marked level retainedLevel
    criteria { criterion { id code retired } marked level } } } } }"""

FRAMEWORK = """{ framework(code: "CAP-ELEC") { activities { tasks { code } }
  all: activities(includeRetired: true) { tasks(includeRetired: true) { code retired } }
  competences { code criteria { code } }
  allCompetences: competences(includeRetired: true) { code retired criteria(includeRetired: true) { code retired } }
} }"""


def cap_file() -> dict:
    return json.loads((BUILTIN_DIR / "cap-electricien.json").read_text("utf-8"))


def without_entries(doc: dict) -> dict:
    """The file without task TA 2-1, competence C02 (and every link to it) and criterion C01.5."""
    doc = copy.deepcopy(doc)
    for activity in doc["activities"]:
        activity["tasks"] = [t for t in activity["tasks"] if t["code"] != "TA 2-1"]
        for task in activity["tasks"]:
            task["competences"] = [c for c in task["competences"] if c["code"] != "C02"]
    doc["competences"] = [c for c in doc["competences"] if c["code"] != "C02"]
    c01 = doc["competences"][0]
    c01["criteria"] = [k for k in c01["criteria"] if k["code"] != "C01.5"]
    return doc


async def ok(api, document: str, name: str, **variables) -> dict:
    payload = (await api.data(document, **variables))[name]
    assert payload["errors"] == [], payload["errors"]
    return payload


async def import_file(admin, doc: dict) -> dict:
    return await ok(admin, IMPORT, "frameworkImport", content=json.dumps(doc))


def strip_retired(value):
    """The same answer with every `retired` mark left out: what must not change."""
    if isinstance(value, dict):
        return {k: strip_retired(v) for k, v in value.items() if k != "retired"}
    if isinstance(value, list):
        return [strip_retired(v) for v in value]
    return value


class Local:
    """The school's CAP-ELEC, followed by the demo level, by code."""

    def __init__(self) -> None:
        self.tasks: dict[str, int] = {}
        self.competences: dict[str, int] = {}
        self.criteria: dict[str, int] = {}

    async def load(self, framework_id: int) -> Local:
        self.tasks = {t.code: t.id for t in await fw.Task.filter(framework_id=framework_id)}
        self.competences = {c.code: c.id for c in await fw.Competence.filter(framework_id=framework_id)}
        self.criteria = {k.code: k.id for k in await fw.Criterion.filter(competence__framework_id=framework_id)}
        return self

    def task(self, code: str) -> str:
        return encode_id("Task", self.tasks[code])

    def competence(self, code: str) -> str:
        return encode_id("Competence", self.competences[code])

    def criterion(self, code: str) -> str:
        return encode_id("Criterion", self.criteria[code])


@pytest.fixture
async def local(admin, demo: Demo) -> Local:
    payload = await import_file(admin, cap_file())
    framework_id = decode_id(payload["framework"]["id"])[1]
    await Level.filter(id=demo.period.level_id).update(framework_id=framework_id)
    return await Local().load(framework_id)


async def _link_everything(teacher, demo: Demo, local: Local) -> tuple[str, str]:
    """The teacher links the demo fiche, plans the liaison fiche and enters results, all naming the entries."""
    fiche = encode_id("ActivityFiche", demo.fiches[0].id)
    await ok(teacher, TASKS_SET, "activityFicheTasksSet", id=fiche, t=[local.task("TA 1-1"), local.task("TA 2-1")])
    await ok(
        teacher,
        TARGETS_SET,
        "activityFicheTargetsSet",
        id=fiche,
        t=[
            {
                "taskId": local.task("TA 1-1"),
                "competenceId": local.competence("C01"),
                "criterionId": local.criterion("C01.5"),
            },
            {
                "taskId": local.task("TA 1-1"),
                "competenceId": local.competence("C01"),
                "criterionId": local.criterion("C01.1"),
            },
            {"taskId": local.task("TA 2-1"), "competenceId": local.competence("C02")},
        ],
    )
    portfolio = encode_id("Portfolio", demo.portfolio.id)
    liaison = (await teacher.data(LIAISON, id=portfolio))["node"]["liaisonFiche"]
    await ok(
        teacher,
        PLAN,
        "liaisonFichePlanUpdate",
        input={
            "id": liaison["id"],
            "version": liaison["version"],
            "taskIds": [local.task("TA 1-1"), local.task("TA 2-1")],
        },
    )
    await ok(
        teacher,
        UPDATE,
        "bilanUpdate",
        input={
            "id": demo.bilan_id,
            "version": await demo.version(),
            "modes": [{"competenceId": local.competence("C01"), "mode": "CRITERIA"}],
            "results": [
                {"competenceId": local.competence("C01"), "criterionId": local.criterion("C01.5"), "level": "ACQUIRED"},
                {"competenceId": local.competence("C01"), "criterionId": local.criterion("C01.1"), "level": "PARTIAL"},
                {"competenceId": local.competence("C02"), "level": "MASTERED"},
            ],
        },
    )
    return fiche, portfolio


async def _what_they_show(teacher, demo: Demo, fiche: str, portfolio: str) -> dict:
    return {
        "fiche": (await teacher.data(FICHE, id=fiche))["node"],
        "liaison": (await teacher.data(LIAISON, id=portfolio))["node"]["liaisonFiche"],
        "bilan": (await teacher.data(BILAN, id=demo.bilan_id))["node"],
    }


async def _stored_rows(demo: Demo) -> dict:
    """The rows behind them, for the audit: nothing deleted, nothing rewritten."""
    return {
        "results": await BilanResultEntry.filter(bilan_id=demo.bilan.id)
        .order_by("id")
        .values("id", "competence_id", "criterion_id", "level", "previous_level", "recorded_at"),
        "modes": await BilanCompetenceMode.filter(bilan_id=demo.bilan.id)
        .order_by("id")
        .values("competence_id", "mode"),
        "fiche_tasks": await FicheTask.filter(fiche_id=demo.fiches[0].id)
        .order_by("id")
        .values("task_id", "ticked_by_learner", "checked_by_teacher"),
        "targets": await FicheEvaluationTarget.filter(fiche_id=demo.fiches[0].id)
        .order_by("id")
        .values("task_id", "competence_id", "criterion_id"),
        "liaison_tasks": sorted(
            await fw.Task.filter(liaison_fiches__portfolio_id=demo.portfolio.id).values_list("id", flat=True)
        ),
    }


def _held(grid: list[dict]) -> list[dict]:
    """The linked tasks of a linking grid, with what the fiche chose under them."""
    return [
        {
            "task": t["task"],
            "competences": [
                {
                    "competence": c["competence"],
                    "evaluatedGlobally": c["evaluatedGlobally"],
                    "criteria": [k for k in c["criteria"] if k["selected"]],
                }
                for c in t["competences"]
                if c["evaluatedGlobally"] or any(k["selected"] for k in c["criteria"])
            ],
        }
        for a in grid
        for t in a["tasks"]
        if t["linked"]
    ]


def _retired_codes(shown: dict) -> set[str]:
    found = set()

    def walk(value):
        if isinstance(value, dict):
            if value.get("retired") is True:
                found.add(value["code"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(shown)
    return found


async def test_a_reimport_retires_what_fiches_and_results_name_and_changes_none_of_them(admin, teacher, demo, local):
    # given a fiche, a liaison fiche and a bilan naming TA 2-1, C02 and C01.5
    fiche, portfolio = await _link_everything(teacher, demo, local)
    before, rows_before = await _what_they_show(teacher, demo, fiche, portfolio), await _stored_rows(demo)
    assert _retired_codes(before) == set()
    # when the admin imports the file without them
    payload = await import_file(admin, without_entries(cap_file()))
    assert payload["changed"] and not payload["created"]
    # then the rows are all still there, unchanged, field by field
    assert await _stored_rows(demo) == rows_before
    after = await _what_they_show(teacher, demo, fiche, portfolio)
    for part in ("liaison", "bilan"):
        assert strip_retired(after[part]) == strip_retired(before[part]), part
    for part in ("tasks", "evaluationTargets"):
        assert strip_retired(after["fiche"][part]) == strip_retired(before["fiche"][part]), part
    # the linking grid still shows what the fiche holds; it stops offering a retired entry anywhere else
    assert strip_retired(_held(after["fiche"]["linkingGrid"])) == strip_retired(_held(before["fiche"]["linkingGrid"]))
    # and the entries they name show as retired (C02's criteria with it), and only those
    c02 = next(c for c in cap_file()["competences"] if c["code"] == "C02")
    assert _retired_codes(after) == {"TA 2-1", "C02", "C01.5", *(k["code"] for k in c02["criteria"])}
    assert _retired_codes(after["liaison"]) == {"TA 2-1"}
    assert _retired_codes(after["fiche"]["tasks"]) == {"TA 2-1"}
    assert _retired_codes(after["fiche"]["evaluationTargets"]) == {"TA 2-1", "C02", "C01.5"}
    assert _retired_codes(after["bilan"]["competences"]) == {"C02", "C01.5", *(k["code"] for k in c02["criteria"])}
    assert await fw.Task.filter(id=local.tasks["TA 2-1"], retired_at__isnull=False).exists()
    assert await fw.Competence.filter(id=local.competences["C02"], retired_at__isnull=False).exists()
    assert await fw.Criterion.filter(id=local.criteria["C01.5"], retired_at__isnull=False).exists()
    # and the framework no longer offers them unless asked
    framework = (await teacher.data(FRAMEWORK))["framework"]
    assert "TA 2-1" not in {t["code"] for a in framework["activities"] for t in a["tasks"]}
    assert {t["code"] for a in framework["all"] for t in a["tasks"] if t["retired"]} == {"TA 2-1"}
    assert "C02" not in {c["code"] for c in framework["competences"]}
    assert "C01.5" not in {k["code"] for k in framework["competences"][0]["criteria"]}
    everything = {c["code"]: c for c in framework["allCompetences"]}
    assert everything["C02"]["retired"] and all(k["retired"] for k in everything["C02"]["criteria"])
    assert [k["code"] for k in everything["C01"]["criteria"] if k["retired"]] == ["C01.5"]


async def test_a_retired_entry_is_refused_for_new_links_and_kept_where_it_is(admin, teacher, demo, local):
    fiche, portfolio = await _link_everything(teacher, demo, local)
    await import_file(admin, without_entries(cap_file()))
    other = await Portfolio.get(learner__last_name="CARLIER")
    other_fiche = encode_id("ActivityFiche", (await ActivityFiche.filter(portfolio_id=other.id).first()).id)

    # a fiche that does not hold TA 2-1 may not add it
    payload = await teacher.data(TASKS_SET, id=other_fiche, t=[local.task("TA 1-1"), local.task("TA 2-1")])
    assert errors(payload["activityFicheTasksSet"]) == [(["input", "taskIds", "1"], "INVALID")]
    assert not await FicheTask.filter(fiche__portfolio_id=other.id, task_id=local.tasks["TA 2-1"]).exists()
    # the fiche that holds it keeps it when its list is set again
    await ok(teacher, TASKS_SET, "activityFicheTasksSet", id=fiche, t=[local.task("TA 1-1"), local.task("TA 2-1")])

    # a new target may not name a retired criterion or competence; the targets held stay
    await ok(teacher, TASKS_SET, "activityFicheTasksSet", id=other_fiche, t=[local.task("TA 1-1")])
    payload = await teacher.data(
        TARGETS_SET,
        id=other_fiche,
        t=[
            {
                "taskId": local.task("TA 1-1"),
                "competenceId": local.competence("C01"),
                "criterionId": local.criterion("C01.5"),
            }
        ],
    )
    assert errors(payload["activityFicheTargetsSet"]) == [(["input", "targets", "0", "criterionId"], "INVALID")]
    held = await FicheEvaluationTarget.filter(fiche_id=demo.fiches[0].id).count()
    await ok(
        teacher,
        TARGETS_SET,
        "activityFicheTargetsSet",
        id=fiche,
        t=[
            {
                "taskId": local.task("TA 1-1"),
                "competenceId": local.competence("C01"),
                "criterionId": local.criterion("C01.5"),
            },
            {
                "taskId": local.task("TA 1-1"),
                "competenceId": local.competence("C01"),
                "criterionId": local.criterion("C01.1"),
            },
            {"taskId": local.task("TA 2-1"), "competenceId": local.competence("C02")},
        ],
    )
    assert await FicheEvaluationTarget.filter(fiche_id=demo.fiches[0].id).count() == held

    # the linking grid of a fiche that holds none of them does not offer them
    grid = (await teacher.data(FICHE, id=other_fiche))["node"]["linkingGrid"]
    offered = {t["task"]["code"] for a in grid for t in a["tasks"]}
    assert "TA 2-1" not in offered and "TA 1-1" in offered
    codes = {c["competence"]["code"] for a in grid for t in a["tasks"] for c in t["competences"]}
    assert "C02" not in codes
    assert all(
        k["criterion"]["code"] != "C01.5"
        for a in grid
        for t in a["tasks"]
        for c in t["competences"]
        for k in c["criteria"]
    )

    # a liaison fiche that does not hold it may not add it
    liaison = (await teacher.data(LIAISON, id=encode_id("Portfolio", other.id)))["node"]["liaisonFiche"]
    payload = await teacher.data(
        PLAN, input={"id": liaison["id"], "version": liaison["version"], "taskIds": [local.task("TA 2-1")]}
    )
    assert errors(payload["liaisonFichePlanUpdate"]) == [(["input", "taskIds", "0"], "INVALID")]
    # nor a new period
    payload = await teacher.data(
        PERIOD_CREATE,
        input={
            "levelId": encode_id("Level", demo.period.level_id),
            "name": "PFMP 2",
            "startDate": "2027-01-04",
            "endDate": "2027-01-15",
            "taskIds": [local.task("TA 2-1")],
        },
    )
    assert errors(payload["periodCreate"]) == [(["input", "taskIds", "0"], "INVALID")]

    # a bilan that never named C02 may not evaluate it; the one that did still may
    other_bilan = encode_id("CompanyBilan", (await other.bilan).id)
    version = (
        await teacher.data("query($id: ID!) { node(id: $id) { ... on CompanyBilan { version } } }", id=other_bilan)
    )["node"]["version"]
    payload = await teacher.data(
        UPDATE,
        input={
            "id": other_bilan,
            "version": version,
            "results": [{"competenceId": local.competence("C02"), "level": "ACQUIRED"}],
        },
    )
    assert errors(payload["bilanUpdate"]) == [(["input", "results", "0", "competenceId"], "INVALID")]
    await ok(
        teacher,
        UPDATE,
        "bilanUpdate",
        input={
            "id": demo.bilan_id,
            "version": await demo.version(),
            "results": [{"competenceId": local.competence("C02"), "level": "ACQUIRED"}],
        },
    )


async def test_a_file_listing_them_again_unretires_the_same_entries(admin, teacher, demo, local):
    fiche, portfolio = await _link_everything(teacher, demo, local)
    before = await _what_they_show(teacher, demo, fiche, portfolio)
    await import_file(admin, without_entries(cap_file()))
    # when the whole file comes back
    await import_file(admin, cap_file())
    # then the same rows are active again, and everything shows as it did
    reloaded = await Local().load(await _local_framework_id())
    assert (reloaded.tasks, reloaded.competences, reloaded.criteria) == (local.tasks, local.competences, local.criteria)
    assert not await fw.Task.filter(framework_id=await _local_framework_id(), retired_at__isnull=False).exists()
    assert not await fw.Criterion.filter(
        competence__framework_id=await _local_framework_id(), retired_at__isnull=False
    ).exists()
    assert await _what_they_show(teacher, demo, fiche, portfolio) == before
    # and new links to them are accepted again
    other = await Portfolio.get(learner__last_name="CARLIER")
    other_fiche = encode_id("ActivityFiche", (await ActivityFiche.filter(portfolio_id=other.id).first()).id)
    await ok(teacher, TASKS_SET, "activityFicheTasksSet", id=other_fiche, t=[local.task("TA 2-1")])


async def _local_framework_id() -> int:
    return (await fw.Framework.get(school_id__isnull=False, code="CAP-ELEC")).id


async def test_nothing_cascades_from_a_framework_entry_into_what_names_it(teacher, demo, local):
    await _link_everything(teacher, demo, local)
    # the database itself refuses to delete an entry a fiche, a liaison fiche or a result names
    for model, pk in (
        (fw.Task, local.tasks["TA 2-1"]),
        (fw.Competence, local.competences["C02"]),
        (fw.Criterion, local.criteria["C01.5"]),
    ):
        with pytest.raises((IntegrityError, OperationalError)):
            await model.filter(id=pk).delete()
    assert await BilanResultEntry.filter(bilan_id=demo.bilan.id).count() == 3
    assert await LiaisonFiche.filter(portfolio_id=demo.portfolio.id, tasks__id=local.tasks["TA 2-1"]).exists()


FICHE_UPDATE = """mutation($input: ActivityFicheUpdateInput!) {
  activityFicheUpdate(input: $input) {
  activityFiche { version activityTypes { code retired } } errors { field code reason message } } }"""

FICHE_CREATE = """mutation($input: ActivityFicheCreateInput!) { activityFicheCreate(input: $input) {
  activityFiche { id } errors { field code reason message } } }"""


async def test_a_retired_activity_stays_on_the_fiche_that_names_it_and_no_other(admin, learner, demo, local):
    # given the learner's fiche referenced under activity 5
    framework_id = await _local_framework_id()
    activity = encode_id("FrameworkActivity", (await fw.FrameworkActivity.get(framework_id=framework_id, code="5")).id)
    fiche = demo.fiches[0]
    fiche_id = encode_id("ActivityFiche", fiche.id)
    payload = await ok(
        learner,
        FICHE_UPDATE,
        "activityFicheUpdate",
        input={"id": fiche_id, "version": fiche.version, "activityTypeIds": [activity]},
    )
    version = payload["activityFiche"]["version"]
    # when a file without activity 5 is imported
    smaller = cap_file()
    smaller["activities"] = [a for a in smaller["activities"] if a["code"] != "5"]
    await import_file(admin, smaller)
    # then the fiche keeps it, marked retired, and may keep it on the next save
    payload = await ok(
        learner,
        FICHE_UPDATE,
        "activityFicheUpdate",
        input={"id": fiche_id, "version": version, "activityTypeIds": [activity]},
    )
    assert payload["activityFiche"]["activityTypes"] == [{"code": "5", "retired": True}]
    # but a new fiche may not name it
    payload = await learner.data(
        FICHE_CREATE,
        input={
            "portfolioId": encode_id("Portfolio", demo.portfolio.id),
            "title": "Dépannage",
            "activityTypeIds": [activity],
        },
    )
    assert errors(payload["activityFicheCreate"]) == [(["input", "activityTypeIds", "0"], "INVALID")]


# What keeps a retired entry in a bilan's grid, one reason at a time (graph/types/bilans.py, BilanView.shows_*).
SHOWN = """query($id: ID!) { node(id: $id) { ... on CompanyBilan {
  competences { competence { code } mode modeChosen criteria { criterion { code } } } } } }"""


async def _shown(teacher, demo: Demo) -> dict[str, dict]:
    return {c["competence"]["code"]: c for c in (await teacher.data(SHOWN, id=demo.bilan_id))["node"]["competences"]}


async def _target(teacher, demo: Demo, local: Local, *targets: tuple[str, str, str | None]) -> None:
    """The teacher links the demo fiche to the targets' tasks and sets its targets: (task, competence, criterion)."""
    fiche = encode_id("ActivityFiche", demo.fiches[0].id)
    tasks = sorted({task for task, _, _ in targets})
    await ok(teacher, TASKS_SET, "activityFicheTasksSet", id=fiche, t=[local.task(task) for task in tasks])
    chosen = [
        {"taskId": local.task(task), "competenceId": local.competence(competence)}
        | ({"criterionId": local.criterion(criterion)} if criterion else {})
        for task, competence, criterion in targets
    ]
    await ok(teacher, TARGETS_SET, "activityFicheTargetsSet", id=fiche, t=chosen)


@pytest.mark.parametrize(
    "named_by", ["nothing", "a fiche's mark", "a result", "a teacher's mode", "a fiche's mark on a criterion"]
)
async def test_a_retired_competence_stays_in_the_bilan_only_where_something_names_it(
    admin, teacher, demo, local, named_by
):
    # given a result on C01 in every case (what names another competence does not name C02), and one reason for C02
    modes: list[dict] = []
    results = [{"competenceId": local.competence("C01"), "level": "ACQUIRED"}]
    if named_by == "a fiche's mark":
        await _target(teacher, demo, local, ("TA 2-2", "C02", None))
    elif named_by == "a fiche's mark on a criterion":
        await _target(teacher, demo, local, ("TA 2-2", "C02", "C02.1"))
    elif named_by == "a result":
        results.append({"competenceId": local.competence("C02"), "level": "MASTERED"})
    elif named_by == "a teacher's mode":
        modes.append({"competenceId": local.competence("C02"), "mode": "CRITERIA"})
    bilan = {"id": demo.bilan_id, "version": await demo.version(), "modes": modes, "results": results}
    await ok(teacher, UPDATE, "bilanUpdate", input=bilan)
    # when a re-import retires C02
    await import_file(admin, without_entries(cap_file()))
    # then the bilan shows it only when something names it
    shown = await _shown(teacher, demo)
    assert "C01" in shown
    assert ("C02" in shown) is (named_by != "nothing")


@pytest.mark.parametrize("marked", [True, False], ids=["marked", "unmarked"])
async def test_a_retired_criterion_stays_under_its_competence_only_where_a_fiche_marks_it(
    admin, teacher, demo, local, marked
):
    if marked:
        await _target(teacher, demo, local, ("TA 1-1", "C01", "C01.5"))
    await import_file(admin, without_entries(cap_file()))
    criteria = [k["criterion"]["code"] for k in (await _shown(teacher, demo))["C01"]["criteria"]]
    assert ("C01.5" in criteria) is marked
    assert "C01.1" in criteria


async def test_a_competence_a_fiche_targets_whole_is_evaluated_globally_even_with_criteria_targeted(
    teacher, demo, local
):
    # R16: the mode follows the fiches; CRITERIA only when criteria alone were targeted (a task targets a competence
    # whole or by criteria, not both: C01 is targeted whole under one task, by a criterion under another)
    await _target(teacher, demo, local, ("TA 1-1", "C01", None), ("TA 1-2", "C01", "C01.1"), ("TA 1-1", "C07", "C07.1"))
    shown = await _shown(teacher, demo)
    assert (shown["C01"]["mode"], shown["C01"]["modeChosen"]) == ("GLOBAL", False)
    assert (shown["C07"]["mode"], shown["C07"]["modeChosen"]) == ("CRITERIA", False)


async def test_a_competence_without_criteria_is_evaluated_globally(admin, teacher, demo):
    # given the school's CAP-ELEC whose C09 has no criteria, followed by the level
    doc = cap_file()
    next(c for c in doc["competences"] if c["code"] == "C09")["criteria"] = []
    payload = await import_file(admin, doc)
    await Level.filter(id=demo.period.level_id).update(framework_id=decode_id(payload["framework"]["id"])[1])
    # then the bilan offers it, globally
    shown = await _shown(teacher, demo)
    assert (shown["C09"]["mode"], shown["C09"]["criteria"]) == ("GLOBAL", [])


async def test_a_completed_bilan_keeps_the_framework_it_was_completed_on(admin, teacher, demo):
    # given the bilan completed on the built-in CAP-ELEC
    before = await _shown(teacher, demo)
    completed = (await teacher.data(COMPLETE, id=demo.bilan_id, v=await demo.version()))["bilanComplete"]
    assert completed["errors"] == []
    # when the school imports its own CAP-ELEC, C01 renamed, and the level follows it
    doc = cap_file()
    doc["competences"][0]["label"] = "Analyser les conditions de l'opération (version de l'établissement)"
    payload = await import_file(admin, doc)
    await Level.filter(id=demo.period.level_id).update(framework_id=decode_id(payload["framework"]["id"])[1])
    # then the completed bilan still shows the framework it was completed on, its rows and their ids
    assert await _shown(teacher, demo) == before
    ids = """query($id: ID!) { node(id: $id) { ... on CompanyBilan { competences { competence { id label } } } } }"""
    shown = (await teacher.data(ids, id=demo.bilan_id))["node"]["competences"]
    builtin = await fw.Competence.get(code="C01", framework__code="CAP-ELEC", framework__school_id=None)
    assert shown[0]["competence"] == {"id": encode_id("Competence", builtin.id), "label": builtin.label}
