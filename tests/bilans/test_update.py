"""Entering a bilan (R19–R20): one batch save, results in an append-only log, bad input refused whole."""

import datetime as dt

import pytest

from models.bilans import BilanCompetenceMode, BilanResultEntry, CompanyBilan
from models.frameworks import ScaleLevel
from models.schools import Classroom
from tests.bilans.conftest import BILAN, LOG, UPDATE, errors, framework_rows, gid


def _competence(bilan: dict, code: str) -> dict:
    return next(c for c in bilan["competences"] if c["competence"]["code"] == code)


async def _save(api, demo, version=None, **input):
    version = await demo.version() if version is None else version
    return (await api.data(UPDATE, input={"id": demo.bilan_id, "version": version, **input}))["bilanUpdate"]


async def test_a_batch_saves_engagement_date_comment_modes_and_results_at_once(teacher, demo):
    # given a draft bilan at version 1, and a meeting during the period
    meeting = demo.period.start_date + dt.timedelta(days=3)
    # when the teacher saves a batch
    payload = await _save(
        teacher,
        demo,
        engagement=3,
        meetingDate=meeting.isoformat(),
        comment="Très bon stage.",
        modes=[{"competenceId": demo.competence_id("C01"), "mode": "CRITERIA"}],
        results=[
            {"competenceId": demo.competence_id("C07"), "level": "ACQUIRED"},
            {
                "competenceId": demo.competence_id("C01"),
                "criterionId": demo.criterion_id("C01", 1),
                "level": "MASTERED",
            },
            {"competenceId": demo.competence_id("C01"), "criterionId": demo.criterion_id("C01", 2), "level": "PARTIAL"},
        ],
    )
    # then everything is saved and the version moved once
    assert payload["errors"] == []
    assert payload["bilan"] == {
        "id": demo.bilan_id,
        "version": 2,
        "engagement": 3,
        "meetingDate": meeting.isoformat(),
        "meetingDateIsDefault": False,
        "comment": "Très bon stage.",
        "status": "DRAFT",
    }
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    c01, c07 = _competence(bilan, "C01"), _competence(bilan, "C07")
    assert (c01["mode"], c01["modeChosen"]) == ("CRITERIA", True)
    assert [k["level"] for k in c01["criteria"]] == [
        "MASTERED",
        "PARTIAL",
        "NOT_EVALUATED",
        "NOT_EVALUATED",
        "NOT_EVALUATED",
    ]
    assert c01["retainedLevel"] == "PARTIAL"  # lower median of MASTERED and PARTIAL
    assert (c07["mode"], c07["modeChosen"], c07["level"], c07["retainedLevel"]) == (
        "GLOBAL",
        True,
        "ACQUIRED",
        "ACQUIRED",
    )
    # the grid shows the same results under every task that mobilises the competence
    grid = [
        c for a in bilan["activities"] for t in a["tasks"] for c in t["competences"] if c["competence"]["code"] == "C07"
    ]
    assert len(grid) > 1 and {c["level"] for c in grid} == {"ACQUIRED"}
    assert await BilanResultEntry.filter(bilan_id=demo.bilan.id).count() == 3


async def test_results_are_accepted_for_unmarked_items_too(teacher, demo):
    # C05 is mobilised by no task any fiche selected
    payload = await _save(teacher, demo, results=[{"competenceId": demo.competence_id("C05"), "level": "BEGINNING"}])
    assert payload["errors"] == []
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert (_competence(bilan, "C05")["marked"], _competence(bilan, "C05")["level"]) == (False, "BEGINNING")


async def test_every_change_is_logged_and_an_unchanged_value_appends_nothing(teacher, demo):
    c07 = demo.competence_id("C07")
    await _save(teacher, demo, results=[{"competenceId": c07, "level": "PARTIAL"}])
    # when the same value is saved again, then changed, then set back to not evaluated
    same = await _save(teacher, demo, results=[{"competenceId": c07, "level": "PARTIAL"}])
    assert same["errors"] == [] and same["bilan"]["version"] == 2  # nothing changed: nothing written
    await _save(teacher, demo, results=[{"competenceId": c07, "level": "ACQUIRED"}])
    back = await _save(teacher, demo, results=[{"competenceId": c07, "level": "NOT_EVALUATED"}])
    assert back["bilan"]["version"] == 4
    # then the log holds three entries: who, when, old and new; the current result is derived from it
    log = (await teacher.data(LOG, id=demo.bilan_id))["node"]
    changes = [
        (e["node"]["previousLevel"], e["node"]["level"], e["node"]["author"]["fullName"])
        for e in log["resultLog"]["edges"]
    ]
    assert changes == [
        ("ACQUIRED", "NOT_EVALUATED", "Claire MARTIN"),
        ("PARTIAL", "ACQUIRED", "Claire MARTIN"),
        ("NOT_EVALUATED", "PARTIAL", "Claire MARTIN"),
    ]
    assert all(e["node"]["recordedAt"] and e["node"]["competence"]["code"] == "C07" for e in log["resultLog"]["edges"])
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert _competence(bilan, "C07")["level"] == "NOT_EVALUATED"


