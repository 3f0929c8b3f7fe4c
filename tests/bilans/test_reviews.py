"""Interim reviews (R25): consolidating completed bilans up to a date, locking their periods (R7, R8)."""

import datetime as dt

import pytest

from graph.types.common import decode_id, encode_id
from models.bilans import CompanyBilan, InterimReview
from models.schools import Classroom
from models.users import Role
from tests.bilans.conftest import COMPLETE, REOPEN, REVIEW_CREATE, UPDATE, another_period, errors

PERIOD = "query($id: ID!) { node(id: $id) { ... on Period { name locked } } }"
REVIEWS = """query($id: ID!) { node(id: $id) { ... on Learner { interimReviews { id date
  bilans { bilanId } competences { competence { code } currentLevel history { level date period { name } } } } } } }"""


async def _evaluate_and_complete(teacher, bilan_id: str, results: list[dict], engagement: int | None = None) -> None:
    version = (await CompanyBilan.get(id=int(_pk(bilan_id)))).version
    saved = (
        await teacher.data(
            UPDATE, input={"id": bilan_id, "version": version, "results": results, "engagement": engagement}
        )
    )["bilanUpdate"]
    assert saved["errors"] == []
    done = (await teacher.data(COMPLETE, id=bilan_id, v=saved["bilan"]["version"]))["bilanComplete"]
    assert done["errors"] == []


def _pk(global_id: str) -> int:

    return decode_id(global_id)[1]


@pytest.fixture
async def two_periods(teacher, demo):
    """Angélique's demo bilan and a later period's, both completed: C07 ACQUIRED, then MASTERED."""
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
    return later, later_bilan


async def test_a_review_consolidates_the_completed_bilans_up_to_its_date(teacher, demo, two_periods):
    later, later_bilan = two_periods
    learner_id = encode_id("Learner", demo.learner.id)
    # when the teacher reviews Angélique the day after the first period's bilan
    first_day = demo.period.end_date + dt.timedelta(days=1)
    first = (await teacher.data(REVIEW_CREATE, l=learner_id, d=first_day.isoformat()))["interimReviewCreate"]
    # then only the first bilan is consolidated
    assert first["errors"] == []
    review = first["interimReview"]
    assert (review["date"], review["learner"]["fullName"], review["createdBy"]["fullName"]) == (
        first_day.isoformat(),
        "Angélique DUPIRE",
        "Claire MARTIN",
    )
    assert review["bilans"] == [
        {"bilanId": demo.bilan_id, "date": demo.period.end_date.isoformat(), "periodName": "Stage de découverte"}
    ]
    c07 = next(c for c in review["competences"] if c["competence"]["code"] == "C07")
    assert c07["currentLevel"] == "ACQUIRED"
    assert c07["history"] == [
        {
            "level": "ACQUIRED",
            "date": demo.period.end_date.isoformat(),
            "mode": "GLOBAL",
            "period": {"name": "Stage de découverte"},
            "bilan": {"id": demo.bilan_id},
        }
    ]
    # when a second review is made today, it takes both, every result with its date and period
    second = (await teacher.data(REVIEW_CREATE, l=learner_id, d=dt.date.today().isoformat()))["interimReviewCreate"]
    c07 = next(c for c in second["interimReview"]["competences"] if c["competence"]["code"] == "C07")
    assert [(h["level"], h["period"]["name"]) for h in c07["history"]] == [
        ("ACQUIRED", "Stage de découverte"),
        ("MASTERED", "PFMP 2"),
    ]
    assert c07["currentLevel"] == "MASTERED"
    c02 = next(c for c in second["interimReview"]["competences"] if c["competence"]["code"] == "C02")
    assert (c02["currentLevel"], len(c02["history"])) == ("BEGINNING", 1)
    c05 = next(c for c in second["interimReview"]["competences"] if c["competence"]["code"] == "C05")
    assert (c05["currentLevel"], c05["history"]) == ("NOT_EVALUATED", [])
    # and the learner's reviews list both, by date
    listed = (await teacher.data(REVIEWS, id=learner_id))["node"]["interimReviews"]
    assert [r["date"] for r in listed] == [first_day.isoformat(), dt.date.today().isoformat()]


