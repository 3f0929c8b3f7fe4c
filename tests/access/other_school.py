"""A second school, « ZORGLUB », with one row of every Node type, and the demo school's rows to act on.

Every name and code of the second school contains `MARK`, so a test can tell
that no answer given to the demo school's users ever names one of its rows.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from graph.types.common import encode_id
from models.audit import AuditEntry, AuditKind
from models.bilans import CompanyBilan, InterimReview
from models.fiches import ActivityFiche, Annex, AnnexKind, FicheTask
from models.frameworks import Competence, Criterion, FrameworkActivity, Task, TaskCompetence
from models.links import TrainerLink
from models.periods import Period, PeriodTemplate
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import Classroom, Level, School
from models.users import LearnerStatus, Role, User
from resolvers.demo import current_school_year
from resolvers.fiches.annex_store import annex_path
from resolvers.frameworks.importing import import_framework, parse_framework
from resolvers.periods.portfolio_rules import open_portfolio

MARK = "ZORGLUB"

FRAMEWORK_FILE = {
    "format": "pfmp-framework/1",
    "code": f"{MARK}-FW",
    "name": f"Référentiel {MARK}",
    "source": f"Texte {MARK}",
    "notes": [],
    "scale": {
        "levels": [
            {"value": v, "label": f"{v} {MARK}"}
            for v in ("NOT_EVALUATED", "NOT_ACQUIRED", "BEGINNING", "PARTIAL", "ACQUIRED", "MASTERED")
        ],
        "threshold": "ACQUIRED",
    },
    "units": [{"code": f"{MARK}-U", "label": f"Unité {MARK}"}],
    "activities": [
        {
            "code": f"{MARK}-A",
            "label": f"Activité {MARK}",
            "tasks": [
                {
                    "code": f"{MARK}-T1",
                    "label": f"Tâche {MARK}",
                    "provisional": False,
                    "competences": [{"code": f"{MARK}-C1", "weight": 2}],
                }
            ],
        }
    ],
    "competences": [
        {"code": f"{MARK}-C1", "label": f"Compétence {MARK}", "unit": f"{MARK}-U", "criteria": [f"Critère {MARK}"]}
    ],
    "attitudes": [],
}


@dataclass
class SchoolRows:
    """Global IDs of one school's rows, by Node type (the first one of each is the one acted on)."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    users: dict[Role, User] = field(default_factory=dict)

    def add(self, type_name: str, pk: int) -> None:
        self.ids.setdefault(type_name, []).append(encode_id(type_name, pk))

    def first(self, type_name: str) -> str:
        return self.ids[type_name][0]


def _person(school: School, role: Role, last: str, **extra) -> User:
    return User(
        school=school,
        role=role,
        email=f"{last.lower()}@{MARK.lower()}.test",
        first_name=MARK.title(),
        last_name=f"{MARK}-{last}",
        **extra,
    )


