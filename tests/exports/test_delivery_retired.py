"""Every document of a portfolio whose fiche names entries a framework re-import retired (issue 14, « Bad
input »): each is a valid DOCX, never a 500, and still prints what the fiche holds.

A re-import retires a task or competence that fiches, liaison fiches and bilans name: it keeps the row and
marks it (`retired_at`), as tests/bilans/test_framework_retirement.py proves through the API. Here the mark is set
on the rows the demo learner's fiche links, which is the state such a re-import leaves."""

from __future__ import annotations

import datetime as dt

import pytest

from models.frameworks import Competence, Task, TaskCompetence
from tests.exports.delivery import docx_of, fetch, learner_id, level_id, period_id, portfolio_id


@pytest.fixture
async def retired():
    # DUPIRE's « Fiche 1 » links TA 1-1 and TA 1-2 of CAP Électricien (the demo data)
    task = await Task.get(code="TA 1-2", framework__code="CAP-ELEC")
    link = await TaskCompetence.filter(task=task).first()
    assert link is not None
    competence = await Competence.get(id=link.competence_id)
    now = dt.datetime.now(dt.UTC)
    await Task.filter(id=task.id).update(retired_at=now)
    await Competence.filter(id=competence.id).update(retired_at=now)
    return task, competence


async def test_every_document_of_a_portfolio_naming_retired_entries_is_valid(teacher, retired):
    task, _ = retired
    portfolio, period = await portfolio_id("DUPIRE"), await period_id()
    paths = [
        f"/exports/meeting-sheet/{portfolio}",
        f"/exports/pre-convention/portfolio/{portfolio}",
        f"/exports/pre-convention/period/{period}",
        f"/exports/attestation/{portfolio}",
        f"/exports/period-attestations/{period}",
        f"/exports/learner-synthesis/{await learner_id('DUPIRE')}",
        f"/exports/level-synthesis/{await level_id()}",
    ]
    for path in paths:
        response = await fetch(teacher, path)
        assert response.status_code == 200, (path, response.status_code)
        docx_of(response)  # opens as a Word document
    # the fiche still names the retired task, and so do the documents that list a fiche's tasks
    for path in (f"/exports/attestation/{portfolio}", f"/exports/meeting-sheet/{portfolio}"):
        _, text = docx_of(await fetch(teacher, path))
        assert task.code in text, path
