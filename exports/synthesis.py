"""Syntheses of periods in companies (R24): one learner, or every learner of a level.

Per period: dates, certifying or not, workplace, days done, fiches, the
bilan's status, results (the scale's labels) and engagement. The level
synthesis opens with the competences × learners table (each learner's
current level of each competence, in the scale's words), then the summary
table, then gives each learner a page of their own.

The summary counts competences on the latest result of each competence in
completed bilans (R25 treats the latest result as the current level); a
draft bilan is printed with its period but not counted, its results are
not final yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from docx.document import Document as DocxDocument

from exports.common import (
    format_date,
    format_days,
    heading,
    identity_table,
    learner_line,
    new_document,
    paragraph,
    period_dates,
    plural,
    quoted,
    spacer,
    stars,
    title,
    to_bytes,
    usable_width_cm,
)
from exports.data import (
    BilanSummary,
    LearnerInfo,
    LearnerPeriods,
    LearnerSynthesisData,
    LevelSynthesisData,
    PeriodRecord,
    Scale,
    Workplace,
)
from exports.wordml import Cell, Run, Table

DOCUMENT_TITLE = "Synthèse des formations en entreprise"
NO_PERIOD = "Aucune période en entreprise n'est enregistrée pour cet apprenant."
NO_LEARNER = "Aucun apprenant n'est inscrit dans ce niveau."
NO_LEVEL_YET = "Aucun bilan entreprise complété : pas encore de niveau à reporter."
# Learners per competences × learners table: five level columns of 2.4 cm fit a portrait page.
LEARNERS_PER_TABLE = 5
COMPETENCE_WIDTH_CM = 5.4
SMALL_PT = 8


@dataclass(frozen=True)
class LearnerTally:
    """What the summary says of one learner."""

    periods: int
    certifying_periods: int
    days_done: Decimal | None
    planned_days: int
    fiches: int
    completed_fiches: int
    competences_reached: int
    competences_evaluated: int


def current_levels(periods: Sequence[PeriodRecord]) -> dict[str, str]:
    """Each competence's current level: its latest evaluated result in a completed bilan (R25), by code."""
    latest: dict[str, str] = {}
    for record in sorted(periods, key=lambda record: record.period.end_date):
        if record.bilan is None or not record.bilan.completed:
            continue
        for result in record.bilan.results:
            if result.evaluated:
                assert result.level is not None  # an evaluated result has a level
                latest[result.code] = result.level
    return latest


def tally(scale: Scale, periods: Sequence[PeriodRecord]) -> LearnerTally:
    """Totals over a learner's periods; competences counted on their latest completed result."""
    latest = current_levels(periods)
    known_days = [Decimal(str(record.days_done)) for record in periods if record.days_done is not None]
    return LearnerTally(
        periods=len(periods),
        certifying_periods=sum(1 for record in periods if record.period.certifying),
        days_done=sum(known_days, Decimal(0)) if known_days else None,
        planned_days=sum(record.period.planned_days for record in periods),
        fiches=sum(len(record.fiches) for record in periods),
        completed_fiches=sum(1 for record in periods for fiche in record.fiches if fiche.completed),
        competences_reached=sum(1 for level in latest.values() if scale.reaches_threshold(level)),
        competences_evaluated=len(latest),
    )


def build_learner_synthesis(data: LearnerSynthesisData) -> bytes:
    """The synthesis of one learner's periods, as DOCX bytes (A4 portrait)."""
    document = new_document(data.school, DOCUMENT_TITLE)
    title(document, DOCUMENT_TITLE, learner_line(data.learner))
    _learner(document, data.scale, data.learner, data.periods, level_name=data.level_name, year=data.school_year)
    return to_bytes(document)


def build_level_synthesis(data: LevelSynthesisData) -> bytes:
    """The synthesis of every learner of a level: a summary table, then one page per learner."""
    document = new_document(data.school, DOCUMENT_TITLE)
    subtitle = f"{data.level_name} — {data.school_year}" if data.school_year else data.level_name
    title(document, DOCUMENT_TITLE + " pour tous les apprenants de ce niveau", subtitle)
    if not data.learners:
        paragraph(document, NO_LEARNER, italic=True)
        return to_bytes(document)
    _levels_by_learner(document, data.scale, data.learners)
    _summary(document, data.scale, data.learners)
    for entry in data.learners:
        heading(document, learner_line(entry.learner), 1, page_break=True)
        _learner(document, data.scale, entry.learner, entry.periods, level_name=data.level_name, year=data.school_year)
    return to_bytes(document)


