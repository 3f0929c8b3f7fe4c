"""Pré-convention (R23): one learner or every learner of a period, each on pages of their own."""

from datetime import date

from docx.enum.section import WD_ORIENT, WD_SECTION_START
from docx.oxml.ns import qn
from docx.shared import Cm

from exports import build_pre_convention
from exports.data import LearnerInfo, PeriodInfo, PreConventionData, PreConventionLearner, Workplace
from tests.exports.reading import (
    body_text,
    footer_fields,
    header_row_repeats,
    header_text,
    open_docx,
    schema_order_errors,
    table_rows,
)
from tests.exports.samples import (
    ANGELIQUE,
    DISCOVERY,
    LEARNERS,
    OBJECTIVES,
    SCHOOL,
    TOUT_ELEC,
    task_refs,
)

PLANNED = task_refs("cap-electricien", ("TA 1-1", "TA 1-2"))
TIMETABLE_HEADER = ["Jour", "Matin début", "Matin fin", "Après-midi début", "Après-midi fin", "Total heures"]


def angelique(**overrides) -> PreConventionLearner:
    values = dict(learner=ANGELIQUE, workplace=TOUT_ELEC, objectives=OBJECTIVES, tasks=PLANNED)
    values.update(overrides)
    return PreConventionLearner(**values)


def table_starting(document, first_cell: str):
    for table in document.tables:
        if table.rows[0].cells[0].text == first_cell:
            return table
    raise AssertionError(f"no table starting with {first_cell!r}")


def section_text(section) -> str:
    lines = []
    for block in section.iter_inner_content():
        if hasattr(block, "rows"):
            lines += ["\t".join(row) for row in table_rows(block)]
        else:
            lines.append(block.text)
    return "\n".join(lines)


def test_one_learner_gets_school_period_workplace_objectives_and_activities():
    document = open_docx(build_pre_convention(PreConventionData(SCHOOL, DISCOVERY, (angelique(),))))

    text = body_text(document)
    assert "Pré-convention de stage" in text
    assert "Stage de découverte — Angélique DUPIRE" in text
    assert "Lycée professionnel de démonstration (UAI 0599999Z)" in text
    facts = table_rows(document.tables[0])
    assert facts[0] == ["Apprenant", "Angélique DUPIRE", "Classe", "CAPELECT"]
    assert ["Période", "Stage de découverte", "Dates", "du 16/11/2026 au 04/12/2026"] in facts
    assert ["Durée", "15 jours", "Certifiante", "Oui"] in facts
    workplace = table_rows(document.tables[1])
    assert workplace[0] == [
        "Entreprise",
        "Tout élec",
        "Domaine d'activité",
        "Entreprise générale d'électricité (particuliers)",
    ]
    assert workplace[1] == ["Service", "", "Tuteur de stage", "Eude Toutcourt"]
    assert workplace[2][:2] == ["Fonction", "électricien"]
    for line in OBJECTIVES.splitlines():
        assert f"\n{line}\n" in text  # a paragraph of its own
    activities = table_starting(document, "Code")
    assert table_rows(activities) == [["Code", "Tâche"], *[[task.code, task.label] for task in PLANNED]]
    assert "UAI 0599999Z" in header_text(document)


def test_timetable_has_a_row_per_day_from_monday_to_saturday_for_the_company():
    document = open_docx(build_pre_convention(PreConventionData(SCHOOL, DISCOVERY, (angelique(),))))

    timetable = table_starting(document, "Jour")
    rows = table_rows(timetable)
    assert rows[0] == TIMETABLE_HEADER
    assert header_row_repeats(timetable)
    assert [row[0] for row in rows[1:]] == [
        "Lundi",
        "Mardi",
        "Mercredi",
        "Jeudi",
        "Vendredi",
        "Samedi",
        "Total de la semaine",
    ]
    assert all(cell == "" for row in rows[1:7] for cell in row[1:])
    assert "Horaires journaliers (à compléter par l'entreprise)" in body_text(document)


def test_whole_period_gives_one_section_per_learner_each_on_a_new_page():
    # given the five learners of the demo period, only Angélique knows her company
    entries = tuple(angelique() if learner is ANGELIQUE else PreConventionLearner(learner) for learner in LEARNERS)

    # when
    document = open_docx(build_pre_convention(PreConventionData(SCHOOL, DISCOVERY, entries)))

    # then
    sections = document.sections
    assert len(sections) == len(LEARNERS)
    assert all(section.start_type == WD_SECTION_START.NEW_PAGE for section in sections[1:])
    for section, learner in zip(sections, LEARNERS):
        text = section_text(section)
        assert f"Stage de découverte — {learner.full_name}" in text
        assert f"Apprenant\t{learner.full_name}\tClasse\t{learner.classroom}" in text
        others = [other for other in LEARNERS if other is not learner]
        assert not any(other.full_name in text for other in others)
        assert section.orientation == WD_ORIENT.PORTRAIT
        assert abs(section.page_width - Cm(21.0)) < Cm(0.01)
    assert "Tout élec" in section_text(sections[1])
    assert "Tout élec" not in section_text(sections[0])


