"""Pré-convention (R23): handed to the learner before the period, completed by the company.

It carries the objectives and planned activities of the learner's liaison
fiche so that the search for a company starts from what the period is meant
to teach; the company then writes the learner's daily hours, and the school
officer who draws up the conventions receives it. One section per learner,
each starting on a new page, so the whole period prints in one go.
"""

from __future__ import annotations

from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION_START

from exports.common import (
    blank_lines,
    facts_table,
    heading,
    new_document,
    paragraph,
    period_dates,
    plural,
    spacer,
    title,
    to_bytes,
    usable_width_cm,
    workplace_lines,
)
from exports.data import PeriodInfo, PreConventionData, PreConventionLearner, SchoolInfo
from exports.wordml import Cell, Table

DOCUMENT_TITLE = "Pré-convention de stage"
NO_LEARNER = "Aucun apprenant n'est affecté à cette période."
WEEKDAYS = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi")
TIMETABLE_COLUMNS = ("Jour", "Matin début", "Matin fin", "Après-midi début", "Après-midi fin", "Total heures")


def build_pre_convention(data: PreConventionData) -> bytes:
    """Pre-conventions of the given learners for one period, as DOCX bytes (A4 portrait)."""
    document = new_document(data.school, DOCUMENT_TITLE)
    if not data.learners:
        title(document, DOCUMENT_TITLE, data.period.name)
        _period(document, data.school, data.period)
        paragraph(document, NO_LEARNER, italic=True)
        return to_bytes(document)
    for index, entry in enumerate(data.learners):
        if index:
            document.add_section(WD_SECTION_START.NEW_PAGE)
        _learner_section(document, data, entry)
    return to_bytes(document)


def _learner_section(document: DocxDocument, data: PreConventionData, entry: PreConventionLearner) -> None:
    learner = entry.learner
    title(document, DOCUMENT_TITLE, f"{data.period.name} — {learner.full_name}")
    paragraph(
        document,
        "Objectifs de formation et activités prévues pour la période. L'entreprise d'accueil complète "
        "les horaires journaliers ; la pré-convention complétée est remise au responsable des conventions de stage.",
        italic=True,
    )
    heading(document, "Apprenant et période", 2)
    facts_table(
        document,
        [
            ("Apprenant", learner.full_name),
            ("Classe", learner.classroom),
            ("Statut", "Apprenti" if learner.apprentice else "Élève"),
            ("Établissement", f"{data.school.name} (UAI {data.school.uai})"),
            *_period_rows(data.period),
        ],
    )

    heading(document, "Entreprise d'accueil", 2)
    facts_table(
        document,
        [
            *workplace_lines(entry.workplace, learner.trainer_title),
            # Not kept by the liaison fiche, but the convention needs them.
            ("Adresse", ""),
            ("Téléphone, courriel", ""),
        ],
    )

    heading(document, "Objectifs de formation", 2)
    objectives = [line.strip() for line in entry.objectives.splitlines() if line.strip()]
    if objectives:
        for line in objectives:
            paragraph(document, line)
    else:
        paragraph(document, "Aucun objectif n'est encore défini pour cette période.", italic=True)
        blank_lines(document, 2)

    heading(document, "Activités prévues en milieu professionnel", 2)
    if entry.tasks:
        table = Table(document, (2.4, usable_width_cm(document) - 2.4))
        table.row(["Code", "Tâche"], header=True)
        for task in entry.tasks:
            table.row([Cell(task.code, bold=True), task.label])
        spacer(document)
    else:
        paragraph(document, "Aucune activité n'est encore prévue pour cette période.", italic=True)

    _timetable(document)
    _signatures(document, learner.trainer_title)


def _period_rows(period: PeriodInfo) -> list[tuple[str, str]]:
    return [
        ("Période", period.name),
        ("Dates", period_dates(period)),
        ("Durée", plural(period.planned_days, "jour")),
        ("Certifiante", "Oui" if period.certifying else "Non (parcours non certifiant)"),
    ]


def _period(document: DocxDocument, school: SchoolInfo, period: PeriodInfo) -> None:
    facts_table(document, [("Établissement", f"{school.name} (UAI {school.uai})"), *_period_rows(period)])


def _timetable(document: DocxDocument) -> None:
    heading(document, "Horaires journaliers (à compléter par l'entreprise)", 2)
    width = usable_width_cm(document)
    day_width = 3.2
    other = (width - day_width) / (len(TIMETABLE_COLUMNS) - 1)
    table = Table(document, (day_width, *([other] * (len(TIMETABLE_COLUMNS) - 1))))
    table.row(list(TIMETABLE_COLUMNS), header=True)
    empty = [Cell("")] * (len(TIMETABLE_COLUMNS) - 1)
    for day in WEEKDAYS:
        table.row([Cell(day, bold=True), *empty], height_cm=0.6)
    table.row([Cell("Total de la semaine", bold=True, span=len(TIMETABLE_COLUMNS) - 1), Cell("")], height_cm=0.6)
    spacer(document)


def _signatures(document: DocxDocument, trainer_title: str) -> None:
    heading(document, "Signatures", 2)
    # The heading, the « Fait à » line and the table's header hold on to the boxes: they turn the page together.
    paragraph(document, "Fait à ______________________, le ____ / ____ / ________", keep_with_next=True)
    third = usable_width_cm(document) / 3
    table = Table(document, (third, third, third))
    table.row(
        ["L'apprenant", "Le professeur référent", f"L'entreprise ({trainer_title.lower()})"],
        header=True,
        keep_with_next=True,
    )
    table.row(["", "", Cell("Cachet de l'entreprise :", italic=True, top=True)], height_cm=2.2)
