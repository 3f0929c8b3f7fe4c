"""Period lifecycle (R4–R8): creation, propagation to liaison fiches, locking, deletion."""

import datetime as dt

import pytest

from graph.types.common import encode_id
from models.bilans import BilanStatus, CompanyBilan, InterimReview
from models.fiches import ActivityFiche
from models.frameworks import Task
from models.periods import Period, PeriodTemplate
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Classroom, Level
from models.users import User
from resolvers.demo import current_school_year
from tests.periods.helpers import demo_period, learner_id, level_id, liaison_of, period_id, portfolio_of, task_ids

YEAR = current_school_year(dt.date.today())

CREATE = """mutation($input: PeriodCreateInput!) {
  periodCreate(input: $input) {
    period { id name startDate endDate certifying objectives version tasks { code }
             portfolios { nodes { learner { fullName } completedFicheCount bilanStatus
                          liaisonFiche { objectives tasks { code } } activityFiches { nodes { title } } } } }
    errors { field code reason message }
  }
}"""

UPDATE = """mutation($input: PeriodUpdateInput!) {
  periodUpdate(input: $input) {
    period { version objectives tasks { code } portfolios { nodes { learner { fullName } } } }
    keptIndividualized { objectives portfolio { learner { fullName } } }
    movedFicheCount
    errors { field code reason message }
  }
}"""

DELETE = """mutation($id: ID!) { periodDelete(input: {id: $id}) { deletedPeriodId movedFicheCount errors { field code reason message } } }"""


def new_period(**overrides) -> dict:
    values = {
        "name": "PFMP 1",
        "startDate": f"{YEAR + 1}-01-11",
        "endDate": f"{YEAR + 1}-02-05",
        "objectives": "Réaliser une installation simple.",
    }
    values.update(overrides)
    return values


async def test_creating_a_period_opens_a_portfolio_per_learner(teacher):
    # given two learners of the level and two tasks
    learners = [await learner_id("CARLIER"), await learner_id("FABROWSKI")]
    tasks = await task_ids("TA 2-1", "TA 2-2")
    # when the teacher creates the period
    data = await teacher.data(
        CREATE, input={"levelId": await level_id(), **new_period(learnerIds=learners, taskIds=tasks)}
    )
    payload = data["periodCreate"]
    # then each learner has a portfolio, a first fiche to complete and a liaison fiche carrying the period (R5)
    assert payload["errors"] == []
    period = payload["period"]
    assert period["tasks"] == [{"code": "TA 2-1"}, {"code": "TA 2-2"}] and period["certifying"] is True
    assert [p["learner"]["fullName"] for p in period["portfolios"]["nodes"]] == ["Matis CARLIER", "Marine FABROWSKI"]
    for portfolio in period["portfolios"]["nodes"]:
        assert portfolio["activityFiches"]["nodes"] == [{"title": "À compléter"}]
        assert portfolio["completedFicheCount"] == 0 and portfolio["bilanStatus"] == "DRAFT"
        assert portfolio["liaisonFiche"] == {
            "objectives": "Réaliser une installation simple.",
            "tasks": [{"code": "TA 2-1"}, {"code": "TA 2-2"}],
        }
    assert (await Period.get(name="PFMP 1")).school_year == YEAR


async def test_a_period_from_a_template_takes_its_parameters_and_never_changes_it(teacher):
    # given a template of the level
    data = await teacher.data(
        """mutation($input: PeriodTemplateCreateInput!) { periodTemplateCreate(input: $input) {
        periodTemplate { id name } errors { message } } }""",
        input={
            "levelId": await level_id(),
            "name": "Annexe PFMP 2",
            "objectives": "Câbler un tableau.",
            "taskIds": await task_ids("TA 2-3"),
        },
    )
    template = data["periodTemplateCreate"]["periodTemplate"]
    # when a period is created from it, then edited
    created = (
        await teacher.data(
            CREATE,
            input={
                "levelId": await level_id(),
                "templateId": template["id"],
                "startDate": f"{YEAR + 1}-03-01",
                "endDate": f"{YEAR + 1}-03-26",
                "learnerIds": [await learner_id("LECAM")],
            },
        )
    )["periodCreate"]
    assert created["errors"] == []
    assert created["period"]["name"] == "Annexe PFMP 2"
    assert created["period"]["objectives"] == "Câbler un tableau."
    assert created["period"]["tasks"] == [{"code": "TA 2-3"}]
    edited = (
        await teacher.data(
            UPDATE,
            input={
                "id": created["period"]["id"],
                "version": created["period"]["version"],
                "objectives": "Autre chose.",
                "taskIds": [],
            },
        )
    )["periodUpdate"]
    assert edited["errors"] == []
    # then the template is as it was (R4)
    row = await PeriodTemplate.get(name="Annexe PFMP 2").prefetch_related("tasks")
    assert row.objectives == "Câbler un tableau." and [t.code for t in row.tasks] == ["TA 2-3"]


