"""Trainer links (issue 16, part 1): staff issue a company trainer a link for one portfolio; the trainer exchanges
it, without a password, for an access token acting as them on that portfolio only (docs/company-side.md).

A link is an opaque string (permissions/links.py); only a keyed hash of its secret is stored. Its token carries the
link's id (`lnk`): revoking or expiring the link stops its tokens at their next request
(permissions/authentication.py), and the row scopes bound their reach to the link's portfolio
(permissions/scopes.py). Issuing, revoking, and every exchange, refused or not, are logged (`pfmp.links`), never
with the link's secret.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import strawberry

from graph.context import Info
from graph.errors import FieldProblem, Forbidden, Reason, problem
from graph.types.common import Payload, UserError, encode_id
from graph.types.links import TrainerLink
from models import audit, stamps
from models.audit import AuditKind
from models.links import TrainerLink as TrainerLinkRow
from models.periods import Period
from models.portfolios import Portfolio as PortfolioRow
from models.users import User
from permissions import links, scopes, throttle
from permissions.sessions import access_token
from permissions.table import granted, linkable_roles
from resolvers.inputs import fetch_in_reach
from resolvers.mutations import mutation, run_mutation

log = logging.getLogger("pfmp.links")

# A link's default expiry: this long after the last day of its portfolio's period (issue 16).
DEFAULT_GRACE = dt.timedelta(days=30)


@strawberry.input(description="A trainer link to issue.")
class TrainerLinkIssueInput:
    portfolio_id: strawberry.ID = strawberry.field(description="The one portfolio the link opens.")
    trainer_id: strawberry.ID = strawberry.field(
        description="The tutor or apprenticeship master who receives it: assigned to the portfolio "
        "(portfolioTrainerAssign; a trainer without an account is created with tutorCreate or masterCreate and "
        "withoutPassword)."
    )
    expires_on: dt.date | None = strawberry.field(
        default=None,
        description="The last day it works (until the end of that day, UTC): from today to 30 days after the "
        "period's last day, which is the default.",
    )


@strawberry.input(description="The trainer link to revoke.")
class TrainerLinkRevokeInput:
    id: strawberry.ID = strawberry.field(description="The trainer link.")


@strawberry.input(description="A trainer link to exchange for an access token.")
class TrainerLinkExchangeInput:
    link: str = strawberry.field(description="The link as staff handed it (pfmp-tl1.…).")


@strawberry.type(description="Result of trainerLinkIssue.")
class TrainerLinkIssuePayload(Payload):
    link: str | None = strawberry.field(
        default=None,
        description="The link, shown this once: hand it to the trainer (the server keeps only a hash of it). An "
        "opaque string; a front end may carry it in the fragment of its own URL.",
    )
    trainer_link: TrainerLink | None = strawberry.field(default=None, description="The link as listed.")


@strawberry.type(description="Result of trainerLinkRevoke.")
class TrainerLinkRevokePayload(Payload):
    trainer_link: TrainerLink | None = strawberry.field(default=None, description="The link, revoked.")


@strawberry.type(description="Result of trainerLinkExchange.")
class TrainerLinkExchangePayload(Payload):
    token: str | None = strawberry.field(
        default=None,
        description="Access token acting as the link's trainer on its portfolio only: send it as "
        "'Authorization: Bearer <token>'. It stops working when it expires, or at once when the link is revoked "
        "or expires.",
    )
    expires_at: dt.datetime | None = strawberry.field(default=None, description="When the token stops working.")
    portfolio_id: strawberry.ID | None = strawberry.field(
        default=None, description="The portfolio the token opens (read it with node(id:))."
    )
    retry_after: int | None = strawberry.field(
        default=None,
        description="With a THROTTLED error: seconds to wait before the next attempt from this address (also sent "
        "as the Retry-After header).",
    )


def _now(info: Info) -> dt.datetime:
    return dt.datetime.fromtimestamp(info.context.settings.clock(), tz=dt.UTC)


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)


def _client(info: Info) -> str:
    return throttle.client_address(info.context.request, info.context.settings.trusted_proxies)


@strawberry.type
class TrainerLinkMutation:
    @mutation(
        "Issue a trainer link for one portfolio to a trainer assigned to it; answers the link, once.",
        rule="trainer_link.manage",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def trainer_link_issue(self, info: Info, input: TrainerLinkIssueInput) -> TrainerLinkIssuePayload:
        viewer = info.context.require_viewer()
        portfolio = await fetch_in_reach(
            PortfolioRow, scopes.portfolios, viewer, input.portfolio_id, "Portfolio", "input.portfolioId", "portfolio"
        )
        trainer = await fetch_in_reach(
            User,
            scopes.trainers,
            viewer,
            input.trainer_id,
            ("Tutor", "ApprenticeshipMaster"),
            "input.trainerId",
            "trainer",
        )
        # Reached, but not a kind of trainer whose links the viewer issues (a master's, for a teacher).
        if trainer.role not in linkable_roles(viewer.role):
            raise Forbidden()
        if not trainer.is_active:
            raise problem("input.trainerId", Reason.TRAINER_DEACTIVATED)
        if not await PortfolioRow.filter(id=portfolio.id, trainers__id=trainer.id).exists():
            raise problem("input.trainerId", Reason.TRAINER_NOT_ASSIGNED)
        now = _now(info)
        period = await Period.get(id=portfolio.period_id)
        latest = period.end_date + DEFAULT_GRACE
        expires_on = input.expires_on if input.expires_on is not None else latest
        if not now.date() <= expires_on <= latest:
            raise problem(
                "input.expiresOn", Reason.TRAINER_LINK_EXPIRY_OUT_OF_RANGE, earliest=now.date(), latest=latest
            )
        issuer = await User.get(id=viewer.id)
        row = await TrainerLinkRow.create(
            school_id=viewer.school_id,
            portfolio_id=portfolio.id,
            trainer_id=trainer.id,
            secret_digest="",
            issued_by_id=viewer.id,
            issued_by_name=issuer.full_name[:210],
            issued_at=now,
            expires_at=_end_of(expires_on),
        )
        # The digest binds the secret to the row's id, known once the row is.
        secret = links.new_secret()
        row.secret_digest = links.digest(info.context.settings.token_secret, row.id, secret)
        await row.save(update_fields=["secret_digest"])
        log.info(
            "trainer link %d issued by user %d: trainer %d, portfolio %d, expires %s",
            row.id,
            viewer.id,
            trainer.id,
            portfolio.id,
            row.expires_at.isoformat(),
        )
        return TrainerLinkIssuePayload(link=links.compose(row.id, secret), trainer_link=TrainerLink.from_row(row))

    @mutation(
        "Revoke a trainer link: it can no longer be exchanged, and the tokens exchanged for it stop working at "
        "once. Revoking a revoked link changes nothing.",
        rule="trainer_link.manage",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def trainer_link_revoke(self, info: Info, input: TrainerLinkRevokeInput) -> TrainerLinkRevokePayload:
        viewer = info.context.require_viewer()
        row = await fetch_in_reach(
            TrainerLinkRow,
            scopes.trainer_links,
            viewer,
            input.id,
            "TrainerLink",
            "input.id",
            "trainer link",
            for_update=True,
        )
        if row.revoked_at is None:
            row.revoked_at = _now(info)
            row.revoked_by_id = viewer.id
            await row.save(update_fields=["revoked_at", "revoked_by_id"])
            log.info("trainer link %d revoked by user %d", row.id, viewer.id)
        return TrainerLinkRevokePayload(trainer_link=TrainerLink.from_row(row))

    @mutation(
        "Exchange a trainer link for an access token (no sign-in needed: holding the link is enough) acting as "
        "its trainer on its one portfolio, with an assigned trainer's rights there and nothing else; the token "
        "lives as long as a sign-in's. Records the link's last use. An altered, expired or revoked link, or one "
        "whose trainer no longer follows the portfolio, is refused. Refused exchanges are counted per client "
        "address: after 20 in a minute the address is refused (THROTTLED, retryAfter) until the oldest leaves "
        "the minute.",
        transaction=False,
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def trainer_link_exchange(self, info: Info, input: TrainerLinkExchangeInput) -> TrainerLinkExchangePayload:
        # The throttle counts the attempt in its own transaction first, so that a refusal (which rolls the
        # exchange's transaction back) stays counted; a success gives it back.
        settings = info.context.settings
        attempt = await throttle.begin_exchange(settings, _client(info)) if settings.signin_throttle else None
        if attempt is not None and attempt.retry_after is not None:
            log.info("trainer link exchange refused (throttled) from %s", _client(info))
            await asyncio.sleep(settings.signin_refusal_delay)
            if info.context.response is not None:
                info.context.response.headers["retry-after"] = str(attempt.retry_after)
            refusal = FieldProblem(None, Reason.TRAINER_LINK_THROTTLED, {"seconds": attempt.retry_after})
            return TrainerLinkExchangePayload(retry_after=attempt.retry_after, errors=[UserError.of(refusal)])
        answer = await run_mutation(TrainerLinkExchangePayload, lambda: _exchange(info, input))
        if attempt is not None and not answer.errors:
            await throttle.succeeded(attempt)
        return answer


async def _exchange(info: Info, input: TrainerLinkExchangeInput) -> TrainerLinkExchangePayload:
    """The exchange itself, in the mutation's transaction: a refusal writes nothing."""
    settings = info.context.settings
    parsed = links.parse(input.link)
    row = await TrainerLinkRow.get_or_none(id=parsed[0]) if parsed else None
    if row is None or parsed is None or not links.matches(settings.token_secret, *parsed, row.secret_digest):
        log.info("trainer link exchange refused (not a link issued here) from %s", _client(info))
        raise problem("input.link", Reason.TRAINER_LINK_INVALID)
    now = _now(info)
    trainer = await User.get(id=row.trainer_id)
    refusal = None
    if row.revoked_at is not None:
        refusal = Reason.TRAINER_LINK_REVOKED
    elif row.expires_at <= now:
        refusal = Reason.TRAINER_LINK_EXPIRED
    elif (
        not trainer.is_active
        or not granted("trainer_link.use", trainer.role)
        or not await PortfolioRow.filter(id=row.portfolio_id, trainers__id=trainer.id).exists()
    ):
        refusal = Reason.TRAINER_LINK_REVOKED
    if refusal is not None:
        log.info("trainer link %d exchange refused (%s) from %s", row.id, refusal.value, _client(info))
        raise problem("input.link", refusal)
    await TrainerLinkRow.filter(id=row.id).update(last_used_at=now)
    # The link's last use shows in its school's lists: the write bumps that school's data stamp.
    stamps.writer_school.set(row.school_id)
    # Never past the link's own end, which stops the token anyway.
    lifetime = min(settings.token_lifetime, int(row.expires_at.timestamp() - time.time()))
    token, expires = access_token(settings, trainer, lifetime=max(lifetime, 1), link_id=row.id)
    # The link's use, by its trainer through the link: the request had no viewer to name them.
    audit.note(
        AuditKind.ACCESS_CHANGE,
        "TrainerLink",
        row.id,
        "trainerLinkExchange",
        school_id=row.school_id,
        actor_id=trainer.id,
        actor_role=trainer.role,
        link_id=row.id,
    )
    log.info(
        "trainer link %d exchanged: trainer %d, portfolio %d, from %s",
        row.id,
        trainer.id,
        row.portfolio_id,
        _client(info),
    )
    return TrainerLinkExchangePayload(
        token=token,
        expires_at=dt.datetime.fromtimestamp(expires, tz=dt.UTC),
        portfolio_id=encode_id("Portfolio", row.portfolio_id),
    )