async def test_null_sets_engagement_and_meeting_date_back_to_their_defaults(teacher, demo):
    await _save(teacher, demo, engagement=4, meetingDate=demo.period.start_date.isoformat())
    payload = await _save(teacher, demo, engagement=None, meetingDate=None)
    assert payload["bilan"]["engagement"] is None
    assert payload["bilan"]["meetingDate"] == demo.period.end_date.isoformat()
    assert payload["bilan"]["meetingDateIsDefault"] is True
    # fields left out are unchanged
    kept = await _save(teacher, demo, comment="Bien.")
    assert kept["bilan"]["engagement"] is None and kept["bilan"]["comment"] == "Bien."


async def test_a_result_pins_the_mode_it_was_entered_under(teacher, demo):
    # given fiche [1] targets one criterion of C07: C07 follows the fiches in CRITERIA mode
    await demo.target(demo.fiches[0], "TA 1-2", "C07", 2)
    await _save(
        teacher,
        demo,
        results=[
            {"competenceId": demo.competence_id("C07"), "criterionId": demo.criterion_id("C07", 2), "level": "ACQUIRED"}
        ],
    )
    # when a later fiche targets C07 as a whole
    await demo.target(demo.fiches[1], "TA 1-1", "C07")
    # then C07 stays in CRITERIA mode with its result
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    c07 = _competence(bilan, "C07")
    assert (c07["mode"], c07["modeChosen"], c07["retainedLevel"]) == ("CRITERIA", True, "ACQUIRED")


async def test_switching_the_mode_keeps_the_other_mode_results_in_the_log(teacher, demo):
    c01 = demo.competence_id("C01")
    await _save(teacher, demo, results=[{"competenceId": c01, "level": "ACQUIRED"}])
    await _save(teacher, demo, modes=[{"competenceId": c01, "mode": "CRITERIA"}])
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert (_competence(bilan, "C01")["mode"], _competence(bilan, "C01")["retainedLevel"]) == (
        "CRITERIA",
        "NOT_EVALUATED",
    )
    await _save(teacher, demo, modes=[{"competenceId": c01, "mode": "GLOBAL"}])
    bilan = (await teacher.data(BILAN, id=demo.bilan_id))["node"]
    assert _competence(bilan, "C01")["retainedLevel"] == "ACQUIRED"


def _bad_inputs(demo, melec_competence):
    c01, c07 = demo.competence_id("C01"), demo.competence_id("C07")
    return {
        "level outside the scale": (
            {"results": [{"competenceId": c07, "level": "MASTERED"}]},
            ["input", "results", "0", "level"],
            "INVALID",
        ),
        "criterion of another competence": (
            {
                "modes": [{"competenceId": c01, "mode": "CRITERIA"}],
                "results": [{"competenceId": c01, "criterionId": demo.criterion_id("C07", 1), "level": "ACQUIRED"}],
            },
            ["input", "results", "0", "criterionId"],
            "INVALID",
        ),
        "criterion result on a global competence": (
            {"results": [{"competenceId": c07, "criterionId": demo.criterion_id("C07", 1), "level": "ACQUIRED"}]},
            ["input", "results", "0", "criterionId"],
            "INVALID",
        ),
        "global result on a competence evaluated by criteria": (
            {
                "modes": [{"competenceId": c01, "mode": "CRITERIA"}],
                "results": [{"competenceId": c01, "level": "ACQUIRED"}],
            },
            ["input", "results", "0", "criterionId"],
            "REQUIRED",
        ),
        "competence of another framework": (
            {"results": [{"competenceId": melec_competence, "level": "ACQUIRED"}]},
            ["input", "results", "0", "competenceId"],
            "INVALID",
        ),
        "not a competence id": (
            {"results": [{"competenceId": gid("Task", demo.tasks["TA 1-1"].id), "level": "ACQUIRED"}]},
            ["input", "results", "0", "competenceId"],
            "INVALID",
        ),
        "the same item twice": (
            {"results": [{"competenceId": c07, "level": "ACQUIRED"}, {"competenceId": c07, "level": "PARTIAL"}]},
            ["input", "results", "1"],
            "INVALID",
        ),
        "mode of another framework's competence": (
            {"modes": [{"competenceId": melec_competence, "mode": "GLOBAL"}]},
            ["input", "modes", "0", "competenceId"],
            "INVALID",
        ),
        "engagement 0": ({"engagement": 0}, ["input", "engagement"], "INVALID"),
        "engagement 5": ({"engagement": 5}, ["input", "engagement"], "INVALID"),
        "a date in 1900": ({"meetingDate": "1900-01-01"}, ["input", "meetingDate"], "INVALID"),
        "a date in 2999": ({"meetingDate": "2999-12-31"}, ["input", "meetingDate"], "INVALID"),
        "a date before the period": (
            {"meetingDate": demo.period.start_date.replace(year=demo.period.start_date.year - 1).isoformat()},
            ["input", "meetingDate"],
            "INVALID",
        ),
        "a comment too long": ({"comment": "x" * 10001}, ["input", "comment"], "INVALID"),
    }