async def test_editing_passes_on_except_individualized_parts_which_are_reported(teacher):
    # given Angélique's objectives were individualized
    dupire = await liaison_of("DUPIRE")
    await LiaisonFiche.filter(id=dupire.id).update(objectives="Objectifs d'Angélique", objectives_individualized=True)
    period = await demo_period()
    # when the period's objectives and tasks change
    data = await teacher.data(
        UPDATE,
        input={
            "id": await period_id(period),
            "version": period.version,
            "objectives": "Nouveaux objectifs",
            "taskIds": await task_ids("TA 1-1", "TA 5-1"),
        },
    )
    payload = data["periodUpdate"]
    # then every other liaison fiche follows, and Angélique's kept objectives are reported (R6)
    assert payload["errors"] == []
    assert payload["keptIndividualized"] == [
        {"objectives": "Objectifs d'Angélique", "portfolio": {"learner": {"fullName": "Angélique DUPIRE"}}}
    ]
    assert (await liaison_of("CARLIER")).objectives == "Nouveaux objectifs"
    carlier = await liaison_of("CARLIER")
    assert sorted(t.code for t in await carlier.tasks.all()) == ["TA 1-1", "TA 5-1"]
    assert sorted(t.code for t in await (await liaison_of("DUPIRE")).tasks.all()) == ["TA 1-1", "TA 5-1"]
    assert payload["period"]["version"] == period.version + 1


async def test_each_edit_passes_on_only_what_it_changes(teacher):
    # given Angélique's objectives and Matis's tasks were individualized (R6)
    dupire, carlier = await liaison_of("DUPIRE"), await liaison_of("CARLIER")
    await LiaisonFiche.filter(id=dupire.id).update(objectives="Objectifs d'Angélique", objectives_individualized=True)
    await LiaisonFiche.filter(id=carlier.id).update(tasks_individualized=True)
    await carlier.tasks.clear()
    await carlier.tasks.add(await Task.get(code="TA 3-1", framework__code="CAP-ELEC"))
    lecam_tasks = sorted(t.code for t in await (await liaison_of("LECAM")).tasks.all())
    period = await demo_period()
    # when only the objectives change
    data = await teacher.data(
        UPDATE, input={"id": await period_id(period), "version": period.version, "objectives": "Nouveaux objectifs"}
    )
    payload = data["periodUpdate"]
    # then Angélique keeps hers and is reported, the tasks of every liaison fiche are untouched
    assert payload["errors"] == []
    assert payload["keptIndividualized"] == [
        {"objectives": "Objectifs d'Angélique", "portfolio": {"learner": {"fullName": "Angélique DUPIRE"}}}
    ]
    assert (await liaison_of("DUPIRE")).objectives == "Objectifs d'Angélique"
    assert (await liaison_of("LECAM")).objectives == "Nouveaux objectifs"
    assert sorted(t.code for t in await (await liaison_of("LECAM")).tasks.all()) == lecam_tasks
    # when only the tasks change
    data = await teacher.data(
        UPDATE,
        input={"id": await period_id(period), "version": period.version + 1, "taskIds": await task_ids("TA 5-1")},
    )
    payload = data["periodUpdate"]
    # then Matis keeps his and is reported, and nobody's objectives change
    assert payload["errors"] == []
    assert payload["keptIndividualized"] == [
        {"objectives": "Nouveaux objectifs", "portfolio": {"learner": {"fullName": "Matis CARLIER"}}}
    ]
    assert [t.code for t in await (await liaison_of("CARLIER")).tasks.all()] == ["TA 3-1"]
    assert [t.code for t in await (await liaison_of("LECAM")).tasks.all()] == ["TA 5-1"]
    assert (await liaison_of("LECAM")).objectives == "Nouveaux objectifs"
    assert (await liaison_of("DUPIRE")).objectives == "Objectifs d'Angélique"


