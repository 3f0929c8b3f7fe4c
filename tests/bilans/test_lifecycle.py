"""Completing, reopening and concurrent editing of a bilan (R21)."""

import asyncio
import datetime as dt

from tortoise.expressions import F

import resolvers.bilans.bilans as bilans
from models.bilans import BilanEvent, BilanResultEntry, CompanyBilan
from models.periods import Period
from tests.bilans.conftest import BILAN, COMPLETE, LOG, REOPEN, UPDATE, errors


async def _complete(api, demo, version=None):
    version = await demo.version() if version is None else version
    return (await api.data(COMPLETE, id=demo.bilan_id, v=version))["bilanComplete"]


async def test_completing_freezes_the_bilan_and_is_logged(teacher, demo):
    payload = await _complete(teacher, demo)
    assert payload["errors"] == []
    assert payload["bilan"]["status"] == "COMPLETED" and payload["bilan"]["version"] == 2
    assert payload["bilan"]["completedAt"]
    log = (await teacher.data(LOG, id=demo.bilan_id))["node"]
    assert [(e["kind"], e["author"]["fullName"]) for e in log["events"]] == [("COMPLETED", "Claire MARTIN")]
    row = await CompanyBilan.get(id=demo.bilan.id)
    assert row.frozen_grid["fiches"][0][2] == "Fiche 1 : Découverte de l'entreprise"


async def test_completing_twice_is_a_conflict_naming_the_bilan(teacher, demo):
    await _complete(teacher, demo)
    again = await _complete(teacher, demo)
    assert errors(again) == [(["input", "id"], "CONFLICT")]
    assert again["errors"][0]["reason"] == "BILAN_ALREADY_COMPLETED"
    assert again["errors"][0]["message"] == "Ce bilan est déjà terminé."
    assert await BilanEvent.filter(bilan_id=demo.bilan.id).count() == 1


async def test_completing_from_a_stale_version_is_a_conflict(teacher, demo):
    await teacher.data(UPDATE, input={"id": demo.bilan_id, "version": 1, "engagement": 2})
    payload = await _complete(teacher, demo, version=1)
    assert errors(payload) == [(["input", "version"], "CONFLICT")]
    assert (await CompanyBilan.get(id=demo.bilan.id)).status == "DRAFT"


async def test_a_bilan_cannot_be_completed_before_its_period_starts(teacher, demo):
    # given the period moved to next month
    start = dt.date.today() + dt.timedelta(days=30)
    await Period.filter(id=demo.period.id).update(start_date=start, end_date=start + dt.timedelta(days=10))
    payload = await _complete(teacher, demo)
    assert errors(payload) == [(["input", "id"], "CONFLICT")]
    assert (await CompanyBilan.get(id=demo.bilan.id)).status == "DRAFT"


async def test_a_completed_bilan_can_no_longer_be_edited(teacher, demo):
    await _complete(teacher, demo)
    payload = (await teacher.data(UPDATE, input={"id": demo.bilan_id, "version": 2, "engagement": 1}))["bilanUpdate"]
    assert errors(payload) == [(["input", "id"], "CONFLICT")]


async def test_a_teacher_reopens_a_completed_bilan_saying_why_and_it_follows_the_fiches_again(teacher, demo):
    # given a completed bilan
    await _complete(teacher, demo)
    await demo.target(demo.fiches[0], "TA 1-1", "C08")
    # when the teacher reopens it
    payload = (await teacher.data(REOPEN, id=demo.bilan_id, v=2, r="Résultat de C07 à corriger"))["bilanReopen"]
    # then it is a draft again, the reopening is logged, and the grid follows the fiches again
    assert payload["errors"] == []
    assert payload["bilan"] == {"id": demo.bilan_id, "version": 3, "status": "DRAFT", "completedAt": None}
    log = (await teacher.data(LOG, id=demo.bilan_id))["node"]
    assert [(e["kind"], e["note"]) for e in log["events"]] == [
        ("COMPLETED", ""),
        ("REOPENED", "Résultat de C07 à corriger"),
    ]
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    c08 = next(c for c in bilan["competences"] if c["competence"]["code"] == "C08")
    assert c08["marked"] is True
    assert (await CompanyBilan.get(id=demo.bilan.id)).frozen_grid is None


