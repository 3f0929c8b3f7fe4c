"""What the delivery tests share: fetching an export over HTTP, reading it back, and rows to export.

The demo (tests/conftest.py): « Stage de découverte » with 5 learners;
Angélique DUPIRE at « Tout élec » with tutor Eude Toutcourt; Lydie HÔT, an
apprentice followed by master Sylvie Ampère. `melec_level` adds a Bac Pro
MELEC level of any size through the ORM, with completed bilans (the
benchmark fills its database with it too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import httpx
from docx.document import Document as DocxDocument
from tortoise.transactions import in_transaction

from graph.routes.exports import DOCX
from graph.types.common import encode_id
from models.bilans import BilanCompetenceMode, BilanResultEntry, BilanStatus, CompanyBilan, EvaluationMode
from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask
from models.frameworks import Competence, Criterion, Framework, Task
from models.periods import Period
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Classroom, Level
from models.users import LearnerStatus, Role, User
from resolvers.bilans.grid import build_views
from resolvers.periods.portfolio_rules import open_portfolio
from tests.conftest import Api
from tests.exports.reading import body_text, open_docx

DISCOVERY = "Stage de découverte"
ROLES = [Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER, None]


async def fetch(api: Api, path: str) -> httpx.Response:
    return await api.http.get(path, headers=api.headers)


def docx_of(response: httpx.Response) -> tuple[DocxDocument, str]:
    """The document of a 200 answer, checked as a download, and its text."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DOCX
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    assert response.headers["content-length"] == str(len(response.content))
    document = open_docx(response.content)
    return document, body_text(document)


def refusal(response: httpx.Response) -> tuple[int, str]:
    """(status, code) of a refused export, checking nothing of a document leaked."""
    assert response.headers["content-type"].startswith("application/json")
    assert response.content[:2] != b"PK"
    return response.status_code, response.json()["code"]


def outcome(response: httpx.Response) -> int:
    """The status, checking that a 200 is a document and anything else a JSON refusal."""
    if response.status_code == 200:
        docx_of(response)
    else:
        refusal(response)
    return response.status_code


async def portfolio_of(last_name: str, period: str = DISCOVERY) -> Portfolio:
    return await Portfolio.get(learner__last_name=last_name, period__name=period)


async def portfolio_id(last_name: str, period: str = DISCOVERY) -> str:
    return encode_id("Portfolio", (await portfolio_of(last_name, period)).id)


async def learner_id(last_name: str) -> str:
    return encode_id("Learner", (await User.get(role=Role.LEARNER, last_name=last_name)).id)


async def period_id(name: str = DISCOVERY) -> str:
    return encode_id("Period", (await Period.get(name=name)).id)


async def level_id(name: str = "Première année de CAP") -> str:
    return encode_id("Level", (await Level.get(name=name)).id)


def reached_learner(role: Role | None) -> str:
    """A learner each role reaches: the master follows only HÔT; everyone else reaches DUPIRE."""
    return "HÔT" if role is Role.MASTER else "DUPIRE"


async def complete(bilan_ids: list[int], meeting: dt.date | None = None) -> None:
    """Complete bilans as bilanComplete does: the grid, marks and modes frozen from their views."""
    bilans = await CompanyBilan.filter(id__in=bilan_ids)
    views = await build_views(bilans)
    now = dt.datetime.now(dt.UTC)
    for bilan in bilans:
        await CompanyBilan.filter(id=bilan.id).update(
            status=BilanStatus.COMPLETED,
            completed_at=now,
            frozen_grid=views[bilan.id].frozen_grid(),
            meeting_date=meeting or bilan.meeting_date,
        )


@dataclass
class MelecLevel:
    level: Level
    periods: list[Period]
    learners: list[User] = field(default_factory=list)


MELEC_LEVELS = ("NOT_ACQUIRED", "BEGINNING", "PARTIAL", "ACQUIRED", "MASTERED")


async def melec_level(
    teacher: User,
    learners: int,
    periods: int = 1,
    *,
    name: str = "Première MELEC",
    completed: bool = True,
    start: dt.date | None = None,
) -> MelecLevel:
    """A Bac Pro MELEC level taught by `teacher`: `learners` learners in one classroom, each in `periods`
    past periods with a liaison fiche filled in, two fiches and a bilan (completed unless told otherwise):
    even competences entered globally, odd ones criterion by criterion."""
    # One transaction: SQLite would otherwise sync the file at every insert.
    async with in_transaction():
        return await _melec_level(teacher, learners, periods, name, completed, start)


