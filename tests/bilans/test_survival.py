"""Evaluations survive every legitimate operation (issue: no evaluation is ever lost).

- An interim review keeps its own record: deleting a period afterwards (R8 allows it exactly then) changes neither
  the review nor the learner's history (R25, R26). The audit path: query, delete, query again, compare.
- R8: only a completed bilan held in the record of one of the learner's reviews lets its period go; one completed
  after the latest review, even dated earlier, blocks the deletion until a review consolidates it.
- A completed bilan is frozen whole: header, meeting date, grid and results (R21).
- A fiche's reference number never changes (R18).
"""

import asyncio
import datetime as dt

import asyncpg
import pytest

from graph.types.common import encode_id
from models.bilans import CompanyBilan
from models.fiches import ActivityFiche
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.users import Role, User
from tests.bilans.conftest import BILAN, COMPLETE, REOPEN, REVIEW_CREATE, UPDATE, another_period, errors
from tests.bilans.test_reviews import _evaluate_and_complete
from tests.exports.delivery import docx_of, fetch
from tests.exports.reading import table_rows

RESULT = "level date mode periodName periodId bilanId"
REVIEW = (
    """query($id: ID!) { node(id: $id) { ... on InterimReview { id date createdAt learner { fullName }
  createdBy { fullName } bilans { bilanId periodId periodName date completedAt engagement }
  competences { competence { id code label unitCode } currentLevel history { %s } } } } }"""
    % RESULT
)
REVIEW_LINKS = """query($id: ID!) { node(id: $id) { ... on InterimReview {
  bilans { bilan { id } period { name } } competences { competence { code } history { bilan { id } period { name } } }
} } }"""
HISTORY = (
    """query($id: ID!) { node(id: $id) { ... on Learner { interimReviews { id date }
  dashboard { competences { competence { id code } currentLevel history { %s } } } } } }"""
    % RESULT
)
PERIOD_DELETE = (
    "mutation($id: ID!) { periodDelete(input: {id: $id}) { deletedPeriodId errors { field code reason message } } }"
)
PERIOD_UPDATE = """mutation($input: PeriodUpdateInput!) { periodUpdate(input: $input) {
  errors { field code reason message } } }"""
HEADER = """query($id: ID!) { node(id: $id) { ... on CompanyBilan { status meetingDate meetingDateIsDefault
  periodStartDate periodEndDate trainerNames workplace { companyName activityDomain service tutorName tutorRole } } } }"""
WORKPLACE = """mutation($input: LiaisonFicheWorkplaceUpdateInput!) {
  liaisonFicheWorkplaceUpdate(input: $input) { errors { field code reason message } } }"""
UNASSIGN = """mutation($p: ID!, $t: ID!) { portfolioTrainerUnassign(input: {portfolioId: $p, trainerId: $t}) {
  errors { field code reason message } } }"""
FICHE_CREATE = """mutation($input: ActivityFicheCreateInput!) { activityFicheCreate(input: $input) {
  activityFiche { id number } errors { field code reason message } } }"""
FICHE_DELETE = (
    """mutation($id: ID!) { activityFicheDelete(input: {id: $id}) { errors { field code reason message } } }"""
)
FICHE_NUMBERS = (
    """query($id: ID!) { node(id: $id) { ... on Portfolio { activityFiches { nodes { title number } } } } }"""
)


def _line(competences: list[dict], code: str) -> dict:
    return next(c for c in competences if c["competence"]["code"] == code)


async def _dashboard(api, demo) -> dict:
    return (await api.data(HISTORY, id=encode_id("Learner", demo.learner.id)))["node"]


