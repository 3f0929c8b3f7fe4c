"""Faults: a server process killed (SIGKILL) in the middle of an operation.

On PostgreSQL the middle is reached deterministically: the test holds a row the operation needs after its
first writes, waits until pg_stat_activity shows the server blocked on it, and kills the server there. SQLite
cannot be caught waiting (fault_tools.killed_in_the_middle): the server is killed a few milliseconds after the
request left and both outcomes are accepted. A new server then starts on the same database and folder: what
it finds must be the whole operation or none of it. The tests run on the database under test
(PFMP_TEST_DATABASE).
"""

from __future__ import annotations

from graph.types.common import encode_id
from models.bilans import BilanCompetenceMode, BilanResultEntry, CompanyBilan
from models.fiches import ActivityFiche
from models.frameworks import Competence, Framework
from models.periods import Period
from models.portfolios import Portfolio
from models.users import Role, User
from resolvers.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conformance.fault_tools import killed_in_the_middle, post_graphql, sign_in

EMAIL = {role: email for role, email, *_ in DEMO_ACCOUNTS}
PERIOD_DELETE = "mutation($id: ID!) { periodDelete(id: $id) { deletedPeriodId movedFicheCount errors { code } } }"
BILAN_UPDATE = """mutation($id: ID!, $v: Int!, $input: BilanInput!) { bilanUpdate(id: $id, version: $v, input: $input) {
  bilan { version } errors { field code message } } }"""


# ---- a period deletion (R8): the fiches move to free fiches, then the portfolios and the period go ----

async def period_state(period_id: int, portfolio_ids: list[int], fiche_ids: list[int]) -> str:
    """'untouched' or 'deleted'; anything in between fails the test."""
    period = await Period.exists(id=period_id)
    portfolios = await Portfolio.filter(id__in=portfolio_ids).count()
    fiches = {f.id: f for f in await ActivityFiche.filter(id__in=fiche_ids)}
    assert len(fiches) == len(fiche_ids), "fiches are never deleted with their period"
    attached = sum(1 for f in fiches.values() if f.portfolio_id is not None)
    if period and portfolios == len(portfolio_ids) and attached == len(fiche_ids):
        assert all(f.former_period_name is None for f in fiches.values())
        return "untouched"
    if not period and portfolios == 0 and attached == 0:
        assert all(f.former_period_name == "Stage de découverte" for f in fiches.values())
        return "deleted"
    raise AssertionError(f"half a deletion: period {period}, {portfolios}/{len(portfolio_ids)} portfolios, "
                         f"{attached}/{len(fiche_ids)} fiches still in the period")


async def test_a_period_deletion_killed_midway_is_undone_whole(app, backend, database_url, fault_server):
    period = await Period.get(name="Stage de découverte")
    portfolio_ids = sorted(await Portfolio.filter(period=period).values_list("id", flat=True))
    fiche_ids = sorted(await ActivityFiche.filter(portfolio_id__in=portfolio_ids).values_list("id", flat=True))
    base = fault_server.start()
    token = sign_in(base, EMAIL[Role.TEACHER], DEMO_PASSWORD)
    variables = {"id": encode_id("Period", period.id)}
    # when the server is killed in the middle of the deletion (on PostgreSQL: every fiche moved out of the
    # period, waiting to delete a portfolio the test holds)
    await killed_in_the_middle(backend, database_url, fault_server,
                               lambda: post_graphql(base, token, PERIOD_DELETE, variables),
                               table=Portfolio._meta.db_table, pk=portfolio_ids[-1],
                               statement='DELETE FROM "portfolio"')
    # then a new server finds the period whole, or gone whole
    base = fault_server.start()
    state = await period_state(period.id, portfolio_ids, fiche_ids)
    assert state == "untouched" or backend == "sqlite"
    if state == "untouched":
        # and deletes it whole when asked again
        answer = (await post_graphql(base, token, PERIOD_DELETE, variables)).json()
        assert answer["data"]["periodDelete"]["errors"] == []
        assert answer["data"]["periodDelete"]["movedFicheCount"] == len(fiche_ids)
        assert await period_state(period.id, portfolio_ids, fiche_ids) == "deleted"


# ---- a bilan batch save (R19–R20): version bumped, modes replaced, results appended to the log ----

async def test_a_bilan_save_killed_midway_leaves_version_and_result_log_agreeing(app, backend, database_url,
                                                                                 fault_server):
    learner = await User.get(email=EMAIL[Role.LEARNER])
    bilan = await CompanyBilan.get(portfolio__learner=learner)
    teacher = await User.get(email=EMAIL[Role.TEACHER])
    framework = await Framework.get(school_id=None, code="CAP-ELEC")
    competences = [encode_id("Competence", pk) for pk in
                   await Competence.filter(framework=framework).order_by("id").values_list("id", flat=True)]
    batch = {"modes": [{"competenceId": c, "mode": "GLOBAL"} for c in competences],
             "results": [{"competenceId": c, "level": "ACQUIRED"} for c in competences]}
    variables = {"id": encode_id("CompanyBilan", bilan.id), "v": bilan.version, "input": batch}
    base = fault_server.start()
    token = sign_in(base, EMAIL[Role.TEACHER], DEMO_PASSWORD)
    # when the server is killed in the middle of the save (on PostgreSQL: version bumped and modes written,
    # waiting to append results whose author row the test holds)
    await killed_in_the_middle(backend, database_url, fault_server,
                               lambda: post_graphql(base, token, BILAN_UPDATE, variables),
                               table=User._meta.db_table, pk=teacher.id,
                               statement=f'INSERT INTO "{BilanResultEntry._meta.db_table}"')
    base = fault_server.start()
    # then the version, the modes and the result log agree: all as before, or all saved
    state = await bilan_state(bilan, len(competences))
    assert state == "untouched" or backend == "sqlite"
    if state == "untouched":
        # and the same save, sent again, is taken whole
        answer = (await post_graphql(base, token, BILAN_UPDATE, variables)).json()["data"]["bilanUpdate"]
        assert answer["errors"] == [] and answer["bilan"]["version"] == bilan.version + 1
        assert await bilan_state(bilan, len(competences)) == "saved"


async def bilan_state(before: CompanyBilan, items: int) -> str:
    """'untouched' or 'saved'; anything in between fails the test."""
    version = (await CompanyBilan.get(id=before.id)).version
    entries = await BilanResultEntry.filter(bilan_id=before.id).count()
    modes = await BilanCompetenceMode.filter(bilan_id=before.id).count()
    if (version, entries, modes) == (before.version, 0, 0):
        return "untouched"
    if (version, entries, modes) == (before.version + 1, items, items):
        return "saved"
    raise AssertionError(f"half a save: version {before.version} → {version}, {entries}/{items} results, "
                         f"{modes}/{items} modes")
