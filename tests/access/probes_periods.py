"""Probes of periods, liaison fiches and company-trainer rules."""

import datetime as dt

from graph.types.common import encode_id
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Level
from models.users import Role
from tests.access.registry import _global_id, _mutate, _reachable_learner, _read, agreed, probe


async def _liaison_id(role: Role) -> str:
    fiche = await LiaisonFiche.get(portfolio__learner__last_name=_reachable_learner(role))
    return encode_id("LiaisonFiche", fiche.id)


@probe("period.read")
async def _(api, role):
    period = await Period.get(name="Stage de découverte")
    return await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on Period { name } } }",
        lambda d: d["node"],
        id=encode_id("Period", period.id),
    )


@probe("period.write")
async def _(api, role):
    """R4–R8 through every operation: create, create a template, edit, delete (each on a row in reach)."""

    period = await Period.get(name="Stage de découverte")
    level = await Level.get(name="Première année de CAP")
    empty = await Period.create(
        school_id=level.school_id,
        level=level,
        name="Stage à supprimer",
        start_date=dt.date(2026, 5, 4),
        end_date=dt.date(2026, 5, 15),
        school_year=2025,
        certifying=True,
        objectives="",
    )
    answers = [
        await _mutate(
            api,
            """mutation($l: ID!) { periodCreate(input: {levelId: $l, name: "Stage de printemps",
            startDate: "2026-03-02", endDate: "2026-03-13"}) { errors { code } } }""",
            "periodCreate",
            l=encode_id("Level", level.id),
        ),
        await _mutate(
            api,
            """mutation($l: ID!) { periodTemplateCreate(input: {levelId: $l, name: "Annexe"}) {
            errors { code } } }""",
            "periodTemplateCreate",
            l=encode_id("Level", level.id),
        ),
        await _mutate(
            api,
            """mutation($id: ID!, $v: Int!) { periodUpdate(input: {id: $id, version: $v, name: "Stage renommé"}) { errors { code } } }""",
            "periodUpdate",
            id=encode_id("Period", period.id),
            v=period.version,
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { periodPlannedDaysSet(input: {id: $id, plannedDays: 9}) { errors { code } } }",
            "periodPlannedDaysSet",
            id=encode_id("Period", period.id),
        ),
        await _mutate(
            api,
            "mutation($id: ID!) { periodDelete(input: {id: $id}) { errors { code } } }",
            "periodDelete",
            id=encode_id("Period", empty.id),
        ),
        await _mutate(
            api,
            'mutation($id: ID!) { portfolioDaysDoneSet(input: {id: $id, daysDone: "9.5"}) { errors { code } } }',
            "portfolioDaysDoneSet",
            id=encode_id(
                "Portfolio", (await Portfolio.get(period_id=period.id, learner__last_name=_reachable_learner(role))).id
            ),
        ),
    ]
    return answers[0] if len(set(answers)) == 1 else "/".join(answers)


async def _demo_portfolio_id(role: Role) -> str:
    portfolio = await Portfolio.get(period__name="Stage de découverte", learner__last_name=_reachable_learner(role))
    return encode_id("Portfolio", portfolio.id)


@probe("portfolio.referent.read")
async def _(api, role):
    """The demo period's creator, a teacher, stands as the referent of its portfolios."""
    return await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on Portfolio { referentTeacher { fullName } } } }",
        lambda d: d["node"] and d["node"]["referentTeacher"],
        id=await _demo_portfolio_id(role),
    )


@probe("portfolio.referent.write")
async def _(api, role):
    return await _mutate(
        api,
        "mutation($id: ID!, $t: ID) { portfolioReferentTeacherSet(input: {id: $id, teacherId: $t}) { errors { code } } }",
        "portfolioReferentTeacherSet",
        id=await _demo_portfolio_id(role),
        t=await _global_id("Teacher", "professeur@demo.pfmp.test"),
    )


@probe("liaison.read")
async def _(api, role):
    return await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on LiaisonFiche { objectives } } }",
        lambda d: d["node"],
        id=await _liaison_id(role),
    )


@probe("liaison.workplace.write")
async def _(api, role):
    fiche = await LiaisonFiche.get(portfolio__learner__last_name=_reachable_learner(role))
    return await _mutate(
        api,
        """mutation($id: ID!, $v: Int!) { liaisonFicheWorkplaceUpdate(input: {id: $id, version: $v, companyName: "Volt SA", activityDomain: "Tertiaire", tutorName: "Jo Volt"}) { errors { code } } }""",
        "liaisonFicheWorkplaceUpdate",
        id=encode_id("LiaisonFiche", fiche.id),
        v=fiche.version,
    )


