"""What an export costs the server: SQL statements that do not grow with the learners, and a build that
leaves the event loop free (Bac Pro MELEC levels filled through the ORM, tests/exports/delivery.py)."""

import asyncio
import datetime as dt
import threading
import time
from dataclasses import replace

from graph.routes.exports import EXPORTS
from graph.types.common import encode_id
from models.bilans import BilanStatus, CompanyBilan
from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask
from models.frameworks import Competence, Task
from models.portfolios import Portfolio
from tests.exports.delivery import docx_of, fetch, melec_level


async def _reopen(period) -> None:
    """The period's bilans back to drafts: the syntheses then read live grids as well as frozen ones."""
    await CompanyBilan.filter(portfolio__period_id=period.id).update(
        status=BilanStatus.DRAFT, frozen_grid=None, completed_at=None
    )


async def _statements(sql_counter, api, path: str):
    sql_counter.reset()
    response = await fetch(api, path)
    statements = sql_counter.count
    return statements, docx_of(response)


async def test_statements_do_not_grow_from_5_to_40_learners(teacher, sql_counter):
    # given two MELEC levels of 5 and 40 learners, two periods each, the second one's bilans still drafts
    small = await melec_level(teacher.user, 5, 2, name="Première MELEC")
    large = await melec_level(teacher.user, 40, 2, name="Terminale MELEC")
    for level in (small, large):
        await _reopen(level.periods[1])
    counts = {}
    for name, level in (("small", small), ("large", large)):
        # when the first period's pre-conventions and the level's synthesis are downloaded
        pre, (document, _) = await _statements(
            sql_counter, teacher, f"/exports/pre-convention/period/{encode_id('Period', level.periods[0].id)}"
        )
        assert len(document.sections) == len(level.learners)
        synthesis, (_, text) = await _statements(
            sql_counter, teacher, f"/exports/level-synthesis/{encode_id('Level', level.level.id)}"
        )
        assert text.count("PFMP 2\nDates") == len(level.learners)
        assert text.count("Complété, rencontre du") == len(level.learners)
        assert text.count("En cours (brouillon)") == len(level.learners)
        counts[name] = (pre, synthesis)
    # then each sends as many statements for 40 learners as for 5
    assert counts["large"] == counts["small"], counts
    print(f"\nstatements (pre-conventions of a period, level synthesis): {counts['large']}")


async def test_the_server_answers_other_requests_while_a_large_synthesis_is_built(teacher, anonymous, monkeypatch):
    # given a 40-learner level of three periods, and a build that reports when it starts and then
    # holds its thread until the health answer has come back (or gives up after a while)
    level = await melec_level(teacher.user, 40, 3)
    export = EXPORTS["level-synthesis"]
    started, release = threading.Event(), threading.Event()
    moments: dict[str, float] = {}

    def build(data):
        started.set()
        moments["released"] = release.wait(timeout=20)
        document = export.build(data)
        moments["built"] = time.perf_counter()
        return document

    monkeypatch.setitem(EXPORTS, "level-synthesis", replace(export, build=build))

    async def download():
        return await fetch(teacher, f"/exports/level-synthesis/{encode_id('Level', level.level.id)}")

    async def health():
        assert await asyncio.to_thread(started.wait, 20)
        response = await anonymous.http.get("/healthz")
        moments["health"] = time.perf_counter()
        release.set()
        return response

    # when both requests run at once
    exported, healthy = await asyncio.gather(download(), health())
    # then the health check was answered while the document was being built, and the document is whole:
    # had the build run on the event loop, the loop would have waited for the build to give up first
    assert healthy.status_code == 200 and healthy.json()["status"] == "ok"
    assert moments["released"] is True
    assert moments["health"] < moments["built"]
    _, text = docx_of(exported)
    assert text.count("PFMP 3\nDates") == 40


REVIEW_CREATE = """mutation($l: ID!, $d: Date!) { interimReviewCreate(input: {learnerId: $l, date: $d}) {
  errors { code message } } }"""
PERIOD_DELETE = "mutation($id: ID!) { periodDelete(input: {id: $id}) { errors { code message } } }"
LEVEL_PERIODS = """query($id: ID!) { node(id: $id) { ... on Level { dashboard { learners { nodes {
  competences { competence { code } currentLevel history { level date periodName } }
  periods { periodName period { name } bilanStatus engagement ficheCount } } } } } } }"""


