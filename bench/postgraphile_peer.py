"""PostGraphile 4.14 (Node 20) as a peer of the server on the same PostgreSQL database, for bench/readpath.py.

- `install(folder)`: `npm install postgraphile@4.14` into a folder of the bench's (npm's registry only).
- `prepare(connection)` / `remove(connection)`: what PostGraphile needs on the generated school, and its removal
  at the end of the run, leaving the database as found:
  - two computed columns (SQL functions PostGraphile exposes as fields): a portfolio's completed fiche count
    (not deleted, description filled in, as `completedFicheCount`) and whether a fiche is completed;
  - the teacher's reach as row-level security (access.md: the learners of the classrooms they teach and
    everything hanging off them; the trainers of their school; the frameworks): a role `pfmp_peer_teacher`,
    policies on every table the two views read, and three SECURITY DEFINER helpers (viewer, school, reached
    learners) so that no policy recurses through another's table. The viewer's id comes from the JWT's
    `user_id` claim, which PostGraphile sets as `jwt.claims.user_id` for the transaction, and its `role`
    claim switches to `pfmp_peer_teacher`. The server itself connects as the database owner, which row-level
    security does not restrict: its own answers are unchanged.
- `command(...)`: the PostGraphile CLI, without (connecting as the owner, every row) or with the JWT secret
  (each request runs as the token's role and user).
- `PERIOD_VIEW`, `LEARNER_VIEW`: the two views as PostGraphile's generated schema expresses them.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import jwt

VERSION = "4.14"
ROLE, ANONYMOUS = "pfmp_peer_teacher", "pfmp_peer_anonymous"

# Tables the two views read, and the teacher's reach on each (access.md). `reached_learners()` is the learners
# of the classrooms the teacher teaches; the other tables hang off them, through tables whose own policy applies.
POLICIES = {
    "teacher_classroom": "app_user_id = pfmp_peer_viewer()",
    "classroom": "id IN (SELECT classroom_id FROM teacher_classroom)",
    "level": "id IN (SELECT level_id FROM classroom)",
    "period": "level_id IN (SELECT level_id FROM classroom)",
    "app_user": "(role = 'LEARNER' AND id IN (SELECT pfmp_peer_reached_learners())) "
    "OR (role IN ('TUTOR', 'MASTER') AND school_id = (SELECT pfmp_peer_school())) "
    "OR id = pfmp_peer_viewer()",
    "portfolio": "learner_id IN (SELECT pfmp_peer_reached_learners())",
    "portfolio_trainer": "portfolio_id IN (SELECT id FROM portfolio)",
    "liaison_fiche": "portfolio_id IN (SELECT id FROM portfolio)",
    "company_bilan": "portfolio_id IN (SELECT id FROM portfolio)",
    "activity_fiche": "learner_id IN (SELECT pfmp_peer_reached_learners())",
    "activity_fiche_task": "fiche_id IN (SELECT id FROM activity_fiche)",
    "activity_fiche_read": "teacher_id = pfmp_peer_viewer() AND fiche_id IN (SELECT id FROM activity_fiche)",
    "annex": "fiche_id IN (SELECT id FROM activity_fiche)",
}
# Read by everyone (the frameworks).
OPEN_TABLES = ("framework_task",)

PREPARE = f"""
DO $$ BEGIN CREATE ROLE {ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE {ANONYMOUS} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT USAGE ON SCHEMA public TO {ROLE};
GRANT SELECT ON {", ".join((*POLICIES, *OPEN_TABLES))} TO {ROLE};

-- Security definer: its argument is a portfolio row the caller already reaches, so its fiches need no second
-- check (as the invoker, each call ran the fiches' policy again: 150 ms instead of 2 for 120 portfolios).
CREATE OR REPLACE FUNCTION portfolio_completed_fiche_count(p portfolio) RETURNS integer
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT count(*)::integer FROM activity_fiche f
  WHERE f.portfolio_id = p.id AND f.deleted_at IS NULL AND f.description <> '' $$;
CREATE OR REPLACE FUNCTION activity_fiche_completed(f activity_fiche) RETURNS boolean
  LANGUAGE sql STABLE AS $$ SELECT f.description <> '' $$;

CREATE OR REPLACE FUNCTION pfmp_peer_viewer() RETURNS integer LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('jwt.claims.user_id', true), '')::integer $$;
CREATE OR REPLACE FUNCTION pfmp_peer_school() RETURNS integer LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = public AS
  $$ SELECT school_id FROM app_user WHERE id = pfmp_peer_viewer() AND role = 'TEACHER' AND is_active $$;
CREATE OR REPLACE FUNCTION pfmp_peer_reached_learners() RETURNS SETOF integer LANGUAGE sql STABLE
  SECURITY DEFINER SET search_path = public AS $$
  SELECT u.id FROM app_user u
  WHERE u.role = 'LEARNER' AND u.school_id = pfmp_peer_school()
    AND u.classroom_id IN (SELECT classroom_id FROM teacher_classroom WHERE app_user_id = pfmp_peer_viewer()) $$;
GRANT EXECUTE ON FUNCTION pfmp_peer_viewer(), pfmp_peer_school(), pfmp_peer_reached_learners() TO {ROLE};
""" + "".join(
    f"""
DROP POLICY IF EXISTS teacher_reach ON {table};
CREATE POLICY teacher_reach ON {table} FOR SELECT TO {ROLE} USING ({rule});
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"""
    for table, rule in POLICIES.items()
)

REMOVE = (
    "".join(
        f"""
DROP POLICY IF EXISTS teacher_reach ON {table};
ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"""
        for table in POLICIES
    )
    + """
DROP FUNCTION IF EXISTS portfolio_completed_fiche_count(portfolio);
DROP FUNCTION IF EXISTS activity_fiche_completed(activity_fiche);
DROP FUNCTION IF EXISTS pfmp_peer_reached_learners();
DROP FUNCTION IF EXISTS pfmp_peer_school();
DROP FUNCTION IF EXISTS pfmp_peer_viewer();
"""
    + "".join(
        f"""
DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
    EXECUTE 'DROP OWNED BY {role}';
    -- Roles belong to the cluster: one another database of it still grants to is left in place.
    BEGIN EXECUTE 'DROP ROLE {role}'; EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END;
  END IF;
END $$;"""
        for role in (ROLE, ANONYMOUS)
    )
)

# The server's period view (bench/operations.py PERIOD_VIEW), field for field where PostGraphile has one. It
# has no `locked` and no `fullName` (first and last names instead), orders the portfolios by id (not by
# learner name), and reaches trainers through the link table's rows.
PERIOD_VIEW = """query PeriodView($id: Int!) { periodById(id: $id) { id name startDate endDate
  portfoliosByPeriodId { nodes { id completedFicheCount companyBilanByPortfolioId { status }
    appUserByLearnerId { id firstName lastName learnerStatus classroomByClassroomId { id name } }
    liaisonFicheByPortfolioId { id companyName activityDomain tutorName }
    portfolioTrainersByPortfolioId { nodes { appUserByUserId { id firstName lastName companyName } } } } } } }"""

# The server's learner view (its fiches newest first): no fiche number field of its own (`reference` is the column), the read state is
# the teacher's read row (the server answers READ/UNREAD/UPDATED from it), the annex count a totalCount.
LEARNER_VIEW = """query LearnerView($id: Int!, $teacher: Int!) { appUserById(id: $id) {
  id firstName lastName learnerStatus classroomByClassroomId { name }
  portfoliosByLearnerId { nodes { id companyBilanByPortfolioId { status }
    periodByPeriodId { id name startDate endDate }
    liaisonFicheByPortfolioId { companyName }
    activityFichesByPortfolioId(orderBy: [CREATED_AT_DESC, ID_DESC]) { nodes {
      id reference title autonomy completed updatedAt
      activityFicheReadsByFicheId(condition: {teacherId: $teacher}) { nodes { readAt } }
      annexesByFicheId { totalCount }
      activityFicheTasksByFicheId { nodes { frameworkTaskByTaskId { code } tickedByLearner checkedByTeacher } }
    } } } }
  activityFichesByLearnerId(condition: {portfolioId: null}) { nodes { id title formerPeriodName } } } }"""


def install(folder: Path, timeout: float = 600) -> Path:
    """The PostGraphile CLI, installed with npm into `folder` (kept if already there)."""
    cli = folder / "node_modules" / "postgraphile" / "cli.js"
    if not cli.exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"name": "pfmp-bench-peer", "private": true}\n')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", f"postgraphile@{VERSION}"],
            cwd=folder,
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
        )
    return cli


def command(cli: Path, database_url: str, port: int, jwt_secret: str | None) -> list[str]:
    line = [
        "node",
        str(cli),
        "--connection",
        database_url,
        "--schema",
        "public",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-query-log",
        "--disable-graphiql",
    ]
    if jwt_secret:
        line += ["--jwt-secret", jwt_secret, "--default-role", ANONYMOUS]
    return line


def token(secret: str, user_id: int, lifetime: int = 6 * 3600) -> str:
    """A JWT PostGraphile accepts (its default audience), switching to the teacher's role and id."""
    now = int(time.time())
    return jwt.encode(
        {"role": ROLE, "user_id": user_id, "aud": "postgraphile", "iat": now, "exp": now + lifetime},
        secret,
        algorithm="HS256",
    )


def check_period_view(data: dict, portfolios: int) -> None:
    nodes = data["periodById"]["portfoliosByPeriodId"]["nodes"]
    assert len(nodes) == portfolios, f"PostGraphile listed {len(nodes)} portfolios, expected {portfolios}"


def check_learner_view(data: dict) -> None:
    nodes = data["appUserById"]["portfoliosByLearnerId"]["nodes"]
    assert nodes and all(p["activityFichesByPortfolioId"]["nodes"] for p in nodes), "no fiches"
