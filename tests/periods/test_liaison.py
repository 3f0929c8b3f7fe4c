"""Liaison fiches (R9–R10) and days actually done."""

import pytest

from graph.types.common import encode_id
from models.portfolios import LiaisonFiche
from tests.periods.helpers import liaison_of, portfolio_of, task_ids

WORKPLACE = """mutation($input: LiaisonFicheWorkplaceUpdateInput!) {
  liaisonFicheWorkplaceUpdate(input: $input) {
    liaisonFiche { version workplace { companyName activityDomain service tutorName tutorRole } }
    errors { field code reason message } } }"""

PLAN = """mutation($input: LiaisonFichePlanUpdateInput!) {
  liaisonFichePlanUpdate(input: $input) {
    liaisonFiche { objectives objectivesIndividualized tasksIndividualized tasks { code } }
    errors { field code reason message } } }"""

FULL = {
    "companyName": "Volt SA",
    "activityDomain": "Électricité tertiaire",
    "tutorName": "Jo Volt",
    "service": "Chantiers",
    "tutorRole": "chef d'équipe",
}


async def test_the_learner_fills_in_their_workplace(learner):
    fiche = await liaison_of("DUPIRE")
    data = await learner.data(
        WORKPLACE, input={"id": encode_id("LiaisonFiche", fiche.id), "version": fiche.version, **FULL}
    )
    payload = data["liaisonFicheWorkplaceUpdate"]
    assert payload["errors"] == []
    assert payload["liaisonFiche"]["workplace"] == FULL
    assert payload["liaisonFiche"]["version"] == fiche.version + 1


@pytest.mark.parametrize(
    "missing, field", [("companyName", "companyName"), ("activityDomain", "activityDomain"), ("tutorName", "tutorName")]
)
async def test_the_required_workplace_fields(learner, missing, field):
    fiche = await liaison_of("DUPIRE")
    data = await learner.data(
        WORKPLACE, input={"id": encode_id("LiaisonFiche", fiche.id), "version": fiche.version, **FULL | {missing: " "}}
    )
    assert data["liaisonFicheWorkplaceUpdate"]["errors"][0]["field"] == ["input", field]
    assert data["liaisonFicheWorkplaceUpdate"]["errors"][0]["code"] == "REQUIRED"
    assert (await liaison_of("DUPIRE")).company_name == "Tout élec"


async def test_a_learner_cannot_reach_another_learners_liaison_fiche(learner):
    other = await liaison_of("CARLIER")
    data = await learner.data(
        WORKPLACE, input={"id": encode_id("LiaisonFiche", other.id), "version": other.version, **FULL}
    )
    assert data["liaisonFicheWorkplaceUpdate"]["errors"][0]["code"] == "NOT_FOUND"
    node = await learner.data("query($id: ID!) { node(id: $id) { id } }", id=encode_id("LiaisonFiche", other.id))
    assert node["node"] is None


async def test_a_tutor_reads_but_edits_nothing(tutor):
    fiche = await liaison_of("DUPIRE")
    read = await tutor.data(
        "query($id: ID!) { node(id: $id) { ... on LiaisonFiche { workplace { tutorName } } } }",
        id=encode_id("LiaisonFiche", fiche.id),
    )
    assert read["node"]["workplace"]["tutorName"] == "Eude Toutcourt"
    assert (
        await tutor.error_code(
            WORKPLACE, input={"id": encode_id("LiaisonFiche", fiche.id), "version": fiche.version, **FULL}
        )
        == "FORBIDDEN"
    )
    assert (
        await tutor.error_code(
            PLAN, input={"id": encode_id("LiaisonFiche", fiche.id), "version": fiche.version, "objectives": "x"}
        )
        == "FORBIDDEN"
    )


async def test_a_master_individualizes_the_plan_of_their_apprentice(master):
    fiche = await liaison_of("HÔT")
    data = await master.data(
        PLAN,
        input={
            "id": encode_id("LiaisonFiche", fiche.id),
            "version": fiche.version,
            "objectives": "Tirer des câbles en autonomie",
            "taskIds": await task_ids("TA 2-3"),
        },
    )
    assert data["liaisonFichePlanUpdate"] == {
        "errors": [],
        "liaisonFiche": {
            "objectives": "Tirer des câbles en autonomie",
            "objectivesIndividualized": True,
            "tasksIndividualized": True,
            "tasks": [{"code": "TA 2-3"}],
        },
    }
    # and not a portfolio they are not assigned to
    other = await liaison_of("DUPIRE")
    refused = await master.data(
        PLAN, input={"id": encode_id("LiaisonFiche", other.id), "version": other.version, "objectives": "x"}
    )
    assert refused["liaisonFichePlanUpdate"]["errors"][0]["code"] == "NOT_FOUND"


