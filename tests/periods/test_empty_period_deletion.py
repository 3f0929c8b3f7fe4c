"""R8: deleting a period nobody is assigned to moves no fiche."""

import datetime as dt

from graph.types.common import encode_id
from models.periods import Period
from models.schools import Level


async def test_deleting_a_period_without_learners_moves_no_fiche(teacher):
    level = await Level.get(name="Première année de CAP")
    empty = await Period.create(
        school_id=level.school_id,
        level=level,
        name="Stage annulé",
        start_date=dt.date(2026, 5, 4),
        end_date=dt.date(2026, 5, 15),
        school_year=2025,
        certifying=True,
        objectives="",
    )
    data = await teacher.data(
        "mutation($id: ID!) { periodDelete(input: {id: $id}) { movedFicheCount errors { code } } }",
        id=encode_id("Period", empty.id),
    )
    assert data["periodDelete"] == {"movedFicheCount": 0, "errors": []}
    assert not await Period.exists(id=empty.id)
