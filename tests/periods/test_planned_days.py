"""A period's planned days (`Period.plannedDays`): the days Monday to Friday between its dates, public holidays of
metropolitan France deducted, unless the school sets its own figure (`periodPlannedDaysSet`)."""

import pytest

from graph.types.common import encode_id
from models.periods import Period
from tests.periods.helpers import level_id

CREATE = """mutation($l: ID!, $s: Date!, $e: Date!) { periodCreate(input: {levelId: $l, name: "Stage", startDate: $s, endDate: $e}) { period { id version plannedDays plannedDaysOverride }
  errors { field code reason message } } }"""
SET = """mutation($id: ID!, $days: Int) { periodPlannedDaysSet(input: {id: $id, plannedDays: $days}) {
  period { version plannedDays plannedDaysOverride } errors { field code reason message } } }"""
UPDATE = """mutation($id: ID!, $v: Int!, $e: Date!) { periodUpdate(input: {id: $id, version: $v, endDate: $e}) {
  period { endDate plannedDays } errors { field code reason message } } }"""
READ = "query($id: ID!) { node(id: $id) { ... on Period { plannedDays plannedDaysOverride } } }"


async def _create(api, start: str, end: str) -> dict:
    payload = (await api.data(CREATE, l=await level_id(), s=start, e=end))["periodCreate"]
    assert payload["errors"] == []
    return payload["period"]


@pytest.mark.parametrize(
    "start, end, planned",
    [
        # two weeks, Wednesday 11 November (Armistice) off
        ("2026-11-09", "2026-11-20", 9),
        # three weeks, Easter Monday 29 March 2027 off
        ("2027-03-22", "2027-04-09", 14),
        # three weeks over Christmas and New Year's Day, both Fridays
        ("2026-12-21", "2027-01-08", 13),
        # All Saints' Day 2026 is a Sunday: nothing more to deduct
        ("2026-10-26", "2026-11-06", 10),
        # a weekend only
        ("2026-11-14", "2026-11-15", 0),
    ],
)
async def test_planned_days_are_the_weekdays_less_the_french_public_holidays(teacher, start, end, planned):
    period = await _create(teacher, start, end)
    assert (period["plannedDays"], period["plannedDaysOverride"]) == (planned, None)


async def test_the_school_sets_its_own_planned_days_and_null_counts_them_again(teacher, learner):
    # given a period over 11 November: 9 working days
    period = await _create(teacher, "2026-11-09", "2026-11-20")
    # when the teacher sets 8 days (the company closes on Friday 13)
    payload = (await teacher.data(SET, id=period["id"], days=8))["periodPlannedDaysSet"]
    # then the period says 8, as its own figure, and changed version
    assert payload["errors"] == []
    assert payload["period"] == {"version": period["version"] + 1, "plannedDays": 8, "plannedDaysOverride": 8}
    assert (await teacher.data(READ, id=period["id"]))["node"] == {"plannedDays": 8, "plannedDaysOverride": 8}
    # when the figure is cleared, then the working days are counted again
    payload = (await teacher.data(SET, id=period["id"], days=None))["periodPlannedDaysSet"]
    assert payload["period"]["plannedDays"] == 9 and payload["period"]["plannedDaysOverride"] is None


@pytest.mark.parametrize("days", [0, -3, 13, 2**31 - 1])
async def test_planned_days_outside_one_to_the_periods_length_are_refused_naming_the_field(teacher, days):
    # given a period of 12 calendar days
    period = await _create(teacher, "2026-11-09", "2026-11-20")
    # when the teacher sets a figure that is not a positive number of days within them
    payload = (await teacher.speaking("en").data(SET, id=period["id"], days=days))["periodPlannedDaysSet"]
    # then it is refused naming plannedDays, and nothing is written
    assert payload["period"] is None
    [error] = payload["errors"]
    assert (error["field"], error["code"], error["reason"]) == (
        ["input", "plannedDays"],
        "INVALID",
        "PLANNED_DAYS_OUT_OF_RANGE",
    )
    assert "between 1 and 12" in error["message"]
    row = await Period.get(name="Stage")
    assert row.planned_days_override is None and row.version == period["version"]


async def test_shortening_a_period_below_its_planned_days_is_refused_naming_the_last_day(teacher):
    # given a period of 12 days whose planned days are set to 10
    period = await _create(teacher, "2026-11-09", "2026-11-20")
    version = (await teacher.data(SET, id=period["id"], days=10))["periodPlannedDaysSet"]["period"]["version"]
    # when its last day is brought to 13 November (5 calendar days)
    payload = (await teacher.speaking("en").data(UPDATE, id=period["id"], v=version, e="2026-11-13"))["periodUpdate"]
    # then it is refused naming the last day, with both figures
    [error] = payload["errors"]
    assert (error["field"], error["code"], error["reason"]) == (
        ["input", "endDate"],
        "INVALID",
        "PLANNED_DAYS_ABOVE_LENGTH",
    )
    assert error["message"] == "The period's planned days (10) would exceed its 5 days: change them first."
    # and with the figure cleared, the shorter period counts its working days again (11 November off)
    await teacher.data(SET, id=period["id"], days=None)
    row = await Period.get(name="Stage")
    payload = (await teacher.data(UPDATE, id=period["id"], v=row.version, e="2026-11-13"))["periodUpdate"]
    assert payload["errors"] == [] and payload["period"] == {"endDate": "2026-11-13", "plannedDays": 4}


async def test_a_learner_reads_the_planned_days_of_their_period_but_may_not_set_them(teacher, learner):
    period = await Period.get(name="Stage de découverte")
    period_id = encode_id("Period", period.id)
    # the demo period: Monday 16 to Friday 27 November, no public holiday
    assert (await learner.data(READ, id=period_id))["node"] == {"plannedDays": 10, "plannedDaysOverride": None}
    assert await learner.error_code(SET, id=period_id, days=5) == "FORBIDDEN"
    assert (await Period.get(id=period.id)).planned_days_override is None


@pytest.mark.parametrize("days", [1, 12])
async def test_one_day_and_the_periods_whole_length_are_accepted(teacher, days):
    # given a period of 12 calendar days: the bounds of what a school may set are themselves allowed
    period = await _create(teacher, "2026-11-09", "2026-11-20")
    payload = (await teacher.data(SET, id=period["id"], days=days))["periodPlannedDaysSet"]
    assert payload["errors"] == []
    assert payload["period"]["plannedDays"] == days and payload["period"]["plannedDaysOverride"] == days
