"""R12: a learner writes, edits and deletes their fiches; numbers, versions, locked periods, free fiches."""

import pytest

from graph.types.common import encode_id
from models.fiches import ActivityFiche
from models.frameworks import FrameworkActivity
from models.portfolios import LiaisonFiche
from models.users import Role
from tests.fiches.conftest import (
    CREATE,
    DELETE,
    PORTFOLIO_FICHES,
    TASKS_SET,
    UPDATE,
    Demo,
    fiche,
    lock_period_of,
    make_free,
    mutate,
)


async def _fiche_count() -> int:
    return await ActivityFiche.all().count()


async def test_a_learner_creates_a_fiche_with_its_context(learner, demo):
    # given the framework activity « Préparation » (code 1) of the CAP framework
    grid = await learner.data(
        "query($id: ID!) { node(id: $id) { ... on ActivityFiche { linkingGrid { activity { id code } } } } }",
        id=demo.fiche1,
    )
    preparation = next(a["activity"]["id"] for a in grid["node"]["linkingGrid"] if a["activity"]["code"] == "1")
    # when the learner writes a new fiche
    payload = await mutate(
        learner,
        CREATE,
        "activityFicheCreate",
        input={
            "portfolioId": demo.dupire_portfolio,
            "title": "Fiche 3 : Pose d'un tableau",
            "autonomy": "AUTONOMOUS",
            "description": "J'ai posé un tableau.",
            "analysis": "Je dois mieux mesurer.",
            "activityTypeIds": [preparation],
        },
    )
    # then it is saved with the liaison fiche's workplace, numbered after the two demo fiches
    assert payload["errors"] == []
    created = payload["activityFiche"]
    assert created["title"] == "Fiche 3 : Pose d'un tableau"
    assert created["autonomy"] == "AUTONOMOUS"
    assert created["workplace"] == "Tout élec"
    assert created["activityTypes"] == [{"code": "1"}]
    assert created["number"] == 3 and created["version"] == 1 and created["completed"] is True
    assert created["annexCount"] == 0 and created["tasks"] == []
    listed = await learner.data(PORTFOLIO_FICHES, id=demo.dupire_portfolio)
    # newest first
    assert [f["number"] for f in listed["node"]["activityFiches"]["nodes"]] == [3, 2, 1]


async def test_the_default_workplace_and_activity_types_of_another_framework(learner, demo):
    # given the liaison fiche names the service too (a workplace: company, activity domain, service…)
    portfolio = Demo.pk(demo.dupire_portfolio)
    await LiaisonFiche.filter(portfolio_id=portfolio).update(service="Atelier câblage")
    # then a fiche written without a workplace takes the company and the service
    payload = await mutate(
        learner, CREATE, "activityFicheCreate", input={"portfolioId": demo.dupire_portfolio, "title": "t"}
    )
    assert payload["activityFiche"]["workplace"] == "Tout élec — Atelier câblage"
    # and none while the liaison fiche names no company yet
    await LiaisonFiche.filter(portfolio_id=portfolio).update(company_name="")
    payload = await mutate(
        learner, CREATE, "activityFicheCreate", input={"portfolioId": demo.dupire_portfolio, "title": "t"}
    )
    assert payload["activityFiche"]["workplace"] is None
    # an activity type of another framework (Bac Pro MELEC) is refused, naming its index in the input
    other = await FrameworkActivity.filter(framework__code="BACPRO-MELEC").first()
    before = await _fiche_count()
    refused = await mutate(
        learner,
        CREATE,
        "activityFicheCreate",
        input={
            "portfolioId": demo.dupire_portfolio,
            "title": "t",
            "activityTypeIds": [encode_id("FrameworkActivity", other.id)],
        },
    )
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [(["input", "activityTypeIds", "0"], "INVALID")]
    assert await _fiche_count() == before


async def test_a_learner_edits_a_fiche_and_the_version_moves_on(learner, demo):
    # when the learner edits only the analysis and clears the autonomy
    payload = await mutate(
        learner,
        UPDATE,
        "activityFicheUpdate",
        input={"id": demo.fiche1, "version": 1, "analysis": "Nouvelle analyse.", "autonomy": None},
    )
    # then the rest is unchanged
    assert payload["errors"] == []
    edited = payload["activityFiche"]
    assert edited["analysis"] == "Nouvelle analyse."
    assert edited["autonomy"] is None
    assert edited["title"] == "Fiche 1 : Découverte de l'entreprise"
    assert edited["version"] == 2
    # and the old version is refused
    stale = await mutate(
        learner, UPDATE, "activityFicheUpdate", input={"id": demo.fiche1, "version": 1, "title": "Autre"}
    )
    assert [(e["field"], e["code"]) for e in stale["errors"]] == [(["input", "version"], "CONFLICT")]
    assert (await fiche(learner, demo.fiche1))["title"] == "Fiche 1 : Découverte de l'entreprise"