@pytest.fixture
async def consolidated(teacher, demo):
    """Angélique: the demo bilan (C07 ACQUIRED, 3 stars) and PFMP 2's (C07 MASTERED, C02 BEGINNING), both completed
    and consolidated by a review made today."""
    later = await another_period(demo, "PFMP 2", dt.date.today() - dt.timedelta(days=20))
    later_bilan = await CompanyBilan.get(portfolio=later)
    c07 = demo.competence_id("C07")
    await _evaluate_and_complete(teacher, demo.bilan_id, [{"competenceId": c07, "level": "ACQUIRED"}], 3)
    await _evaluate_and_complete(
        teacher,
        encode_id("CompanyBilan", later_bilan.id),
        [{"competenceId": c07, "level": "MASTERED"}, {"competenceId": demo.competence_id("C02"), "level": "BEGINNING"}],
        4,
    )
    created = (
        await teacher.data(REVIEW_CREATE, l=encode_id("Learner", demo.learner.id), d=dt.date.today().isoformat())
    )["interimReviewCreate"]
    assert created["errors"] == []
    return created["interimReview"]["id"], later, later_bilan


async def test_deleting_a_consolidated_period_changes_neither_the_review_nor_the_history(
    clients, teacher, demo, consolidated
):
    review_id, later, later_bilan = consolidated
    readers = [Role.ADMIN, Role.TEACHER, Role.LEARNER]
    # given the review and the learner's history as each reader sees them
    review_before = (await teacher.data(REVIEW, id=review_id))["node"]
    history_before = {role: await _dashboard(clients[role], demo) for role in readers}
    c07 = _line(review_before["competences"], "C07")
    assert [(h["level"], h["periodName"]) for h in c07["history"]] == [
        ("ACQUIRED", "Stage de découverte"),
        ("MASTERED", "PFMP 2"),
    ]
    # when the teacher deletes the first period, which R8 allows since the review holds its bilan
    period_id = encode_id("Period", demo.period.id)
    deleted = (await teacher.data(PERIOD_DELETE, id=period_id))["periodDelete"]
    assert deleted == {"deletedPeriodId": period_id, "errors": []}
    assert not await Period.exists(id=demo.period.id)
    assert not await CompanyBilan.exists(id=demo.bilan.id)
    # then the review answers field by field what it answered before
    review_after = (await teacher.data(REVIEW, id=review_id))["node"]
    assert review_after == review_before
    for before, after in zip(review_before["competences"], review_after["competences"]):
        assert after == before, before["competence"]["code"]
    # and so does every reader's history on the dashboard
    for role in readers:
        assert await _dashboard(clients[role], demo) == history_before[role], role
    # only the links to the deleted rows are gone; those of PFMP 2 remain
    links = (await teacher.data(REVIEW_LINKS, id=review_id))["node"]
    assert links["bilans"] == [
        {"bilan": None, "period": None},
        {"bilan": {"id": encode_id("CompanyBilan", later_bilan.id)}, "period": {"name": "PFMP 2"}},
    ]
    assert [h["period"] for h in _line(links["competences"], "C07")["history"]] == [None, {"name": "PFMP 2"}]


async def test_a_later_review_still_holds_what_an_earlier_one_recorded_of_a_deleted_period(teacher, demo, consolidated):
    # given the first period deleted after the review
    assert (await teacher.data(PERIOD_DELETE, id=encode_id("Period", demo.period.id)))["periodDelete"]["errors"] == []
    # when another review is made, dated yesterday (today's exists)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    created = (await teacher.data(REVIEW_CREATE, l=encode_id("Learner", demo.learner.id), d=yesterday.isoformat()))[
        "interimReviewCreate"
    ]
    # then it consolidates PFMP 2's bilan and carries the deleted period's result as the earlier review recorded it
    assert created["errors"] == []
    review = created["interimReview"]
    assert [b["periodName"] for b in review["bilans"]] == ["Stage de découverte", "PFMP 2"]
    c07 = _line(review["competences"], "C07")
    assert [(h["level"], h["date"]) for h in c07["history"]] == [
        ("ACQUIRED", demo.period.end_date.isoformat()),
        ("MASTERED", (dt.date.today() - dt.timedelta(days=9)).isoformat()),
    ]


