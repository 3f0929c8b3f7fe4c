"""Attestation de PFMP: what the school hands each learner at the end of a period in a company.

It follows the national model: the company (name, SIRET, address) certifies
that the learner (identity, diploma prepared, school) did a period in a
professional setting between two dates, for so many days actually done out of
those planned, carrying out the activities listed; the company's
representative signs and stamps it, the head of school countersigns. A fact
still unknown prints as a line to fill in by hand, so the sheet can be
completed on paper. One section per learner, each starting on a new page.
"""

from __future__ import annotations

from docx.document import Document as DocxDocument

from exports.common import (
    BLANK,
    facts_table,
    format_date,
    format_days,
    heading,
    identity_table,
    new_document,
    paragraph,
    period_dates,
    sections_per_learner,
    spacer,
    title,
    to_bytes,
    usable_width_cm,
)
from exports.data import AttestationData, AttestationLearner
from exports.wordml import Cell, Table

DOCUMENT_TITLE = "Attestation de PFMP"
FULL_TITLE = "Attestation de période de formation en milieu professionnel"
NO_LEARNER = "Aucun apprenant n'est affecté à cette période."
NO_ACTIVITY = "Aucune activité n'est rattachée aux fiches d'activité de la période."
SHORT_BLANK = "________"
# As wide as the labels of `facts_table`, so the tables' first columns line up.
LABEL_WIDTH_CM = 3.6

# `DiplomaYear` values as the attestation words them.
DIPLOMA_YEARS = {
    "CAP_1": "CAP, première année",
    "CAP_2": "CAP, deuxième année",
    "CAP_ONE_YEAR": "CAP en un an",
    "BAC_PRO_SECONDE": "Baccalauréat professionnel, seconde",
    "BAC_PRO_PREMIERE": "Baccalauréat professionnel, première",
    "BAC_PRO_TERMINALE": "Baccalauréat professionnel, terminale",
}


def build_attestation(data: AttestationData) -> bytes:
    """The attestations of the given learners for one period, as DOCX bytes (A4 portrait)."""
    document = new_document(data.school, DOCUMENT_TITLE)
    if not data.learners:
        title(document, FULL_TITLE, data.period.name)
        paragraph(document, NO_LEARNER, italic=True)
        return to_bytes(document)
    sections_per_learner(document, DOCUMENT_TITLE, data.learners, lambda entry: _learner_section(document, data, entry))
    return to_bytes(document)


def diploma_line(name: str | None, year: str | None) -> str:
    """ "CAP Électricien — CAP, première année"; either part may be unknown."""
    parts = [part for part in (name, DIPLOMA_YEARS.get(year or "", year)) if part]
    return " — ".join(parts)


def days_line(days_done, planned_days: int) -> str:
    """ "9,5 jours effectués sur 10 jours prévus"; days not yet recorded leave a blank to fill in."""
    done = SHORT_BLANK if days_done is None else format_days(days_done)
    done_unit = "jour effectué" if days_done is not None and days_done <= 1 else "jours effectués"
    planned_unit = "jour prévu" if planned_days <= 1 else "jours prévus"
    return f"{done} {done_unit} sur {planned_days} {planned_unit}"


def _learner_section(document: DocxDocument, data: AttestationData, entry: AttestationLearner) -> None:
    learner, workplace, school, period = entry.learner, entry.workplace, data.school, data.period
    title(document, FULL_TITLE, f"{period.name} — {learner.full_name}")

    heading(document, "L'entreprise ou l'organisme d'accueil", 2)
    facts_table(
        document,
        [
            ("Entreprise", (workplace and workplace.company_name) or ""),
            ("SIRET", (workplace and workplace.company_siret) or ""),
            ("Adresse", (workplace and workplace.company_address) or ""),
        ],
    )
    paragraph(document, "atteste que l'apprenant ci-dessous désigné :", italic=True, keep_with_next=True)

    heading(document, "L'apprenant", 2)
    facts_table(
        document,
        [
            ("Nom, prénom", f"{learner.last_name} {learner.first_name}".strip()),
            ("Né(e) le", format_date(entry.birth_date)),
            ("Classe", learner.classroom),
            ("Statut", "Apprenti" if learner.apprentice else "Élève"),
            ("Diplôme préparé", diploma_line(data.diploma_name, data.diploma_year)),
        ],
    )
    identity_table(
        document,
        [("Établissement", f"{school.name} (UAI {school.uai})"), ("Adresse", school.address or "")],
        label_width_cm=LABEL_WIDTH_CM,
    )

    heading(document, "a effectué une période de formation en milieu professionnel", 2)
    trainer = (workplace and workplace.tutor_name) or ""
    if trainer and workplace and workplace.tutor_role:
        trainer += f", {workplace.tutor_role}"
    facts_table(
        document,
        [
            ("Période", period.name + ("" if period.certifying else " (non certifiante)")),
            ("Dates", period_dates(period)),
            ("Service", (workplace and workplace.service) or ""),
            (learner.trainer_title, trainer),
            ("Durée effective", days_line(entry.days_done, period.planned_days)),
        ],
    )

    heading(document, "Activités réalisées", 2)
    if entry.activities:
        table = Table(document, (2.4, usable_width_cm(document) - 2.4))
        table.row(["Code", "Tâche"], header=True)
        for task in entry.activities:
            table.row([Cell(task.code, bold=True), task.label])
        spacer(document)
    else:
        paragraph(document, NO_ACTIVITY, italic=True)

    _signatures(document, school.head_of_school)


def _signatures(document: DocxDocument, head_of_school: str | None) -> None:
    heading(document, "Signatures", 2)
    # The heading, the « Fait à » line and the table's header hold on to the boxes: they turn the page together.
    paragraph(document, f"Fait à {BLANK[:22]}, le ____ / ____ / ________", keep_with_next=True)
    half = usable_width_cm(document) / 2
    table = Table(document, (half, half))
    head = f"Le chef d'établissement, {head_of_school}" if head_of_school else "Le chef d'établissement"
    table.row(["Pour l'entreprise : nom, fonction du signataire", head], header=True, keep_with_next=True)
    table.row(
        [
            Cell("Signature et cachet de l'entreprise :", italic=True, top=True),
            Cell("Signature et cachet de l'établissement :", italic=True, top=True),
        ],
        height_cm=3.0,
    )
