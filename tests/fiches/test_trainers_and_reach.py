"""R15 and row reach: who reads which fiches, through lists and node(id:), at a constant SQL cost."""

import pytest
from tortoise import timezone

from graph.types.common import encode_id
from models.fiches import ActivityFiche, Annex, AnnexKind, FicheTask
from models.frameworks import Task
from models.portfolios import Portfolio
from models.users import Role
from tests.fiches.conftest import PORTFOLIO_FICHES, Demo, fiche

# Which demo fiches each role reads: tutor Eude Toutcourt follows DUPIRE, master Sylvie Ampère follows HÔT.
READS = {
    Role.ADMIN: {"fiche1", "fiche2", "hot_fiche", "carlier_fiche"},
    Role.TEACHER: {"fiche1", "fiche2", "hot_fiche", "carlier_fiche"},
    Role.LEARNER: {"fiche1", "fiche2"},
    Role.TUTOR: {"fiche1", "fiche2"},
    Role.MASTER: {"hot_fiche"},
}


@pytest.mark.parametrize("role", list(READS), ids=lambda r: r.value)
async def test_each_role_reads_exactly_the_fiches_it_reaches(role, clients, demo):
    for name in ("fiche1", "fiche2", "hot_fiche", "carlier_fiche"):
        seen = await fiche(clients[role], getattr(demo, name))
        assert (seen is not None) == (name in READS[role]), name


@pytest.mark.parametrize("role", [Role.TUTOR, Role.MASTER], ids=lambda r: r.value)
async def test_trainers_read_fiches_but_never_deleted_ones_nor_read_states(role, clients, demo):
    # given, in the portfolio the trainer follows, one fiche deleted by the learner and one kept

    if role is Role.MASTER:
        portfolio, deleted = demo.hot_portfolio, demo.hot_fiche
        row = await ActivityFiche.get(id=Demo.pk(deleted))
        kept = await ActivityFiche.create(
            school_id=row.school_id,
            learner_id=row.learner_id,
            portfolio_id=row.portfolio_id,
            title="Fiche 2 : Chantier",
        )
    else:
        portfolio, deleted = demo.dupire_portfolio, demo.fiche2
        kept = await ActivityFiche.get(id=Demo.pk(demo.fiche1))
    await ActivityFiche.filter(id=Demo.pk(deleted)).update(deleted_at=timezone.now())
    api = clients[role]
    # when the trainer lists the portfolio's fiches and refetches the deleted one
    listed = (await api.data(PORTFOLIO_FICHES, id=portfolio))["node"]["activityFiches"]["nodes"]
    # then only the kept fiche exists for them, with its own number (the deleted one keeps [1] too), without read state
    number = 2 if role is Role.MASTER else 1
    assert [(f["title"], f["number"], f["readState"], f["deletedAt"]) for f in listed] == [
        (kept.title, number, None, None)
    ]
    assert await fiche(api, deleted) is None
    seen = await fiche(api, encode_id("ActivityFiche", kept.id))
    assert seen["readState"] is None and seen["evaluationTargets"] == [] and seen["annexes"] == []


async def test_a_tutor_no_longer_assigned_reads_nothing(tutor, demo):
    portfolio = await Portfolio.get(id=Demo.pk(demo.dupire_portfolio))
    await portfolio.trainers.remove(tutor.user)
    assert await fiche(tutor, demo.fiche1) is None


async def _grow(portfolio_id: int, extra: int) -> None:
    """`extra` more fiches in the portfolio, each with two tasks, a link annex and a target-free grid."""
    base = await ActivityFiche.get(portfolio_id=portfolio_id, title="À compléter")
    tasks = await Task.filter(framework__code="CAP-ELEC").order_by("position").limit(2)
    for i in range(extra):
        row = await ActivityFiche.create(
            school_id=base.school_id,
            learner_id=base.learner_id,
            portfolio_id=portfolio_id,
            title=f"Fiche {i + 3}",
            description="x",
        )
        await FicheTask.bulk_create([FicheTask(fiche=row, task=t, ticked_by_learner=True) for t in tasks])
        await Annex.create(fiche=row, kind=AnnexKind.URL, title="lien", url="https://example.org")


async def test_listing_fiches_costs_the_same_for_2_or_30(teacher, demo, sql_counter):
    query = """query($id: ID!) { node(id: $id) { ... on Portfolio { activityFiches { nodes {
      title number readState annexCount annexes { title } activityTypes { code } portfolio { id }
      tasks { task { code } tickedByLearner } evaluationTargets { competence { code } } learner { fullName } } } } } }"""
    # given the demo portfolio with its 2 fiches
    sql_counter.reset()
    small = await teacher.data(query, id=demo.dupire_portfolio)
    few = sql_counter.count
    assert len(small["node"]["activityFiches"]["nodes"]) == 2
    # when the portfolio holds 30 fiches
    await _grow(Demo.pk(demo.dupire_portfolio), 28)
    sql_counter.reset()
    large = await teacher.data(query, id=demo.dupire_portfolio)
    # then the same number of statements answers
    assert len(large["node"]["activityFiches"]["nodes"]) == 30
    assert [f["number"] for f in large["node"]["activityFiches"]["nodes"]] == list(range(30, 0, -1))
    assert sql_counter.count == few