async def test_a_bilan_completed_after_the_latest_review_blocks_the_deletion_until_a_review_holds_it(teacher, demo):
    # given PFMP 2's bilan completed and consolidated by a review made yesterday, the demo bilan still a draft
    later = await another_period(demo, "PFMP 2", dt.date.today() - dt.timedelta(days=20))
    later_id = encode_id("CompanyBilan", (await CompanyBilan.get(portfolio=later)).id)
    c07 = demo.competence_id("C07")
    await _evaluate_and_complete(teacher, later_id, [{"competenceId": c07, "level": "MASTERED"}])
    learner = encode_id("Learner", demo.learner.id)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    first = (await teacher.data(REVIEW_CREATE, l=learner, d=yesterday.isoformat()))["interimReviewCreate"]
    assert first["errors"] == [] and [b["bilanId"] for b in first["interimReview"]["bilans"]] == [later_id]
    # when the demo bilan is completed afterwards: dated (the period's last day) before that review, held by none
    await _evaluate_and_complete(teacher, demo.bilan_id, [{"competenceId": c07, "level": "ACQUIRED"}])
    assert dt.date.fromisoformat((await teacher.data(BILAN, id=demo.bilan_id))["node"]["meetingDate"]) < yesterday
    history = await _dashboard(teacher, demo)
    # then deleting its period is refused on the period's id, and nothing is deleted
    period_id = encode_id("Period", demo.period.id)
    refused = (await teacher.data(PERIOD_DELETE, id=period_id))["periodDelete"]
    assert errors(refused) == [(["input", "id"], "CONFLICT")] and "Angélique DUPIRE" in refused["errors"][0]["message"]
    assert await Portfolio.filter(period_id=demo.period.id).count() == 5
    # and so is removing the learner from the period, on learnerIds
    others = [
        encode_id("Learner", p.learner_id)
        for p in await Portfolio.filter(period_id=demo.period.id).exclude(learner_id=demo.learner.id)
    ]
    version = (await Period.get(id=demo.period.id)).version
    removed = (await teacher.data(PERIOD_UPDATE, input={"id": period_id, "version": version, "learnerIds": others}))[
        "periodUpdate"
    ]
    assert errors(removed) == [(["input", "learnerIds"], "CONFLICT")]
    assert await Portfolio.exists(period_id=demo.period.id, learner_id=demo.learner.id)
    assert await _dashboard(teacher, demo) == history
    # when a review made today consolidates it
    second = (await teacher.data(REVIEW_CREATE, l=learner, d=dt.date.today().isoformat()))["interimReviewCreate"]
    assert second["errors"] == []
    # then the period can go, and the learner's history keeps its result
    assert (await teacher.data(PERIOD_DELETE, id=period_id))["periodDelete"]["errors"] == []
    after = await _dashboard(teacher, demo)
    assert after["dashboard"] == history["dashboard"]
    assert [(h["level"], h["periodName"]) for h in _line(after["dashboard"]["competences"], "C07")["history"]] == [
        ("ACQUIRED", "Stage de découverte"),
        ("MASTERED", "PFMP 2"),
    ]


async def _header(api, demo) -> dict:
    return (await api.data(HEADER, id=demo.bilan_id))["node"]


