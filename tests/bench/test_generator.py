"""The load generator (bench/generate.py) at a tiny scale: the database it fills is one the API reads
consistently, and the benchmark's operations answer on it without error."""

import httpx
import pytest

from bench import operations as ops
from bench.generate import GenerationError, generate
from graph.app import create_app
from graph.types.common import encode_id
from models.bilans import BilanStatus, CompanyBilan
from models.fiches import ActivityFiche
from models.portfolios import Portfolio
from models.users import User
from tests.conftest import _settings, token_for

LEARNERS_PER_CLASSROOM = 2
QUIET = lambda *_: None  # noqa: E731


async def _post(http, token, document, variables) -> dict:
    response = await http.post(
        "/graphql", json={"query": document, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


async def test_a_generated_school_reads_back_through_the_api(scratch_database, tmp_path):
    # given a school generated with two learners per classroom
    written = await generate(scratch_database, "school", learners_per_classroom=LEARNERS_PER_CLASSROOM, report=QUIET)
    learners = 3 * 4 * LEARNERS_PER_CLASSROOM
    assert written["portfolio"] == learners * 4
    assert written["activity_fiche"] == learners * 4 * 6
    assert written["company_bilan"] == learners * 4
    settings = _settings(tmp_path, scratch_database)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        targets = await ops.find_targets()
        token = token_for(await User.get(id=targets.viewer.id), settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            # when the teacher who follows the first level's four classrooms opens its third period
            period = (await _post(http, token, ops.PERIOD_VIEW, ops.read_variables("period view", targets)))["node"]
            # then each of the level's learners is there with their classroom, completed fiches,
            # liaison fiche, completed bilan and trainer, as the rows say
            rows = await Portfolio.filter(period_id=targets.period_id)
            assert len(period["portfolios"]["nodes"]) == len(rows) == 4 * LEARNERS_PER_CLASSROOM
            for line in period["portfolios"]["nodes"]:
                pk = next(r.id for r in rows if encode_id("Portfolio", r.id) == line["id"])
                assert (
                    line["completedFicheCount"]
                    == await ActivityFiche.filter(portfolio_id=pk, deleted_at=None).exclude(description="").count()
                )
                assert line["bilanStatus"] == "COMPLETED"
                assert line["learner"]["classroom"]["name"].startswith("2 MELEC")
                assert line["liaisonFiche"]["workplace"]["companyName"] and len(line["trainers"]) == 1
            # and the other operations of the benchmark answer consistently
            bilan = (await _post(http, token, ops.VISIT, ops.read_variables("visit screen", targets)))["node"]
            assert bilan["status"] == "DRAFT"
            assert (
                len(bilan["fiches"])
                == await ActivityFiche.filter(portfolio__bilan__id=targets.visit_bilan_id, deleted_at=None).count()
            )
            learner = (await _post(http, token, ops.LEARNER_VIEW, ops.read_variables("learner view", targets)))["node"]
            assert [len(p["activityFiches"]["nodes"]) for p in learner["portfolios"]] == [6] * 4
            board = (await _post(http, token, ops.DASHBOARD, ops.read_variables("level dashboard", targets)))["node"]
            dashboards = board["dashboard"]["learners"]["nodes"]
            assert len(dashboards) == 4 * LEARNERS_PER_CLASSROOM
            assert all(len(c["history"]) <= 3 for d in dashboards for c in d["competences"])
            assert any(c["history"] for d in dashboards for c in d["competences"])
            version = (await CompanyBilan.get(id=targets.visit_bilan_id)).version
            saved = await _post(http, token, ops.SAVE, ops.save_variables(targets, targets.visit_bilan_id, version, 1))
            assert saved["bilanUpdate"]["errors"] == []
            assert saved["bilanUpdate"]["bilan"]["version"] == version + 1
        assert await CompanyBilan.filter(status=BilanStatus.COMPLETED).count() == learners * 3


async def test_the_generator_refuses_a_database_that_holds_a_school(scratch_database):
    await generate(scratch_database, "school", learners_per_classroom=1, report=QUIET)
    with pytest.raises(GenerationError, match="already holds a school"):
        await generate(scratch_database, "school", learners_per_classroom=1, report=QUIET)


async def test_the_academy_scale_refuses_sqlite(tmp_path):
    with pytest.raises(GenerationError, match="PostgreSQL"):
        await generate(f"sqlite://{tmp_path / 'academy.sqlite3'}", "academy", report=QUIET)