async def test_a_reset_part_follows_the_period_again(teacher):
    dupire = await liaison_of("DUPIRE")
    await LiaisonFiche.filter(id=dupire.id).update(objectives="À part", objectives_individualized=True)
    data = await teacher.data(
        """mutation($id: ID!) { liaisonFicheReset(input: {id: $id, parts: [OBJECTIVES]}) {
        liaisonFiche { objectives objectivesIndividualized } errors { message } } }""",
        id=encode_id("LiaisonFiche", dupire.id),
    )
    period = await demo_period()
    assert data["liaisonFicheReset"]["liaisonFiche"] == {
        "objectives": period.objectives,
        "objectivesIndividualized": False,
    }
    await teacher.data(UPDATE, input={"id": await period_id(period), "version": period.version, "objectives": "Suite"})
    assert (await liaison_of("DUPIRE")).objectives == "Suite"


async def test_adding_and_removing_learners(teacher):
    # given the demo period with five learners, and a sixth learner in the level
    period = await demo_period()
    everyone = [await learner_id(n) for n in ("CARLIER", "LECAM", "DUPIRE", "FABROWSKI", "HÔT")]
    # when Matis is removed and nobody else changes
    data = await teacher.data(
        UPDATE, input={"id": await period_id(period), "version": period.version, "learnerIds": everyone[1:]}
    )
    payload = data["periodUpdate"]
    # then his portfolio is gone and his fiche is in his free fiches (R8 for that learner)
    assert payload["errors"] == [] and payload["movedFicheCount"] == 1
    assert not await Portfolio.exists(period_id=period.id, learner__last_name="CARLIER")
    free = await ActivityFiche.get(learner__last_name="CARLIER")
    assert free.portfolio_id is None and free.former_period_name == "Stage de découverte"
    # and adding him back opens a fresh portfolio
    again = await teacher.data(
        UPDATE, input={"id": await period_id(period), "version": period.version + 1, "learnerIds": everyone}
    )
    assert again["periodUpdate"]["errors"] == []
    assert await ActivityFiche.filter(learner__last_name="CARLIER").count() == 2


async def test_a_stale_version_is_a_conflict_and_writes_nothing(teacher):
    period = await demo_period()
    data = await teacher.data(
        UPDATE, input={"id": await period_id(period), "version": period.version - 1 + 5, "objectives": "jamais écrit"}
    )
    assert data["periodUpdate"]["errors"][0]["code"] == "CONFLICT"
    assert data["periodUpdate"]["errors"][0]["field"] == ["input", "version"]
    assert (await demo_period()).objectives == period.objectives


async def _complete_and_review(last_name: str, *, review_date: dt.date | None, meeting: dt.date | None = None):
    portfolio = await portfolio_of(last_name)
    bilan = await CompanyBilan.get(portfolio_id=portfolio.id)
    await CompanyBilan.filter(id=bilan.id).update(status=BilanStatus.COMPLETED, meeting_date=meeting)
    if review_date is not None:
        review = await InterimReview.create(
            school_id=portfolio.school_id, learner_id=portfolio.learner_id, review_date=review_date
        )
        await review.bilans.add(bilan)


async def test_a_locked_period_cannot_be_edited(teacher):
    # given a bilan of the period consolidated in an interim review (R7)
    period = await demo_period()
    await _complete_and_review("DUPIRE", review_date=period.end_date + dt.timedelta(days=10))
    # when the teacher edits it
    data = await teacher.data(UPDATE, input={"id": await period_id(period), "version": period.version, "name": "Autre"})
    # then it is refused
    assert data["periodUpdate"]["errors"][0]["code"] == "CONFLICT"
    assert data["periodUpdate"]["errors"][0]["reason"] == "PERIOD_LOCKED"
    assert (await demo_period()).name == "Stage de découverte"
    assert (
        await teacher.data("query($id: ID!) { node(id: $id) { ... on Period { locked } } }", id=await period_id(period))
    )["node"]["locked"] is True


async def test_deleting_a_period_moves_every_fiche_to_free_fiches(teacher):
    period = await demo_period()
    data = await teacher.data(DELETE, id=await period_id(period))
    assert data["periodDelete"]["errors"] == []
    assert data["periodDelete"]["movedFicheCount"] == 6
    assert not await Period.exists(id=period.id)
    assert await Portfolio.filter(period_id=period.id).count() == 0
    assert await ActivityFiche.filter(portfolio_id=None).count() == 6
    dupire = await learner_id("DUPIRE")
    learner = await User.get(last_name="DUPIRE")
    titles = await teacher.data(
        "query($id: ID!) { node(id: $id) { ... on Learner { freeFiches { title } } } }", id=dupire
    )
    assert [f["title"] for f in titles["node"]["freeFiches"]] == ["Fiche 1 : Découverte de l'entreprise", "À compléter"]
    assert learner.id