async def test_a_completed_bilan_is_frozen_whole_and_reopening_unfreezes_it(teacher, demo):
    # given the demo bilan completed with its default meeting date (the period's last day)
    c07 = demo.competence_id("C07")
    await _evaluate_and_complete(teacher, demo.bilan_id, [{"competenceId": c07, "level": "ACQUIRED"}], 2)
    header = await _header(teacher, demo)
    start, end = demo.period.start_date, demo.period.end_date
    liaison = await LiaisonFiche.get(portfolio_id=demo.portfolio.id)
    assert header == {
        "status": "COMPLETED",
        "meetingDate": end.isoformat(),
        "meetingDateIsDefault": True,
        "periodStartDate": start.isoformat(),
        "periodEndDate": end.isoformat(),
        "trainerNames": ["Eude Toutcourt"],
        "workplace": {
            "companyName": "Tout élec",
            "activityDomain": liaison.activity_domain,
            "service": liaison.service,
            "tutorName": liaison.tutor_name,
            "tutorRole": liaison.tutor_role,
        },
    }
    whole = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    # when the period's dates, the workplace and the trainers change afterwards
    new_start, new_end = start - dt.timedelta(days=2), end + dt.timedelta(days=3)
    period = await Period.get(id=demo.period.id)
    moved = (
        await teacher.data(
            PERIOD_UPDATE,
            input={
                "id": encode_id("Period", period.id),
                "version": period.version,
                "startDate": new_start.isoformat(),
                "endDate": new_end.isoformat(),
            },
        )
    )["periodUpdate"]
    assert moved["errors"] == []
    workplace = {"companyName": "Autre élec", "activityDomain": "Tertiaire", "tutorName": "Anne Autre"}
    changed = (
        await teacher.data(
            WORKPLACE, input={"id": encode_id("LiaisonFiche", liaison.id), "version": liaison.version, **workplace}
        )
    )["liaisonFicheWorkplaceUpdate"]
    assert changed["errors"] == []
    tutor = await User.get(email="eude.toutcourt@demo.pfmp.test")
    unassigned = (
        await teacher.data(UNASSIGN, p=encode_id("Portfolio", demo.portfolio.id), t=encode_id("Tutor", tutor.id))
    )["portfolioTrainerUnassign"]
    assert unassigned["errors"] == []
    # then the completed bilan still recalls what it was completed with: header, meeting date, grid and results
    assert await _header(teacher, demo) == header
    after = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert {k: v for k, v in after.items() if k != "period"} == {k: v for k, v in whole.items() if k != "period"}
    assert after["period"] == {
        "name": "Stage de découverte",
        "startDate": new_start.isoformat(),
        "endDate": new_end.isoformat(),
    }
    # when a teacher reopens it
    reopened = (await teacher.data(REOPEN, id=demo.bilan_id, v=after["version"], r="Dates corrigées"))["bilanReopen"]
    assert reopened["errors"] == []
    # then it follows the period and the liaison fiche again, its default meeting date included
    assert await _header(teacher, demo) == {
        "status": "DRAFT",
        "meetingDate": new_end.isoformat(),
        "meetingDateIsDefault": True,
        "periodStartDate": new_start.isoformat(),
        "periodEndDate": new_end.isoformat(),
        "trainerNames": [],
        "workplace": {**workplace, "service": None, "tutorRole": None},
    }


async def test_a_meeting_date_chosen_before_completion_stays_after_reopening(teacher, demo):

    chosen = demo.period.end_date + dt.timedelta(days=5)
    saved = (
        await teacher.data(
            UPDATE, input={"id": demo.bilan_id, "version": await demo.version(), "meetingDate": chosen.isoformat()}
        )
    )["bilanUpdate"]
    assert saved["errors"] == []
    done = (await teacher.data(COMPLETE, id=demo.bilan_id, v=saved["bilan"]["version"]))["bilanComplete"]
    reopened = (await teacher.data(REOPEN, id=demo.bilan_id, v=done["bilan"]["version"], r="x"))["bilanReopen"]
    assert reopened["errors"] == []
    header = await _header(teacher, demo)
    assert (header["meetingDate"], header["meetingDateIsDefault"]) == (chosen.isoformat(), False)


async def test_a_fiche_number_never_changes_when_another_fiche_is_deleted(learner, teacher, demo):
    # given Angélique's fiches [1] and [2], and a third she writes, targeted by her teacher for TA 1-1
    portfolio = encode_id("Portfolio", demo.portfolio.id)
    created = (await learner.data(FICHE_CREATE, input={"portfolioId": portfolio, "title": "Fiche 3 : Tableau"}))[
        "activityFicheCreate"
    ]
    assert created["errors"] == [] and created["activityFiche"]["number"] == 3
    third = await ActivityFiche.get(portfolio_id=demo.portfolio.id, title="Fiche 3 : Tableau")
    await demo.target(third, "TA 1-1", "C01")
    # when she deletes fiche [1]
    deleted = (await learner.data(FICHE_DELETE, id=encode_id("ActivityFiche", demo.fiches[0].id)))[
        "activityFicheDelete"
    ]
    assert deleted["errors"] == []
    # then the others keep their numbers: in her portfolio, in the bilan's grid and on the printed meeting sheet
    listed = (await learner.data(FICHE_NUMBERS, id=portfolio))["node"]["activityFiches"]["nodes"]
    assert [(f["title"], f["number"]) for f in listed] == [("Fiche 3 : Tableau", 3), ("À compléter", 2)]  # newest first
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert bilan["fiches"] == [{"reference": 2, "title": "À compléter"}, {"reference": 3, "title": "Fiche 3 : Tableau"}]
    task = next(t for a in bilan["activities"] for t in a["tasks"] if t["task"]["code"] == "TA 1-1")
    assert task["ficheRefs"] == [3]
    _, text = docx_of(await fetch(teacher, f"/exports/meeting-sheet/{portfolio}"))
    assert "[2] À compléter - [3] Fiche 3 : Tableau" in text
    # and a fiche written afterwards takes the next number
    fourth = (await learner.data(FICHE_CREATE, input={"portfolioId": portfolio, "title": "Fiche 4"}))[
        "activityFicheCreate"
    ]
    assert fourth["activityFiche"]["number"] == 4


