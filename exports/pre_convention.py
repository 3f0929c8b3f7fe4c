"""Pré-convention (R23): handed to the learner before the period, completed by the company.

It carries the objectives and planned activities of the learner's liaison
fiche so that the search for a company starts from what the period is meant
to teach; the company then writes the learner's daily hours, and the school
officer who draws up the conventions receives it. One section per learner,
each starting on a new page and numbering its own pages (« Page 1 / 1 » for
each learner), so the whole period prints in one go and each learner's copy
can be handed out on its own.

An apprentice's copy is titled for an apprenticeship (no PFMP convention is
drawn up for them) and names the company and the apprenticeship master of the
assigned master account; a school-status learner's names the tutor. The
trainer's phone and email are those of the assigned account, blank when the
reader may not see them (a learner).
"""

from __future__ import annotations

from docx.document import Document as DocxDocument

from exports.common import (
    blank_lines,
    facts_table,
    heading,
    new_document,
    paragraph,
    period_dates,
    plural,
    sections_per_learner,
    spacer,
    title,
    to_bytes,
    usable_width_cm,
    workplace_lines,
)
from exports.data import PeriodInfo, PreConventionData, PreConventionLearner, SchoolInfo, Workplace
from exports.wordml import Cell, Table, add_paragraph

DOCUMENT_TITLE = "Pré-convention de stage"
APPRENTICESHIP_TITLE = "Pré-convention — période en entreprise d'un apprenti"
BUNDLE_TITLE = "Pré-conventions"
NO_LEARNER = "Aucun apprenant n'est affecté à cette période."
WEEKDAYS = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi")
TIMETABLE_COLUMNS = ("Jour", "Matin début", "Matin fin", "Après-midi début", "Après-midi fin", "Total heures")


def build_pre_convention(data: PreConventionData) -> bytes:
    """Pre-conventions of the given learners for one period, as DOCX bytes (A4 portrait)."""
    if len(data.learners) == 1:
        footer_title = _title(data.learners[0])
    else:
        footer_title = BUNDLE_TITLE if data.learners else DOCUMENT_TITLE
    document = new_document(data.school, footer_title)
    if not data.learners:
        title(document, DOCUMENT_TITLE, data.period.name)
        _period(document, data.school, data.period)
        paragraph(document, NO_LEARNER, italic=True)
        return to_bytes(document)
    sections_per_learner(document, footer_title, data.learners, lambda entry: _learner_section(document, data, entry))
    return to_bytes(document)


def _title(entry: PreConventionLearner) -> str:
    return APPRENTICESHIP_TITLE if entry.learner.apprentice else DOCUMENT_TITLE


def _learner_section(document: DocxDocument, data: PreConventionData, entry: PreConventionLearner) -> None:
    learner = entry.learner
    title(document, _title(entry), f"{data.period.name} — {learner.full_name}")
    if learner.apprentice:
        purpose = (
            "Objectifs de formation et activités prévues pour la période en entreprise de l'apprenti. Le maître "
            "d'apprentissage complète les horaires journaliers et remet le document complété au professeur référent."
        )
    else:
        purpose = (
            "Objectifs de formation et activités prévues pour la période. L'entreprise d'accueil complète les "
            "horaires journaliers ; la pré-convention complétée est remise au responsable des conventions de stage."
        )
    paragraph(document, purpose, italic=True)
    heading(document, "Apprenant et période", 2)
    facts_table(
        document,
        [
            ("Apprenant", learner.full_name),
            ("Classe", learner.classroom),
            ("Statut", "Apprenti" if learner.apprentice else "Élève"),
            ("Professeur référent", entry.referent_teacher or ""),
            *_period_rows(data.period),
            ("Établissement", f"{data.school.name} (UAI {data.school.uai})"),
        ],
    )

    heading(document, "Entreprise d'accueil", 2)
    trainer = entry.trainer
    facts_table(
        document,
        [
            *workplace_lines(_workplace(entry), learner.trainer_title),
            # Not kept by the liaison fiche, but the convention needs it.
            ("Adresse", ""),
            ("Téléphone", (trainer.phone or "") if trainer else ""),
            ("Courriel", (trainer.email or "") if trainer else ""),
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
    _signatures(document, learner.trainer_title, entry.referent_teacher)


def _workplace(entry: PreConventionLearner) -> Workplace | None:
    """The workplace the document names. The assigned trainer's account gives the trainer's name and job, and,
    for an apprentice, the company (the master's employer); the liaison fiche, filled in by the learner, gives
    the rest, and everything when no trainer is assigned."""
    trainer, workplace = entry.trainer, entry.workplace or Workplace()
    if trainer is None:
        return entry.workplace
    company = workplace.company_name
    if entry.learner.apprentice or not company:
        company = trainer.company_name or company
    return Workplace(
        company_name=company,
        activity_domain=workplace.activity_domain,
        service=workplace.service,
        tutor_name=trainer.full_name,
        tutor_role=trainer.job_title or workplace.tutor_role,
    )


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
    # The timetable holds on to the signatures (every row, and the gap after it, keep with the next): when the
    # learner's pages run over, the timetable and the signatures turn the page together, so no page holds the
    # signatures alone (with a font of other widths than Calibri's, one learner takes two pages).
    heading(document, "Horaires journaliers (à compléter par l'entreprise)", 2)
    width = usable_width_cm(document)
    day_width = 3.2
    other = (width - day_width) / (len(TIMETABLE_COLUMNS) - 1)
    table = Table(document, (day_width, *([other] * (len(TIMETABLE_COLUMNS) - 1))))
    table.row(list(TIMETABLE_COLUMNS), header=True, keep_with_next=True)
    empty = [Cell("")] * (len(TIMETABLE_COLUMNS) - 1)
    for day in WEEKDAYS:
        table.row([Cell(day, bold=True), *empty], height_cm=0.6, keep_with_next=True)
    table.row(
        [Cell("Total de la semaine", bold=True, span=len(TIMETABLE_COLUMNS) - 1), Cell("")],
        height_cm=0.6,
        keep_with_next=True,
    )
    add_paragraph(document, space_after_pt=2, line_pt=6, keep_with_next=True)


def _signatures(document: DocxDocument, trainer_title: str, referent_teacher: str | None = None) -> None:
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
    table.row(
        [
            "",
            Cell(referent_teacher or "", italic=True, top=True),
            Cell("Cachet de l'entreprise :", italic=True, top=True),
        ],
        height_cm=2.2,
    )