async def test_bad_input_is_refused_naming_the_field(learner, demo):
    before = await _fiche_count()
    no_title = await mutate(
        learner, CREATE, "activityFicheCreate", input={"portfolioId": demo.dupire_portfolio, "description": "x"}
    )
    assert [(e["field"], e["code"]) for e in no_title["errors"]] == [(["input", "title"], "REQUIRED")]
    too_long = await mutate(
        learner,
        CREATE,
        "activityFicheCreate",
        input={"portfolioId": demo.dupire_portfolio, "title": "t", "description": "x" * 20001},
    )
    assert [(e["field"], e["code"]) for e in too_long["errors"]] == [(["input", "description"], "INVALID")]
    foreign_task = await mutate(
        learner,
        CREATE,
        "activityFicheCreate",
        input={"portfolioId": demo.dupire_portfolio, "title": "t", "activityTypeIds": [demo.tasks["TA 1-1"]]},
    )
    assert foreign_task["errors"][0]["code"] == "INVALID"
    assert await _fiche_count() == before


async def test_deleting_keeps_every_number_and_the_fiche_for_teachers(learner, teacher, demo):
    # when the learner deletes their first fiche
    payload = await mutate(learner, DELETE, "activityFicheDelete", id=demo.fiche1)
    assert payload == {"deletedActivityFicheId": demo.fiche1, "errors": []}
    # then it is gone for the learner, and the other fiche keeps its number 2 (R18: a number never changes)
    assert await fiche(learner, demo.fiche1) is None
    mine = await learner.data(PORTFOLIO_FICHES, id=demo.dupire_portfolio)
    assert [(f["title"], f["number"]) for f in mine["node"]["activityFiches"]["nodes"]] == [("À compléter", 2)]
    # while the teacher still lists it, marked DELETED, with its number
    theirs = await teacher.data(PORTFOLIO_FICHES, id=demo.dupire_portfolio)
    states = [
        (f["title"], f["number"], f["readState"], f["deletedAt"] is not None)
        for f in theirs["node"]["activityFiches"]["nodes"]
    ]
    assert states == [("À compléter", 2, "UNREAD", False), ("Fiche 1 : Découverte de l'entreprise", 1, "DELETED", True)]
    # and a fiche created afterwards takes the next number, never the deleted one's
    created = await mutate(
        learner, CREATE, "activityFicheCreate", input={"portfolioId": demo.dupire_portfolio, "title": "Fiche 3"}
    )
    assert created["errors"] == [] and created["activityFiche"]["number"] == 3
    # and deleting it again finds nothing
    again = await mutate(learner, DELETE, "activityFicheDelete", id=demo.fiche1)
    assert again["errors"][0]["code"] == "NOT_FOUND"


async def test_a_fiche_of_someone_else_does_not_exist_for_the_learner(learner, demo):
    before = await _fiche_count()
    update = await mutate(
        learner, UPDATE, "activityFicheUpdate", input={"id": demo.carlier_fiche, "version": 1, "title": "Pris"}
    )
    delete = await mutate(learner, DELETE, "activityFicheDelete", id=demo.carlier_fiche)
    create = await mutate(
        learner, CREATE, "activityFicheCreate", input={"portfolioId": demo.carlier_portfolio, "title": "Pris"}
    )
    assert [e["code"] for e in update["errors"] + delete["errors"] + create["errors"]] == ["NOT_FOUND"] * 3
    # the message names the kind of row asked for, in French by default
    assert (
        update["errors"][0]["message"] == "Cet identifiant ne désigne aucun élément « fiche activité » à votre portée."
    )
    assert await fiche(learner, demo.carlier_fiche) is None
    assert await _fiche_count() == before
    assert (await ActivityFiche.get(id=Demo.pk(demo.carlier_fiche))).deleted_at is None


async def test_fiches_of_a_locked_period_are_read_only(learner, demo):
    # given the period locked by an interim review (R7)
    await lock_period_of(demo.dupire_portfolio)
    before = await _fiche_count()
    # when the learner creates, edits or deletes
    create = await mutate(
        learner, CREATE, "activityFicheCreate", input={"portfolioId": demo.dupire_portfolio, "title": "Tard"}
    )
    update = await mutate(
        learner, UPDATE, "activityFicheUpdate", input={"id": demo.fiche1, "version": 1, "title": "Tard"}
    )
    delete = await mutate(learner, DELETE, "activityFicheDelete", id=demo.fiche1)
    # then each is a CONFLICT and nothing changed
    assert [e["code"] for e in create["errors"] + update["errors"] + delete["errors"]] == ["CONFLICT"] * 3
    assert [e["reason"] for e in create["errors"] + update["errors"] + delete["errors"]] == ["PERIOD_LOCKED"] * 3
    # each names the input that found the locked period: the portfolio, or the fiche
    assert [e["field"] for e in create["errors"] + update["errors"] + delete["errors"]] == [
        ["input", "portfolioId"],
        ["input", "id"],
        ["input", "id"],
    ]
    row = await ActivityFiche.get(id=Demo.pk(demo.fiche1))
    assert (row.title, row.version, row.deleted_at) == ("Fiche 1 : Découverte de l'entreprise", 1, None)
    assert await _fiche_count() == before


