"""Migration 0003 on a database that holds evaluations: fiche numbers, frozen headers and review records are
filled in from the rows as they stand, on each kind of database."""

from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from graph.settings import tortoise_config
from tests.conftest import json_column, migrated_holding

T = "'2026-01-05 08:00:00+00:00'"
ROWS = [
    f"INSERT INTO school (id, created_at, updated_at, uai, name) VALUES (1, {T}, {T}, '0590001A', 'Lycée')",
    f"""INSERT INTO framework (id, created_at, updated_at, code, name, source, notes, content_hash, school_id)
        VALUES (1, {T}, {T}, 'CAP-X', 'CAP X', '', '[]', '', NULL)""",
    "INSERT INTO framework_unit (id, code, label, position, framework_id) VALUES (1, 'UP1', 'Réalisation', 1, 1)",
    """INSERT INTO framework_competence (id, code, label, position, framework_id, unit_id)
       VALUES (11, 'C01', 'Recueillir', 1, 1, 1), (12, 'C02', 'Organiser', 2, 1, 1)""",
    f"""INSERT INTO level (id, created_at, updated_at, name, position, framework_id, school_id)
        VALUES (1, {T}, {T}, 'CAP 1', 1, 1, 1)""",
    f"""INSERT INTO app_user (id, created_at, updated_at, role, email, first_name, last_name, is_active,
        token_version, school_id) VALUES
        (1, {T}, {T}, 'LEARNER', 'l@x.test', 'Angélique', 'DUPIRE', TRUE, 1, 1),
        (2, {T}, {T}, 'TUTOR', 't@x.test', 'Eude', 'Toutcourt', TRUE, 1, 1)""",
    f"""INSERT INTO period (id, created_at, updated_at, name, start_date, end_date, school_year, certifying,
        objectives, version, level_id, school_id) VALUES
        (1, {T}, {T}, 'PFMP 1', '2026-01-05', '2026-01-20', 2025, TRUE, '', 1, 1, 1)""",
    f"INSERT INTO portfolio (id, created_at, updated_at, learner_id, period_id, school_id) VALUES (1, {T}, {T}, 1, 1, 1)",
    "INSERT INTO portfolio_trainer (portfolio_id, user_id) VALUES (1, 2)",
    f"""INSERT INTO liaison_fiche (id, created_at, updated_at, company_name, activity_domain, service, tutor_name,
        tutor_role, objectives, objectives_individualized, tasks_individualized, version, portfolio_id)
        VALUES (1, {T}, {T}, 'Tout élec', 'Électricité', NULL, 'Eude Toutcourt', 'électricien', '', FALSE, FALSE, 1, 1)""",
    # Three fiches in creation order; the first was deleted by the learner.
    f"""INSERT INTO activity_fiche (id, created_at, updated_at, title, description, analysis, deleted_at,
        learner_changed_at, version, learner_id, portfolio_id, school_id) VALUES
        (21, '2026-01-06 08:00:00+00:00', {T}, 'Fiche 1', '', '', '2026-01-08 08:00:00+00:00', {T}, 1, 1, 1, 1),
        (22, '2026-01-07 08:00:00+00:00', {T}, 'Fiche 2', '', '', NULL, {T}, 1, 1, 1, 1),
        (23, '2026-01-09 08:00:00+00:00', {T}, 'Fiche 3', '', '', NULL, {T}, 1, 1, 1, 1)""",
    f"""INSERT INTO company_bilan (id, created_at, updated_at, status, engagement, meeting_date, comment,
        completed_at, frozen_grid, version, portfolio_id) VALUES
        (31, {T}, {T}, 'COMPLETED', 3, NULL, '', '2026-01-21 10:00:00+00:00',
         '{{"framework_id": 1, "modes": [[11, "GLOBAL"], [12, "GLOBAL"]]}}', 4, 1)""",
    f"""INSERT INTO company_bilan_result (id, level, previous_level, recorded_at, bilan_id, competence_id)
        VALUES (41, 'BEGINNING', NULL, {T}, 31, 11), (42, 'ACQUIRED', 'BEGINNING', {T}, 31, 11)""",
    f"""INSERT INTO interim_review (id, created_at, updated_at, review_date, school_id, learner_id)
        VALUES (51, {T}, {T}, '2026-02-01', 1, 1)""",
    "INSERT INTO interim_review_bilan (interim_review_id, companybilan_id) VALUES (51, 31)",
]


async def test_0003_fills_numbers_headers_and_records_from_the_rows_as_they_stand(scratch_database):
    # given a database migrated up to 0002 holding a completed bilan, its review and three fiches
    url = scratch_database
    await migrated_holding(url, "models.0002_foreign_key_indexes", ROWS)
    # when 0003 runs
    await migrate(config=tortoise_config(url))
    connection = connections.get("default")
    _, fiches = await connection.execute_query("SELECT id, reference FROM activity_fiche ORDER BY id")
    _, bilans = await connection.execute_query("SELECT meeting_date, frozen_grid FROM company_bilan")
    _, reviews = await connection.execute_query("SELECT record FROM interim_review")
    await Tortoise.close_connections()
    # then each fiche has the number it showed (the deleted one, which showed none, after the others)
    assert [(row["id"], row["reference"]) for row in fiches] == [(21, 3), (22, 1), (23, 2)]
    # the completed bilan keeps its effective meeting date and its header as they stand
    assert str(bilans[0]["meeting_date"])[:10] == "2026-01-20"
    assert json_column(bilans[0]["frozen_grid"])["header"] == {
        "periodStart": "2026-01-05",
        "periodEnd": "2026-01-20",
        "meetingDateIsDefault": True,
        "trainers": ["Eude Toutcourt"],
        "workplace": {
            "company_name": "Tout élec",
            "activity_domain": "Électricité",
            "service": None,
            "tutor_name": "Eude Toutcourt",
            "tutor_role": "électricien",
        },
    }
    # and the review records what it consolidated: the latest result, its date, period and bilan
    record = json_column(reviews[0]["record"])
    assert [
        (e["bilan"], e["period"], e["periodName"], e["date"], e["engagement"], e["levels"]) for e in record["bilans"]
    ] == [(31, 1, "PFMP 1", "2026-01-20", 3, {"11": ["ACQUIRED", "GLOBAL"]})]
    assert [(c["id"], c["code"], c["unit"]) for c in record["competences"]] == [
        (11, "C01", "UP1"),
        (12, "C02", "UP1"),
    ]
