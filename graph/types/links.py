"""Trainer links as the staff who issue them see them (docs/company-side.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from graph.context import Info
from graph.types.common import later
from graph.types.users import WorkplaceTrainer
from models.links import TrainerLink as TrainerLinkRow
from models.portfolios import Portfolio as PortfolioRow
from models.users import User
from permissions import scopes
from permissions.table import describe

if TYPE_CHECKING:
    from graph.types.portfolios import Portfolio


@strawberry.type(
    description="A trainer link: a credential for one portfolio held by one company trainer, exchanged "
    "(trainerLinkExchange) for an access token acting as that trainer on that portfolio only. The link itself is "
    "shown once, when issued; the server keeps only a keyed hash of its secret. " + describe("trainer_link.manage")
)
class TrainerLink(relay.Node):
    id: relay.NodeID[int]
    issued_by_name: str = strawberry.field(description="Who issued it, as their name was then.")
    issued_at: dt.datetime = strawberry.field(description="When it was issued.")
    expires_at: dt.datetime = strawberry.field(
        description="When it stops working, and every token exchanged for it with it."
    )
    revoked_at: dt.datetime | None = strawberry.field(
        description="When it was revoked (trainerLinkRevoke); null while not revoked."
    )
    last_used_at: dt.datetime | None = strawberry.field(
        description="When it was last exchanged for an access token; null if never."
    )
    trainer_id: strawberry.Private[int]
    portfolio_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: TrainerLinkRow) -> TrainerLink:
        return cls(
            id=row.id,
            issued_by_name=row.issued_by_name,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            trainer_id=row.trainer_id,
            portfolio_id=row.portfolio_id,
        )

    @strawberry.field(description="The trainer (tutor or apprenticeship master) who holds it.")
    async def trainer(self, info: Info) -> WorkplaceTrainer | None:
        row = await info.context.loaders.by_id(User, scopes.trainers).load(self.trainer_id)
        return WorkplaceTrainer.from_row(row, info.context.viewer) if row else None

    @strawberry.field(description="The one portfolio it opens.")
    async def portfolio(self, info: Info) -> Annotated[Portfolio, strawberry.lazy("graph.types.portfolios")] | None:
        row = await info.context.loaders.by_id(PortfolioRow, scopes.portfolios).load(self.portfolio_id)
        return later("graph.types.portfolios", "Portfolio").from_row(row) if row else None


async def links_of_portfolio(info: Info, portfolio_id: int) -> list[TrainerLink]:
    """The trainer links of a portfolio the viewer may list, newest first, read for every portfolio of the request
    at once (one statement, whatever the number of portfolios)."""
    viewer = info.context.require_viewer()

    async def load(portfolio_ids: Sequence[int]) -> list[list[TrainerLink]]:
        rows = await TrainerLinkRow.filter(scopes.trainer_links(viewer), portfolio_id__in=list(portfolio_ids)).order_by(
            "-issued_at", "-id"
        )
        found: dict[int, list[TrainerLink]] = defaultdict(list)
        for row in rows:
            found[row.portfolio_id].append(TrainerLink.from_row(row))
        return [found.get(pk, []) for pk in portfolio_ids]

    return await info.context.loaders.custom(("trainer_links_of_portfolio",), load).load(portfolio_id)
