"""« Préparer la rencontre » (R22): the bilan grid of R18 on paper, for the company visit.

The teacher prints it before the visit, ticks one box per evaluated line with
the company trainer, then re-keys the results into the online bilan.

A competence is linked to several tasks (C01 to TA 1-1 and TA 1-2) but the
bilan keeps one result per competence or criterion (R19): its level boxes are
printed at its first appearance in the grid, later appearances show their
own marks and fiche references and point back to the task that carries the
boxes, so nothing is evaluated twice on paper.
"""

from __future__ import annotations

from docx.document import Document as DocxDocument

from exports.common import (
    EMPTY_BOX,
    GROUP_FILL,
    MARKED,
    MARKED_FILL,
    MUTED,
    STAR_COUNT,
    blank_lines,
    facts_table,
    fiche_refs,
    format_date,
    heading,
    learner_line,
    new_document,
    or_blank,
    paragraph,
    period_dates,
    spacer,
    stars,
    title,
    to_bytes,
    usable_width_cm,
)
from exports.data import GridCompetence, GridTask, MeetingSheetData
from exports.wordml import Cell, Run, Table

DOCUMENT_TITLE = "Préparer la rencontre"
LABEL_WIDTH_CM = 11.5
REFS_WIDTH_CM = 2.2
COMMENT_LINES = 4


def build_meeting_sheet(data: MeetingSheetData) -> bytes:
    """The meeting sheet of one portfolio, as DOCX bytes (A4 landscape)."""
    document = new_document(data.school, DOCUMENT_TITLE, landscape=True)
    title(document, DOCUMENT_TITLE, "Bilan entreprise — grille d'évaluation à compléter lors de la visite")
    _identity(document, data)
    paragraph(document, [Run("Liste des fiches : ", bold=True), Run(_fiche_list(data.fiches))])
    paragraph(
        document,
        f"{MARKED} : sélectionné dans une fiche activités — [n] : repère de la fiche — "
        f"{EMPTY_BOX} : cocher une case par ligne évaluée.",
        italic=True,
    )
    _grid(document, data)
    _closing(document, data)
    return to_bytes(document)


def _fiche_list(fiches: tuple[tuple[int, str], ...]) -> str:
    """ "[1] Fiche 1 : Découverte de l'entreprise - [2] …", as the online bilan shows it."""
    if not fiches:
        return "aucune fiche activités sur cette période"
    return " - ".join(f"[{number}] {title}" for number, title in fiches)


def _identity(document: DocxDocument, data: MeetingSheetData) -> None:
    workplace = data.workplace
    tutor = ", ".join(part for part in (workplace.tutor_name, workplace.tutor_role) if part) if workplace else ""
    facts = [
        ("Période", f"{data.period.name}, {period_dates(data.period)}"),
        ("Apprenant", learner_line(data.learner)),
        ("Entreprise", (workplace and workplace.company_name) or ""),
        ("Domaine d'activité", (workplace and workplace.activity_domain) or ""),
        ("Service", (workplace and workplace.service) or ""),
        (data.learner.trainer_title, tutor),
    ]
    facts_table(document, facts)


def _grid(document: DocxDocument, data: MeetingSheetData) -> None:
    heading(document, "Liaison avec le référentiel", 2)
    activities = [activity for activity in data.activities if activity.tasks]
    if not activities:
        paragraph(document, "Aucune tâche n'est retenue dans la grille de cette période.", italic=True)
        return
    levels = data.scale.levels
    level_width = max(1.6, (usable_width_cm(document) - LABEL_WIDTH_CM - REFS_WIDTH_CM) / max(len(levels), 1))
    table = Table(document, (LABEL_WIDTH_CM, REFS_WIDTH_CM, *([level_width] * len(levels))))
    table.row(["Tâches, compétences et critères", "Fiches", *(level.label for level in levels)], header=True)
    total_span = 2 + len(levels)
    # competence code -> code of the task under which its boxes are printed
    boxed_under: dict[str, str] = {}
    for activity in activities:
        table.row([Cell(f"Activité {activity.code} — {activity.label}", span=total_span, bold=True)], fill=GROUP_FILL)
        for task in activity.tasks:
            _task_rows(table, task, len(levels), boxed_under)
    spacer(document)


