"""The plain data the DOCX builders take: frozen dataclasses, no ORM, no I/O.

Each class mirrors rows of `models/` so a caller fills it field by field from
already-scoped query results; the comments name the source of each field.
Sequences are tuples (hashable, immutable) and are printed in the order
given: the caller sorts (framework `position`, fiche order, learner name).

Achievement levels travel as their value (`"ACQUIRED"`, the
`AchievementLevel` enum values); the words printed come from the `Scale`
given with the data, so a school's own labels end up on paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

# The scale value that means "no result yet": such a result does not count as evaluated.
NOT_EVALUATED = "NOT_EVALUATED"


# --- shared -----------------------------------------------------------------


@dataclass(frozen=True)
class SchoolInfo:
    """`School`: name and national UAI code, printed at the top of every page; the attestation adds its address and
    head of school."""

    name: str
    uai: str
    address: str | None = None
    head_of_school: str | None = None


@dataclass(frozen=True)
class LearnerInfo:
    """`User` with role LEARNER, and the name of their `Classroom`."""

    first_name: str
    last_name: str
    classroom: str = ""
    # `learner_status == APPRENTICE`: the company trainer is then a "maître d'apprentissage".
    apprentice: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def trainer_title(self) -> str:
        return "Maître d'apprentissage" if self.apprentice else "Tuteur de stage"


@dataclass(frozen=True)
class PeriodInfo:
    """`Period`: name, dates, whether it counts for the diploma, and its planned days."""

    name: str
    start_date: date
    end_date: date
    certifying: bool = True
    # `Period.plannedDays` as the API gives it (the school's figure, else working days less French public
    # holidays); None: `planned_days` counts the days Monday to Friday between the dates.
    planned: int | None = None

    @property
    def planned_days(self) -> int:
        """The planned days given, else the Monday–Friday days between the dates (no calendar of holidays here)."""
        if self.planned is not None:
            return self.planned
        days = (self.end_date - self.start_date).days + 1
        return sum(1 for offset in range(max(days, 0)) if (self.start_date + timedelta(offset)).weekday() < 5)


@dataclass(frozen=True)
class Workplace:
    """The workplace part of a `LiaisonFiche` (lieu de réalisation); any field may still be empty."""

    company_name: str | None = None
    activity_domain: str | None = None
    service: str | None = None
    tutor_name: str | None = None
    tutor_role: str | None = None
    # Printed on the attestation only.
    company_address: str | None = None
    company_siret: str | None = None


@dataclass(frozen=True)
class TaskRef:
    """A framework `Task` (or any code + label pair): "TA 1-1" + its label."""

    code: str
    label: str


@dataclass(frozen=True)
class ScaleLevel:
    """A framework's `ScaleLevel` row: value, label, and whether it is the proficiency threshold."""

    value: str
    label: str
    is_threshold: bool = False


@dataclass(frozen=True)
class Scale:
    """A framework's achievement scale: its `ScaleLevel` rows sorted by `position`, lowest first."""

    levels: tuple[ScaleLevel, ...]

    def label(self, value: str | None) -> str:
        """The printed word for a level value; an unknown value is printed as is."""
        for level in self.levels:
            if level.value == value:
                return level.label
        return value or ""

    def rank(self, value: str) -> int | None:
        for index, level in enumerate(self.levels):
            if level.value == value:
                return index
        return None

    @property
    def threshold_rank(self) -> int | None:
        for index, level in enumerate(self.levels):
            if level.is_threshold:
                return index
        return None

    def reaches_threshold(self, value: str | None) -> bool:
        rank, threshold = (self.rank(value) if value else None), self.threshold_rank
        return rank is not None and threshold is not None and rank >= threshold


# --- meeting sheet (R22) ----------------------------------------------------
# The bilan grid of R18. `fiche_refs` are the reference numbers of the fiches
# that selected an item (the numbers of `MeetingSheetData.fiches`); an
# item is shown marked as soon as one fiche selected it.


@dataclass(frozen=True)
class GridCriterion:
    """A `Criterion` under a task's competence; `fiche_refs` from `FicheEvaluationTarget` rows with this criterion."""

    label: str
    fiche_refs: tuple[int, ...] = ()
    # The level the bilan records for the criterion (a scale value); None when nothing is recorded.
    level: str | None = None

    @property
    def marked(self) -> bool:
        return bool(self.fiche_refs)


