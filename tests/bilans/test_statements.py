"""On a large framework (Bac Pro MELEC: 17 tasks, 13 competences, 78 criteria) the visit screen's query, the batch
save and a level's dashboard send a fixed number of SQL statements, whatever the number of items, fiches or learners."""

import datetime as dt

from graph.types.common import encode_id
from models.bilans import BilanResultEntry, BilanStatus, CompanyBilan
from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask
from tests.bilans.conftest import BILAN, add_melec_learners, melec_level

SAVE = """mutation($input: BilanUpdateInput!) { bilanUpdate(input: $input) {
  bilan { version } errors { field code reason message } } }"""
LEVEL_DASHBOARD = """query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Level { dashboard {
  competences { code }
  learners(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { learner { fullName }
    competences { competence { code } currentLevel history { level date period { name } } }
    periods { period { name } engagement ficheCount completedFicheCount } } } } } } }"""


async def _count(sql_counter, api, query, **variables) -> tuple[int, dict]:
    sql_counter.reset()
    body = await api.execute(query, **variables)
    assert not body.get("errors"), body["errors"]
    return sql_counter.count, body["data"]


async def _fill_fiches(melec, portfolio, learner, count: int) -> None:
    """`count` fiches, each linked to a few tasks with competences and criteria targeted."""
    tasks = list(melec.tasks.values())
    for n in range(count):
        fiche = await ActivityFiche.create(
            school_id=learner.school_id,
            learner=learner,
            portfolio=portfolio,
            title=f"Fiche {n + 2}",
            description="Fait.",
        )
        chosen = tasks[n % len(tasks) :][:3] or tasks[:3]
        await FicheTask.bulk_create([FicheTask(fiche=fiche, task=t, ticked_by_learner=True) for t in chosen])
        targets = []
        for task in chosen:
            for code, competence in list(melec.competences.items())[:4]:
                targets.append(FicheEvaluationTarget(fiche=fiche, task=task, competence=competence))
                criterion = melec.criteria.get((code, 1 + n % 3))
                if criterion:
                    targets.append(
                        FicheEvaluationTarget(fiche=fiche, task=task, competence=competence, criterion=criterion)
                    )
        await FicheEvaluationTarget.bulk_create(targets)


def _everything(melec) -> dict:
    """Every item of MELEC: half the competences by criteria (each criterion), the rest globally."""
    modes, results = [], []
    for i, (code, competence) in enumerate(melec.competences.items()):
        cid = encode_id("Competence", competence.id)
        by_criteria = i % 2 == 0
        modes.append({"competenceId": cid, "mode": "CRITERIA" if by_criteria else "GLOBAL"})
        if by_criteria:
            results += [
                {"competenceId": cid, "criterionId": encode_id("Criterion", k.id), "level": "ACQUIRED"}
                for (c, _), k in melec.criteria.items()
                if c == code
            ]
        else:
            results.append({"competenceId": cid, "level": "PARTIAL"})
    return {"engagement": 3, "comment": "Tout", "modes": modes, "results": results}


async def test_the_visit_query_does_not_grow_with_the_fiches_and_results(teacher, sql_counter, app):
    # given a MELEC portfolio with its first fiche only
    melec = await melec_level(teacher.user, 1)
    portfolio, learner = melec.portfolios[0], melec.learners[0]
    bilan = await CompanyBilan.get(portfolio=portfolio)
    bilan_id = encode_id("CompanyBilan", bilan.id)
    # (the first read of MELEC in this process also reads the framework's structure, kept from then on:
    # tests/bilans/test_framework_shapes.py)
    await _count(sql_counter, teacher, BILAN, id=bilan_id)
    few, small = await _count(sql_counter, teacher, BILAN, id=bilan_id)
    assert len([t for a in small["node"]["activities"] for t in a["tasks"]]) == 17
    # when 12 fiches target tasks, competences and criteria, and every item has a result
    await _fill_fiches(melec, portfolio, learner, 12)
    saved = (await teacher.data(SAVE, input={"id": bilan_id, "version": 1, **_everything(melec)}))["bilanUpdate"]
    assert saved["errors"] == []
    many, large = await _count(sql_counter, teacher, BILAN, id=bilan_id)
    # then the same query sends the same number of statements
    assert len(large["node"]["fiches"]) == 13
    assert sum(len(c["criteria"]) for c in large["node"]["competences"]) == len(melec.criteria)
    assert all(c["retainedLevel"] != "NOT_EVALUATED" for c in large["node"]["competences"])
    assert many == few, (few, many)
    print(f"\nvisit query: {many} statements")