async def test_a_free_fiche_is_read_and_deleted_but_not_edited(learner, teacher, demo):
    # given the fiche moved to the free fiches, as deleting its period does (R8)
    await make_free(demo.fiche1)
    learner_id = (await ActivityFiche.get(id=Demo.pk(demo.fiche1))).learner_id

    free = "query($id: ID!) { node(id: $id) { ... on Learner { freeFiches { title number formerPeriodName } } } }"
    for api in (learner, teacher):
        listed = await api.data(free, id=encode_id("Learner", learner_id))
        assert listed["node"]["freeFiches"] == [
            {"title": "Fiche 1 : Découverte de l'entreprise", "number": None, "formerPeriodName": "Stage de découverte"}
        ]
    # when the learner edits it: refused; when they delete it: done
    update = await mutate(
        learner, UPDATE, "activityFicheUpdate", input={"id": demo.fiche1, "version": 1, "title": "Non"}
    )
    assert [(e["field"], e["code"], e["reason"]) for e in update["errors"]] == [
        (["input", "id"], "CONFLICT", "FICHE_FREE")
    ]
    delete = await mutate(learner, DELETE, "activityFicheDelete", id=demo.fiche1)
    assert delete["errors"] == []
    assert (await learner.data(free, id=encode_id("Learner", learner_id)))["node"]["freeFiches"] == []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.TEACHER, Role.TUTOR, Role.MASTER], ids=lambda r: r.value)
async def test_only_learners_write_fiches(role, clients, demo):
    api = clients[role]
    portfolio = demo.hot_portfolio if role is Role.MASTER else demo.dupire_portfolio
    target = demo.hot_fiche if role is Role.MASTER else demo.fiche1
    before = await _fiche_count()
    assert await api.error_code(CREATE, input={"portfolioId": portfolio, "title": "x"}) == "FORBIDDEN"
    assert await api.error_code(UPDATE, input={"id": target, "version": 1, "title": "x"}) == "FORBIDDEN"
    assert await api.error_code(DELETE, id=target) == "FORBIDDEN"
    assert await _fiche_count() == before
    assert (await ActivityFiche.get(id=Demo.pk(target))).version == 1


async def test_anonymous_is_unauthenticated(anonymous, demo):
    assert (
        await anonymous.error_code(CREATE, input={"portfolioId": demo.dupire_portfolio, "title": "x"})
        == "UNAUTHENTICATED"
    )
    assert await anonymous.error_code(DELETE, id=demo.fiche1) == "UNAUTHENTICATED"


async def test_an_id_of_another_type_does_not_name_a_fiche_of_the_same_number(learner, demo):
    # given the learner's own fiche, and an ID of another type carrying its number
    number = Demo.pk(demo.fiche1)
    disguised = encode_id("Portfolio", number)
    # when they edit and delete through it
    update = await mutate(
        learner, UPDATE, "activityFicheUpdate", input={"id": disguised, "version": 1, "title": "Changé"}
    )
    delete = await mutate(learner, DELETE, "activityFicheDelete", id=disguised)
    # then both are refused as an ID of the wrong type, and the fiche is as it was
    found = [(e["field"], e["code"], e["reason"]) for e in update["errors"] + delete["errors"]]
    assert found == [(["input", "id"], "INVALID", "ID_WRONG_TYPE")] * 2
    kept = await ActivityFiche.get(id=number)
    assert kept.title == "Fiche 1 : Découverte de l'entreprise" and kept.deleted_at is None


async def test_the_teacher_cannot_change_the_tasks_of_a_deleted_fiche(learner, teacher, demo):
    # given a fiche the learner deleted, which the teacher still lists
    assert (await mutate(learner, DELETE, "activityFicheDelete", id=demo.fiche1))["errors"] == []
    before = await ActivityFiche.get(id=Demo.pk(demo.fiche1))
    # when the teacher sets its tasks
    payload = await mutate(teacher, TASKS_SET, "activityFicheTasksSet", id=demo.fiche1, t=[])
    # then it is refused as deleted, and the fiche is unchanged
    assert [(e["field"], e["code"], e["reason"]) for e in payload["errors"]] == [
        (["input", "id"], "CONFLICT", "FICHE_DELETED")
    ]
    assert (await ActivityFiche.get(id=Demo.pk(demo.fiche1))).version == before.version
