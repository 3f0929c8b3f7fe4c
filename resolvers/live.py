"""`Subscription.news`: live news of the fiches, bilans and liaison fiches a signed-in viewer reads.

Events carry a kind and a row id (models/live.py). When one arrives, the row is loaded again through this
subscriber's row scope (permissions/scopes.py) and its read rule asked (permissions/table.py), exactly as a read
would: a row the subscriber does not reach, or may not read, sends nothing; and the connection's token is checked
again before each piece of news (a revoked or expired token ends the subscription). A deleted fiche is news to those who
read deleted fiches (`FICHE_DELETED`, with the fiche); the others who could read it learn only that it is no
longer visible (`FICHE_NO_LONGER_VISIBLE`, its id).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import Enum
from typing import Annotated

import strawberry
from tortoise.expressions import Q

from graph.context import Info
from graph.errors import Forbidden, Unauthenticated
from graph.loaders import Loaders
from graph.types.bilans import CompanyBilan
from graph.types.common import decode_id, described_enum, encode_id
from graph.types.fiches import ActivityFiche
from graph.types.portfolios import LiaisonFiche
from models import bilans as bilan_models
from models import fiches as fiche_models
from models import live
from models import portfolios as portfolio_models
from permissions import scopes
from permissions.authentication import authenticate
from permissions.table import OWN_BY_REACH, allows
from permissions.viewer import Viewer


# A str enum (its members are the kinds models/live.py publishes): its values' descriptions cannot be
# strawberry.enum_values, which a str mixin would turn into strings.
@described_enum(
    "What happened.",
    {
        "FICHE_CREATED": "A learner wrote a new fiche.",
        "FICHE_CHANGED": "A fiche changed: its text, tasks, targets, annexes or read state.",
        "FICHE_DELETED": "A fiche was deleted (to those who read deleted fiches: staff).",
        "FICHE_NO_LONGER_VISIBLE": "A fiche you could read was deleted: drop it (`subjectId`).",
        "BILAN_COMPLETED": "A bilan was completed.",
        "BILAN_REOPENED": "A completed bilan was reopened.",
        "LIAISON_FICHE_CHANGED": "A liaison fiche changed (workplace, plan, or its period).",
    },
)
class NewsKind(str, Enum):
    FICHE_CREATED = "FICHE_CREATED"
    FICHE_CHANGED = "FICHE_CHANGED"
    FICHE_DELETED = "FICHE_DELETED"
    FICHE_NO_LONGER_VISIBLE = "FICHE_NO_LONGER_VISIBLE"
    BILAN_COMPLETED = "BILAN_COMPLETED"
    BILAN_REOPENED = "BILAN_REOPENED"
    LIAISON_FICHE_CHANGED = "LIAISON_FICHE_CHANGED"


@strawberry.type(description="One piece of live news: what happened, to which object, in which portfolio.")
class News:
    kind: NewsKind = strawberry.field(description="What happened.")
    subject_id: strawberry.ID = strawberry.field(description="The ID of the fiche, bilan or liaison fiche.")
    portfolio_id: strawberry.ID | None = strawberry.field(description="Its portfolio; null for a free fiche.")
    activity_fiche: ActivityFiche | None = strawberry.field(
        description="The fiche as it stands now (null for FICHE_NO_LONGER_VISIBLE and the other kinds)."
    )
    bilan: CompanyBilan | None = strawberry.field(description="The bilan as it stands now, for the bilan kinds.")
    liaison_fiche: LiaisonFiche | None = strawberry.field(description="The liaison fiche, for LIAISON_FICHE_CHANGED.")


def _portfolio(pk: int | None) -> strawberry.ID | None:
    return encode_id("Portfolio", pk) if pk is not None else None


async def news_for(viewer: Viewer, event: live.Event, portfolio_id: int | None) -> News | None:
    """What this subscriber may learn of `event`, read now through their own reach; None: nothing."""
    narrow = Q(portfolio_id=portfolio_id) if portfolio_id is not None else Q()
    kind = event.kind
    if kind in (live.NewsKind.FICHE_CREATED, live.NewsKind.FICHE_CHANGED, live.NewsKind.FICHE_DELETED):
        fiche = await fiche_models.ActivityFiche.filter(scopes.activity_fiches(viewer), narrow, id=event.id).first()
        if fiche is None or not allows("fiche.read", viewer.role, owned=OWN_BY_REACH):
            return None
        subject = encode_id("ActivityFiche", fiche.id)
        if fiche.deleted_at is not None:
            if allows("fiche.staff.read", viewer.role):
                return News(
                    kind=NewsKind.FICHE_DELETED,
                    subject_id=subject,
                    portfolio_id=_portfolio(fiche.portfolio_id),
                    activity_fiche=ActivityFiche.from_row(fiche, viewer),
                    bilan=None,
                    liaison_fiche=None,
                )
            return News(
                kind=NewsKind.FICHE_NO_LONGER_VISIBLE,
                subject_id=subject,
                portfolio_id=_portfolio(fiche.portfolio_id),
                activity_fiche=None,
                bilan=None,
                liaison_fiche=None,
            )
        return News(
            kind=NewsKind(kind.value) if kind is not live.NewsKind.FICHE_DELETED else NewsKind.FICHE_CHANGED,
            subject_id=subject,
            portfolio_id=_portfolio(fiche.portfolio_id),
            activity_fiche=ActivityFiche.from_row(fiche, viewer),
            bilan=None,
            liaison_fiche=None,
        )
    if kind in (live.NewsKind.BILAN_COMPLETED, live.NewsKind.BILAN_REOPENED):
        bilan = await bilan_models.CompanyBilan.filter(scopes.bilans(viewer), narrow, id=event.id).first()
        if bilan is None or not scopes.may_read_bilan(bilan, viewer):
            return None
        return News(
            kind=NewsKind(kind.value),
            subject_id=encode_id("CompanyBilan", bilan.id),
            portfolio_id=_portfolio(bilan.portfolio_id),
            activity_fiche=None,
            bilan=CompanyBilan.from_row(bilan),
            liaison_fiche=None,
        )
    if kind is live.NewsKind.LIAISON_FICHE_CHANGED:
        liaison = await portfolio_models.LiaisonFiche.filter(scopes.liaison_fiches(viewer), narrow, id=event.id).first()
        if liaison is None or not allows("liaison.read", viewer.role, owned=OWN_BY_REACH):
            return None
        return News(
            kind=NewsKind.LIAISON_FICHE_CHANGED,
            subject_id=encode_id("LiaisonFiche", liaison.id),
            portfolio_id=_portfolio(liaison.portfolio_id),
            activity_fiche=None,
            bilan=None,
            liaison_fiche=LiaisonFiche.from_row(liaison),
        )
    return None


async def _still_signed_in(info: Info, viewer: Viewer) -> None:
    params = info.context.connection_params or {}
    header = params.get("Authorization") or params.get("authorization")
    now, problem = await authenticate(info.context.settings, header if isinstance(header, str) else None)
    if now is None or (now.id, now.role, now.school_id) != (viewer.id, viewer.role, viewer.school_id):
        key, values = problem or ("SIGN_IN_REQUIRED", {})
        raise Unauthenticated(key, **values)


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="Live news while connected (graphql-transport-ws on /graphql; the bearer token goes in "
        "`connection_init`'s payload as `Authorization`): fiches created, changed or deleted, bilans completed or "
        "reopened, liaison fiches changed, each only if you read it. `portfolioId` narrows it to one portfolio in "
        "your reach (FORBIDDEN otherwise)."
    )
    async def news(
        self,
        info: Info,
        portfolio_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only the news of this portfolio; by default every portfolio you follow."),
        ] = None,
    ) -> AsyncGenerator[News, None]:
        viewer = info.context.require_viewer()
        narrow: int | None = None
        if portfolio_id is not None:
            _, pk = decode_id(portfolio_id, expected="Portfolio", field="portfolioId")
            if not await portfolio_models.Portfolio.filter(scopes.portfolios(viewer), id=pk).exists():
                raise Forbidden()
            narrow = pk
        async with live.hub.subscribe(viewer.school_id) as queue:
            while True:
                event = await queue.get()
                found = await news_for(viewer, event, narrow)
                if found is None:
                    continue
                # The token is checked again before any news goes out, as every request checks it: an expired
                # token, a deactivated account or signOutEverywhere ends the subscription (UNAUTHENTICATED).
                await _still_signed_in(info, viewer)
                # Fresh loaders for each event: the connection's context outlives any one answer.
                info.context.loaders = Loaders(viewer)
                yield found
