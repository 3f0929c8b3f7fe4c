"""Live news of bilans (completed, reopened), read per subscriber through their own reach; and no news of a
write that rolled back. The events are taken from this process's hub, where the app's mutations publish them
(on PostgreSQL through NOTIFY and the app's own LISTEN connection); the end-to-end path over a WebSocket is in
tests/conformance/test_live_news.py."""

from __future__ import annotations

import asyncio

from graph.errors import not_found
from models import live
from models.fiches import ActivityFiche
from models.schools import School
from models.users import Role, User
from permissions.viewer import Viewer
from resolvers.live import news_for
from resolvers.mutations import run_mutation
from tests.bilans.conftest import COMPLETE, REOPEN
from tests.conftest import DEMO_EMAIL


def viewer_of(user: User) -> Viewer:
    return Viewer(id=user.id, role=user.role, school_id=user.school_id)


async def next_event(queue: asyncio.Queue) -> live.Event:
    return await asyncio.wait_for(queue.get(), 10)


async def test_a_completed_bilan_is_news_to_its_learner_and_a_reopened_one_to_staff_only(teacher, demo):
    learner = viewer_of(demo.learner)
    other_learner = viewer_of(await User.get(last_name="CARLIER"))
    tutor = viewer_of(await User.get(email=DEMO_EMAIL[Role.TUTOR]))
    staff = viewer_of(teacher.user)
    async with live.hub.subscribe(demo.learner.school_id) as queue:
        done = (await teacher.data(COMPLETE, id=demo.bilan_id, v=await demo.version()))["bilanComplete"]
        assert done["errors"] == []
        event = await next_event(queue)
        assert (event.kind, event.id) == (live.NewsKind.BILAN_COMPLETED, demo.bilan.id)
        for who in (learner, tutor, staff):
            news = await news_for(who, event, None)
            assert news is not None and news.kind.value == "BILAN_COMPLETED" and news.bilan is not None
        # another learner of the school: nothing
        assert await news_for(other_learner, event, None) is None

        reopened = await teacher.data(REOPEN, id=demo.bilan_id, v=done["bilan"]["version"], r="Une erreur de saisie")
        assert reopened["bilanReopen"]["errors"] == []
        event = await next_event(queue)
        assert event.kind is live.NewsKind.BILAN_REOPENED
        for who in (tutor, staff):
            news = await news_for(who, event, None)
            assert news is not None and news.kind.value == "BILAN_REOPENED"
        # a draft is not the learner's to read (R21): they hear nothing of it
        assert await news_for(learner, event, None) is None


async def test_a_write_that_rolls_back_publishes_nothing(teacher, demo):
    fiche = demo.fiches[0]

    async def body():
        await ActivityFiche.filter(id=fiche.id).update(title="Jamais enregistré")
        live.note(live.NewsKind.FICHE_CHANGED, fiche.id, fiche.school_id)
        raise not_found("id", "fiche")

    async with live.hub.subscribe(fiche.school_id) as queue:
        answer = await run_mutation(lambda errors: errors, body)
        assert answer and (await ActivityFiche.get(id=fiche.id)).title == fiche.title

        # a write that commits afterwards is the first thing the hub hears
        async def committed():
            live.note(live.NewsKind.FICHE_CHANGED, fiche.id, fiche.school_id)
            return []

        await run_mutation(lambda errors: errors, committed)
        assert await next_event(queue) == live.Event(live.NewsKind.FICHE_CHANGED, fiche.id, fiche.school_id)
        assert queue.empty()


async def test_another_schools_admin_hears_nothing_of_this_school(teacher, demo):
    other = await School.create(name="Autre lycée", uai="0999999Z")
    admin = await User.create(school=other, role=Role.ADMIN, email="admin@autre.test", first_name="A", last_name="B")
    async with live.hub.subscribe(other.id) as elsewhere, live.hub.subscribe(demo.learner.school_id) as here:
        done = (await teacher.data(COMPLETE, id=demo.bilan_id, v=await demo.version()))["bilanComplete"]
        assert done["errors"] == []
        event = await next_event(here)
        # the hub hands it to this school's subscribers only, and read through the other admin's reach it is nothing
        assert elsewhere.empty()
        assert await news_for(viewer_of(admin), event, None) is None
        assert await news_for(viewer_of(await User.get(email=DEMO_EMAIL[Role.ADMIN])), event, None) is not None
