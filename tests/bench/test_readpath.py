"""The read-path bench's pieces on a tiny generated school: the ORM floor served over HTTP answers the
teacher's reach behind the token check, and (PostgreSQL) the row-level-security policies given to PostGraphile
let the teacher read exactly the rows access.md gives them, and go away with the run. No times asserted."""

import shutil
import subprocess

import asyncpg
import httpx
import pytest

from bench import operations as ops
from bench import postgraphile_peer as peer
from bench.floor_app import create_floor_app
from bench.generate import generate
from bench.load import Server
from graph.database import orm
from models.users import User
from tests.bench.test_generator import QUIET
from tests.conftest import _settings, token_for

# dataset.py: 4 classrooms per level, 4 periods per level; one teacher follows a level's four classrooms.
LEARNERS_PER_CLASSROOM = 2


async def test_the_floor_answers_the_teachers_rows_behind_the_token_check(scratch_database, tmp_path):
    await generate(scratch_database, "school", learners_per_classroom=LEARNERS_PER_CLASSROOM, report=QUIET)
    settings = _settings(tmp_path, scratch_database)
    app = create_floor_app(settings)
    async with app.router.lifespan_context(app):
        targets = await ops.find_targets()
        token = token_for(await User.get(id=targets.viewer.id), settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            refused = await http.post("/floor/period-view")
            period = await http.post("/floor/period-view", headers={"Authorization": f"Bearer {token}"})
            learner = await http.post("/floor/learner-view", headers={"Authorization": f"Bearer {token}"})
            forged = await http.post("/floor/period-view", headers={"Authorization": f"Bearer {token}x"})
    assert refused.status_code == 401 and forged.status_code == 401
    assert period.status_code == 200
    # the period view lists one portfolio per learner of the level's four classrooms
    assert len(period.json()["portfolios"]) == 4 * LEARNERS_PER_CLASSROOM
    # the learner view lists the learner's four portfolios (one per period), each with its fiches
    portfolios = learner.json()["portfolios"]
    assert len(portfolios) == 4 and all(p["fiches"] for p in portfolios)


async def _as_teacher(conn, teacher_id: int, query: str) -> set:
    async with conn.transaction():
        await conn.execute(f"SET LOCAL ROLE {peer.ROLE}")
        await conn.execute("SELECT set_config('jwt.claims.user_id', $1, true)", str(teacher_id))
        return {row[0] for row in await conn.fetch(query)}


async def test_row_level_security_gives_the_teacher_their_reach_and_is_removed(backend, scratch_database):
    if backend != "postgres":
        pytest.skip("row-level security is PostgreSQL's")
    await generate(scratch_database, "school", learners_per_classroom=LEARNERS_PER_CLASSROOM, report=QUIET)
    conn = await asyncpg.connect(scratch_database.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(peer.REMOVE + peer.PREPARE)
        # a teacher of two classrooms (dataset.py: two of each level's three teachers teach two)
        teacher = await conn.fetchval(
            "SELECT app_user_id FROM teacher_classroom GROUP BY app_user_id HAVING count(*) = 2 "
            "ORDER BY app_user_id LIMIT 1"
        )
        # access.md: the learners of the classrooms they teach, and what hangs off them
        learners = {
            r[0]
            for r in await conn.fetch(
                "SELECT u.id FROM app_user u JOIN teacher_classroom t ON t.classroom_id = u.classroom_id "
                "WHERE t.app_user_id = $1 AND u.role = 'LEARNER'",
                teacher,
            )
        }
        portfolios = {
            r[0] for r in await conn.fetch("SELECT id FROM portfolio WHERE learner_id = ANY($1::int[])", list(learners))
        }
        assert len(learners) == 2 * LEARNERS_PER_CLASSROOM
        assert await _as_teacher(conn, teacher, "SELECT id FROM portfolio") == portfolios
        assert await _as_teacher(conn, teacher, "SELECT id FROM app_user WHERE role = 'LEARNER'") == learners
        assert await _as_teacher(conn, teacher, "SELECT portfolio_id FROM company_bilan") == portfolios
        assert await _as_teacher(conn, teacher, "SELECT DISTINCT learner_id FROM activity_fiche") == learners
        # a learner's id in the token reaches nothing; no id reaches nothing
        assert await _as_teacher(conn, min(learners), "SELECT id FROM portfolio") == set()
        assert await _as_teacher(conn, 0, "SELECT id FROM app_user") == set()
        await conn.execute(peer.REMOVE)
        assert not await conn.fetchval(
            "SELECT count(*) FROM pg_class WHERE relrowsecurity AND relname = ANY($1::text[])", list(peer.POLICIES)
        )
        assert not await conn.fetchval("SELECT count(*) FROM pg_proc WHERE proname LIKE 'pfmp_peer%'")
    finally:
        await conn.close()


def _npm_reaches_postgraphile() -> str | None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        return "node and npm are not installed"
    try:
        subprocess.run(
            ["npm", "view", f"postgraphile@{peer.VERSION}", "version"], check=True, timeout=60, capture_output=True
        )
    except (subprocess.SubprocessError, OSError):
        return "the npm registry is not reachable"
    return None


async def test_postgraphile_answers_the_period_view_with_the_teachers_reach(backend, scratch_database, tmp_path):
    if backend != "postgres":
        pytest.skip("PostGraphile is a PostgreSQL peer")
    reason = _npm_reaches_postgraphile()
    if reason:
        pytest.skip(reason)
    await generate(scratch_database, "school", learners_per_classroom=LEARNERS_PER_CLASSROOM, report=QUIET)
    async with orm(scratch_database):
        targets = await ops.find_targets()
    cli = peer.install(tmp_path / "npm")
    conn = await asyncpg.connect(scratch_database.replace("postgres://", "postgresql://", 1))
    secret = "peer-test-secret-" + "p" * 32
    server = None
    try:
        await conn.execute(peer.REMOVE + peer.PREPARE)
        server = Server(
            scratch_database,
            1,
            tmp_path,
            {"NODE_ENV": "production"},
            name="postgraphile",
            ready="/graphql",
            ready_status=(405,),
            command=lambda port: peer.command(cli, scratch_database, port, secret),
        )
        await server.wait(timeout=120)
        query = {"query": peer.PERIOD_VIEW, "variables": {"id": targets.period_id}}
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:
            answer = (
                await http.post(
                    "/graphql", json=query, headers={"Authorization": f"Bearer {peer.token(secret, targets.viewer.id)}"}
                )
            ).json()
            anonymous = (await http.post("/graphql", json=query)).json()
        peer.check_period_view(answer["data"], 4 * LEARNERS_PER_CLASSROOM)
        assert anonymous["data"]["periodById"] is None
    finally:
        if server is not None:
            server.stop()
        await conn.execute(peer.REMOVE)
        await conn.close()