BAD = [
    "level outside the scale",
    "criterion of another competence",
    "criterion result on a global competence",
    "global result on a competence evaluated by criteria",
    "competence of another framework",
    "not a competence id",
    "the same item twice",
    "mode of another framework's competence",
    "engagement 0",
    "engagement 5",
    "a date in 1900",
    "a date in 2999",
    "a date before the period",
    "a comment too long",
]


@pytest.mark.parametrize("case", BAD)
async def test_bad_input_is_a_payload_error_naming_the_field_and_writes_nothing(teacher, demo, case):
    # given a school scale without MASTERED, and a valid change in the same batch
    await ScaleLevel.filter(framework_id=demo.competences["C01"].framework_id, value="MASTERED").delete()
    _, melec, _ = await framework_rows("BACPRO-MELEC")
    input, field, code = _bad_inputs(demo, gid("Competence", melec["C1"].id))[case]
    input = {**input, "comment": input.get("comment", "Changement à ne pas garder")}
    input["results"] = [{"competenceId": demo.competence_id("C08"), "level": "ACQUIRED"}] + input.get("results", [])
    if field[:2] == ["input", "results"]:
        field = field[:2] + [str(int(field[2]) + 1)] + field[3:]
    # when the teacher saves it
    payload = await _save(teacher, demo, **input)
    # then the payload names the field and nothing was written
    assert (field, code) in errors(payload), payload["errors"]
    assert payload["bilan"] is None
    row = await CompanyBilan.get(id=demo.bilan.id)
    assert (row.version, row.comment, row.engagement, row.meeting_date) == (1, "", None, None)
    assert await BilanResultEntry.filter(bilan_id=demo.bilan.id).count() == 0
    assert await BilanCompetenceMode.filter(bilan_id=demo.bilan.id).count() == 0


async def test_all_problems_of_a_batch_are_reported_at_once(teacher, demo):
    payload = await _save(
        teacher,
        demo,
        results=[
            {
                "competenceId": demo.competence_id("C07"),
                "criterionId": demo.criterion_id("C07", 1),
                "level": "ACQUIRED",
            },
            {"competenceId": demo.competence_id("C08"), "level": "ACQUIRED"},
            {"competenceId": "bm9wZQ==", "level": "ACQUIRED"},
        ],
    )
    assert errors(payload) == [
        (["input", "results", "0", "criterionId"], "INVALID"),
        (["input", "results", "2", "competenceId"], "INVALID"),
    ]


async def test_a_level_that_is_no_achievement_level_is_refused_by_the_schema(teacher, demo):
    body = await teacher.execute(
        UPDATE,
        input={
            "id": demo.bilan_id,
            "version": 1,
            "results": [{"competenceId": demo.competence_id("C07"), "level": "EXCELLENT"}],
        },
    )
    assert body["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")
    assert "level" in body["errors"][0]["message"]
    assert await BilanResultEntry.filter(bilan_id=demo.bilan.id).count() == 0


async def test_a_stale_version_gets_conflict_and_changes_nothing(teacher, demo):
    await _save(teacher, demo, engagement=2)
    payload = await _save(
        teacher,
        demo,
        version=1,
        engagement=4,
        results=[{"competenceId": demo.competence_id("C07"), "level": "ACQUIRED"}],
    )
    assert errors(payload) == [(["input", "version"], "CONFLICT")]
    row = await CompanyBilan.get(id=demo.bilan.id)
    assert (row.version, row.engagement) == (2, 2)
    assert await BilanResultEntry.filter(bilan_id=demo.bilan.id).count() == 0


async def test_a_bilan_out_of_reach_is_not_found(teacher, demo):
    # given the teacher no longer teaches Angélique's classroom

    await teacher.user.taught_classrooms.remove(await Classroom.get(name="CAPELECT"))
    payload = await _save(teacher, demo, version=1, engagement=2)
    assert errors(payload) == [(["input", "id"], "NOT_FOUND")]
