"""Activity fiches written by learners."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay
from tortoise.expressions import Q

from graph.context import Info
from graph.types.common import guarded
from models import fiches as m
from permissions import scopes

Autonomy = strawberry.enum(m.Autonomy, description="Whether the learner worked on their own or accompanied.")


@strawberry.type(description="Fiche activité: what the learner did in the company and what they make of it.")
class ActivityFiche(relay.Node):
    id: relay.NodeID[int]
    title: str = strawberry.field(description="Title of the fiche.")
    autonomy: Autonomy | None = strawberry.field(description="Autonomous or accompanied; null until set.")
    workplace: str | None = strawberry.field(description="Where the activity took place.")
    description: str = strawberry.field(description="What the learner did.")
    analysis: str = strawberry.field(description="The learner's reflective analysis.")
    created_at: dt.datetime = strawberry.field(description="When the fiche was created.")
    updated_at: dt.datetime = strawberry.field(description="When the fiche last changed.")
    deleted_at: dt.datetime | None = guarded("When the learner deleted the fiche; null while it exists.",
                                             "fiche.staff.read")
    portfolio_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: m.ActivityFiche) -> "ActivityFiche":
        return cls(id=row.id, title=row.title, autonomy=row.autonomy, workplace=row.workplace,
                   description=row.description, analysis=row.analysis, created_at=row.created_at,
                   updated_at=row.updated_at, deleted_at=row.deleted_at, portfolio_id=row.portfolio_id)

    @strawberry.field(description="True when the description is filled in and the fiche is not deleted (R2).")
    def completed(self) -> bool:
        return bool(self.description.strip()) and self.deleted_at is None


async def fiches_of_portfolio(info: Info, portfolio_id: int) -> list[ActivityFiche]:
    """Fiches of a portfolio in creation order; deleted ones only for the roles that may see them (R13)."""
    show_deleted = info.context.can("fiche.staff.read")
    rows = await info.context.loaders.by_parent(
        m.ActivityFiche, "portfolio_id", scopes.activity_fiches, extra=None if show_deleted else Q(deleted_at=None)
    ).load(portfolio_id)
    return [ActivityFiche.from_row(r) for r in rows]


async def free_fiches_of(info: Info, learner_id: int) -> list[ActivityFiche]:
    """A learner's fiches whose period was deleted, oldest first; deleted ones only for staff."""
    show_deleted = info.context.can("fiche.staff.read")
    extra = Q(portfolio_id=None) & (Q() if show_deleted else Q(deleted_at=None))
    rows = await info.context.loaders.by_parent(
        m.ActivityFiche, "learner_id", scopes.activity_fiches, extra=extra).load(learner_id)
    return [ActivityFiche.from_row(r) for r in rows]
