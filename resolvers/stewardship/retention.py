"""Erasure of one learner on request (GDPR art. 17), by an administrator of their school: the same steps as the
purge (resolvers/stewardship/erasure.py), refused while the learner has an open period."""

from __future__ import annotations

import datetime as dt

import strawberry

from graph.context import Info
from graph.errors import Reason, problem
from graph.types.common import Payload
from graph.types.users import Learner
from models.audit import AuditKind
from models.users import User
from permissions import scopes
from resolvers.fiches.annex_store import store_for
from resolvers.inputs import fetch_in_reach
from resolvers.mutations import mutation, run_mutation
from resolvers.stewardship.erasure import Plan, erase_rows, open_period_learners, remove_files


@strawberry.type(description="Result of learnerErase.")
class LearnerErasePayload(Payload):
    learner: Learner | None = strawberry.field(default=None, description="The learner as erased: pseudonymised.")
    files_removed: int = strawberry.field(
        default=0, description="Files removed from the annex store (annexes, scans of bilans signed on paper)."
    )
    files_left: int = strawberry.field(
        default=0,
        description="Files the store still held when looked up after their removal (0 when every file went; "
        "the next start-up's sweep removes the others).",
    )


@strawberry.input(description="The arguments of learnerErase. Erase a learner's personal data.")
class LearnerEraseInput:
    id: strawberry.ID = strawberry.field(description="The learner.")


@strawberry.type
class RetentionMutation:
    @mutation(
        "Erase a learner's personal data on request: names replaced by a pseudonym (« Élève 7F3A »), email, phone, "
        "birth date, identifiers, the texts they wrote and their files removed, the account closed; the counts and "
        "levels the school's figures use, and the validated allowance statements with the name, are kept. Refused "
        "(LEARNER_PERIOD_OPEN) while one of their periods has not ended or its bilan is not completed.",
        rule="learner.erase",
        transaction=False,
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def learner_erase(self, info: Info, input: LearnerEraseInput) -> LearnerErasePayload:
        id = input.id
        viewer = info.context.require_viewer()
        erased: list[Plan] = []

        async def body() -> LearnerErasePayload:
            learner = await fetch_in_reach(
                User, scopes.learners, viewer, id, "Learner", "id", "learner", for_update=True
            )
            if learner.erased_at is None:
                if await open_period_learners([learner.id], dt.date.today()):
                    raise problem("id", Reason.LEARNER_PERIOD_OPEN)
                erased.append(await erase_rows(learner))
                await learner.refresh_from_db()
            return LearnerErasePayload(learner=Learner.from_row(learner, viewer))

        result = await run_mutation(LearnerErasePayload, body)
        if erased:
            # Only once committed: a rolled-back erasure keeps its files.
            files = erased[0].files
            left = await remove_files(store_for(info.context.settings), files)
            result.files_removed, result.files_left = len(files) - len(left), len(left)
        return result
