"""« Préparer la rencontre » (R22): the bilan grid of R18 on paper, for the company visit.

The teacher prints it before the visit, ticks one box per evaluated line with
the company trainer, then re-keys the results into the online bilan.

A competence is linked to several tasks (C01 to TA 1-1 and TA 1-2) and the
bilan keeps one result per competence or criterion (R19). Its level boxes are
printed on every row where a fiche selected it, so the teacher evaluates it
where the learner worked on it without flipping pages (the same level on each
of its rows); a competence no fiche selected gets its boxes once, at its first
appearance; its other rows name the tasks that carry its boxes.

The same builder prints the bilan itself: a draft with the levels recorded so
far, titled as a draft; a completed bilan titled as the bilan, with its
ticked levels, engagement, meeting date, comment, who completed it and when.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

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
from exports.data import GridActivity, GridCompetence, GridTask, MeetingSheetData, Scale
from exports.wordml import Cell, Run, Table, add_paragraph

DOCUMENT_TITLE = "Préparer la rencontre"
DRAFT_TITLE = "Préparer la rencontre — bilan en brouillon"
COMPLETED_TITLE = "Bilan entreprise"
# A ticked level box (the bilan's recorded level).
TICKED = "☒"
TICKED_FILL = "BDD7EE"
# Schools of this server are in metropolitan France.
SCHOOL_TIME = ZoneInfo("Europe/Paris")
# Six level columns of 2.58 cm on A4 landscape, their labels at 8 pt: « Partiellement acquis » wraps between its
# words, not inside one, even in a wider fallback font (DejaVu Sans where Calibri is missing).
LABEL_WIDTH_CM = 9.0
REFS_WIDTH_CM = 1.6
LEVEL_LABEL_PT = 8
COMMENT_LINES = 4

# What carries level boxes: a competence evaluated as a whole, or one criterion of a competence by criteria.
Unit = tuple[str, ...]


def document_title(data: MeetingSheetData) -> str:
    if data.bilan is None:
        return DOCUMENT_TITLE
    return COMPLETED_TITLE if data.bilan.completed else DRAFT_TITLE


def build_meeting_sheet(data: MeetingSheetData) -> bytes:
    """The meeting sheet of one portfolio, or its completed bilan, as DOCX bytes (A4 landscape)."""
    name = document_title(data)
    document = new_document(data.school, name, landscape=True)
    title(document, name, _subtitle(data))
    _identity(document, data)
    paragraph(document, [Run("Liste des fiches : ", bold=True), Run(_fiche_list(data.fiches))])
    completed = bool(data.bilan and data.bilan.completed)
    legend = f"{MARKED} sur fond coloré : sélectionné dans une fiche activités — [n] : repère de la fiche — "
    legend += f"{TICKED} : niveau retenu." if completed else f"{EMPTY_BOX} : cocher une case par ligne évaluée."
    paragraph(document, legend, italic=True)
    if not completed:
        paragraph(
            document,
            "Une compétence sélectionnée sous plusieurs tâches a ses cases sur chacune de ces lignes : "
            "un seul niveau par compétence, le même sur chaque ligne.",
            italic=True,
        )
    _grid(document, data)
    _closing(document, data)
    return to_bytes(document)


def _subtitle(data: MeetingSheetData) -> str:
    bilan = data.bilan
    if bilan is not None and bilan.completed:
        return "Bilan de la période en entreprise — " + _completion(data)
    if bilan is not None:
        return "Bilan entreprise non complété (brouillon) — grille d'évaluation à compléter lors de la visite"
    return "Bilan entreprise — grille d'évaluation à compléter lors de la visite"


def local_date(moment: datetime) -> date:
    """The day in France of a stored instant (UTC, `use_tz`): what a French reader expects on paper."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(SCHOOL_TIME).date()


def _completion(data: MeetingSheetData) -> str:
    """ "complété le 05/12/2026 par Claire MARTIN", with what is known of it."""
    bilan = data.bilan
    text = "complété"
    if bilan and bilan.completed_at:
        text += f" le {format_date(local_date(bilan.completed_at))}"
    if bilan and bilan.completed_by:
        text += f" par {bilan.completed_by}"
    if bilan and bilan.signed_on_paper:
        text += ", signé sur papier (scan de la feuille signée joint au bilan en ligne)"
    return text


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


