"""Probes of the trainer links (issue 16, part 1): issuing, listing and revoking them; using one."""

from __future__ import annotations

import datetime as dt

from graph.types.common import encode_id
from models.links import TrainerLink
from models.periods import Period
from models.portfolios import Portfolio
from models.users import Role, User
from permissions import links
from tests.access.registry import _mutate, _reachable_learner, _read, agreed, probe
from tests.conftest import TOKEN_SECRET, Api

SECRET = "s" * 43


async def _running_portfolio(role: Role | None) -> Portfolio:
    """The portfolio the role reaches, in a period that ends in ten days (the demo's dates depend on the day)."""
    today = dt.date.today()
    await Period.filter(name="Stage de découverte").update(
        start_date=today - dt.timedelta(days=4), end_date=today + dt.timedelta(days=10)
    )
    return await Portfolio.get(learner__last_name=_reachable_learner(role), period__name="Stage de découverte")


async def _link(portfolio: Portfolio, trainer: User) -> tuple[TrainerLink, str]:
    """A link row as trainerLinkIssue writes it, and its string."""
    now = dt.datetime.now(dt.UTC)
    row = await TrainerLink.create(
        school_id=portfolio.school_id,
        portfolio=portfolio,
        trainer=trainer,
        secret_digest="",
        issued_by_name="Alain DUBOIS",
        issued_at=now,
        expires_at=now + dt.timedelta(days=30),
    )
    row.secret_digest = links.digest(TOKEN_SECRET, row.id, SECRET)
    await row.save()
    return row, links.compose(row.id, SECRET)


@probe("trainer_link.manage")
async def _(api, role):
    portfolio = await Portfolio.get(learner__last_name="DUPIRE", period__name="Stage de découverte")
    await _running_portfolio(role)
    tutor = await User.get(role=Role.TUTOR)
    row, _ = await _link(portfolio, tutor)
    return agreed(
        await _read(
            api,
            "query($id: ID!) { node(id: $id) { ... on Portfolio { trainerLinks { id } } } }",
            lambda d: d["node"] and d["node"]["trainerLinks"],
            id=encode_id("Portfolio", portfolio.id),
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { trainerLinkRevoke(input: {id: $id}) { errors { code } } }",
            "trainerLinkRevoke",
            id=encode_id("TrainerLink", row.id),
        ),
        await _mutate(
            api,
            "mutation($p: ID!, $t: ID!) { trainerLinkIssue(input: {portfolioId: $p, trainerId: $t}) "
            "{ errors { code } } }",
            "trainerLinkIssue",
            p=encode_id("Portfolio", portfolio.id),
            t=encode_id("Tutor", tutor.id),
        ),
    )


@probe("trainer_link.use")
async def _(api, role):
    portfolio = await _running_portfolio(role)
    query = "query($id: ID!) { node(id: $id) { id } }"
    if role is None:
        # no link held: nothing is reached
        return await _read(api, query, lambda d: d["node"], id=encode_id("Portfolio", portfolio.id))
    # a link of the portfolio the role reaches, held by the role's own account (only a trainer's is usable)
    _, link = await _link(portfolio, api.user)
    answer = await Api(api.http).execute(
        "mutation($l: String!) { trainerLinkExchange(input: {link: $l}) { token errors { code } } }", l=link
    )
    token = answer["data"]["trainerLinkExchange"]["token"]
    if token is None:
        return "refused"
    return await _read(Api(api.http, token), query, lambda d: d["node"], id=encode_id("Portfolio", portfolio.id))