@dataclass(frozen=True)
class GridCompetence:
    """A `Competence` linked to a task (`TaskCompetence`).

    `by_criteria` is the bilan's mode for this competence (`BilanCompetenceMode`
    CRITERIA): its criteria then get the level boxes, else the competence does.
    `fiche_refs`: fiches that selected the competence globally for this task.
    """

    code: str
    label: str
    by_criteria: bool = False
    fiche_refs: tuple[int, ...] = ()
    criteria: tuple[GridCriterion, ...] = ()
    # The level the bilan records for the competence, or retains for it when evaluated by criteria; None: nothing.
    level: str | None = None

    @property
    def all_fiche_refs(self) -> tuple[int, ...]:
        """Fiches that selected the competence or any of its criteria, sorted."""
        refs = set(self.fiche_refs)
        for criterion in self.criteria:
            refs.update(criterion.fiche_refs)
        return tuple(sorted(refs))

    @property
    def marked(self) -> bool:
        return bool(self.all_fiche_refs)


@dataclass(frozen=True)
class GridTask:
    """A `Task` with its competences; `fiche_refs` from the `FicheTask` rows of the period's fiches."""

    code: str
    label: str
    fiche_refs: tuple[int, ...] = ()
    competences: tuple[GridCompetence, ...] = ()

    @property
    def marked(self) -> bool:
        return bool(self.fiche_refs)


@dataclass(frozen=True)
class GridActivity:
    """A `FrameworkActivity` ("1", "Préparation") grouping its tasks."""

    code: str
    label: str
    tasks: tuple[GridTask, ...] = ()


@dataclass(frozen=True)
class SheetBilan:
    """The `CompanyBilan` a meeting sheet prints: its state and what was recorded (R19–R21)."""

    completed: bool = False
    # 1 to 4 stars; None while not set.
    engagement: int | None = None
    completed_at: datetime | None = None
    # The name of whoever completed it (the last COMPLETED or SIGNED_ON_PAPER event's author).
    completed_by: str | None = None
    # Signed on paper (the paper path): the document says so, the scan being kept with the bilan.
    signed_on_paper: bool = False


@dataclass(frozen=True)
class MeetingSheetData:
    """Everything "Préparer la rencontre" prints for one portfolio, and the completed bilan as a document.

    `activities` holds every task of the level's framework (R18), grouped by
    activity, in `position` order, each with its linked competences; for a
    completed bilan, the grid as it was frozen (`CompanyBilan.frozen_grid`).
    A competence (or, by criteria, a criterion) linked to several tasks gets
    its level boxes on every row where a fiche selected it, and at its first
    appearance when no fiche selected it anywhere.
    """

    school: SchoolInfo
    period: PeriodInfo
    learner: LearnerInfo
    scale: Scale
    activities: tuple[GridActivity, ...]
    # The period's fiches in reference order, each (reference number, title): the number stored on the fiche
    # (R18), so a deleted fiche leaves a gap and never shifts the others.
    fiches: tuple[tuple[int, str], ...] = ()
    workplace: Workplace | None = None
    # `CompanyBilan.meeting_date`; None prints the period's last day (R20).
    meeting_date: date | None = None
    # `CompanyBilan.comment`, printed above the blank lines left for writing.
    comment: str = ""
    # The referent teacher, printed under their signature box.
    teacher_name: str | None = None
    # The bilan (None: a bare grid); its levels travel in the grid items' `level`.
    bilan: SheetBilan | None = None
    # Whether the learner is under 18 on the meeting date (a legal guardian signs); None: birth date unknown.
    minor: bool | None = None

    @property
    def effective_meeting_date(self) -> date:
        return self.meeting_date or self.period.end_date


# --- pre-convention (R23) ---------------------------------------------------


