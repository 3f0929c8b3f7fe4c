"""Syntheses of periods in companies (R24): one learner, or every learner of a level.

Per period: dates, certifying or not, workplace, days done, fiches, the
bilan's status, results (the scale's labels) and engagement. The level
synthesis opens with one summary table and then gives each learner a page
of their own.

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
    spacer,
    stars,
    title,
    to_bytes,
    usable_width_cm,
    workplace_summary,
)
from exports.data import (
    BilanSummary,
    LearnerInfo,
    LearnerPeriods,
    LearnerSynthesisData,
    LevelSynthesisData,
    PeriodRecord,
    Scale,
)
from exports.wordml import Cell, Run, Table

DOCUMENT_TITLE = "Synthèse des formations en entreprise"
NO_PERIOD = "Aucune période en entreprise n'est enregistrée pour cet apprenant."
NO_LEARNER = "Aucun apprenant n'est inscrit dans ce niveau."


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


def tally(scale: Scale, periods: Sequence[PeriodRecord]) -> LearnerTally:
    """Totals over a learner's periods; competences counted on their latest completed result."""
    latest: dict[str, str] = {}
    for record in sorted(periods, key=lambda record: record.period.end_date):
        if record.bilan is None or not record.bilan.completed:
            continue
        for result in record.bilan.results:
            if result.evaluated:
                assert result.level is not None  # an evaluated result has a level
                latest[result.code] = result.level
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
    _summary(document, data.scale, data.learners)
    for entry in data.learners:
        heading(document, learner_line(entry.learner), 1, page_break=True)
        _learner(document, data.scale, entry.learner, entry.periods, level_name=data.level_name, year=data.school_year)
    return to_bytes(document)


def _threshold_words(scale: Scale) -> str:
    rank = scale.threshold_rank
    return f"« {scale.levels[rank].label} » ou plus" if rank is not None else "au seuil"


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
        ("Périodes", f"{counts.periods} dont {counts.certifying_periods} certifiante(s)"),
        ("Jours effectués", _days(counts.days_done, counts.planned_days)),
        ("Fiches activités", f"{counts.fiches} dont {counts.completed_fiches} complétée(s)"),
        (
            f"Compétences {_threshold_words(scale)}",
            f"{counts.competences_reached} sur {counts.competences_evaluated} évaluée(s)",
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
    fiche_lines: list = [f"{plural(len(record.fiches), 'fiche')} dont {completed} complétée(s)"]
    fiche_lines += [f"• {fiche.title}" for fiche in record.fiches]
    bilan = record.bilan
    identity_table(
        document,
        [
            ("Dates", period_dates(period)),
            ("Prise en compte pour le diplôme", "Oui" if period.certifying else "Non (parcours non certifiant)"),
            ("Lieu de réalisation", workplace_summary(record.workplace, trainer_title)),
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
