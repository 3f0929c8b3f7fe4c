"""What assigning a learner to a period creates (R5)."""

from __future__ import annotations

from collections.abc import Sequence

from models.bilans import CompanyBilan
from models.fiches import ActivityFiche
from models.frameworks import Task
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.users import User

FIRST_FICHE_TITLE = "À compléter"


async def open_portfolio(period: Period, learner: User, tasks: Sequence[Task]) -> Portfolio:
    """The learner's portfolio for the period, with a first activity fiche to complete,
    a liaison fiche carrying the period's objectives and tasks, and a draft bilan."""
    portfolio = await Portfolio.create(school_id=period.school_id, period=period, learner=learner)
    liaison = await LiaisonFiche.create(portfolio=portfolio, objectives=period.objectives)
    if tasks:
        await liaison.tasks.add(*tasks)
    await ActivityFiche.create(
        school_id=period.school_id, learner=learner, portfolio=portfolio, title=FIRST_FICHE_TITLE
    )
    await CompanyBilan.create(portfolio=portfolio)
    return portfolio