DASHBOARD_PERIODS = """query($id: ID!) { node(id: $id) { ... on Learner { dashboard { periods {
  periodId periodName bilanStatus engagement period { name } } } } } }"""


def _completed_sections(document) -> list[tuple[dict, dict]]:
    """Per period of a synthesis whose bilan is completed: (what the review records of it, its results table).
    The workplace, days done and fiches are left out: they go with a deleted period, and no record holds them."""
    sections: list[tuple[dict, dict]] = []
    for table in document.tables:
        rows = table_rows(table)
        if rows and rows[0][0] == "Dates":
            info = dict(rows)
            kept = {k: info[k] for k in ("Dates", "Prise en compte pour le diplôme", "Bilan entreprise", "Engagement")}
            sections.append((kept, {}))
        elif rows and rows[0] == ["Compétence", "Niveau de réussite"] and sections:
            sections[-1][1].update({row[0]: row[1] for row in rows[1:]})
    return [section for section in sections if section[0]["Bilan entreprise"].startswith("Complété")]


async def test_a_period_deleted_after_a_review_keeps_its_results_in_the_syntheses_and_the_dashboard_periods(
    clients, teacher, demo, consolidated
):
    _, later, _ = consolidated
    learner = encode_id("Learner", demo.learner.id)
    level = encode_id("Level", demo.period.level_id)
    readers = [Role.ADMIN, Role.TEACHER, Role.LEARNER]
    # given each reader's learner synthesis, the level synthesis and the dashboard's periods
    synthesis_before = {
        role: _completed_sections(docx_of(await fetch(clients[role], f"/exports/learner-synthesis/{learner}"))[0])
        for role in readers
    }
    level_before = _completed_sections(docx_of(await fetch(teacher, f"/exports/level-synthesis/{level}"))[0])
    periods_before = {
        role: (await clients[role].data(DASHBOARD_PERIODS, id=learner))["node"]["dashboard"]["periods"]
        for role in readers
    }
    discovery = encode_id("Period", demo.period.id)
    assert [(p["periodId"], p["bilanStatus"], p["engagement"]) for p in periods_before[Role.LEARNER]] == [
        (discovery, "COMPLETED", 3),
        (encode_id("Period", later.period_id), "COMPLETED", 4),
    ]
    first = synthesis_before[Role.TEACHER][0]
    assert (
        first[0]["Engagement"] == "★★★☆"
        and first[1]["C07 Exploiter les outils numériques dans le contexte professionnel"] == "Acquis"
    )
    # when the teacher deletes the first period, which R8 allows since the review holds its bilan
    assert (await teacher.data(PERIOD_DELETE, id=discovery))["periodDelete"]["errors"] == []
    assert not await Period.exists(id=demo.period.id)
    # then each reader's synthesis prints both periods as before: dates, bilan, engagement, results
    for role in readers:
        document, text = docx_of(await fetch(clients[role], f"/exports/learner-synthesis/{learner}"))
        assert _completed_sections(document) == synthesis_before[role], role
        assert "Stage de découverte" in text
        assert dict(table_rows(document.tables[0]))["Périodes"].startswith("2 périodes dont")
    # and so does the level synthesis
    after = _completed_sections(docx_of(await fetch(teacher, f"/exports/level-synthesis/{level}"))[0])
    assert after == level_before
    # and the dashboard still lists the deleted period, from the record, with no link to the period
    for role in readers:
        periods = (await clients[role].data(DASHBOARD_PERIODS, id=learner))["node"]["dashboard"]["periods"]
        gone = {**periods_before[role][0], "period": None}
        assert periods == [gone, periods_before[role][1]], role


