"""Migration 0019 on a database holding review records made before records held their periods' dates: an entry
whose period still exists gets its first and last day and whether it is certifying; an entry whose period is gone
keeps what it had; a record that has them already is left as it is. On each kind of database."""

import json

from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from graph.settings import tortoise_config
from tests.conftest import json_column, migrated_holding

T = "'2026-01-05 08:00:00+00:00'"


def _entry(bilan: int, period: int, name: str, day: str, **more) -> dict:
    return {
        "bilan": bilan,
        "period": period,
        "periodName": name,
        "date": day,
        "completedAt": None,
        "engagement": 3,
        "frameworkId": None,
        "levels": {},
        **more,
    }


OLD = {
    "format": 1,
    "bilans": [_entry(31, 1, "PFMP 1", "2026-01-20"), _entry(32, 9, "PFMP effacée", "2026-03-02")],
    "competences": [],
}
RECENT = {
    "format": 1,
    "bilans": [
        _entry(33, 2, "PFMP 2", "2026-02-27", periodStart="2026-02-02", periodEnd="2026-02-27", certifying=True)
    ],
    "competences": [],
}
ROWS = [
    f"INSERT INTO school (id, created_at, updated_at, uai, name) VALUES (1, {T}, {T}, '0590001A', 'Lycée')",
    f"""INSERT INTO level (id, created_at, updated_at, name, position, framework_id, school_id)
        VALUES (1, {T}, {T}, 'CAP 1', 1, NULL, 1)""",
    f"""INSERT INTO app_user (id, created_at, updated_at, role, email, first_name, last_name, is_active,
        token_version, school_id, password_change_required) VALUES
        (1, {T}, {T}, 'LEARNER', 'l@x.test', 'Angélique', 'DUPIRE', TRUE, 1, 1, FALSE)""",
    # PFMP 1 not certifying; PFMP 2 changed since its record was written would be refused (R7), but shows that a
    # record holding the dates is not read again.
    f"""INSERT INTO period (id, created_at, updated_at, name, start_date, end_date, school_year, certifying,
        objectives, version, level_id, school_id) VALUES
        (1, {T}, {T}, 'PFMP 1', '2026-01-05', '2026-01-20', 2025, FALSE, '', 1, 1, 1),
        (2, {T}, {T}, 'PFMP 2', '2026-02-09', '2026-02-27', 2025, FALSE, '', 1, 1, 1)""",
    f"""INSERT INTO interim_review (id, created_at, updated_at, review_date, school_id, learner_id, record) VALUES
        (51, {T}, {T}, '2026-03-10', 1, 1, '{json.dumps(OLD)}'),
        (52, {T}, {T}, '2026-03-11', 1, 1, '{json.dumps(RECENT)}')""",
]


async def test_0019_fills_the_periods_of_old_records_from_the_periods_left(scratch_database):
    # given a database migrated up to 0018 holding an old record and a recent one
    url = scratch_database
    await migrated_holding(url, "models.0018_framework_shape_stamps", ROWS)
    # when 0019 runs
    await migrate(config=tortoise_config(url))
    _, reviews = await connections.get("default").execute_query("SELECT id, record FROM interim_review ORDER BY id")
    await Tortoise.close_connections()
    old, recent = (json_column(row["record"]) for row in reviews)
    # then the entry whose period is left has its days and its certifying, as the period stands
    assert old["bilans"][0] == {
        **OLD["bilans"][0],
        "periodStart": "2026-01-05",
        "periodEnd": "2026-01-20",
        "certifying": False,
    }
    # the deleted period's entry is unchanged, and so is everything else of the record
    assert old["bilans"][1] == OLD["bilans"][1]
    assert {k: v for k, v in old.items() if k != "bilans"} == {k: v for k, v in OLD.items() if k != "bilans"}
    # and a record that held them already is not touched (not read from the period, which differs)
    assert recent == RECENT
