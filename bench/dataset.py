"""The rows of one generated school, as plain tuples per table (bench/generate.py writes them).

Each school draws from its own seeded random generator, so school 1 holds the
same rows whether it is generated alone or as the first of an academy: the
benchmarks then read the same objects at both scales.

A school: 3 levels (two Bac Pro MELEC, one CAP Électricien), 4 classrooms per
level, learners (about 15 % apprentices), 3 teachers per level (one teaches the
four classrooms, two teach two each), an admin, tutors of a pool of companies,
one master per apprentice; 4 periods per level, every learner of the level in
each, with a liaison fiche, 6 activity fiches linked to tasks with evaluation
targets, and a company bilan: completed with its results (append-only log, a
few corrected values) for periods 1 to 3, a draft partly entered for period 4;
interim reviews for one learner in twelve after period 2.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from models.bilans import EvaluationMode
from resolvers.bilans.grid import FrameworkShape, derived_mode, effective_modes, marks_from_fiches

# The columns written per table, in the order of the tuples below (FK order: parents first).
COLUMNS: dict[str, tuple[str, ...]] = {
    "school": ("id", "uai", "name", "created_at", "updated_at"),
    "level": ("id", "school_id", "name", "position", "framework_id", "created_at", "updated_at"),
    "classroom": ("id", "school_id", "level_id", "name", "external_code", "created_at", "updated_at"),
    "app_user": (
        "id",
        "school_id",
        "role",
        "email",
        "password_hash",
        "first_name",
        "last_name",
        "phone",
        "is_active",
        "token_version",
        "birth_date",
        "learner_status",
        "classroom_id",
        "national_id",
        "company_name",
        "job_title",
        "created_by_id",
        "created_at",
        "updated_at",
        "password_change_required",
    ),
    "teacher_classroom": ("app_user_id", "classroom_id"),
    "period": (
        "id",
        "school_id",
        "level_id",
        "template_id",
        "name",
        "start_date",
        "end_date",
        "school_year",
        "certifying",
        "objectives",
        "created_by_id",
        "version",
        "created_at",
        "updated_at",
    ),
    "period_task": ("period_id", "task_id"),
    "portfolio": ("id", "school_id", "period_id", "learner_id", "days_done", "created_at", "updated_at"),
    "portfolio_trainer": ("portfolio_id", "user_id"),
    "liaison_fiche": (
        "id",
        "portfolio_id",
        "company_name",
        "activity_domain",
        "service",
        "tutor_name",
        "tutor_role",
        "objectives",
        "objectives_individualized",
        "tasks_individualized",
        "version",
        "created_at",
        "updated_at",
    ),
    "liaison_fiche_task": ("liaison_fiche_id", "task_id"),
    "activity_fiche": (
        "id",
        "school_id",
        "learner_id",
        "portfolio_id",
        "former_period_name",
        "title",
        "autonomy",
        "workplace",
        "description",
        "analysis",
        "deleted_at",
        "learner_changed_at",
        "version",
        "created_at",
        "updated_at",
        "reference",
    ),
    "activity_fiche_task": ("id", "fiche_id", "task_id", "ticked_by_learner", "checked_by_teacher"),
    "activity_fiche_target": ("id", "fiche_id", "task_id", "competence_id", "criterion_id"),
    "activity_fiche_activity_type": ("activity_fiche_id", "frameworkactivity_id"),
    "activity_fiche_read": ("id", "fiche_id", "teacher_id", "read_at"),
    "annex": (
        "id",
        "fiche_id",
        "kind",
        "title",
        "url",
        "original_filename",
        "stored_name",
        "content_type",
        "size",
        "created_at",
        "updated_at",
    ),
    "company_bilan": (
        "id",
        "portfolio_id",
        "status",
        "engagement",
        "meeting_date",
        "comment",
        "completed_at",
        "frozen_grid",
        "version",
        "created_at",
        "updated_at",
    ),
    "company_bilan_mode": ("id", "bilan_id", "competence_id", "mode"),
    "company_bilan_result": (
        "id",
        "bilan_id",
        "competence_id",
        "criterion_id",
        "level",
        "previous_level",
        "author_id",
        "recorded_at",
    ),
    "company_bilan_event": ("id", "bilan_id", "kind", "author_id", "note", "recorded_at"),
    "interim_review": ("id", "school_id", "learner_id", "review_date", "created_by_id", "created_at", "updated_at"),
    "interim_review_bilan": ("interim_review_id", "companybilan_id"),
}

CLASSROOMS_PER_LEVEL = 4
FICHES_PER_PORTFOLIO = 6
COMPLETED_PERIODS = 3  # periods 1-3 have completed bilans; period 4's are drafts being entered
LEVELS = (
    ("Seconde Bac Pro MELEC", "2 MELEC", "BACPRO-MELEC"),
    ("Première Bac Pro MELEC", "1 MELEC", "BACPRO-MELEC"),
    ("Première année de CAP Électricien", "1 CAP ELEC", "CAP-ELEC"),
)
# (name, first day, last day) relative to the school year's first calendar year Y.
PERIODS = (
    ("PFMP 1", (0, 10, 5), (0, 10, 30)),
    ("PFMP 2", (1, 1, 11), (1, 2, 5)),
    ("PFMP 3", (1, 3, 15), (1, 4, 9)),
    ("PFMP 4", (1, 5, 24), (1, 6, 18)),
)
RESULT_LEVELS = ("NOT_ACQUIRED", "BEGINNING", "PARTIAL", "ACQUIRED", "MASTERED")

FIRST_NAMES = (
    "Léa",
    "Hugo",
    "Chloé",
    "Lucas",
    "Emma",
    "Nathan",
    "Inès",
    "Théo",
    "Jade",
    "Enzo",
    "Manon",
    "Louis",
    "Camille",
    "Mathis",
    "Sarah",
    "Noah",
    "Lina",
    "Tom",
    "Zoé",
    "Maël",
    "Yanis",
    "Clara",
    "Rayan",
    "Anaïs",
    "Kylian",
    "Eva",
    "Axel",
    "Lou",
    "Adam",
    "Romane",
    "Sacha",
    "Océane",
    "Matéo",
    "Elsa",
    "Jules",
    "Nina",
)
LAST_NAMES = (
    "MARTIN",
    "BERNARD",
    "DUBOIS",
    "THOMAS",
    "ROBERT",
    "RICHARD",
    "PETIT",
    "DURAND",
    "LEROY",
    "MOREAU",
    "SIMON",
    "LAURENT",
    "LEFEBVRE",
    "MICHEL",
    "GARCIA",
    "DAVID",
    "BERTRAND",
    "ROUX",
    "VINCENT",
    "FOURNIER",
    "MOREL",
    "GIRARD",
    "ANDRÉ",
    "LEFÈVRE",
    "MERCIER",
    "DUPONT",
    "LAMBERT",
    "BONNET",
    "FRANÇOIS",
    "MARTINEZ",
    "CARLIER",
    "LECAM",
    "DUPIRE",
    "FABROWSKI",
    "HÔT",
    "DELATTRE",
    "DESCAMPS",
    "VANDAMME",
    "LEMAIRE",
)
COMPANIES = (
    "Tout élec",
    "Lumière & Cie",
    "Watt Services",
    "Électricité Générale du Nord",
    "Ampère Bâtiment",
    "Volta Industrie",
    "Réseaux Flandres",
    "Domotique Plus",
    "Câblage Services",
    "Énergies Artois",
    "Tableaux & Armoires",
    "Maintenance Industrielle Lilloise",
)
DOMAINS = (
    "Entreprise générale d'électricité (particuliers)",
    "Électricité tertiaire",
    "Maintenance industrielle",
    "Réseaux et infrastructures",
    "Domotique et bâtiments communicants",
)
JOBS = ("électricien", "chef de chantier", "technicien de maintenance", "chargé d'affaires")
CITIES = ("Lille", "Roubaix", "Tourcoing", "Douai", "Valenciennes", "Arras", "Lens", "Dunkerque", "Calais", "Béthune")
OBJECTIVES = (
    "Découvrir l'entreprise et ses règles de sécurité ; participer à la préparation d'une intervention ; "
    "réaliser sous contrôle une partie d'une installation."
)


class Ids:
    """The next primary key of each table (the database is empty but for the built-in frameworks)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = defaultdict(int)

    def next(self, table: str) -> int:
        self._last[table] += 1
        return self._last[table]


