"""Interim reviews (R25): consolidating a learner's completed bilans, which locks their periods (R7)."""

from __future__ import annotations

import datetime as dt

import strawberry

from graph.context import Info
from graph.errors import Reason, problem
from graph.types.common import Payload
from graph.types.dashboard import InterimReview
from models import bilans as m
from models.audit import AuditKind
from models.users import User
from permissions import scopes
from resolvers.bilans.dashboard import review_record
from resolvers.inputs import check_date, fetch_in_reach
from resolvers.mutations import mutation


@strawberry.type(description="Result of interimReviewCreate.")
class InterimReviewCreatePayload(Payload):
    interim_review: InterimReview | None = strawberry.field(default=None, description="The new interim review.")


@strawberry.input(description="The arguments of interimReviewCreate. Create an interim review of a learner.")
class InterimReviewCreateInput:
    learner_id: strawberry.ID = strawberry.field(description="The learner.")
    date: dt.date = strawberry.field(
        description="The review's date (not in the future): it consolidates the bilans dated up to that day."
    )


@strawberry.type
class InterimReviewMutation:
    @mutation(
        "Create an interim review of a learner at a date (R25): it consolidates their "
        "completed bilans dated up to that day (none in the future) and locks the "
        "periods of those bilans (R7). It keeps its own record of what it consolidated: "
        "deleting one of those periods afterwards (R8) changes nothing of it.",
        rule="review.create",
        audit=AuditKind.EVALUATION_CHANGE,
    )
    async def interim_review_create(self, info: Info, input: InterimReviewCreateInput) -> InterimReviewCreatePayload:
        learner_id, date = input.learner_id, input.date
        viewer = info.context.require("review.create")
        learner = await fetch_in_reach(User, scopes.learners, viewer, learner_id, "Learner", "learnerId", "learner")
        check_date(date, "date")
        if date > dt.date.today():
            raise problem("date", Reason.REVIEW_DATE_IN_FUTURE)
        if await m.InterimReview.filter(learner_id=learner.id, review_date=date).exists():
            raise problem("date", Reason.REVIEW_DATE_TAKEN)
        bilans, record = await review_record(learner.id, date)
        if not record:
            raise problem("date", Reason.REVIEW_NOTHING_TO_CONSOLIDATE)
        review = await m.InterimReview.create(
            school_id=learner.school_id,
            learner_id=learner.id,
            review_date=date,
            created_by_id=viewer.id,
            record=record,
        )
        if bilans:
            await review.bilans.add(*bilans)
        return InterimReviewCreatePayload(interim_review=InterimReview.from_row(review))
