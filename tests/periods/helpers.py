"""Shared lookups for the period tests: global IDs of demo rows."""

from graph.types.common import encode_id
from models.frameworks import Task
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Level
from models.users import User


async def level_id(name: str = "Première année de CAP") -> str:
    return encode_id("Level", (await Level.get(name=name)).id)


async def learner_id(last_name: str) -> str:
    return encode_id("Learner", (await User.get(last_name=last_name)).id)


async def task_ids(*codes: str, framework: str = "CAP-ELEC") -> list[str]:
    rows = {t.code: t.id for t in await Task.filter(framework__code=framework, code__in=codes)}
    return [encode_id("Task", rows[c]) for c in codes]


async def demo_period() -> Period:
    return await Period.get(name="Stage de découverte")


async def period_id(period: Period | None = None) -> str:
    return encode_id("Period", (period or await demo_period()).id)


async def liaison_of(last_name: str, period_name: str = "Stage de découverte") -> LiaisonFiche:
    return await LiaisonFiche.get(portfolio__learner__last_name=last_name, portfolio__period__name=period_name)


async def portfolio_of(last_name: str, period_name: str = "Stage de découverte") -> Portfolio:
    return await Portfolio.get(learner__last_name=last_name, period__name=period_name)
