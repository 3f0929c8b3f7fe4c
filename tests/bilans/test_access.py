"""Who reads and who writes a bilan: drafts stay hidden from the learner, only teachers write (access.md)."""

import pytest

from graph.types.common import encode_id
from models.bilans import BilanResultEntry, CompanyBilan
from models.portfolios import Portfolio
from models.users import Role
from tests.bilans.conftest import COMPLETE, LOG, PORTFOLIO_BILAN, REOPEN, UPDATE

NODE = "query($id: ID!) { node(id: $id) { ... on CompanyBilan { status engagement } } }"
READERS_OF_DRAFTS = {Role.ADMIN, Role.TEACHER, Role.TUTOR}


@pytest.mark.parametrize(
    "role", [Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER], ids=lambda r: r.value
)
async def test_a_draft_is_read_by_staff_and_the_assigned_tutor_never_by_the_learner(clients, demo, role):
    api = clients[role]
    by_id = (await api.data(NODE, id=demo.bilan_id))["node"]
    portfolio = (await api.data(PORTFOLIO_BILAN, id=encode_id("Portfolio", demo.portfolio.id)))["node"]
    if role in READERS_OF_DRAFTS:
        assert by_id == {"status": "DRAFT", "engagement": None}
        assert portfolio["bilan"]["status"] == "DRAFT"
    elif role is Role.LEARNER:
        # the learner reaches their portfolio, but the draft answers null: nothing leaks
        assert by_id is None and portfolio["bilan"] is None
    else:
        # the master is not assigned to Angélique: neither the portfolio nor the bilan exists for them
        assert by_id is None and portfolio is None


async def test_the_master_reads_the_draft_of_the_apprentice_they_follow(master, app):
    portfolio = await Portfolio.get(learner__last_name="HÔT")
    data = await master.data(PORTFOLIO_BILAN, id=encode_id("Portfolio", portfolio.id))
    assert data["node"]["bilan"]["status"] == "DRAFT"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR], ids=lambda r: r.value)
async def test_a_completed_bilan_is_read_by_its_learner_too(clients, teacher, demo, role):
    await teacher.data(UPDATE, input={"id": demo.bilan_id, "version": 1, "engagement": 4})
    await teacher.data(COMPLETE, id=demo.bilan_id, v=2)
    data = await clients[role].data(NODE, id=demo.bilan_id)
    assert data["node"] == {"status": "COMPLETED", "engagement": 4}


async def test_the_learner_does_not_see_the_log_of_what_was_entered_while_draft(learner, teacher, demo):
    await teacher.data(
        UPDATE,
        input={
            "id": demo.bilan_id,
            "version": 1,
            "results": [{"competenceId": demo.competence_id("C07"), "level": "BEGINNING"}],
        },
    )
    await teacher.data(COMPLETE, id=demo.bilan_id, v=2)
    log = (await learner.data(LOG, id=demo.bilan_id))["node"]
    assert log == {"resultLog": None, "events": None}
    assert (await teacher.data(LOG, id=demo.bilan_id))["node"]["resultLog"]["edges"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LEARNER, Role.TUTOR, Role.MASTER], ids=lambda r: r.value)
async def test_only_teachers_write_others_are_forbidden_and_nothing_is_written(clients, demo, role):
    for query, variables in [
        (
            UPDATE,
            {
                "input": {
                    "id": demo.bilan_id,
                    "version": 1,
                    "engagement": 1,
                    "results": [{"competenceId": demo.competence_id("C07"), "level": "ACQUIRED"}],
                },
            },
        ),
        (COMPLETE, {"id": demo.bilan_id, "v": 1}),
        (REOPEN, {"id": demo.bilan_id, "v": 1, "r": "erreur de saisie"}),
    ]:
        # the access table answers before the bilan's state is looked at
        assert await clients[role].error_code(query, **variables) == "FORBIDDEN"
    row = await CompanyBilan.get(id=demo.bilan.id)
    assert (row.version, row.status, row.engagement) == (1, "DRAFT", None)
    assert await BilanResultEntry.filter(bilan_id=demo.bilan.id).count() == 0


async def test_anonymous_is_unauthenticated(anonymous, demo):
    assert await anonymous.error_code(NODE, id=demo.bilan_id) == "UNAUTHENTICATED"
    assert await anonymous.error_code(COMPLETE, id=demo.bilan_id, v=1) == "UNAUTHENTICATED"
