"""Where a bilan stands, as a period view shows it: NOT_STARTED until something is saved in it, then DRAFT, then
COMPLETED (issue 13, part 2: a status telling "not started" from "draft")."""

from __future__ import annotations

from graph.types.common import encode_id
from tests.bilans.conftest import COMPLETE, REOPEN, UPDATE

PROGRESS = "query($id: ID!) { node(id: $id) { ... on Portfolio { bilanStatus bilanProgress } } }"


async def _progress(api, demo) -> tuple[str, str]:
    node = (await api.data(PROGRESS, id=encode_id("Portfolio", demo.portfolio.id)))["node"]
    return node["bilanStatus"], node["bilanProgress"]


async def test_a_bilan_is_not_started_until_something_is_saved_in_it(teacher, demo):
    # given the demo's bilan, which nobody saved
    assert await _progress(teacher, demo) == ("DRAFT", "NOT_STARTED")
    # when the teacher saves nothing new: still not started
    same = await teacher.data(UPDATE, input={"id": demo.bilan_id, "version": 1})
    assert same["bilanUpdate"]["errors"] == [] and same["bilanUpdate"]["bilan"]["version"] == 1
    assert await _progress(teacher, demo) == ("DRAFT", "NOT_STARTED")
    # when they write a comment: a draft
    saved = await teacher.data(UPDATE, input={"id": demo.bilan_id, "version": 1, "comment": "Bon début."})
    assert saved["bilanUpdate"]["errors"] == []
    assert await _progress(teacher, demo) == ("DRAFT", "DRAFT")
    # once completed, and once reopened
    version = saved["bilanUpdate"]["bilan"]["version"]
    completed = (await teacher.data(COMPLETE, id=demo.bilan_id, v=version))["bilanComplete"]
    assert completed["errors"] == []
    assert await _progress(teacher, demo) == ("COMPLETED", "COMPLETED")
    reopened = await teacher.data(REOPEN, id=demo.bilan_id, v=completed["bilan"]["version"], r="Oubli")
    assert reopened["bilanReopen"]["errors"] == []
    assert await _progress(teacher, demo) == ("DRAFT", "DRAFT")


async def test_every_role_reaching_the_portfolio_reads_it(admin, teacher, learner, tutor, demo):
    # DUPIRE's portfolio: her school's staff, herself and her tutor reach it (access.md, « Reach »)
    for api in (admin, teacher, learner, tutor):
        assert await _progress(api, demo) == ("DRAFT", "NOT_STARTED")