@dataclass(frozen=True)
class Scale:
    learners_per_classroom: int = 30
    apprentice_share: float = 0.15
    companies: int = 40


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


class SchoolRows:
    """Builds the rows of one school; `tables` maps a table to its tuples (columns as in COLUMNS)."""

    def __init__(
        self,
        index: int,
        seed: int,
        ids: Ids,
        shapes: dict[str, FrameworkShape],
        year: int,
        password_hash: str,
        scale: Scale,
    ):
        self.index, self.ids, self.shapes, self.year = index, ids, shapes, year
        self.rng = random.Random(f"{seed}:{index}")
        self.password_hash, self.scale = password_hash, scale
        self.tables: dict[str, list[tuple]] = defaultdict(list)
        self.uai = f"{5900000 + index:07d}{'ABCDEFGHJKLMNPRSTUVWXYZ'[index % 23]}"
        self.created = _at(dt.date(year, 9, 1), 8)

    def add(self, table: str, *values) -> None:
        self.tables[table].append(values)

    def build(self) -> dict[str, list[tuple]]:
        self.school_id = self.ids.next("school")
        city = CITIES[self.index % len(CITIES)]
        self.add(
            "school",
            self.school_id,
            self.uai,
            f"Lycée professionnel {city} n° {self.index + 1}",
            self.created,
            self.created,
        )
        self.admin_id = self._user("ADMIN", "Alain", f"ADMIN{self.index + 1}")
        tutors = self._tutors()
        for position, (name, prefix, framework) in enumerate(LEVELS, start=1):
            self._level(position, name, prefix, self.shapes[framework], tutors)
        return self.tables

    def _user(self, role: str, first: str, last: str, **extra) -> int:
        user_id = self.ids.next("app_user")
        values = dict(
            phone=None,
            birth_date=None,
            learner_status=None,
            classroom_id=None,
            national_id=None,
            company_name=None,
            job_title=None,
        )
        values.update(extra)
        email = f"{_ascii(first)}.{_ascii(last)}.{user_id}@{self.uai.lower()}.bench.pfmp.test"
        self.add(
            "app_user",
            user_id,
            self.school_id,
            role,
            email,
            self.password_hash,
            first,
            last,
            values["phone"],
            True,
            1,
            values["birth_date"],
            values["learner_status"],
            values["classroom_id"],
            values["national_id"],
            values["company_name"],
            values["job_title"],
            None,
            self.created,
            self.created,
            False,
        )
        return user_id

    def _name(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    def _tutors(self) -> list[tuple[int, str, str, str]]:
        """(user id, full name, company, job) of two tutors per company of the pool."""
        found = []
        for n in range(self.scale.companies):
            company = f"{COMPANIES[n % len(COMPANIES)]} {CITIES[n % len(CITIES)]}"
            for _ in range(2):
                first, last = self._name()
                job = self.rng.choice(JOBS)
                user_id = self._user("TUTOR", first, last, company_name=company, job_title=job)
                found.append((user_id, f"{first} {last}", company, job))
        return found

    def _level(self, position: int, name: str, prefix: str, shape: FrameworkShape, tutors: list) -> None:
        level_id = self.ids.next("level")
        self.add("level", level_id, self.school_id, name, position, shape.id, self.created, self.created)
        classrooms = []
        for letter in "ABCD"[:CLASSROOMS_PER_LEVEL]:
            classroom_id = self.ids.next("classroom")
            self.add(
                "classroom",
                classroom_id,
                self.school_id,
                level_id,
                f"{prefix} {letter}",
                f"{prefix.replace(' ', '')}{letter}",
                self.created,
                self.created,
            )
            classrooms.append(classroom_id)
        # One teacher follows the whole level, two others half of it each.
        teachers = []
        for taught in (classrooms, classrooms[:2], classrooms[2:]):
            first, last = self._name()
            teacher_id = self._user("TEACHER", first, f"{last}-PROF")
            for classroom_id in taught:
                self.add("teacher_classroom", teacher_id, classroom_id)
            teachers.append(teacher_id)
        learners = []
        for classroom_id in classrooms:
            for _ in range(self.scale.learners_per_classroom):
                first, last = self._name()
                apprentice = self.rng.random() < self.scale.apprentice_share
                learner_id = self._user(
                    "LEARNER",
                    first,
                    last,
                    learner_status="APPRENTICE" if apprentice else "SCHOOL",
                    classroom_id=classroom_id,
                    birth_date=dt.date(self.year - 15 - position % 2, 1 + len(learners) % 12, 1 + len(learners) % 28),
                    national_id=f"{self.index:03d}{len(self.tables['app_user']):08d}",
                )
                master = None
                if apprentice:
                    company = f"{self.rng.choice(COMPANIES)} {self.rng.choice(CITIES)}"
                    m_first, m_last = self._name()
                    job = "maître d'apprentissage"
                    master = (
                        self._user("MASTER", m_first, m_last, company_name=company, job_title=job),
                        f"{m_first} {m_last}",
                        company,
                        job,
                    )
                learners.append((learner_id, master))
        tasks = [t for activity in shape.activities for t in shape.tasks_by_activity[activity.id]]
        reviewed = {learner_id for n, (learner_id, _) in enumerate(learners) if n % 12 == 5}
        bilans_of: dict[int, list[int]] = defaultdict(list)
        for number, (period_name, first_day, last_day) in enumerate(PERIODS, start=1):
            start = dt.date(self.year + first_day[0], first_day[1], first_day[2])
            end = dt.date(self.year + last_day[0], last_day[1], last_day[2])
            period_id = self.ids.next("period")
            period_tasks = sorted(self.rng.sample(tasks, k=min(6, len(tasks))), key=lambda t: t.position)
            self.add(
                "period",
                period_id,
                self.school_id,
                level_id,
                None,
                period_name,
                start,
                end,
                self.year,
                True,
                OBJECTIVES,
                teachers[0],
                1,
                _at(start - dt.timedelta(days=30)),
                _at(start - dt.timedelta(days=30)),
            )
            for task in period_tasks:
                self.add("period_task", period_id, task.id)
            for learner_id, master in learners:
                trainer = master or self.rng.choice(tutors)
                bilan_id = self._portfolio(
                    number, period_id, start, end, learner_id, trainer, period_tasks, shape, teachers[0]
                )
                if number <= 2 and learner_id in reviewed:
                    bilans_of[learner_id].append(bilan_id)
        review_day = dt.date(self.year + 1, 2, 5) + dt.timedelta(days=14)
        for learner_id, bilan_ids in bilans_of.items():
            review_id = self.ids.next("interim_review")
            self.add(
                "interim_review",
                review_id,
                self.school_id,
                learner_id,
                review_day,
                teachers[0],
                _at(review_day, 16),
                _at(review_day, 16),
            )
            for bilan_id in bilan_ids:
                self.add("interim_review_bilan", review_id, bilan_id)

    def _portfolio(
        self,
        number: int,
        period_id: int,
        start: dt.date,
        end: dt.date,
        learner_id: int,
        trainer,
        period_tasks: list,
        shape: FrameworkShape,
        teacher_id: int,
    ) -> int:
        rng = self.rng
        assigned = _at(start - dt.timedelta(days=21), 10)
        portfolio_id = self.ids.next("portfolio")
        weekdays = sum((start + dt.timedelta(days=d)).weekday() < 5 for d in range((end - start).days + 1))
        done = None if number > COMPLETED_PERIODS else Decimal(weekdays - rng.choice((0, 0, 0, 1, 2)))
        self.add("portfolio", portfolio_id, self.school_id, period_id, learner_id, done, assigned, assigned)
        self.add("portfolio_trainer", portfolio_id, trainer[0])
        liaison_id = self.ids.next("liaison_fiche")
        individualized = rng.random() < 0.1
        self.add(
            "liaison_fiche",
            liaison_id,
            portfolio_id,
            trainer[2],
            rng.choice(DOMAINS),
            rng.choice((None, "Travaux neufs", "Maintenance")),
            trainer[1],
            trainer[3],
            OBJECTIVES + (" Objectif individualisé : autonomie sur le câblage." if individualized else ""),
            individualized,
            False,
            1 + individualized,
            assigned,
            assigned,
        )
        for task in period_tasks:
            self.add("liaison_fiche_task", liaison_id, task.id)
        fiches, links, targets = self._fiches(
            number, portfolio_id, start, learner_id, trainer[2], period_tasks, shape, teacher_id
        )
        return self._bilan(number, portfolio_id, end, shape, fiches, links, targets, teacher_id)

    def _fiches(self, number, portfolio_id, start, learner_id, company, period_tasks, shape, teacher_id):
        rng = self.rng
        fiches, links, targets = [], [], []
        for n in range(1, FICHES_PER_PORTFOLIO + 1):
            fiche_id = self.ids.next("activity_fiche")
            created = _at(start + dt.timedelta(days=3 * n), 17, n)
            written = not (number == 4 and n == FICHES_PER_PORTFOLIO)
            deleted = _at(start + dt.timedelta(days=3 * n + 1)) if rng.random() < 0.02 else None
            title = (
                "Fiche 1 : Découverte de l'entreprise"
                if n == 1
                else f"Fiche {n} : {rng.choice(period_tasks).label[:60]}"
            )
            self.add(
                "activity_fiche",
                fiche_id,
                self.school_id,
                learner_id,
                portfolio_id,
                None,
                title,
                rng.choice(("AUTONOMOUS", "ACCOMPANIED")) if written else None,
                company,
                "J'ai préparé le matériel, câblé puis contrôlé l'installation avec mon tuteur." if written else "",
                "J'ai compris l'importance de vérifier la consignation avant d'intervenir." if written else "",
                deleted,
                created,
                1,
                created,
                deleted or created,
                n,
            )
            if deleted is None:
                fiches.append({"id": fiche_id, "title": title, "reference": n})
            chosen = sorted(
                rng.sample(period_tasks, k=min(len(period_tasks), rng.choice((2, 2, 3)))), key=lambda t: t.position
            )
            for task in chosen:
                self.add(
                    "activity_fiche_task",
                    self.ids.next("activity_fiche_task"),
                    fiche_id,
                    task.id,
                    True,
                    number <= COMPLETED_PERIODS,
                )
                links.append({"fiche_id": fiche_id, "task_id": task.id})
            for activity_id in sorted({task.activity_id for task in chosen}):
                self.add("activity_fiche_activity_type", fiche_id, activity_id)
            if number <= COMPLETED_PERIODS or rng.random() < 0.6:
                targets += self._targets(fiche_id, chosen, shape)
            if rng.random() < 0.85:
                self.add(
                    "activity_fiche_read",
                    self.ids.next("activity_fiche_read"),
                    fiche_id,
                    teacher_id,
                    created + dt.timedelta(days=2),
                )
            if rng.random() < 0.15:
                self.add(
                    "annex",
                    self.ids.next("annex"),
                    fiche_id,
                    "URL",
                    "Photos du chantier",
                    f"https://photos.example.test/{fiche_id}",
                    None,
                    None,
                    None,
                    None,
                    created,
                    created,
                )
        return fiches, links, targets

    def _targets(self, fiche_id: int, tasks: list, shape: FrameworkShape) -> list[dict]:
        found = []
        for task in tasks:
            task_links = shape.links_by_task.get(task.id, [])
            for link in self.rng.sample(task_links, k=min(len(task_links), self.rng.choice((1, 2)))):
                criteria = shape.criteria_by_competence.get(link.competence_id, [])
                chosen = (
                    [None]
                    if self.rng.random() < 0.6 or not criteria
                    else [c.id for c in self.rng.sample(criteria, k=min(len(criteria), self.rng.choice((1, 2))))]
                )
                for criterion_id in chosen:
                    self.add(
                        "activity_fiche_target",
                        self.ids.next("activity_fiche_target"),
                        fiche_id,
                        task.id,
                        link.competence_id,
                        criterion_id,
                    )
                    found.append(
                        {
                            "fiche_id": fiche_id,
                            "task_id": task.id,
                            "competence_id": link.competence_id,
                            "criterion_id": criterion_id,
                        }
                    )
        return found

    def _bilan(self, number, portfolio_id, end, shape, fiches, links, targets, teacher_id) -> int:
        rng = self.rng
        bilan_id = self.ids.next("company_bilan")
        marks = marks_from_fiches(fiches, links, targets)
        completed = number <= COMPLETED_PERIODS
        entered = completed or rng.random() < 0.5
        competences = (
            shape.competences if completed else rng.sample(shape.competences, k=min(4, len(shape.competences)))
        )
        stored: dict[int, EvaluationMode] = {}
        saves = 0
        recorded = _at(end + dt.timedelta(days=2), 14)
        weights = [max(1, w + 4 * (number - 2) * i) for i, w in enumerate((8, 16, 30, 32, 14))]
        for competence in competences if entered else ():
            if completed and rng.random() < 0.1:
                continue  # not evaluated in this period
            mode = derived_mode(shape, marks, competence.id)
            if rng.random() < 0.15:
                mode = EvaluationMode.CRITERIA if mode is EvaluationMode.GLOBAL else EvaluationMode.GLOBAL
            items = (
                [None]
                if mode is EvaluationMode.GLOBAL
                else [c.id for c in shape.criteria_by_competence.get(competence.id, []) if rng.random() < 0.85]
            )
            if not items:
                continue
            stored[competence.id] = mode
            self.add("company_bilan_mode", self.ids.next("company_bilan_mode"), bilan_id, competence.id, mode.value)
            for criterion_id in items:
                level, previous = rng.choices(RESULT_LEVELS, weights)[0], None
                if rng.random() < 0.15:  # a value corrected at a later save: the log keeps both
                    previous = rng.choice(RESULT_LEVELS)
                    self.add(
                        "company_bilan_result",
                        self.ids.next("company_bilan_result"),
                        bilan_id,
                        competence.id,
                        criterion_id,
                        previous,
                        None,
                        teacher_id,
                        recorded,
                    )
                    saves = 2
                self.add(
                    "company_bilan_result",
                    self.ids.next("company_bilan_result"),
                    bilan_id,
                    competence.id,
                    criterion_id,
                    level,
                    previous,
                    teacher_id,
                    recorded + dt.timedelta(minutes=10),
                )
                saves = max(saves, 1)
        frozen, completed_at, events = None, None, []
        if completed:
            modes = effective_modes(shape, marks, stored)
            frozen = json.dumps(
                {
                    **marks.to_json(),
                    "framework_id": shape.id,
                    "modes": [[comp, mode.value] for comp, (mode, _) in modes.items()],
                }
            )
            completed_at = _at(end + dt.timedelta(days=4), 11)
            events.append(("COMPLETED", ""))
        meeting = end + dt.timedelta(days=2) if rng.random() < 0.1 else None
        version = 1 + saves + len(events)
        self.add(
            "company_bilan",
            bilan_id,
            portfolio_id,
            "COMPLETED" if completed else "DRAFT",
            rng.choice((2, 3, 3, 4)) if entered else None,
            meeting,
            "Bonne implication dans l'entreprise." if entered else "",
            completed_at,
            frozen,
            version,
            _at(end - dt.timedelta(days=40)),
            completed_at or recorded,
        )
        for kind, note in events:
            self.add(
                "company_bilan_event",
                self.ids.next("company_bilan_event"),
                bilan_id,
                kind,
                teacher_id,
                note,
                completed_at,
            )
        return bilan_id