async def build_other_school(annex_dir: Path) -> SchoolRows:
    rows = SchoolRows()
    school = await School.create(uai="0590077Z", name=f"Lycée {MARK}")
    rows.add("School", school.id)
    framework = (await import_framework(parse_framework(json.dumps(FRAMEWORK_FILE)), school_id=school.id)).framework
    rows.add("Framework", framework.id)
    activity = await FrameworkActivity.get(framework_id=framework.id)
    task = await Task.get(framework_id=framework.id)
    competence = await Competence.get(framework_id=framework.id)
    criterion = await Criterion.get(competence_id=competence.id)
    assert await TaskCompetence.exists(task_id=task.id, competence_id=competence.id)
    for type_name, row in (
        ("FrameworkActivity", activity),
        ("Task", task),
        ("Competence", competence),
        ("Criterion", criterion),
    ):
        rows.add(type_name, row.id)

    level = await Level.create(school=school, name=f"Niveau {MARK}", framework=framework)
    classroom = await Classroom.create(school=school, level=level, name=f"Classe {MARK}")
    rows.add("Level", level.id)
    rows.add("Classroom", classroom.id)
    people = {
        Role.ADMIN: _person(school, Role.ADMIN, "ADMIN"),
        Role.TEACHER: _person(school, Role.TEACHER, "PROF"),
        Role.LEARNER: _person(
            school,
            Role.LEARNER,
            "ELEVE",
            learner_status=LearnerStatus.SCHOOL,
            classroom=classroom,
            birth_date=dt.date(2010, 1, 2),
        ),
        Role.TUTOR: _person(school, Role.TUTOR, "TUTEUR", company_name=f"Entreprise {MARK}"),
        Role.MASTER: _person(school, Role.MASTER, "MAITRE", company_name=f"Entreprise {MARK}"),
    }
    for user in people.values():
        await user.save()
    apprentice = _person(school, Role.LEARNER, "APPRENTI", learner_status=LearnerStatus.APPRENTICE, classroom=classroom)
    await apprentice.save()
    await people[Role.TEACHER].taught_classrooms.add(classroom)
    rows.users = people
    for role, type_name in (
        (Role.ADMIN, "Administrator"),
        (Role.TEACHER, "Teacher"),
        (Role.LEARNER, "Learner"),
        (Role.TUTOR, "Tutor"),
        (Role.MASTER, "ApprenticeshipMaster"),
    ):
        rows.add(type_name, people[role].id)
    rows.add("Learner", apprentice.id)

    template = await PeriodTemplate.create(
        school=school, level=level, name=f"Modèle {MARK}", objectives=f"Objectifs {MARK}"
    )
    await template.tasks.add(task)
    rows.add("PeriodTemplate", template.id)
    year = current_school_year(dt.date.today())
    period = await Period.create(
        school=school,
        level=level,
        template=template,
        name=f"Période {MARK}",
        start_date=dt.date(year, 11, 2),
        end_date=dt.date(year, 11, 20),
        school_year=year,
        created_by=people[Role.TEACHER],
        objectives=f"Objectifs {MARK}",
    )
    await period.tasks.add(task)
    rows.add("Period", period.id)
    fiches = []
    for learner, trainer in ((people[Role.LEARNER], people[Role.TUTOR]), (apprentice, people[Role.MASTER])):
        portfolio = await open_portfolio(period, learner, [task])
        await portfolio.trainers.add(trainer)
        await LiaisonFiche.filter(portfolio=portfolio).update(
            company_name=f"Entreprise {MARK}", tutor_name=f"{MARK} tuteur"
        )
        fiche = await ActivityFiche.get(portfolio=portfolio)
        fiche.title = f"Fiche {MARK}"
        await fiche.save()
        await FicheTask.create(fiche=fiche, task=task, ticked_by_learner=True)
        rows.add("Portfolio", portfolio.id)
        rows.add("LiaisonFiche", (await LiaisonFiche.get(portfolio=portfolio)).id)
        rows.add("ActivityFiche", fiche.id)
        fiches.append(fiche)
        rows.add("CompanyBilan", (await CompanyBilan.get(portfolio=portfolio)).id)
        link = await TrainerLink.create(
            school=school,
            portfolio=portfolio,
            trainer=trainer,
            secret_digest="0" * 64,
            issued_by=people[Role.ADMIN],
            issued_by_name=f"{MARK} admin",
            issued_at=dt.datetime.now(dt.UTC),
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
        )
        rows.add("TrainerLink", link.id)
        # An entry of the other school's audit trail: its admin read the learner's email.
        entry = await AuditEntry.create(
            school_id=school.id,
            at=dt.datetime.now(dt.UTC),
            kind=AuditKind.PERSONAL_READ,
            actor_id=people[Role.ADMIN].id,
            actor_role=Role.ADMIN,
            subject_type="Learner",
            subject_id=learner.id,
            detail=f"email {MARK}",
        )
        rows.add("AuditEntry", entry.id)
    stored_name = "0b" + "7" * 30
    path = annex_path(annex_dir, stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(f"Notes {MARK}".encode())
    annex = await Annex.create(
        fiche=fiches[0],
        kind=AnnexKind.FILE,
        title=f"Annexe {MARK}",
        stored_name=stored_name,
        original_filename=f"{MARK}.txt",
        content_type="text/plain",
        size=path.stat().st_size,
    )
    rows.add("Annex", annex.id)
    review = await InterimReview.create(
        school=school, learner=people[Role.LEARNER], review_date=dt.date.today(), created_by=people[Role.TEACHER]
    )
    rows.add("InterimReview", review.id)
    return rows


async def demo_rows() -> SchoolRows:
    """The demo school's rows its users act on: Angélique's portfolio, fiche, bilan; TA 1-1 and what it links."""
    rows = SchoolRows()
    dupire = await User.get(last_name="DUPIRE")
    portfolio = await Portfolio.get(learner=dupire)
    fiche = await ActivityFiche.filter(portfolio=portfolio).order_by("id").first()
    task = await Task.get(framework__code="CAP-ELEC", framework__school_id=None, code="TA 1-1")
    link = await TaskCompetence.filter(task=task).order_by("id").first()
    for type_name, pk in (
        ("School", dupire.school_id),
        ("Level", (await Level.get(name="Première année de CAP")).id),
        ("Classroom", (await Classroom.get(name="CAPELECT")).id),
        ("Learner", dupire.id),
        ("Administrator", (await User.get(role=Role.ADMIN)).id),
        ("Teacher", (await User.get(role=Role.TEACHER)).id),
        ("Tutor", (await User.get(role=Role.TUTOR)).id),
        ("ApprenticeshipMaster", (await User.get(role=Role.MASTER)).id),
        ("Period", portfolio.period_id),
        ("Portfolio", portfolio.id),
        ("LiaisonFiche", (await LiaisonFiche.get(portfolio=portfolio)).id),
        ("ActivityFiche", fiche.id),
        ("CompanyBilan", (await CompanyBilan.get(portfolio=portfolio)).id),
        ("FrameworkActivity", task.activity_id),
        ("Task", task.id),
        ("Competence", link.competence_id),
        ("Criterion", (await Criterion.filter(competence_id=link.competence_id).order_by("position").first()).id),
    ):
        rows.add(type_name, pk)
    return rows