def _task_rows(table: Table, task: GridTask, level_count: int, boxed_under: dict[str, str]) -> None:
    table.row(
        [
            Cell(_marked_line(task.marked, f"{task.code} : {task.label}", bold=True)),
            Cell(fiche_refs(task.fiche_refs), center=True),
            Cell("", span=level_count),
        ],
        fill=MARKED_FILL if task.marked else None,
    )
    boxes = [Cell(EMPTY_BOX, center=True)] * level_count
    for competence in task.competences:
        label = _marked_line(competence.marked, f"{competence.code} {competence.label}", bold=True)
        fill = MARKED_FILL if competence.marked else None
        first_task = boxed_under.get(competence.code)
        if first_task is not None:
            table.row(
                [
                    Cell([label, *_marked_criteria(competence)], indent_cm=0.4),
                    Cell(fiche_refs(competence.all_fiche_refs), center=True),
                    Cell(Run(f"évaluée avec {first_task}", italic=True, color=MUTED), span=level_count, center=True),
                ],
                fill=fill,
            )
            continue
        boxed_under[competence.code] = task.code
        if not (competence.by_criteria and competence.criteria):
            refs = competence.all_fiche_refs
            table.row([Cell([label], indent_cm=0.4), Cell(fiche_refs(refs), center=True), *boxes], fill=fill)
            continue
        table.row(
            [
                Cell([label], indent_cm=0.4),
                Cell(fiche_refs(competence.fiche_refs), center=True),
                Cell(Run("évaluée par critères", italic=True, color=MUTED), span=level_count, center=True),
            ],
            fill=fill,
        )
        for criterion in competence.criteria:
            table.row(
                [
                    Cell([_marked_line(criterion.marked, criterion.label)], indent_cm=0.9),
                    Cell(fiche_refs(criterion.fiche_refs), center=True),
                    *boxes,
                ],
                fill=MARKED_FILL if criterion.marked else None,
            )


def _marked_line(marked: bool, text: str, *, bold: bool = False) -> list[Run]:
    """The item's text, preceded by the "selected on a fiche" mark when it is."""
    if marked:
        return [Run(f"{MARKED} ", bold=True), Run(text, bold=True)]
    return [Run(text, bold=bold)]


def _marked_criteria(competence: GridCompetence) -> list[list[Run]]:
    """Under a competence whose boxes sit elsewhere: the criteria this task's fiches selected."""
    if not competence.by_criteria:
        return []
    return [
        [Run(f"{MARKED} {criterion.label} "), Run(fiche_refs(criterion.fiche_refs), color=MUTED)]
        for criterion in competence.criteria
        if criterion.marked
    ]


def _closing(document: DocxDocument, data: MeetingSheetData) -> None:
    heading(document, "Engagement, rencontre et signatures", 2)
    choices = "    ".join(f"{EMPTY_BOX} {stars(count)}" for count in range(1, STAR_COUNT + 1))
    paragraph(document, [Run("Engagement de l'apprenant dans l'activité : ", bold=True), Run(choices)])
    paragraph(document, [Run("Date de la rencontre : ", bold=True), Run(format_date(data.effective_meeting_date))])
    paragraph(
        document, Run("Commentaire (appréciation ou conseil destiné à l'apprenant) :", bold=True), keep_with_next=True
    )
    for line in data.comment.splitlines():
        if line.strip():
            paragraph(document, line, keep_with_next=True)
    blank_lines(document, COMMENT_LINES)
    spacer(document)

    trainer = data.workplace.tutor_name if data.workplace else None
    half = usable_width_cm(document) / 2
    table = Table(document, (half, half))
    table.row(
        ["Le professeur référent", f"Le formateur en entreprise ({data.learner.trainer_title.lower()})"], header=True
    )
    table.row(
        [
            Cell([f"Nom : {or_blank(data.teacher_name)}", "Signature :"], top=True),
            Cell([f"Nom : {or_blank(trainer)}", "Signature et cachet de l'entreprise :"], top=True),
        ],
        height_cm=3.2,
    )