async def _lock_waiters(conn) -> int:
    """How many other sessions of this database wait for a lock."""
    return await conn.fetchval(
        """SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()
        AND datname = current_database()"""
    )


@pytest.mark.parametrize("outcome", ["deleted", "kept"])
async def test_a_completion_and_a_deletion_of_its_period_in_progress_are_taken_one_after_the_other(
    backend, database_url, teacher, demo, outcome
):
    if backend != "postgres":
        pytest.skip("SQLite takes one writing transaction at a time: the two cannot interleave")
    version = (await teacher.data(BILAN, id=demo.bilan_id))["node"]["version"]
    # given a deletion of the period in progress through another server process: it holds the period's row, as
    # periodDelete does before it checks R8, and has seen the bilan as a draft
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute('SELECT id FROM "period" WHERE id = $1 FOR UPDATE', demo.period.id)
        assert await conn.fetchval('SELECT status FROM "company_bilan" WHERE id = $1', demo.bilan.id) == "DRAFT"
        # when the teacher completes the bilan meanwhile
        completing = asyncio.create_task(teacher.data(COMPLETE, id=demo.bilan_id, v=version))
        # then the completion waits for the period's row (no wall clock: the server's session shows up waiting)
        for _ in range(600):
            if await _lock_waiters(conn) or completing.done():
                break
            await asyncio.sleep(0.05)
        assert not completing.done(), "the completion went on while the period's deletion was in progress"
        if outcome == "deleted":
            # when the deletion goes through, the draft bilan with its period (R8 allows it)
            await conn.execute('DELETE FROM "company_bilan" WHERE id = $1', demo.bilan.id)
            await conn.execute('DELETE FROM "period" WHERE id = $1', demo.period.id)
            await transaction.commit()
        else:
            # when the deletion is given up (another learner's bilan blocked it)
            await transaction.rollback()
        answer = (await completing)["bilanComplete"]
    finally:
        await conn.close()  # rolls back a transaction a failed assertion left open, releasing the server
    if outcome == "deleted":
        # then the completion finds nothing to complete: no bilan is completed into a deleted period
        assert errors(answer) == [(["input", "id"], "NOT_FOUND")]
        assert not await CompanyBilan.exists(id=demo.bilan.id)
    else:
        # then the completion goes through, and a deletion that comes now sees it completed and is refused (R8)
        assert answer["errors"] == [] and answer["bilan"]["status"] == "COMPLETED"
        refused = (await teacher.data(PERIOD_DELETE, id=encode_id("Period", demo.period.id)))["periodDelete"]
        assert errors(refused) == [(["input", "id"], "CONFLICT")]


async def test_a_review_locks_only_the_period_whose_bilan_it_holds(teacher, demo):
    # given PFMP 2's bilan completed and held by a review, the demo period's bilan still a draft
    later = await another_period(demo, "PFMP 2", dt.date.today() - dt.timedelta(days=20))
    later_id = encode_id("CompanyBilan", (await CompanyBilan.get(portfolio=later)).id)
    await _evaluate_and_complete(teacher, later_id, [{"competenceId": demo.competence_id("C07"), "level": "MASTERED"}])
    learner = encode_id("Learner", demo.learner.id)
    review = await teacher.data(REVIEW_CREATE, l=learner, d=(dt.date.today() - dt.timedelta(days=1)).isoformat())
    assert review["interimReviewCreate"]["errors"] == []
    # then PFMP 2 is locked, and the demo period, which the review holds nothing of, is not
    locked = "query($id: ID!) { node(id: $id) { ... on Period { locked } } }"
    pfmp2 = await Period.get(portfolios__id=later.id)
    assert (await teacher.data(locked, id=encode_id("Period", pfmp2.id)))["node"] == {"locked": True}
    assert (await teacher.data(locked, id=encode_id("Period", demo.period.id)))["node"] == {"locked": False}