@probe("liaison.plan.write")
async def _(api, role):
    fiche = await LiaisonFiche.get(portfolio__learner__last_name=_reachable_learner(role))
    return agreed(
        await _mutate(
            api,
            """mutation($id: ID!, $v: Int!) { liaisonFichePlanUpdate(input: {id: $id, version: $v, objectives: "Objectifs individualisés"}) { errors { code } } }""",
            "liaisonFichePlanUpdate",
            id=encode_id("LiaisonFiche", fiche.id),
            v=fiche.version,
        ),
        await _mutate(
            api,
            """mutation($id: ID!) { liaisonFicheReset(input: {id: $id, parts: [OBJECTIVES]}) {
            errors { code } } }""",
            "liaisonFicheReset",
            id=encode_id("LiaisonFiche", fiche.id),
        ),
    )


CREATE_TRAINER = """mutation($input: %sInput!) { %s(input: $input) { errors { code } } }"""


ASSIGN = """mutation($p: ID!, $t: ID!) { %s(input: {portfolioId: $p, trainerId: $t}) { errors { code } } }"""


async def _trainer_operations(api, role, create: str, kind: str, email: str, learner: str) -> str:
    """Create a trainer; unassign and reassign the demo one on the portfolio they follow; deactivate them.

    Trainers act on their own account (the only trainer they reach), the learner on their own tutor and
    portfolio, staff on the demo trainer and the portfolio they follow."""
    if role in (Role.TUTOR, Role.LEARNER):
        kind, email, learner = "Tutor", "eude.toutcourt@demo.pfmp.test", "DUPIRE"
    elif role is Role.MASTER:
        kind, email, learner = "ApprenticeshipMaster", "sylvie.ampere@demo.pfmp.test", "HÔT"
    trainer = await _global_id(kind, email)
    portfolio = encode_id("Portfolio", (await Portfolio.get(learner__last_name=learner)).id)
    return agreed(
        await _mutate(
            api,
            CREATE_TRAINER % (create[0].upper() + create[1:], create),
            create,
            input={"email": f"nouveau.{create}@x.test", "firstName": "Nou", "lastName": "VEAU"},
        ),
        await _mutate(api, ASSIGN % "portfolioTrainerUnassign", "portfolioTrainerUnassign", p=portfolio, t=trainer),
        await _mutate(api, ASSIGN % "portfolioTrainerAssign", "portfolioTrainerAssign", p=portfolio, t=trainer),
        await _mutate(
            api,
            "mutation($id: ID!) { trainerDeactivate(input: {id: $id}) { errors { code } } }",
            "trainerDeactivate",
            id=trainer,
        ),
    )


@probe("tutor.manage")
async def _(api, role):
    return await _trainer_operations(
        api, role, "tutorCreate", "Tutor", "eude.toutcourt@demo.pfmp.test", _reachable_learner(role)
    )


@probe("master.manage")
async def _(api, role):
    return await _trainer_operations(
        api, role, "masterCreate", "ApprenticeshipMaster", "sylvie.ampere@demo.pfmp.test", "HÔT"
    )


@probe("trainer.contact.write")
async def _(api, role):
    # a trainer row the role reaches: themselves for trainers, the demo tutor for the others
    kind, email = (
        ("ApprenticeshipMaster", "sylvie.ampere@demo.pfmp.test")
        if role is Role.MASTER
        else ("Tutor", "eude.toutcourt@demo.pfmp.test")
    )
    return await _mutate(
        api,
        """mutation($id: ID!) { trainerUpdate(input: {id: $id, phone: "0600000000"}) {
        errors { code } } }""",
        "trainerUpdate",
        id=await _global_id(kind, email),
    )


@probe("trainer.manage")
async def _(api, role):
    # the demo tutor follows Angélique, whose classroom the demo teacher teaches; a master edits themself
    kind, email = (
        ("ApprenticeshipMaster", "sylvie.ampere@demo.pfmp.test")
        if role is Role.MASTER
        else ("Tutor", "eude.toutcourt@demo.pfmp.test")
    )
    return await _mutate(
        api,
        """mutation($id: ID!) { trainerUpdate(input: {id: $id, firstName: "Eudes"}) {
        errors { code } } }""",
        "trainerUpdate",
        id=await _global_id(kind, email),
    )


@probe("fiche.seen")
async def _(api, role):
    """A trainer marks a portfolio they follow seen and reads its new fiche count; nobody else has a seen state."""
    portfolio = await _demo_portfolio_id(role)
    marked = await _mutate(
        api,
        "mutation($p: ID!) { markSeen(input: {portfolioId: $p}) { errors { code } } }",
        "markSeen",
        p=portfolio,
    )
    count = await _read(
        api,
        "query($id: ID!) { node(id: $id) { ... on Portfolio { newFicheCount } } }",
        # 0 is a count: the field answers, where a refused viewer gets null
        lambda d: None if d["node"] is None or d["node"]["newFicheCount"] is None else "counted",
        id=portfolio,
    )
    return agreed(marked, count)