async def test_a_task_of_another_framework_is_refused(teacher):
    fiche = await liaison_of("DUPIRE")
    data = await teacher.data(
        PLAN,
        input={
            "id": encode_id("LiaisonFiche", fiche.id),
            "version": fiche.version,
            "taskIds": await task_ids("T1-1", framework="BACPRO-MELEC"),
        },
    )
    error = data["liaisonFichePlanUpdate"]["errors"][0]
    assert (error["field"], error["code"]) == (["input", "taskIds", "0"], "INVALID")
    assert not (await LiaisonFiche.get(id=fiche.id)).tasks_individualized


async def test_two_edits_from_the_same_version_one_wins(learner, teacher):
    fiche = await liaison_of("DUPIRE")
    first = await learner.data(
        WORKPLACE, input={"id": encode_id("LiaisonFiche", fiche.id), "version": fiche.version, **FULL}
    )
    second = await teacher.data(
        PLAN, input={"id": encode_id("LiaisonFiche", fiche.id), "version": fiche.version, "objectives": "perdu"}
    )
    assert first["liaisonFicheWorkplaceUpdate"]["errors"] == []
    assert second["liaisonFichePlanUpdate"]["errors"][0]["code"] == "CONFLICT"
    assert (await liaison_of("DUPIRE")).objectives != "perdu"


DAYS = """mutation($id: ID!, $d: Decimal) { portfolioDaysDoneSet(input: {id: $id, daysDone: $d}) {
  portfolio { daysDone } errors { field code reason message } } }"""


async def test_days_actually_done(teacher, learner):
    portfolio = encode_id("Portfolio", (await portfolio_of("DUPIRE")).id)
    data = await teacher.data(DAYS, id=portfolio, d="9.5")
    assert data["portfolioDaysDoneSet"] == {"portfolio": {"daysDone": "9.5"}, "errors": []}
    for bad in ("-1", "13", "2.25"):
        refused = await teacher.data(DAYS, id=portfolio, d=bad)
        assert refused["portfolioDaysDoneSet"]["errors"][0]["field"] == ["input", "daysDone"]
    assert await learner.error_code(DAYS, id=portfolio, d="3") == "FORBIDDEN"
    read = await learner.data("query($id: ID!) { node(id: $id) { ... on Portfolio { daysDone } } }", id=portfolio)
    assert read["node"]["daysDone"] == "9.5"


async def test_the_company_address_and_siret_are_kept_the_siret_as_its_14_digits(learner):
    # when the learner gives the company's address and its SIRET written in groups
    fiche = await liaison_of("DUPIRE")
    query = WORKPLACE.replace("tutorRole }", "tutorRole companyAddress companySiret }")
    given = FULL | {"companyAddress": "3 place Verte\n59000 Lille", "companySiret": " 999 999 999 00017 "}
    data = await learner.data(
        query, input={"id": encode_id("LiaisonFiche", fiche.id), "version": fiche.version, **given}
    )
    # then both are kept, the SIRET without its spaces
    payload = data["liaisonFicheWorkplaceUpdate"]
    assert payload["errors"] == []
    assert payload["liaisonFiche"]["workplace"]["companyAddress"] == "3 place Verte\n59000 Lille"
    assert payload["liaisonFiche"]["workplace"]["companySiret"] == "99999999900017"


@pytest.mark.parametrize(
    "siret", ["9999999990001", "999999999000170", "9999999990001A", "９９９９９９９９９０００１７"]
)
async def test_a_siret_not_of_14_digits_is_refused_naming_the_field(learner, siret):
    fiche = await liaison_of("DUPIRE")
    data = await learner.data(
        WORKPLACE,
        input={"id": encode_id("LiaisonFiche", fiche.id), "version": fiche.version, **FULL | {"companySiret": siret}},
    )
    error = data["liaisonFicheWorkplaceUpdate"]["errors"][0]
    assert (error["field"], error["code"], error["reason"]) == (["input", "companySiret"], "INVALID", "SIRET_INVALID")
    # and nothing of the update is kept
    kept = await liaison_of("DUPIRE")
    assert (kept.company_name, kept.company_siret, kept.version) == ("Tout élec", "99999999900017", fiche.version)