async def _melec_level(
    teacher: User, learners: int, periods: int, name: str, completed: bool, start: dt.date | None
) -> MelecLevel:
    framework = await Framework.get(school_id=None, code="BACPRO-MELEC")
    school_id = teacher.school_id
    level = await Level.create(school_id=school_id, name=name, position=5, framework=framework)
    classroom = await Classroom.create(school_id=school_id, level=level, name=f"{name} A")
    await teacher.taught_classrooms.add(classroom)
    tasks = list(await Task.filter(framework=framework).order_by("position"))
    competences = list(await Competence.filter(framework=framework).order_by("position"))
    criteria = await Criterion.filter(competence__framework=framework).order_by("position")
    start = start or dt.date.today() - dt.timedelta(days=30 * periods + 10)
    made = MelecLevel(level, [])
    for n in range(periods):
        begin = start + dt.timedelta(days=30 * n)
        period = await Period.create(
            school_id=school_id,
            level=level,
            name=f"PFMP {n + 1}",
            start_date=begin,
            end_date=begin + dt.timedelta(days=18),
            school_year=begin.year - (begin.month < 8),
            objectives=f"Objectifs de la PFMP {n + 1}.",
        )
        await period.tasks.add(*tasks[3 * n : 3 * n + 3])
        made.periods.append(period)
    portfolios = []
    for i in range(learners):
        learner = await User.create(
            school_id=school_id,
            role=Role.LEARNER,
            email=f"melec{level.id}-{i}@demo.pfmp.test",
            first_name=f"Élève{i:03d}",
            last_name=f"MELEC{i:03d}",
            classroom=classroom,
            learner_status=LearnerStatus.APPRENTICE if i % 7 == 0 else LearnerStatus.SCHOOL,
        )
        made.learners.append(learner)
        for n, period in enumerate(made.periods):
            portfolio = await open_portfolio(period, learner, tasks[3 * n : 3 * n + 3])
            portfolio.days_done = 11 + i % 3
            await portfolio.save()
            portfolios.append(portfolio)
            await LiaisonFiche.filter(portfolio=portfolio).update(
                company_name=f"Électricité {i:03d}",
                activity_domain="Tertiaire et industrie",
                tutor_name=f"Tuteur {i:03d}",
                tutor_role="Chef de chantier",
            )
            await _fiches(school_id, learner, portfolio, tasks[3 * n : 3 * n + 3], competences, criteria)
    bilans = await CompanyBilan.filter(portfolio_id__in=[p.id for p in portfolios])
    entries, modes = [], []
    for b, bilan in enumerate(bilans):
        for c, competence in enumerate(competences):
            # Saving a result pins the mode it was entered under (docs/bilans.md).
            modes.append(
                BilanCompetenceMode(
                    bilan=bilan,
                    competence=competence,
                    mode=EvaluationMode.GLOBAL if c % 2 == 0 else EvaluationMode.CRITERIA,
                )
            )
            level_value = MELEC_LEVELS[(b + c) % len(MELEC_LEVELS)]
            if c % 2 == 0:
                entries.append(BilanResultEntry(bilan=bilan, competence=competence, level=level_value))
            else:
                entries += [
                    BilanResultEntry(bilan=bilan, competence=competence, criterion=k, level=level_value)
                    for k in criteria
                    if k.competence_id == competence.id
                ]
    await BilanCompetenceMode.bulk_create(modes, batch_size=500)
    await BilanResultEntry.bulk_create(entries, batch_size=500)
    await CompanyBilan.filter(id__in=[b.id for b in bilans]).update(engagement=3, comment="Bonne période.")
    if completed:
        await complete([b.id for b in bilans])
    return made


async def _fiches(school_id, learner, portfolio, tasks, competences, criteria) -> None:
    """The first fiche described and linked to the period's tasks, with targets: odd competences by criteria."""
    fiche = await ActivityFiche.get(portfolio=portfolio)
    fiche.title, fiche.description = "Fiche 1 : Accueil et sécurité", "Fait."
    await fiche.save()
    await ActivityFiche.create(school_id=school_id, learner=learner, portfolio=portfolio, title="Fiche 2 : Chantier")
    await FicheTask.bulk_create([FicheTask(fiche=fiche, task=t, ticked_by_learner=True) for t in tasks])
    targets = []
    for task in tasks:
        for c, competence in enumerate(competences[:4]):
            if c % 2 == 0:
                targets.append(FicheEvaluationTarget(fiche=fiche, task=task, competence=competence))
            else:
                first = next(k for k in criteria if k.competence_id == competence.id)
                targets.append(FicheEvaluationTarget(fiche=fiche, task=task, competence=competence, criterion=first))
    await FicheEvaluationTarget.bulk_create(targets)
