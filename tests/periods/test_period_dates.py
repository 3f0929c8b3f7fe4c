"""R4: a period's days (at least one, at most 366, last not before first) and its school year."""

import datetime as dt

import pytest

from graph.types.common import encode_id
from models.schools import Level
from resolvers.periods.rules import current_school_year

CREATE = """mutation($l: ID!, $s: Date!, $e: Date!) { periodCreate(input: {levelId: $l, name: "Stage", startDate: $s, endDate: $e}) { period { schoolYear durationDays }
  errors { field code reason message } } }"""


async def _create(teacher, start: str, end: str) -> dict:
    level = await Level.get(name="Première année de CAP")
    return (await teacher.data(CREATE, l=encode_id("Level", level.id), s=start, e=end))["periodCreate"]


@pytest.mark.parametrize(
    "start, end, school_year, days",
    [
        ("2026-09-01", "2026-09-01", 2026, 1),  # one day; September opens the school year
        ("2026-08-31", "2026-08-31", 2025, 1),  # August closes the one before
        ("2026-10-05", "2026-10-16", 2026, 12),
        ("2027-01-04", "2027-01-29", 2026, 26),
        ("2026-09-01", "2027-09-01", 2026, 366),  # the longest
    ],
)
async def test_a_period_of_one_to_366_days_belongs_to_the_school_year_of_its_first_day(
    teacher, start, end, school_year, days
):
    payload = await _create(teacher, start, end)
    assert payload["errors"] == []
    assert payload["period"] == {"schoolYear": school_year, "durationDays": days}


@pytest.mark.parametrize(
    "start, end, reason, message",
    [
        ("2026-09-02", "2026-09-01", "PERIOD_END_BEFORE_START", "The last day comes before the first day."),
        ("2026-09-01", "2027-09-02", "PERIOD_TOO_LONG", "A period lasts at most 366 days."),
        ("2026-09-01", "2999-01-01", "DATE_OUT_OF_RANGE", "'endDate' must be between 2000-01-01 and 2100-12-31."),
    ],
)
async def test_a_refused_period_names_its_last_day(teacher, start, end, reason, message):
    payload = await _create(teacher.speaking("en"), start, end)
    assert payload["period"] is None
    [error] = payload["errors"]
    assert (error["field"], error["code"], error["reason"]) == (["input", "endDate"], "INVALID", reason)
    assert error["message"] == message


@pytest.mark.parametrize(
    "today, year",
    [
        (dt.date(2026, 7, 31), 2025),  # still the year 2025-2026
        (dt.date(2026, 8, 1), 2026),  # from August on, the year that starts (the views and the demo data)
        (dt.date(2026, 9, 1), 2026),
        (dt.date(2026, 12, 31), 2026),
        (dt.date(2027, 1, 1), 2026),
    ],
)
def test_the_school_year_shown_by_default_turns_on_the_first_of_august(today, year):
    assert current_school_year(today) == year