def test_unknown_workplace_objectives_and_activities_leave_room_to_write():
    document = open_docx(build_pre_convention(PreConventionData(SCHOOL, DISCOVERY, (PreConventionLearner(ANGELIQUE),))))

    workplace = table_rows(document.tables[1])
    assert workplace[0] == ["Entreprise", "", "Domaine d'activité", ""]
    assert workplace[1] == ["Service", "", "Tuteur de stage", ""]
    text = body_text(document)
    assert "Aucun objectif n'est encore défini pour cette période." in text
    assert "Aucune activité n'est encore prévue pour cette période." in text


def test_period_without_learner_gives_a_document_that_says_so():
    document = open_docx(build_pre_convention(PreConventionData(SCHOOL, DISCOVERY, ())))

    text = body_text(document)
    assert "Aucun apprenant n'est affecté à cette période." in text
    assert "Stage de découverte" in text and "du 16/11/2026 au 04/12/2026" in text
    assert len(document.sections) == 1
    assert footer_fields(document) == ["PAGE", "NUMPAGES"]


def test_apprentice_planned_days_and_non_certifying_period():
    period = PeriodInfo("PFMP de fin de cycle", date(2027, 5, 3), date(2027, 5, 21), certifying=False, planned=12)
    apprentice = LearnerInfo("Lydie", "HÔT", "CAPELECT", apprentice=True)
    workplace = Workplace(company_name="Tout élec", tutor_name="Eude Toutcourt")
    entry = PreConventionLearner(apprentice, workplace, OBJECTIVES, PLANNED)

    document = open_docx(build_pre_convention(PreConventionData(SCHOOL, period, (entry,))))

    facts = table_rows(document.tables[0])
    assert ["Statut", "Apprenti", "Professeur référent", ""] in facts
    assert ["Durée", "12 jours", "Certifiante", "Non (parcours non certifiant)"] in facts
    assert table_rows(document.tables[1])[1][2:] == ["Maître d'apprentissage", "Eude Toutcourt"]
    text = body_text(document)
    assert "L'entreprise (maître d'apprentissage)" in text
    # an apprentice has no PFMP convention: the document is titled for an apprenticeship
    assert document.paragraphs[0].text == "Pré-convention — période en entreprise d'un apprenti"
    assert "de stage" not in text


def test_footer_numbers_pages_and_the_xml_is_well_ordered():
    entries = tuple(PreConventionLearner(learner, TOUT_ELEC, OBJECTIVES, PLANNED) for learner in LEARNERS)
    document = open_docx(build_pre_convention(PreConventionData(SCHOOL, DISCOVERY, entries)))

    # each learner's pages are counted on their own: pages numbered from 1 in every section, and « / Y » the page
    # number of a bookmark in the section's last paragraph (the last cell of its signature table)
    for index, section in enumerate(document.sections, start=1):
        assert section._sectPr.find(qn("w:pgNumType")).get(qn("w:start")) == "1"
        assert not section.footer.is_linked_to_previous
        fields = [node.text.strip() for node in section.footer._element.iter(qn("w:instrText"))]
        assert fields == ["PAGE", f"PAGEREF fin_apprenant_{index}"]
        assert "Pré-conventions — Page" in section.footer.paragraphs[0].text
        last_table = [block for block in section.iter_inner_content() if hasattr(block, "rows")][-1]
        assert last_table.rows[0].cells[0].text == "L'apprenant"
        names = [node.get(qn("w:name")) for node in last_table._element.iter(qn("w:bookmarkStart"))]
        assert names == [f"fin_apprenant_{index}"]
    assert schema_order_errors(document) == []


def test_the_timetable_holds_on_to_the_signatures():
    document = open_docx(build_pre_convention(PreConventionData(SCHOOL, DISCOVERY, (angelique(),))))

    # every row of the timetable, the gap after it, the heading « Signatures » and « Fait à » keep with the next:
    # when the page runs out, the timetable turns the page with the signature boxes
    timetable = table_starting(document, "Jour")
    body = list(document.element.body)
    after = body[body.index(timetable._element) + 1 :]
    chain = [element for element in after[:3] if element.tag == qn("w:p")]
    assert [p.text for p in document.paragraphs if p._p in chain][1:] == [
        "Signatures",
        "Fait à ______________________, le ____ / ____ / ________",
    ]
    for row in timetable.rows:
        assert all(p.paragraph_format.keep_with_next for cell in row.cells for p in cell.paragraphs)
    spacer = next(p for p in document.paragraphs if p._p is chain[0])
    assert spacer.paragraph_format.keep_with_next and spacer.text == ""