async def test_the_batch_save_does_not_grow_with_the_number_of_results(teacher, sql_counter, app):
    # given two MELEC bilans
    melec = await melec_level(teacher.user, 2)
    ids = [encode_id("CompanyBilan", (await CompanyBilan.get(portfolio=p)).id) for p in melec.portfolios]
    await _fill_fiches(melec, melec.portfolios[0], melec.learners[0], 3)
    await _fill_fiches(melec, melec.portfolios[1], melec.learners[1], 3)
    first = next(iter(melec.competences.values()))
    one = {
        "engagement": 2,
        "modes": [{"competenceId": encode_id("Competence", first.id), "mode": "GLOBAL"}],
        "results": [{"competenceId": encode_id("Competence", first.id), "level": "ACQUIRED"}],
    }
    everything = _everything(melec)
    assert len(everything["results"]) > 40
    # when one saves a single result and the other every item
    sql_counter.reset()
    assert (await teacher.data(SAVE, input={"id": ids[0], "version": 1, **one}))["bilanUpdate"]["errors"] == []
    single = sql_counter.count
    sql_counter.reset()
    assert (await teacher.data(SAVE, input={"id": ids[1], "version": 1, **everything}))["bilanUpdate"]["errors"] == []
    batch = sql_counter.count
    # then both took the same statements, and each item got exactly one log entry
    assert batch == single, (single, batch)
    assert await BilanResultEntry.filter(
        bilan_id=(await CompanyBilan.get(portfolio=melec.portfolios[1])).id
    ).count() == len(everything["results"])
    print(f"\nbatch save: {batch} statements")


async def _complete_all(melec, start: int) -> None:
    """Completed bilans with a result for every MELEC competence, through the ORM."""
    competences = list(melec.competences.values())
    bilans = await CompanyBilan.filter(portfolio_id__in=[p.id for p in melec.portfolios[start:]])
    entries = [BilanResultEntry(bilan=b, competence=c, level="ACQUIRED") for b in bilans for c in competences]
    await BilanResultEntry.bulk_create(entries)
    await CompanyBilan.filter(id__in=[b.id for b in bilans]).update(
        status=BilanStatus.COMPLETED,
        engagement=3,
        completed_at=dt.datetime.now(dt.UTC),
        frozen_grid={"framework_id": competences[0].framework_id, "modes": [[c.id, "GLOBAL"] for c in competences]},
    )


async def test_the_level_dashboard_does_not_grow_from_5_to_60_learners(teacher, sql_counter, app):
    # given a MELEC level of 5 learners with completed bilans
    melec = await melec_level(teacher.user, 5)
    await _complete_all(melec, 0)
    level_id = encode_id("Level", melec.level.id)
    five, small = await _count(sql_counter, teacher, LEVEL_DASHBOARD, id=level_id)
    assert len(small["node"]["dashboard"]["learners"]["nodes"]) == 5
    # when 55 more learners join, with their completed bilans
    await add_melec_learners(melec, 55)
    await _complete_all(melec, 5)
    sixty, large = await _count(sql_counter, teacher, LEVEL_DASHBOARD, id=level_id)
    # then the dashboard of the level takes as many statements
    learners = large["node"]["dashboard"]["learners"]["nodes"]
    assert len(learners) == 60
    assert all(c["currentLevel"] == "ACQUIRED" for d in learners for c in d["competences"])
    assert sixty == five, (five, sixty)
    print(f"\nlevel dashboard: {sixty} statements")
    # and a page of 25, then the page after its cursor, cost as much, the count being the whole level's
    count, first = await _count(sql_counter, teacher, LEVEL_DASHBOARD, id=level_id, first=25)
    page = first["node"]["dashboard"]["learners"]
    assert (count, len(page["nodes"]), page["totalCount"], page["pageInfo"]["hasNextPage"]) == (five, 25, 60, True)
    count, second = await _count(
        sql_counter, teacher, LEVEL_DASHBOARD, id=level_id, first=25, after=page["pageInfo"]["endCursor"]
    )
    assert count == five
    assert second["node"]["dashboard"]["learners"]["nodes"] == learners[25:50]


STATUSES = "query($id: ID!) { node(id: $id) { ... on Period { portfolios { nodes { learner { email } %s } } } } }"


async def test_a_bilan_status_is_read_without_its_frozen_grid_and_asking_both_costs_no_more(demo, teacher, sql_counter):
    # given the demo period with Angélique's bilan completed, its grid frozen, and the others' bilans drafts
    await CompanyBilan.filter(id=demo.bilan.id).update(
        status=BilanStatus.COMPLETED, frozen_grid={"modes": [], "header": None, "padding": "x" * 4096}
    )
    period = encode_id("Period", demo.period.id)
    # when the teacher reads only the statuses
    sql_counter.reset()
    data = await teacher.data(STATUSES % "bilanStatus", id=period)
    # then the answer is the bilans' statuses, and no statement reads a frozen grid
    statuses = {p["learner"]["email"]: p["bilanStatus"] for p in data["node"]["portfolios"]["nodes"]}
    assert statuses.pop("angelique.dupire@demo.pfmp.test") == "COMPLETED"
    assert statuses and set(statuses.values()) == {"DRAFT"}
    assert not [s for s in sql_counter.statements if "frozen_grid" in s], sql_counter.statements
    # and asking the status next to the whole bilan, in either order, costs what the bilan alone costs
    bilans_alone, _ = await _count(sql_counter, teacher, STATUSES % "bilan { status }", id=period)
    for fields in ("bilanStatus bilan { status }", "bilan { status } bilanStatus"):
        count, data = await _count(sql_counter, teacher, STATUSES % fields, id=period)
        assert count == bilans_alone, (fields, sql_counter.statements)
        assert all(p["bilanStatus"] == p["bilan"]["status"] for p in data["node"]["portfolios"]["nodes"])