def _units(competence: GridCompetence) -> list[tuple[Unit, bool]]:
    """The units a competence's row carries boxes for under one task, each with whether a fiche selected it there."""
    if competence.by_criteria and competence.criteria:
        return [((competence.code, criterion.label), criterion.marked) for criterion in competence.criteria]
    return [((competence.code,), competence.marked)]


def box_plan(activities: tuple[GridActivity, ...]) -> dict[Unit, list[str]]:
    """For each unit, the codes of the tasks whose rows carry its level boxes: every task under which a fiche
    selected it, else the first task it appears under."""
    selected: dict[Unit, list[str]] = {}
    first: dict[Unit, str] = {}
    for activity in activities:
        for task in activity.tasks:
            for competence in task.competences:
                for unit, marked in _units(competence):
                    first.setdefault(unit, task.code)
                    if marked and task.code not in selected.get(unit, []):
                        selected.setdefault(unit, []).append(task.code)
    return {unit: selected.get(unit) or [task] for unit, task in first.items()}


def _grid(document: DocxDocument, data: MeetingSheetData) -> None:
    heading(document, "Liaison avec le référentiel", 2)
    activities = tuple(activity for activity in data.activities if activity.tasks)
    if not activities:
        paragraph(document, "Aucune tâche n'est retenue dans la grille de cette période.", italic=True)
        return
    levels = data.scale.levels
    level_width = max(1.6, (usable_width_cm(document) - LABEL_WIDTH_CM - REFS_WIDTH_CM) / max(len(levels), 1))
    table = Table(document, (LABEL_WIDTH_CM, REFS_WIDTH_CM, *([level_width] * len(levels))))
    table.row(
        [
            "Tâches, compétences et critères",
            "Fiches",
            *(Cell(Run(level.label, bold=True, size_pt=LEVEL_LABEL_PT), center=True) for level in levels),
        ],
        header=True,
    )
    total_span = 2 + len(levels)
    plan = box_plan(activities)
    for activity in activities:
        table.row([Cell(f"Activité {activity.code} — {activity.label}", span=total_span, bold=True)], fill=GROUP_FILL)
        for task in activity.tasks:
            _task_rows(table, task, data.scale, plan)
    spacer(document)


def _boxes(scale: Scale, level: str | None) -> list[Cell]:
    """One box per level of the scale, the recorded level ticked."""
    return [
        Cell(Run(TICKED, bold=True), center=True, fill=TICKED_FILL)
        if level == scale_level.value
        else Cell(EMPTY_BOX, center=True)
        for scale_level in scale.levels
    ]


def _elsewhere(tasks: list[str]) -> str:
    return "évaluée avec " + ", ".join(tasks)


def _task_rows(table: Table, task: GridTask, scale: Scale, plan: dict[Unit, list[str]]) -> None:
    level_count = len(scale.levels)
    table.row(
        [
            Cell(_marked_line(task.marked, f"{task.code} : {task.label}", bold=True)),
            Cell(fiche_refs(task.fiche_refs), center=True),
            Cell("", span=level_count),
        ],
        fill=MARKED_FILL if task.marked else None,
    )
    for competence in task.competences:
        label = _marked_line(competence.marked, f"{competence.code} {competence.label}", bold=True)
        fill = MARKED_FILL if competence.marked else None
        refs = Cell(fiche_refs(competence.all_fiche_refs), center=True)
        if not (competence.by_criteria and competence.criteria):
            carriers = plan[(competence.code,)]
            if task.code in carriers:
                table.row([Cell([label], indent_cm=0.4), refs, *_boxes(scale, competence.level)], fill=fill)
            else:
                note = Cell(Run(_elsewhere(carriers), italic=True, color=MUTED), span=level_count, center=True)
                table.row([Cell([label], indent_cm=0.4), refs, note], fill=fill)
            continue
        here = [c for c in competence.criteria if task.code in plan[(competence.code, c.label)]]
        others = sorted({t for c in competence.criteria for t in plan[(competence.code, c.label)]} - {task.code})
        note = "évaluée par critères"
        if competence.level:
            note += f" — niveau retenu : {scale.label(competence.level)}"
        if not here:
            note = note.replace("évaluée par critères", _elsewhere(others).replace("évaluée", "évaluée par critères"))
        elif len(here) < len(competence.criteria) and others:
            note += " — autres critères " + _elsewhere(others).removeprefix("évaluée ")
        table.row(
            [
                Cell([label], indent_cm=0.4),
                Cell(fiche_refs(competence.fiche_refs), center=True),
                Cell(Run(note, italic=True, color=MUTED), span=level_count, center=True),
            ],
            fill=fill,
        )
        for criterion in here:
            table.row(
                [
                    Cell([_marked_line(criterion.marked, criterion.label)], indent_cm=0.9),
                    Cell(fiche_refs(criterion.fiche_refs), center=True),
                    *_boxes(scale, criterion.level),
                ],
                fill=MARKED_FILL if criterion.marked else None,
            )


