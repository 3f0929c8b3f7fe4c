"""Incremental sync (issue 13, part 2): update times set by the database on every write (migration 0017), whatever
the path (`save()`, `QuerySet.update()`, a row the node shows), and `updatedSince` on the lists a phone syncs: a
period's portfolios, a portfolio's activity fiches, a learner's portfolios; deletions learned through
`deletedActivityFicheIds`. The writes go through the model and the rules the mutations call, not through mutation
documents: the triggers are below every path."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

from tortoise import connections
from tortoise.expressions import F

from graph.types.common import encode_id
from models.bilans import CompanyBilan
from models.fiches import ActivityFiche, Annex, AnnexKind, FicheTask
from models.frameworks import FrameworkActivity, Task
from models.portfolios import LiaisonFiche, Portfolio
from models.users import Role, User
from resolvers.fiches.rules import learner_ticks, teacher_checks
from tests.periods.helpers import period_id, portfolio_of

OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
SINCE = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
_aged = [OLD]


async def _age_everything() -> None:
    """Every fiche and portfolio dated long ago (fiches first: their update touches their portfolio), so that any
    write of the test dates a row after SINCE, whatever the clock's resolution. A time other than the row's own
    each time: an update leaving `updated_at` as it was is a write the database dates itself."""
    _aged.append(_aged[-1] + dt.timedelta(seconds=1))
    for model in (ActivityFiche, LiaisonFiche, Portfolio):
        await model.all().update(updated_at=_aged[-1])


async def _moved(fiche_id: int, portfolio_id: int, write: Callable[[], Awaitable[object]]) -> set[str]:
    """Which of the fiche and its portfolio a write dated anew."""
    await _age_everything()
    await write()
    fiche = await ActivityFiche.get(id=fiche_id)
    portfolio = await Portfolio.get(id=portfolio_id)
    return {name for name, row in (("fiche", fiche), ("portfolio", portfolio)) if row.updated_at > SINCE}


async def test_every_kind_of_write_dates_the_fiche_and_its_portfolio(app):
    # given DUPIRE's portfolio, its first fiche, its bilan, liaison fiche and a tutor
    portfolio = await portfolio_of("DUPIRE")
    fiche = await ActivityFiche.filter(portfolio_id=portfolio.id).order_by("id").first()
    assert fiche is not None
    tasks = await Task.filter(framework__code="CAP-ELEC").order_by("id").limit(2)
    activity = await FrameworkActivity.filter(framework__code="CAP-ELEC").first()
    tutor = await User.filter(role=Role.TUTOR).first()
    assert activity is not None and tutor is not None
    liaison = await LiaisonFiche.get(portfolio_id=portfolio.id)

    async def create_fiche() -> None:
        await ActivityFiche.create(
            school_id=portfolio.school_id, learner_id=portfolio.learner_id, portfolio_id=portfolio.id, title="N"
        )

    async def annex_added() -> None:
        await Annex.create(fiche_id=fiche.id, kind=AnnexKind.URL, title="Lien", url="https://example.org/")

    async def annex_removed() -> None:
        await Annex.filter(fiche_id=fiche.id).delete()

    async def saved() -> None:
        row = await ActivityFiche.get(id=fiche.id)
        row.analysis = "Revue."
        await row.save()
        # a save keeps the time Tortoise gave it: the mutation's answer and a later read agree
        assert (await ActivityFiche.get(id=fiche.id)).updated_at == row.updated_at

    writes: list[tuple[str, Callable[[], Awaitable[object]], set[str]]] = [
        # a new fiche: its portfolio's counts change
        ("fiche created", create_fiche, {"portfolio"}),
        ("fiche saved", saved, {"fiche", "portfolio"}),
        ("fiche updated in bulk", lambda: ActivityFiche.filter(id=fiche.id).update(title="T"), {"fiche", "portfolio"}),
        (
            "fiche deleted",
            lambda: ActivityFiche.filter(id=fiche.id).update(deleted_at=dt.datetime.now(dt.UTC)),
            {
                "fiche",
                "portfolio",
            },
        ),
        ("learner ticks", lambda: learner_ticks(fiche, tasks[:1]), {"fiche", "portfolio"}),
        ("teacher checks", lambda: teacher_checks(fiche, tasks), {"fiche", "portfolio"}),
        (
            "task unticked",
            lambda: FicheTask.filter(fiche_id=fiche.id).update(ticked_by_learner=False),
            {
                "fiche",
                "portfolio",
            },
        ),
        ("activity type", lambda: fiche.activity_types.add(activity), {"fiche", "portfolio"}),
        ("annex added", annex_added, {"fiche", "portfolio"}),
        ("annex removed", annex_removed, {"fiche", "portfolio"}),
        # the bilan is written as resolvers/bilans/bilans.py writes it: a conditional bulk update
        (
            "bilan saved",
            lambda: CompanyBilan.filter(portfolio_id=portfolio.id).update(version=F("version") + 1),
            {"portfolio"},
        ),
        ("liaison edited", lambda: LiaisonFiche.filter(id=liaison.id).update(service="SAV"), {"portfolio"}),
        ("liaison tasks", lambda: liaison.tasks.clear(), {"portfolio"}),
        ("trainer removed", lambda: portfolio.trainers.remove(tutor), {"portfolio"}),
        ("portfolio's own row", lambda: Portfolio.filter(id=portfolio.id).update(days_done=9), {"portfolio"}),
    ]
    # when each write runs, everything dated long ago before it
    moved = {name: await _moved(fiche.id, portfolio.id, write) for name, write, _ in writes}
    # then each dates what it changes, and nothing else
    assert moved == {name: expected for name, _, expected in writes}
    # and another portfolio stays as it was
    other = await portfolio_of("HÔT")
    assert (await Portfolio.get(id=other.id)).updated_at < SINCE


PORTFOLIOS = """query($id: ID!, $first: Int, $after: String, $since: DateTime) { node(id: $id) { ... on Period {
  portfolios(first: $first, after: $after, updatedSince: $since) { totalCount
    nodes { updatedAt learner { lastName } } pageInfo { hasNextPage endCursor } } } } }"""


def _names(data: dict) -> list[str]:
    return [node["learner"]["lastName"] for node in data["node"]["portfolios"]["nodes"]]


async def test_a_periods_portfolios_changed_since_a_time_page_and_count_apart(admin, app):
    # given every portfolio synced long ago, then two of them changed (a fiche edited, a liaison fiche edited)
    period = await period_id()
    await _age_everything()
    dupire, hot = await portfolio_of("DUPIRE"), await portfolio_of("HÔT")
    await ActivityFiche.filter(portfolio_id=dupire.id).update(title="Modifiée")
    await LiaisonFiche.filter(portfolio_id=hot.id).update(service="SAV")
    since = SINCE.isoformat()
    # when the phone asks what changed since, a page of one at a time
    first = await admin.data(PORTFOLIOS, id=period, first=1, since=since)
    page = first["node"]["portfolios"]
    # then only those two, by name, counted apart from the whole list, each with its new time
    assert (_names(first), page["totalCount"], page["pageInfo"]["hasNextPage"]) == (["DUPIRE"], 2, True)
    assert dt.datetime.fromisoformat(page["nodes"][0]["updatedAt"]) > SINCE
    second = await admin.data(PORTFOLIOS, id=period, first=1, after=page["pageInfo"]["endCursor"], since=since)
    assert _names(second) == ["HÔT"] and second["node"]["portfolios"]["pageInfo"]["hasNextPage"] is False
    # a time without an offset is UTC; a later time, nothing
    assert _names(await admin.data(PORTFOLIOS, id=period, since="2021-01-01T00:00:00")) == ["DUPIRE", "HÔT"]
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert (await admin.data(PORTFOLIOS, id=period, since=later))["node"]["portfolios"]["totalCount"] == 0
    # the edge of the calendar, east of UTC (before year 1 there): every portfolio, no error
    edge = await admin.data(PORTFOLIOS, id=period, since="0001-01-01T00:00:00+05:00")
    assert edge["node"]["portfolios"]["totalCount"] == 5
    # and a cursor of the whole list, or of another time, is refused by the filtered list, and the reverse
    whole = (await admin.data(PORTFOLIOS, id=period, first=1))["node"]["portfolios"]["pageInfo"]["endCursor"]
    assert await admin.error_code(PORTFOLIOS, id=period, first=1, after=whole, since=since) == "BAD_USER_INPUT"
    cursor = page["pageInfo"]["endCursor"]
    assert await admin.error_code(PORTFOLIOS, id=period, first=1, after=cursor) == "BAD_USER_INPUT"
    other = "2021-01-02T00:00:00+00:00"
    assert await admin.error_code(PORTFOLIOS, id=period, first=1, after=cursor, since=other) == "BAD_USER_INPUT"


LEARNER_VIEW = """query($id: ID!, $since: DateTime, $portfolios: DateTime) { node(id: $id) { ... on Learner {
  portfolios(updatedSince: $portfolios) { id updatedAt deletedActivityFicheIds(since: "2021-01-01T00:00:00Z")
    activityFiches(updatedSince: $since) { totalCount nodes { id title updatedAt deletedAt } } } } } }"""
FICHES_ALONE = """query($id: ID!, $since: DateTime) { node(id: $id) { ... on Portfolio {
  activityFiches(updatedSince: $since) { totalCount nodes { id title updatedAt deletedAt } }
  deletedActivityFicheIds(since: "2021-01-01T00:00:00Z") } } }"""


async def test_a_learners_phone_syncs_changed_fiches_and_learns_of_deleted_ones(learner, teacher, app, sql_counter):
    # given DUPIRE's two fiches synced long ago, then one edited and the other deleted by the learner
    portfolio = await portfolio_of("DUPIRE")
    learner_gid = encode_id("Learner", portfolio.learner_id)
    edited, deleted = await ActivityFiche.filter(portfolio_id=portfolio.id).order_by("id")
    await _age_everything()
    sql_counter.reset()
    unchanged = await learner.data(LEARNER_VIEW, id=learner_gid, since=SINCE.isoformat())
    statements = sql_counter.count
    assert unchanged["node"]["portfolios"][0]["activityFiches"] == {"totalCount": 0, "nodes": []}
    await ActivityFiche.filter(id=edited.id).update(title="Modifiée")
    await ActivityFiche.filter(id=deleted.id).update(deleted_at=dt.datetime.now(dt.UTC))
    # when the learner's phone asks what changed since, through their portfolios (fiches prefetched for all)
    sql_counter.reset()
    data = await learner.data(LEARNER_VIEW, id=learner_gid, since=SINCE.isoformat())
    # then in as many statements: the edited fiche, and the deleted one's ID apart (a learner sees no deleted fiche)
    assert sql_counter.count == statements
    (synced,) = data["node"]["portfolios"]
    fiches = synced["activityFiches"]
    assert (fiches["totalCount"], [f["title"] for f in fiches["nodes"]]) == (1, ["Modifiée"])
    assert synced["deletedActivityFicheIds"] == [encode_id("ActivityFiche", deleted.id)]
    # the portfolio changed with its fiches: it is among the learner's portfolios changed since
    changed = await learner.data(LEARNER_VIEW, id=learner_gid, portfolios=SINCE.isoformat())
    assert [p["id"] for p in changed["node"]["portfolios"]] == [encode_id("Portfolio", portfolio.id)]
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert (await learner.data(LEARNER_VIEW, id=learner_gid, portfolios=later))["node"]["portfolios"] == []
    # a time written in the document, not a variable, filters the prefetched fiches alike
    literal = LEARNER_VIEW.replace("updatedSince: $since", 'updatedSince: "2021-01-01T00:00:00"').replace(
        "$since: DateTime, ", ""
    )
    fiches = (await learner.data(literal, id=learner_gid))["node"]["portfolios"][0]["activityFiches"]
    assert [f["title"] for f in fiches["nodes"]] == ["Modifiée"]
    # and the teacher, through the portfolio alone, gets both, the deleted one marked
    alone = await teacher.data(FICHES_ALONE, id=encode_id("Portfolio", portfolio.id), since=SINCE.isoformat())
    nodes = alone["node"]["activityFiches"]["nodes"]
    assert [(n["title"], n["deletedAt"] is not None) for n in nodes] == [("À compléter", True), ("Modifiée", False)]
    assert alone["node"]["deletedActivityFicheIds"] == [encode_id("ActivityFiche", deleted.id)]


async def test_the_migration_dates_old_rows_by_the_newest_time_they_show_and_can_be_undone(app):
    # given the update-time triggers undone (0017's reverse), and a fiche whose annex changed after it, unseen
    migration = importlib.import_module("models.migrations.0017_update_times")
    editor = SimpleNamespace(client=connections.get("default"))
    await migration._drop(None, editor)
    portfolio = await portfolio_of("DUPIRE")
    fiche = await ActivityFiche.filter(portfolio_id=portfolio.id).order_by("id").first()
    assert fiche is not None
    annex = await Annex.create(fiche_id=fiche.id, kind=AnnexKind.URL, title="Lien", url="https://example.org/")
    newest = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    await Annex.filter(id=annex.id).update(updated_at=newest)
    await ActivityFiche.filter(portfolio_id=portfolio.id).update(updated_at=OLD, learner_changed_at=OLD)
    for model in (LiaisonFiche, CompanyBilan):
        await model.filter(portfolio_id=portfolio.id).update(updated_at=OLD)
    await Portfolio.filter(id=portfolio.id).update(updated_at=OLD)
    assert (await ActivityFiche.get(id=fiche.id)).updated_at == OLD  # no trigger dated it
    # when the migration runs again
    await migration._create(None, editor)
    # then the fiche is dated by its annex, the portfolio by its fiche, another fiche keeps its own time
    assert (await ActivityFiche.get(id=fiche.id)).updated_at == newest
    assert (await Portfolio.get(id=portfolio.id)).updated_at == newest
    other = await ActivityFiche.filter(portfolio_id=portfolio.id).exclude(id=fiche.id).first()
    assert other is not None and other.updated_at == OLD
    # and the triggers are back
    await FicheTask.filter(fiche_id=fiche.id).update(ticked_by_learner=False)
    assert (await ActivityFiche.get(id=fiche.id)).updated_at > newest