@dataclass(frozen=True)
class TrainerInfo:
    """The company trainer assigned to the portfolio (a `User` with role TUTOR or MASTER).

    `phone` and `email` are None when the reader may not see them (`trainer.contact.read`: not a learner): the
    document then leaves their cells blank, to fill in by hand.
    """

    first_name: str
    last_name: str
    company_name: str | None = None
    job_title: str | None = None
    phone: str | None = None
    email: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class PreConventionLearner:
    """One learner's liaison fiche for the period: workplace (if known), objectives, planned tasks."""

    learner: LearnerInfo
    workplace: Workplace | None = None
    # `LiaisonFiche.objectives`: free text, one paragraph per line.
    objectives: str = ""
    # `LiaisonFiche.tasks`, in framework order.
    tasks: tuple[TaskRef, ...] = ()
    # The assigned trainer: the master of an apprentice, the tutor of a school-status learner; None: none assigned.
    trainer: TrainerInfo | None = None
    # The referent teacher's name (`Portfolio.referentTeacher`); None: none known.
    referent_teacher: str | None = None


@dataclass(frozen=True)
class PreConventionData:
    """A period and the learners to print a pre-convention for (one, or all those assigned)."""

    school: SchoolInfo
    period: PeriodInfo
    learners: tuple[PreConventionLearner, ...] = ()


# --- PFMP attestation ------------------------------------------------------


@dataclass(frozen=True)
class AttestationLearner:
    """One portfolio's attestation: the learner, where they worked, the days done and what they did."""

    learner: LearnerInfo
    # `User.birth_date`; None prints a blank to fill in.
    birth_date: date | None = None
    workplace: Workplace | None = None
    # `Portfolio.days_done`; None (not yet recorded) prints a blank to fill in.
    days_done: Decimal | float | int | None = None
    # The tasks the portfolio's fiches (not deleted) link, each once, in framework order.
    activities: tuple[TaskRef, ...] = ()


@dataclass(frozen=True)
class AttestationData:
    """A period's attestations: one, or one per learner assigned, each on its own pages."""

    school: SchoolInfo
    period: PeriodInfo
    # `Level.diploma_name` and `Level.diploma_year` (a `DiplomaYear` value) of the period's level.
    diploma_name: str | None = None
    diploma_year: str | None = None
    learners: tuple[AttestationLearner, ...] = ()


# --- syntheses (R24) --------------------------------------------------------


@dataclass(frozen=True)
class FicheSummary:
    """An `ActivityFiche` of the period; `completed` when its description is filled in (R2)."""

    title: str
    completed: bool = True


@dataclass(frozen=True)
class CompetenceResult:
    """The result of one competence in a bilan.

    `level` is a scale value, or None when nothing was recorded. For a
    competence evaluated criterion by criterion the caller passes the level
    it retains for the competence: the exports do not derive one.
    """

    code: str
    label: str
    level: str | None = None

    @property
    def evaluated(self) -> bool:
        return self.level is not None and self.level != NOT_EVALUATED


@dataclass(frozen=True)
class BilanSummary:
    """A `CompanyBilan`: status, meeting date, engagement (1–4 stars or None) and results."""

    completed: bool = False
    meeting_date: date | None = None
    engagement: int | None = None
    results: tuple[CompetenceResult, ...] = ()
    comment: str = ""


@dataclass(frozen=True)
class PeriodRecord:
    """One portfolio of a learner: the period, where it happened and how it went."""

    period: PeriodInfo
    workplace: Workplace | None = None
    # `Portfolio.days_done`: days actually worked (absences deducted); None when not yet recorded.
    days_done: Decimal | float | int | None = None
    fiches: tuple[FicheSummary, ...] = ()
    # None when no bilan has been started for the portfolio.
    bilan: BilanSummary | None = None


@dataclass(frozen=True)
class LearnerPeriods:
    """A learner and their portfolios, oldest period first."""

    learner: LearnerInfo
    periods: tuple[PeriodRecord, ...] = ()


@dataclass(frozen=True)
class LearnerSynthesisData:
    """The synthesis of one learner's periods in companies."""

    school: SchoolInfo
    scale: Scale
    learner: LearnerInfo
    periods: tuple[PeriodRecord, ...] = ()
    level_name: str = ""
    # "2026-2027"; empty when the document spans several school years.
    school_year: str = ""


@dataclass(frozen=True)
class LevelSynthesisData:
    """The synthesis of every learner of a `Level`, in the order given."""

    school: SchoolInfo
    scale: Scale
    level_name: str
    learners: tuple[LearnerPeriods, ...] = ()
    school_year: str = ""