def _threshold_words(scale: Scale) -> str:
    rank = scale.threshold_rank
    return f"{quoted(scale.levels[rank].label)} ou plus" if rank is not None else "au seuil"


def competences_of(learners: Sequence[LearnerPeriods]) -> list[tuple[str, str]]:
    """(code, label) of every competence a completed bilan of these learners names, in the order met."""
    found: dict[str, str] = {}
    for entry in learners:
        for record in entry.periods:
            if record.bilan is not None and record.bilan.completed:
                for result in record.bilan.results:
                    found.setdefault(result.code, result.label)
    return list(found.items())


def _levels_by_learner(document: DocxDocument, scale: Scale, learners: Sequence[LearnerPeriods]) -> None:
    """Competences as rows, learners as columns (five a table): each cell the current level's label."""
    heading(document, "Niveaux actuels par compétence", 2)
    competences = competences_of(learners)
    if not competences:
        paragraph(document, NO_LEVEL_YET, italic=True)
        return
    levels = [current_levels(entry.periods) for entry in learners]
    column = (usable_width_cm(document) - COMPETENCE_WIDTH_CM) / LEARNERS_PER_TABLE
    for start in range(0, len(learners), LEARNERS_PER_TABLE):
        chunk = range(start, min(start + LEARNERS_PER_TABLE, len(learners)))
        table = Table(document, (COMPETENCE_WIDTH_CM, *([column] * len(chunk))))
        table.row(
            [
                "Compétence",
                *(Cell(Run(learners[i].learner.full_name, bold=True, size_pt=SMALL_PT), center=True) for i in chunk),
            ],
            header=True,
            keep_with_next=True,
        )
        # each table kept whole on a page: a learner's column is read top to bottom without turning over
        for index, (code, label) in enumerate(competences):
            cells = [Cell([[Run(f"{code} ", bold=True, size_pt=SMALL_PT), Run(label, size_pt=SMALL_PT)]])]
            for i in chunk:
                level = levels[i].get(code)
                reached = scale.reaches_threshold(level)
                text = scale.label(level) if level else "—"
                cells.append(Cell(Run(text, bold=reached, size_pt=SMALL_PT), center=True))
            table.row(cells, keep_with_next=index < len(competences) - 1)
        spacer(document)
    paragraph(
        document,
        f"Niveau actuel : dernier résultat de chaque compétence dans les bilans entreprise complétés ; "
        f"en gras, {_threshold_words(scale)} ; — : pas encore évaluée.",
        italic=True,
    )


def _summary(document: DocxDocument, scale: Scale, learners: Sequence[LearnerPeriods]) -> None:
    heading(document, "Tableau récapitulatif", 2)
    fixed = (2.6, 1.9, 2.3, 1.6, 3.4)
    table = Table(document, (usable_width_cm(document) - sum(fixed), *fixed))
    table.row(
        [
            "Apprenant",
            "Classe",
            "Périodes",
            "Jours effectués",
            "Fiches",
            f"Compétences {_threshold_words(scale)} / évaluées",
        ],
        header=True,
    )
    for entry in learners:
        counts = tally(scale, entry.periods)
        table.row(
            [
                Cell(entry.learner.full_name, bold=True),
                entry.learner.classroom,
                Cell(str(counts.periods), center=True),
                Cell(f"{format_days(counts.days_done)} / {counts.planned_days}", center=True),
                Cell(str(counts.fiches), center=True),
                Cell(f"{counts.competences_reached} / {counts.competences_evaluated}", center=True),
            ]
        )
    spacer(document)
    paragraph(
        document,
        "Jours effectués / jours prévus. Compétences : dernier résultat de chaque compétence "
        "dans les bilans entreprise complétés.",
        italic=True,
    )