async def test_a_review_locks_the_periods_it_used_and_allows_their_deletion(teacher, demo, two_periods):
    later, _ = two_periods
    period_id, later_id = encode_id("Period", demo.period.id), encode_id("Period", later.period_id)
    delete = "mutation($id: ID!) { periodDelete(input: {id: $id}) { errors { field code } } }"
    # before any review, the period with a completed bilan cannot be deleted (R8)
    assert (await teacher.data(delete, id=period_id))["periodDelete"]["errors"] == [
        {"field": ["input", "id"], "code": "CONFLICT"}
    ]
    # when a review is made after the first period
    day = demo.period.end_date + dt.timedelta(days=1)
    await teacher.data(REVIEW_CREATE, l=encode_id("Learner", demo.learner.id), d=day.isoformat())
    # then that period is locked (R7) and the later one is not
    assert (await teacher.data(PERIOD, id=period_id))["node"]["locked"] is True
    assert (await teacher.data(PERIOD, id=later_id))["node"]["locked"] is False
    # the consolidated bilan can no longer be reopened
    reopen = (await teacher.data(REOPEN, id=demo.bilan_id, v=3, r="oubli"))["bilanReopen"]
    assert errors(reopen) == [(["input", "id"], "CONFLICT")]
    # and its bilan, dated before the latest review, no longer blocks deleting the period (R8, second condition)
    assert (await teacher.data(delete, id=period_id))["periodDelete"]["errors"] == []


@pytest.mark.parametrize(
    "case, date, field, code",
    [
        ("in the future", dt.date.today() + dt.timedelta(days=1), ["input", "date"], "INVALID"),
        ("before any completed bilan", dt.date(2020, 1, 1), ["input", "date"], "INVALID"),
        ("outside any sane range", dt.date(1901, 1, 1), ["input", "date"], "INVALID"),
    ],
)
async def test_bad_dates_are_refused_naming_the_field(teacher, demo, two_periods, case, date, field, code):
    payload = (await teacher.data(REVIEW_CREATE, l=encode_id("Learner", demo.learner.id), d=date.isoformat()))[
        "interimReviewCreate"
    ]
    assert errors(payload) == [(field, code)]
    assert await InterimReview.all().count() == 0


async def test_a_second_review_at_the_same_date_is_a_conflict(teacher, demo, two_periods):
    learner, day = encode_id("Learner", demo.learner.id), dt.date.today().isoformat()
    await teacher.data(REVIEW_CREATE, l=learner, d=day)
    again = (await teacher.data(REVIEW_CREATE, l=learner, d=day))["interimReviewCreate"]
    assert errors(again) == [(["input", "date"], "CONFLICT")]


async def test_drafts_are_never_consolidated(teacher, demo):
    payload = (
        await teacher.data(REVIEW_CREATE, l=encode_id("Learner", demo.learner.id), d=dt.date.today().isoformat())
    )["interimReviewCreate"]
    assert errors(payload) == [(["input", "date"], "INVALID")]


async def test_a_learner_out_of_reach_is_not_found(teacher, demo, two_periods):

    await teacher.user.taught_classrooms.remove(await Classroom.get(name="CAPELECT"))
    payload = (
        await teacher.data(REVIEW_CREATE, l=encode_id("Learner", demo.learner.id), d=dt.date.today().isoformat())
    )["interimReviewCreate"]
    assert errors(payload) == [(["input", "learnerId"], "NOT_FOUND")]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LEARNER, Role.TUTOR, Role.MASTER], ids=lambda r: r.value)
async def test_only_teachers_create_reviews(clients, demo, two_periods, role):
    code = await clients[role].error_code(
        REVIEW_CREATE, l=encode_id("Learner", demo.learner.id), d=dt.date.today().isoformat()
    )
    assert code == "FORBIDDEN"
    assert await InterimReview.all().count() == 0


@pytest.mark.parametrize(
    "role, sees",
    [(Role.ADMIN, True), (Role.TEACHER, True), (Role.LEARNER, True), (Role.TUTOR, False)],
    ids=lambda v: getattr(v, "value", str(v)),
)
async def test_reviews_are_read_by_staff_and_their_learner(clients, teacher, demo, two_periods, role, sees):
    created = (
        await teacher.data(REVIEW_CREATE, l=encode_id("Learner", demo.learner.id), d=dt.date.today().isoformat())
    )["interimReviewCreate"]["interimReview"]
    listed = (await clients[role].data(REVIEWS, id=encode_id("Learner", demo.learner.id)))["node"]["interimReviews"]
    node = (
        await clients[role].data(
            "query($id: ID!) { node(id: $id) { ... on InterimReview { date } } }", id=created["id"]
        )
    )["node"]
    if sees:
        assert [r["id"] for r in listed] == [created["id"]] and node is not None
    else:
        assert listed is None and node is None