async def test_reopening_needs_a_reason_a_completed_bilan_and_the_current_version(teacher, demo):
    draft = (await teacher.data(REOPEN, id=demo.bilan_id, v=1, r="pourquoi pas"))["bilanReopen"]
    assert errors(draft) == [(["input", "id"], "CONFLICT")]
    await _complete(teacher, demo)
    blank = (await teacher.data(REOPEN, id=demo.bilan_id, v=2, r="  "))["bilanReopen"]
    assert errors(blank) == [(["input", "reason"], "REQUIRED")]
    stale = (await teacher.data(REOPEN, id=demo.bilan_id, v=1, r="erreur"))["bilanReopen"]
    assert errors(stale) == [(["input", "version"], "CONFLICT")]
    assert (await CompanyBilan.get(id=demo.bilan.id)).status == "COMPLETED"


async def test_two_saves_from_the_same_version_at_once_one_wins_the_other_gets_conflict(teacher, demo):
    # given two people entering results from version 1 at the same moment
    first = {"engagement": 2, "results": [{"competenceId": demo.competence_id("C07"), "level": "ACQUIRED"}]}
    second = {
        "engagement": 4,
        "results": [
            {"competenceId": demo.competence_id("C07"), "level": "BEGINNING"},
            {"competenceId": demo.competence_id("C08"), "level": "PARTIAL"},
        ],
    }
    # when both saves reach the server together
    answers = await asyncio.gather(
        teacher.data(UPDATE, input={"id": demo.bilan_id, "version": 1, **first}),
        teacher.data(UPDATE, input={"id": demo.bilan_id, "version": 1, **second}),
    )
    payloads = [a["bilanUpdate"] for a in answers]
    # then exactly one wins; the other gets CONFLICT and wrote nothing
    winners = [p for p in payloads if not p["errors"]]
    losers = [p for p in payloads if p["errors"]]
    assert len(winners) == 1 and len(losers) == 1
    assert errors(losers[0]) == [(["input", "version"], "CONFLICT")]
    won = first if winners[0]["bilan"]["engagement"] == 2 else second
    row = await CompanyBilan.get(id=demo.bilan.id)
    assert (row.version, row.engagement) == (2, won["engagement"])
    assert await BilanResultEntry.filter(bilan_id=demo.bilan.id).count() == len(won["results"])


async def test_a_save_and_a_completion_from_the_same_version_at_once_do_not_both_pass(teacher, demo):
    answers = await asyncio.gather(
        teacher.data(UPDATE, input={"id": demo.bilan_id, "version": 1, "engagement": 3}),
        teacher.data(COMPLETE, id=demo.bilan_id, v=1),
    )
    update, complete = answers[0]["bilanUpdate"], answers[1]["bilanComplete"]
    assert sorted([bool(update["errors"]), bool(complete["errors"])]) == [False, True]
    row = await CompanyBilan.get(id=demo.bilan.id)
    assert row.version == 2
    if complete["errors"]:
        assert (row.status, row.engagement) == ("DRAFT", 3)
    else:
        assert (row.status, row.engagement) == ("COMPLETED", None)


async def test_the_write_itself_checks_the_version_when_another_save_lands_after_the_read(teacher, demo, monkeypatch):
    # given another save commits between this save's read and its write (simulated inside the transaction)

    checked = bilans._evaluation_changes

    async def with_a_rival(bilan, *args, **kwargs):
        found = await checked(bilan, *args, **kwargs)
        await CompanyBilan.filter(id=bilan.id).update(version=F("version") + 1)
        return found

    monkeypatch.setattr(bilans, "_evaluation_changes", with_a_rival)
    # when the save writes
    payload = (
        await teacher.data(
            UPDATE,
            input={
                "id": demo.bilan_id,
                "version": 1,
                "engagement": 2,
                "results": [{"competenceId": demo.competence_id("C07"), "level": "ACQUIRED"}],
            },
        )
    )["bilanUpdate"]
    # then the conditional update matched no row: CONFLICT, and the whole transaction rolled back
    assert errors(payload) == [(["input", "version"], "CONFLICT")]
    assert payload["errors"][0]["reason"] == "VERSION_STALE"
    assert "(version 2, la vôtre 1)" in payload["errors"][0]["message"]
    row = await CompanyBilan.get(id=demo.bilan.id)
    assert (row.version, row.engagement) == (1, None)
    assert await BilanResultEntry.filter(bilan_id=demo.bilan.id).count() == 0