async def test_deletion_is_refused_while_a_completed_bilan_is_not_before_the_latest_review(teacher):
    # given a completed bilan and no interim review after it
    period = await demo_period()
    await _complete_and_review("DUPIRE", review_date=None)
    # when the teacher deletes the period
    data = await teacher.speaking("en").data(DELETE, id=await period_id(period))
    # then it is refused, saying why, and nothing moved
    error = data["periodDelete"]["errors"][0]
    assert (error["code"], error["reason"]) == ("CONFLICT", "PERIOD_NOT_DELETABLE")
    assert "Angélique DUPIRE" in error["message"]
    assert "completed" in error["message"] and "interim review" in error["message"]
    assert await Portfolio.filter(period_id=period.id).count() == 5
    assert await ActivityFiche.filter(portfolio_id=None).count() == 0


async def test_a_later_review_that_does_not_hold_the_bilan_does_not_allow_the_deletion(teacher):
    # given a completed bilan dated before the learner's latest interim review, which does not hold it
    # (R8: only a bilan held in a review's record lets its period go; tests/bilans covers the allowed case)
    period = await demo_period()
    await _complete_and_review("DUPIRE", review_date=None, meeting=period.end_date)
    portfolio = await portfolio_of("DUPIRE")
    review = await InterimReview.create(
        school_id=portfolio.school_id,
        learner_id=portfolio.learner_id,
        review_date=period.end_date + dt.timedelta(days=30),
        record={"bilans": []},
    )
    # and an earlier review with no record at all
    await InterimReview.create(
        school_id=portfolio.school_id, learner_id=portfolio.learner_id, review_date=period.end_date, record=None
    )
    # when the teacher deletes the period
    data = await teacher.data(DELETE, id=await period_id(period))
    # then it is refused on the period's id, and nothing moved
    assert [(e["field"], e["code"]) for e in data["periodDelete"]["errors"]] == [(["input", "id"], "CONFLICT")]
    assert await Portfolio.filter(period_id=period.id).count() == 5
    # when the review's record holds the bilan, the period goes
    bilan = await CompanyBilan.get(portfolio_id=portfolio.id)
    await InterimReview.filter(id=review.id).update(record={"bilans": [{"bilan": bilan.id}]})
    data = await teacher.data(DELETE, id=await period_id(period))
    assert data["periodDelete"]["errors"] == []
    assert not await Period.exists(id=period.id)


@pytest.mark.parametrize(
    "overrides, field, code",
    [
        ({"startDate": f"{YEAR + 1}-02-05", "endDate": f"{YEAR + 1}-01-11"}, ["input", "endDate"], "INVALID"),
        ({"startDate": "1899-01-01"}, ["input", "startDate"], "INVALID"),
        ({"name": "  "}, ["input", "name"], "REQUIRED"),
        ({"endDate": None}, ["input", "endDate"], "REQUIRED"),
        ({"learnerIds": ["TGVhcm5lcjo5OTk5"]}, ["input", "learnerIds", "0"], "NOT_FOUND"),
        ({"learnerIds": ["bm9wZQ=="]}, ["input", "learnerIds", "0"], "INVALID"),
        ({"taskIds": "MELEC"}, ["input", "taskIds", "0"], "INVALID"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(teacher, overrides, field, code):
    if overrides.get("taskIds") == "MELEC":
        overrides["taskIds"] = await task_ids("T1-1", framework="BACPRO-MELEC")
    before = await Period.all().count(), await Portfolio.all().count()
    data = await teacher.data(
        CREATE,
        input={
            "levelId": await level_id(),
            **new_period(**({"learnerIds": [await learner_id("CARLIER")]} | overrides)),
        },
    )
    error = data["periodCreate"]["errors"][0]
    assert (error["field"], error["code"]) == (field, code), error
    assert data["periodCreate"]["period"] is None
    assert (await Period.all().count(), await Portfolio.all().count()) == before


async def test_a_learner_of_another_level_is_refused(teacher, app):

    second = await Level.get(name="Deuxième année de CAP")
    other = await Classroom.create(school_id=second.school_id, level=second, name="CAP 2 ELEC")
    await teacher.user.taught_classrooms.add(other)
    await User.filter(last_name="LECAM").update(classroom_id=other.id)
    data = await teacher.data(
        CREATE, input={"levelId": await level_id(), **new_period(learnerIds=[await learner_id("LECAM")])}
    )
    error = data["periodCreate"]["errors"][0]
    assert error["field"] == ["input", "learnerIds", "0"] and error["code"] == "INVALID"
    assert "Jean LECAM" in error["message"]
