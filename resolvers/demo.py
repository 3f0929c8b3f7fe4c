"""The demo data: the seed's own example (domain.md, "Demo data"), one account per role."""

from __future__ import annotations

import datetime as dt
import unicodedata

from tortoise.transactions import in_transaction

from models import stamps
from models.fiches import ActivityFiche, Autonomy, FicheTask
from models.frameworks import Framework, Task
from models.periods import Period
from models.portfolios import LiaisonFiche
from models.schools import Classroom, DiplomaYear, Level, School
from models.users import LearnerStatus, Role, User
from permissions.passwords import hash_password
from resolvers.periods.portfolio_rules import open_portfolio
from resolvers.periods.rules import current_school_year

DEMO_PASSWORD = "demo-pfmp-2026"
DEMO_UAI = "0599999Z"

# (role, email, first name, last name) — the README lists these accounts.
DEMO_ACCOUNTS = [
    (Role.ADMIN, "admin@demo.pfmp.test", "Alain", "DUBOIS"),
    (Role.TEACHER, "professeur@demo.pfmp.test", "Claire", "MARTIN"),
    (Role.LEARNER, "angelique.dupire@demo.pfmp.test", "Angélique", "DUPIRE"),
    (Role.TUTOR, "eude.toutcourt@demo.pfmp.test", "Eude", "Toutcourt"),
    (Role.MASTER, "sylvie.ampere@demo.pfmp.test", "Sylvie", "Ampère"),
]

# (first name, last name, classroom, status)
DEMO_LEARNERS = [
    ("Matis", "CARLIER", "CAP 1 ELEC", LearnerStatus.SCHOOL),
    ("Jean", "LECAM", "CAP 1 ELEC", LearnerStatus.SCHOOL),
    ("Angélique", "DUPIRE", "CAPELECT", LearnerStatus.SCHOOL),
    ("Marine", "FABROWSKI", "CAPELECT", LearnerStatus.SCHOOL),
    # An apprentice, so the apprenticeship-master account has someone to follow.
    ("Lydie", "HÔT", "CAPELECT", LearnerStatus.APPRENTICE),
]


def _email(first: str, last: str) -> str:
    plain = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode().lower()
    return f"{plain}@demo.pfmp.test"


async def load_demo_data(today: dt.date | None = None) -> bool:
    """Fill an empty database; answers False (and writes nothing) when a school already exists."""
    if await School.exists():
        return False
    today = today or dt.date.today()
    year = current_school_year(today)
    password = hash_password(DEMO_PASSWORD)
    async with in_transaction():
        school = await School.create(
            uai=DEMO_UAI,
            name="Lycée professionnel de démonstration",
            address="12 rue des Artisans, 59000 Lille",
            head_of_school="Nathalie LEPROVISEUR",
        )
        cap = await Framework.get(school_id=None, code="CAP-ELEC")
        first_year = await Level.create(
            school=school,
            name="Première année de CAP",
            position=1,
            framework=cap,
            diploma_name="CAP Électricien",
            diploma_year=DiplomaYear.CAP_1,
        )
        await Level.create(
            school=school,
            name="Deuxième année de CAP",
            position=2,
            framework=cap,
            diploma_name="CAP Électricien",
            diploma_year=DiplomaYear.CAP_2,
        )
        classrooms = {
            name: await Classroom.create(school=school, level=first_year, name=name)
            for name in ("CAP 1 ELEC", "CAPELECT")
        }
        accounts = {}
        for role, email, first, last in DEMO_ACCOUNTS:
            if role is Role.LEARNER:
                continue
            accounts[role] = await User.create(
                school=school,
                role=role,
                email=email,
                password_hash=password,
                first_name=first,
                last_name=last,
                company_name="Tout élec"
                if role is Role.TUTOR
                else ("Ampère Services" if role is Role.MASTER else None),
                job_title="électricien" if role is Role.TUTOR else ("cheffe d'équipe" if role is Role.MASTER else None),
            )
        await accounts[Role.TEACHER].taught_classrooms.add(*classrooms.values())
        learners = {}
        for first, last, classroom, status in DEMO_LEARNERS:
            email = "angelique.dupire@demo.pfmp.test" if last == "DUPIRE" else _email(first, last)
            learners[last] = await User.create(
                school=school,
                role=Role.LEARNER,
                email=email,
                password_hash=password,
                first_name=first,
                last_name=last,
                learner_status=status,
                classroom=classrooms[classroom],
                birth_date=dt.date(year - 16, 3, 14),
            )

        tasks = await Task.filter(framework=cap, code__in=["TA 1-1", "TA 1-2"]).order_by("position")
        period = await Period.create(
            school=school,
            level=first_year,
            name="Stage de découverte",
            start_date=dt.date(year, 11, 16),
            end_date=dt.date(year, 11, 27),
            school_year=year,
            certifying=False,
            created_by=accounts[Role.TEACHER],
            objectives="Découvrir l'entreprise, ses métiers et ses règles de sécurité ; "
            "observer puis participer à la préparation d'une intervention.",
        )
        await period.tasks.add(*tasks)
        portfolios = {}
        for last, learner in learners.items():
            portfolios[last] = await open_portfolio(period, learner, tasks)

        dupire = portfolios["DUPIRE"]
        await LiaisonFiche.filter(portfolio=dupire).update(
            company_name="Tout élec",
            activity_domain="Entreprise générale d'électricité (particuliers)",
            tutor_name="Eude Toutcourt",
            tutor_role="électricien",
            company_address="4 rue de la Lumière, 59650 Villeneuve-d'Ascq",
            # A SIRET of the right shape and check digit (Luhn), made up for the demo.
            company_siret="99999999900017",
        )
        await dupire.trainers.add(accounts[Role.TUTOR])
        await portfolios["HÔT"].trainers.add(accounts[Role.MASTER])
        first_fiche = await ActivityFiche.get(portfolio=dupire)
        first_fiche.title = "Fiche 1 : Découverte de l'entreprise"
        first_fiche.autonomy = Autonomy.ACCOMPANIED
        first_fiche.workplace = "Tout élec"
        first_fiche.description = (
            "J'ai découvert l'entreprise et son organisation, puis j'ai pris connaissance du "
            "dossier d'une rénovation de tableau électrique chez un particulier."
        )
        first_fiche.analysis = (
            "J'ai compris l'importance de vérifier la liste du matériel avant de partir sur le chantier."
        )
        await first_fiche.save()
        await FicheTask.bulk_create([FicheTask(fiche=first_fiche, task=task, ticked_by_learner=True) for task in tasks])
        await ActivityFiche.create(school=school, learner=learners["DUPIRE"], portfolio=dupire, title="À compléter")
        await stamps.bump(stamps.school_scope(school.id))
    return True
