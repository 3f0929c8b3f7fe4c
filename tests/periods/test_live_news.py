"""A period edit passed on to its liaison fiches (R6) is news of each liaison fiche it changed, to whoever reads it;
a liaison fiche whose objectives were individualized keeps them, and changes nothing anyone hears of."""

from __future__ import annotations

import asyncio

from graph.types.common import encode_id
from models import live
from models.frameworks import Task
from models.periods import Period
from models.portfolios import LiaisonFiche
from models.users import Role, User
from permissions.viewer import Viewer
from resolvers.live import news_for
from tests.conftest import DEMO_EMAIL

UPDATE = """mutation($id: ID!, $v: Int!, $o: String!) { periodUpdate(input: {id: $id, version: $v, objectives: $o}) {
  errors { code } } }"""


async def exactly(queue: asyncio.Queue, count: int) -> list:
    """The next `count` events of the queue, and no more within 0.2 s after them."""
    heard = [await asyncio.wait_for(queue.get(), 10) for _ in range(count)]
    await asyncio.sleep(0.2)
    assert queue.empty(), queue.get_nowait()
    return heard


def viewer_of(user: User) -> Viewer:
    return Viewer(id=user.id, role=user.role, school_id=user.school_id)


async def test_a_period_edit_is_news_of_the_liaison_fiches_it_changed(teacher):
    period = await Period.get(name="Stage de découverte")
    liaisons = {f.portfolio_id: f for f in await LiaisonFiche.filter(portfolio__period_id=period.id)}
    kept = await LiaisonFiche.get(portfolio__learner__last_name="CARLIER", portfolio__period_id=period.id)
    kept.objectives, kept.objectives_individualized = "Les siens", True
    await kept.save()
    tutor = viewer_of(await User.get(email=DEMO_EMAIL[Role.TUTOR]))
    async with live.hub.subscribe(period.school_id) as queue:
        answer = await teacher.data(UPDATE, id=encode_id("Period", period.id), v=period.version, o="Nouveaux objectifs")
        assert answer["periodUpdate"]["errors"] == []
        heard = await exactly(queue, len(liaisons) - 1)
    assert {e.id for e in heard} == {f.id for f in liaisons.values()} - {kept.id}
    assert {e.kind for e in heard} == {live.NewsKind.LIAISON_FICHE_CHANGED}
    # the tutor of Angélique hears of hers only, as it now reads
    told = [news for event in heard if (news := await news_for(tutor, event, None)) is not None]
    assert len(told) == 1 and told[0].liaison_fiche is not None
    assert told[0].liaison_fiche.objectives == "Nouveaux objectifs"


TASKS = """mutation($id: ID!, $v: Int!, $t: [ID!]!) { periodUpdate(input: {id: $id, version: $v, taskIds: $t}) {
  errors { code } } }"""


async def test_a_period_edit_of_its_tasks_alone_is_news_of_the_liaison_fiches_it_changed(teacher):
    # given a period whose liaison fiches all follow its plan but one, whose tasks were individualized
    period = await Period.get(name="Stage de découverte")
    liaisons = {f.id for f in await LiaisonFiche.filter(portfolio__period_id=period.id)}
    kept = await LiaisonFiche.get(portfolio__learner__last_name="CARLIER", portfolio__period_id=period.id)
    kept.tasks_individualized = True
    await kept.save()
    first = await Task.filter(framework_id=(await period.level).framework_id).order_by("position").first()
    assert first is not None
    async with live.hub.subscribe(period.school_id) as queue:
        # when only its tasks change
        answer = await teacher.data(
            TASKS, id=encode_id("Period", period.id), v=period.version, t=[encode_id("Task", first.id)]
        )
        assert answer["periodUpdate"]["errors"] == []
        heard = await exactly(queue, len(liaisons) - 1)
    # then each liaison fiche that took the new tasks is news, the individualized one is not
    assert {e.id for e in heard} == liaisons - {kept.id}
    assert {e.kind for e in heard} == {live.NewsKind.LIAISON_FICHE_CHANGED}
    assert {e.school_id for e in heard} == {period.school_id}
