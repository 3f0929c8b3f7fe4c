"""Fixtures of the bilan tests: the demo bilan by name, GraphQL documents, and a MELEC level to measure on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from graph.types.common import encode_id
from models.bilans import CompanyBilan
from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask
from models.frameworks import Competence, Criterion, Framework, Task
from models.periods import Period
from models.portfolios import Portfolio
from models.schools import Classroom, Level
from models.users import LearnerStatus, Role, User
from resolvers.periods.portfolio_rules import open_portfolio

ANGELIQUE = "angelique.dupire@demo.pfmp.test"

GRID = """
  id status version engagement meetingDate meetingDateIsDefault comment completedAt
  period { name startDate endDate } learner { fullName classroom { name } }
  workplace { companyName activityDomain tutorName tutorRole }
  fiches { reference title }
  activities { activity { code label } tasks { task { code } marked ficheRefs
    competences { competence { id code } weight marked ficheRefs mode level
      criteria { criterion { id position } marked ficheRefs level } } } }
  competences { competence { id code } mode modeChosen marked ficheRefs level retainedLevel
    criteria { criterion { id position } marked ficheRefs level } }
  scale { value label isThreshold }
"""

BILAN = "query($id: ID!) { node(id: $id) { ... on CompanyBilan { %s } } }" % GRID

PORTFOLIO_BILAN = "query($id: ID!) { node(id: $id) { ... on Portfolio { bilanStatus bilan { id status } } } }"

UPDATE = """mutation($input: BilanUpdateInput!) { bilanUpdate(input: $input) {
  bilan { id version engagement meetingDate meetingDateIsDefault comment status }
  errors { field code reason message } } }"""

COMPLETE = """mutation($id: ID!, $v: Int!) { bilanComplete(input: {id: $id, version: $v}) {
  bilan { id version status completedAt } errors { field code reason message } } }"""

REOPEN = """mutation($id: ID!, $v: Int!, $r: String!) { bilanReopen(input: {id: $id, version: $v, reason: $r}) {
  bilan { id version status completedAt } errors { field code reason message } } }"""

REVIEW_CREATE = """mutation($l: ID!, $d: Date!) { interimReviewCreate(input: {learnerId: $l, date: $d}) {
  interimReview { id date learner { fullName } createdBy { fullName } bilans { bilanId date periodName }
    competences { competence { code } currentLevel history { level date mode period { name } bilan { id } } } }
  errors { field code reason message } } }"""

LOG = """query($id: ID!) { node(id: $id) { ... on CompanyBilan {
  resultLog(first: 100) { edges { node { competence { code } criterion { position } level previousLevel
    recordedAt author { fullName } } } }
  events { kind note recordedAt author { fullName } } } } }"""


def gid(type_name: str, pk: int) -> str:
    return encode_id(type_name, pk)


@dataclass
class Demo:
    """The demo's « Stage de découverte » moved into the past, with Angélique DUPIRE's bilan."""

    period: Period
    learner: User
    portfolio: Portfolio
    bilan: CompanyBilan
    fiches: list[ActivityFiche]
    tasks: dict[str, Task] = field(default_factory=dict)
    competences: dict[str, Competence] = field(default_factory=dict)
    criteria: dict[tuple[str, int], Criterion] = field(default_factory=dict)

    @property
    def bilan_id(self) -> str:
        return gid("CompanyBilan", self.bilan.id)

    def competence_id(self, code: str) -> str:
        return gid("Competence", self.competences[code].id)

    def criterion_id(self, code: str, position: int) -> str:
        return gid("Criterion", self.criteria[(code, position)].id)

    async def version(self) -> int:
        return (await CompanyBilan.get(id=self.bilan.id)).version

    async def target(self, fiche: ActivityFiche, task: str, competence: str, criterion: int | None = None) -> None:
        """What the fiche mutations write when a teacher picks a target (R14)."""
        await FicheTask.get_or_create(fiche=fiche, task=self.tasks[task], defaults={"checked_by_teacher": True})
        await FicheEvaluationTarget.create(
            fiche=fiche,
            task=self.tasks[task],
            competence=self.competences[competence],
            criterion=self.criteria[(competence, criterion)] if criterion else None,
        )


async def framework_rows(code: str) -> tuple[dict, dict, dict]:
    framework = await Framework.get(school_id=None, code=code)
    tasks = {t.code: t for t in await Task.filter(framework=framework)}
    competences = {c.code: c for c in await Competence.filter(framework=framework)}
    by_id = {c.id: c.code for c in competences.values()}
    criteria = {
        (by_id[k.competence_id], k.position): k for k in await Criterion.filter(competence__framework=framework)
    }
    return tasks, competences, criteria


@pytest.fixture
async def demo(app) -> Demo:
    period = await Period.get(name="Stage de découverte")
    today = dt.date.today()
    period.start_date, period.end_date = today - dt.timedelta(days=45), today - dt.timedelta(days=34)
    await period.save()
    learner = await User.get(email=ANGELIQUE)
    portfolio = await Portfolio.get(period=period, learner=learner)
    bilan = await CompanyBilan.get(portfolio=portfolio)
    fiches = await ActivityFiche.filter(portfolio=portfolio).order_by("created_at", "id")
    tasks, competences, criteria = await framework_rows("CAP-ELEC")
    return Demo(period, learner, portfolio, bilan, list(fiches), tasks, competences, criteria)


async def another_period(demo: Demo, name: str, start: dt.date, days: int = 12) -> Portfolio:
    """A second period of the demo level with Angélique in it, through the ORM."""
    period = await Period.create(
        school_id=demo.period.school_id,
        level_id=demo.period.level_id,
        name=name,
        start_date=start,
        end_date=start + dt.timedelta(days=days - 1),
        school_year=demo.period.school_year,
    )
    return await open_portfolio(period, demo.learner, [])


def errors(payload: dict) -> list[tuple[list[str] | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


@dataclass
class Melec:
    level: Level
    classroom: Classroom
    period: Period
    learners: list[User]
    portfolios: list[Portfolio]
    tasks: dict[str, Task]
    competences: dict[str, Competence]
    criteria: dict[tuple[str, int], Criterion]


async def melec_level(teacher: User, learner_count: int, *, name: str = "Seconde MELEC") -> Melec:
    """A level on the Bac Pro MELEC framework, taught by `teacher`, with a past period and its portfolios."""
    tasks, competences, criteria = await framework_rows("BACPRO-MELEC")
    school_id = teacher.school_id
    framework_id = next(iter(competences.values())).framework_id
    level = await Level.create(school_id=school_id, name=name, position=3, framework_id=framework_id)
    classroom = await Classroom.create(school_id=school_id, level=level, name=f"{name} A")
    await teacher.taught_classrooms.add(classroom)
    today = dt.date.today()
    period = await Period.create(
        school_id=school_id,
        level=level,
        name="PFMP 1",
        start_date=today - dt.timedelta(days=60),
        end_date=today - dt.timedelta(days=32),
        school_year=today.year,
    )
    melec = Melec(level, classroom, period, [], [], tasks, competences, criteria)
    await add_melec_learners(melec, learner_count)
    return melec


async def add_melec_learners(melec: Melec, count: int) -> None:
    start = len(melec.learners)
    for i in range(start, start + count):
        learner = await User.create(
            school_id=melec.level.school_id,
            role=Role.LEARNER,
            email=f"melec{melec.level.id}-{i}@demo.pfmp.test",
            first_name="Élève",
            last_name=f"MELEC{i:03d}",
            learner_status=LearnerStatus.SCHOOL,
            classroom=melec.classroom,
        )
        melec.learners.append(learner)
        melec.portfolios.append(await open_portfolio(melec.period, learner, []))