async def test_statements_do_not_grow_with_the_learners_once_a_reviewed_period_is_deleted(teacher, sql_counter):
    # given two MELEC levels of 5 and 40 learners, two periods each, the second one's bilans still drafts
    small = await melec_level(teacher.user, 5, 2, name="Première MELEC")
    large = await melec_level(teacher.user, 40, 2, name="Terminale MELEC")
    counts = {}
    for name, level in (("small", small), ("large", large)):
        await _reopen(level.periods[1])
        # and every learner's interim review holding the first period's bilan, then that period deleted (R8)
        for learner in level.learners:
            created = await teacher.data(
                REVIEW_CREATE, l=encode_id("Learner", learner.id), d=dt.date.today().isoformat()
            )
            assert created["interimReviewCreate"]["errors"] == []
        deleted = await teacher.data(PERIOD_DELETE, id=encode_id("Period", level.periods[0].id))
        assert deleted["periodDelete"]["errors"] == []
        # when the level's synthesis and its dashboard are asked
        level_id = encode_id("Level", level.level.id)
        synthesis, (_, text) = await _statements(sql_counter, teacher, f"/exports/level-synthesis/{level_id}")
        sql_counter.reset()
        dashboard = (await teacher.data(LEVEL_PERIODS, id=level_id))["node"]["dashboard"]
        counts[name] = (synthesis, sql_counter.count)
        # then the deleted period is still there for every learner, from the records: in the synthesis
        assert text.count("PFMP 1\nDates") == text.count("PFMP 2\nDates") == len(level.learners)
        assert text.count("Complété, rencontre du") == len(level.learners)
        # and on the dashboard
        for learner in dashboard["learners"]["nodes"]:
            assert [(p["periodName"], p["period"], p["bilanStatus"]) for p in learner["periods"]] == [
                ("PFMP 1", None, "COMPLETED"),
                ("PFMP 2", {"name": "PFMP 2"}, "DRAFT"),
            ]
            assert any(h["periodName"] == "PFMP 1" for c in learner["competences"] for h in c["history"])
    # and each sends as many statements for 40 learners as for 5
    assert counts["large"] == counts["small"], counts
    print(f"\nstatements after a reviewed period is deleted (level synthesis, level dashboard): {counts['large']}")


async def test_the_meeting_sheet_and_the_bilan_cost_the_same_whatever_the_fiches_and_selected_rows(
    teacher, sql_counter
):
    # given two MELEC learners' draft bilans, the second with ten more fiches each selecting competences
    level = await melec_level(teacher.user, 2, 1, completed=False)
    first, second = [await Portfolio.get(learner=learner, period=level.periods[0]) for learner in level.learners]
    tasks = list(await Task.filter(framework__code="BACPRO-MELEC", framework__school_id=None).order_by("position"))
    competences = list(await Competence.filter(framework__code="BACPRO-MELEC").order_by("position"))
    for n in range(10):
        fiche = await ActivityFiche.create(
            school_id=teacher.user.school_id, learner_id=second.learner_id, portfolio=second, title=f"Fiche {n + 3}"
        )
        for task in tasks[:3]:
            await FicheTask.create(fiche=fiche, task=task, checked_by_teacher=True)
            await FicheEvaluationTarget.create(fiche=fiche, task=task, competence=competences[n % len(competences)])
    counts = {}
    for name, portfolio in (("two fiches", first), ("twelve fiches", second)):
        sheet, (_, text) = await _statements(
            sql_counter, teacher, f"/exports/meeting-sheet/{encode_id('Portfolio', portfolio.id)}"
        )
        assert ("Fiche 12" in text) is (name == "twelve fiches")
        bilan = await CompanyBilan.get(portfolio=portfolio)
        document, _ = await _statements(sql_counter, teacher, f"/exports/bilan/{encode_id('CompanyBilan', bilan.id)}")
        counts[name] = (sheet, document)
    # then both documents send as many statements for twelve fiches as for two
    assert counts["twelve fiches"] == counts["two fiches"], counts
    print(f"\nstatements (meeting sheet, bilan document): {counts['two fiches']}")