def _marked_line(marked: bool, text: str, *, bold: bool = False) -> list[Run]:
    """The item's text, preceded by the "selected on a fiche" mark when it is."""
    if marked:
        return [Run(f"{MARKED} ", bold=True), Run(text, bold=True)]
    return [Run(text, bold=bold)]


def _closing(document: DocxDocument, data: MeetingSheetData) -> None:
    bilan = data.bilan
    completed = bool(bilan and bilan.completed)
    heading(document, "Engagement, rencontre et signatures", 2)
    engagement = bilan.engagement if bilan else None
    choices = "    ".join(
        f"{TICKED if count == engagement else EMPTY_BOX} {stars(count)}" for count in range(1, STAR_COUNT + 1)
    )
    if completed:
        choices = stars(engagement) if engagement else "non renseigné"
    # The closing stays one block with the signatures: nobody signs a page that holds only boxes.
    paragraph(
        document, [Run("Engagement de l'apprenant dans l'activité : ", bold=True), Run(choices)], keep_with_next=True
    )
    paragraph(
        document,
        [Run("Date de la rencontre : ", bold=True), Run(format_date(data.effective_meeting_date))],
        keep_with_next=True,
    )
    paragraph(
        document, Run("Commentaire (appréciation ou conseil destiné à l'apprenant) :", bold=True), keep_with_next=True
    )
    lines = [line for line in data.comment.splitlines() if line.strip()]
    for line in lines:
        paragraph(document, line, keep_with_next=True)
    if completed:
        if not lines:
            paragraph(document, "Aucun commentaire.", italic=True, keep_with_next=True)
        paragraph(document, f"Bilan {_completion(data)}.", italic=True, keep_with_next=True)
    else:
        blank_lines(document, COMMENT_LINES)
    add_paragraph(document, space_after_pt=2, line_pt=6, keep_with_next=True)
    _signatures(document, data)


def _signatures(document: DocxDocument, data: MeetingSheetData) -> None:
    """Teacher, company trainer, learner, and a legal guardian for a learner under 18 on the meeting date."""
    trainer = data.workplace.tutor_name if data.workplace else None
    boxes = [
        ("Le professeur référent", [f"Nom : {or_blank(data.teacher_name)}", "Signature :"]),
        (
            f"Le formateur en entreprise ({data.learner.trainer_title.lower()})",
            [f"Nom : {or_blank(trainer)}", "Signature et cachet de l'entreprise :"],
        ),
        ("L'apprenant", [f"Nom : {data.learner.full_name}", "Signature :"]),
    ]
    if data.minor is not False:
        guardian = "Le représentant légal" if data.minor else "Le représentant légal (si l'apprenant est mineur)"
        boxes.append((guardian, ["Nom :", "Signature :"]))
    width = usable_width_cm(document) / len(boxes)
    table = Table(document, tuple([width] * len(boxes)))
    table.row([heading_text for heading_text, _ in boxes], header=True)
    table.row([Cell(lines, top=True) for _, lines in boxes], height_cm=3.2)