def _learner(
    document: DocxDocument,
    scale: Scale,
    learner: LearnerInfo,
    periods: Sequence[PeriodRecord],
    *,
    level_name: str,
    year: str,
) -> None:
    counts = tally(scale, periods)
    facts = [("Apprenant", learner.full_name), ("Classe", learner.classroom or "—")]
    if level_name:
        facts.append(("Niveau", level_name))
    if year:
        facts.append(("Année scolaire", year))
    facts += [
        ("Périodes", _periods(counts.periods, counts.certifying_periods)),
        ("Jours effectués", _days(counts.days_done, counts.planned_days)),
        ("Fiches activités", _fiches(counts.fiches, counts.completed_fiches)),
        (
            f"Compétences {_threshold_words(scale)}",
            f"{counts.competences_reached} sur {plural(counts.competences_evaluated, 'évaluée')}",
        ),
    ]
    identity_table(document, facts)
    if not periods:
        paragraph(document, NO_PERIOD, italic=True)
        return
    for record in periods:
        _period(document, scale, record, learner.trainer_title.lower())


def _period(document: DocxDocument, scale: Scale, record: PeriodRecord, trainer_title: str) -> None:
    period = record.period
    heading(document, period.name, 2)
    completed = sum(1 for fiche in record.fiches if fiche.completed)
    fiche_lines: list = [_fiches(len(record.fiches), completed)]
    fiche_lines += [f"• {fiche.title}" for fiche in record.fiches]
    bilan = record.bilan
    identity_table(
        document,
        [
            ("Dates", period_dates(period)),
            ("Prise en compte pour le diplôme", "Oui" if period.certifying else "Non (parcours non certifiant)"),
            ("Lieu de réalisation", _workplace_lines(record.workplace, trainer_title)),
            ("Jours effectués", _days(record.days_done, period.planned_days)),
            ("Fiches activités", fiche_lines),
            ("Bilan entreprise", _bilan_status(bilan)),
            ("Engagement", stars(bilan.engagement if bilan else None)),
        ],
    )
    if bilan is None:
        return
    if bilan.results:
        table = Table(document, (usable_width_cm(document) - 4.5, 4.5))
        table.row(["Compétence", "Niveau de réussite"], header=True)
        for result in bilan.results:
            reached = scale.reaches_threshold(result.level)
            table.row(
                [
                    [Run(f"{result.code} ", bold=True), Run(result.label)],
                    Cell(scale.label(result.level) if result.level else "—", center=True, bold=reached),
                ]
            )
        spacer(document)
    if bilan.comment.strip():
        paragraph(document, [Run("Commentaire : ", bold=True), Run(bilan.comment.strip())])


def _periods(count: int, certifying: int) -> str:
    """ "2 périodes dont 1 certifiante", "1 période, non certifiante"."""
    if count == 0:
        return "Aucune période"
    if count == 1:
        return "1 période, " + ("certifiante" if certifying else "non certifiante")
    if certifying == count:
        return f"{count} périodes, toutes certifiantes"
    return (
        f"{count} périodes dont {plural(certifying, 'certifiante')}"
        if certifying
        else f"{count} périodes, aucune certifiante"
    )


def _fiches(count: int, completed: int) -> str:
    """ "3 fiches dont 1 complétée", "1 fiche, complétée", "Aucune fiche"."""
    if count == 0:
        return "Aucune fiche"
    if count == 1:
        return "1 fiche, " + ("complétée" if completed else "non complétée")
    if completed == count:
        return f"{count} fiches, toutes complétées"
    return f"{count} fiches dont {plural(completed, 'complétée')}" if completed else f"{count} fiches, aucune complétée"


def _workplace_lines(workplace: Workplace | None, trainer_title: str) -> str:
    """The company, then its domain and service, then the trainer: one line each, no nested parentheses."""
    if workplace is None or not workplace.company_name:
        return "Non renseigné"
    lines = [workplace.company_name]
    domain = ", service ".join(part for part in (workplace.activity_domain, workplace.service) if part)
    if domain:
        lines.append(domain)
    if workplace.tutor_name:
        role = f", {workplace.tutor_role}" if workplace.tutor_role else ""
        lines.append(f"{trainer_title[:1].upper()}{trainer_title[1:]} : {workplace.tutor_name}{role}")
    return "\n".join(lines)


def _days(done: Decimal | float | int | None, planned: int) -> str:
    planned_text = f"{plural(planned, 'jour')} {'prévu' if planned <= 1 else 'prévus'}"
    if done is None:
        return f"Non renseigné ({planned_text})"
    return f"{format_days(done)} sur {planned_text}"


def _bilan_status(bilan: BilanSummary | None) -> str:
    if bilan is None:
        return "Non commencé"
    meeting = f", rencontre du {format_date(bilan.meeting_date)}" if bilan.meeting_date else ""
    return ("Complété" if bilan.completed else "En cours (brouillon)") + meeting
