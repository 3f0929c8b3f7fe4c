"""« Préparer la rencontre » (R22): the bilan grid on paper, for the company visit."""

from dataclasses import replace
from datetime import UTC, date, datetime

from docx.enum.section import WD_ORIENT
from docx.shared import Cm

from exports import build_meeting_sheet
from exports.data import LearnerInfo, Scale, ScaleLevel, SheetBilan
from tests.exports.reading import (
    body_text,
    count,
    footer_fields,
    header_row_repeats,
    header_text,
    open_docx,
    schema_order_errors,
    table_rows,
)
from tests.exports.samples import DISCOVERY_FICHE, competence_labels, framework, grid, scale_of, seed_meeting_sheet

CAP_LEVELS = ["Non évalué", "Non acquis", "Début d'acquisition", "Partiellement acquis", "Acquis", "Maîtrisé"]
# Boxes outside the grid: the legend shows one, the engagement choices four.
OTHER_BOXES = 1 + 4


def grid_table(document):
    for table in document.tables:
        if table.rows[0].cells[0].text == "Tâches, compétences et critères":
            return table
    raise AssertionError("no grid table")


def row_starting(rows, text):
    matches = [row for row in rows if text in row[0]]
    assert matches, f"no row with {text!r}"
    return matches[0]


def test_header_recalls_school_period_learner_and_workplace():
    document = open_docx(build_meeting_sheet(seed_meeting_sheet()))

    text = body_text(document)
    assert "Préparer la rencontre" in text
    assert "Stage de découverte, du 16/11/2026 au 04/12/2026" in text
    assert "Angélique DUPIRE (CAPELECT)" in text
    assert "Tout élec" in text
    assert "Entreprise générale d'électricité (particuliers)" in text
    assert "Eude Toutcourt, électricien" in text
    assert "Lycée professionnel de démonstration — UAI 0599999Z" in header_text(document)


def test_fiche_list_gives_each_fiche_its_reference_number():
    document = open_docx(build_meeting_sheet(seed_meeting_sheet()))

    assert f"Liste des fiches : [1] {DISCOVERY_FICHE} - [2] Fiche 2 : Préparation d'un chantier" in body_text(document)


def test_grid_columns_are_the_scale_labels_and_the_header_repeats_on_each_page():
    document = open_docx(build_meeting_sheet(seed_meeting_sheet()))

    table = grid_table(document)
    assert table_rows(table)[0] == ["Tâches, compétences et critères", "Fiches", *CAP_LEVELS]
    assert header_row_repeats(table)


def test_grid_groups_tasks_by_activity_and_marks_what_fiches_selected():
    # given the seed's bilan: TA 1-1 and TA 1-2, C01 by criteria, C07 globally
    document = open_docx(build_meeting_sheet(seed_meeting_sheet()))

    # then
    rows = table_rows(grid_table(document))
    assert rows[1] == ["Activité 1 — Préparation"]
    task = row_starting(rows, "TA 1-1 :")
    assert task[0].startswith("☑ TA 1-1 : Prendre connaissance du dossier")
    assert task[1] == "[1]"
    assert row_starting(rows, "TA 1-2 :")[1] == "[1] [2]"

    c01_label = competence_labels("cap-electricien")["C01"][0]
    c01 = row_starting(rows, f"C01 {c01_label}")
    assert c01[0] == f"☑ C01 {c01_label}"
    # the criterion fiche [2] selected under TA 1-2 carries its boxes there
    assert c01[2] == "évaluée par critères — autres critères avec TA 1-2"

    first = row_starting(rows, "Les informations nécessaires sont recueillies")
    assert first == ["☑ Les informations nécessaires sont recueillies", "[1] [2]", *["☐"] * 6]
    unmarked = row_starting(rows, "Les risques professionnels sont évalués")
    assert unmarked == ["Les risques professionnels sont évalués", "", *["☐"] * 6]

    c07 = row_starting(rows, "C07 Exploiter les outils numériques")
    assert c07[0].startswith("☑ C07") and c07[1] == "[1]" and c07[2:] == ["☐"] * 6
    c08 = row_starting(rows, "C08 ")
    assert not c08[0].startswith("☑") and c08[2:] == ["☐"] * 6


def test_a_criterion_selected_under_another_task_gets_its_boxes_there():
    document = open_docx(build_meeting_sheet(seed_meeting_sheet()))

    rows = table_rows(grid_table(document))
    after_ta12 = rows[[index for index, row in enumerate(rows) if "TA 1-2 :" in row[0]][0] :]
    c01_again = row_starting(after_ta12, "C01 ")
    assert c01_again[2] == "évaluée par critères — autres critères avec TA 1-1"
    # the criterion fiche [2] selected under TA 1-2 is evaluated on its row there, not under TA 1-1
    assert row_starting(after_ta12, "Les contraintes techniques") == [
        "☑ Les contraintes techniques et d'exécution sont repérées",
        "[2]",
        *["☐"] * 6,
    ]
    before_ta12 = rows[: len(rows) - len(after_ta12)]
    assert not [row for row in before_ta12 if "Les contraintes techniques" in row[0]]
    # C07, selected under TA 1-1 only, points there from TA 1-2
    assert row_starting(after_ta12, "C07 ")[2] == "évaluée avec TA 1-1"
    # C01: 5 criteria, C07, C08, C02 globally; six levels each; plus the engagement choices
    assert count(document, "☐") == 6 * (5 + 1 + 1 + 1) + OTHER_BOXES


def test_a_competence_selected_under_two_tasks_gets_its_boxes_on_both_rows():
    # given fiche [1] selects C07 under TA 1-1 and fiche [2] under TA 1-2
    activities = grid(
        "cap-electricien",
        tasks=("TA 1-1", "TA 1-2"),
        competence_refs={("TA 1-1", "C07"): (1,), ("TA 1-2", "C07"): (2,)},
    )
    document = open_docx(build_meeting_sheet(seed_meeting_sheet(activities=activities)))

    rows = table_rows(grid_table(document))
    c07_rows = [row for row in rows if row[0].startswith("☑ C07 ")]
    # then both rows are marked and carry the six boxes, each with its own fiche
    assert [row[1:] for row in c07_rows] == [["[1]", *["☐"] * 6], ["[2]", *["☐"] * 6]]
    # and a competence selected nowhere is boxed once, at its first task, and points there afterwards
    c01 = [row for row in rows if row[0].startswith("C01 ")]
    assert c01[0][1:] == ["", *["☐"] * 6] and c01[1][1:] == ["", "évaluée avec TA 1-1"]


def test_selected_rows_are_shaded():
    document = open_docx(build_meeting_sheet(seed_meeting_sheet()))

    table = grid_table(document)
    for row in table.rows:
        text = row.cells[0].text
        shading = row.cells[0]._tc.xpath("./w:tcPr/w:shd/@w:fill")
        if text.startswith("☑"):
            assert shading == ["FFF2CC"], text
        elif text.startswith(("C0", "TA ", "Les ")):
            assert shading == [], text


def test_whole_cap_framework_gives_one_row_of_boxes_per_competence():
    activities = grid("cap-electricien")
    document = open_docx(build_meeting_sheet(seed_meeting_sheet(activities=activities)))

    text = body_text(document)
    for activity in framework("cap-electricien")["activities"]:
        assert f"Activité {activity['code']} — {activity['label']}" in text
        for task in activity["tasks"]:
            assert f"{task['code']} : {task['label']}" in text
    assert len(competence_labels("cap-electricien")) == 9
    assert count(document, "☐") == 6 * 9 + OTHER_BOXES


def test_large_melec_grid_by_criteria_boxes_every_criterion_once():
    competences = competence_labels("bac-pro-melec")
    activities = grid("bac-pro-melec", by_criteria=frozenset(competences))
    document = open_docx(
        build_meeting_sheet(seed_meeting_sheet(scale=scale_of("bac-pro-melec"), activities=activities))
    )

    criteria = sum(len(criteria) for _, criteria in competences.values())
    assert (len(competences), criteria) == (13, 78)
    assert count(document, "☐") == 6 * criteria + OTHER_BOXES
    rows = table_rows(grid_table(document))
    # C10 and others, linked to many tasks, no fiche selecting them: boxed under T1-1, pointed to elsewhere
    assert sum(1 for row in rows if "évaluée par critères avec T1-1" in row) > 10


def test_level_columns_follow_the_scale_given():
    scale = Scale(
        (
            ScaleLevel("NOT_ACQUIRED", "Pas encore"),
            ScaleLevel("PARTIAL", "En cours"),
            ScaleLevel("ACQUIRED", "Compétence acquise", is_threshold=True),
            ScaleLevel("MASTERED", "Expert"),
        )
    )
    document = open_docx(build_meeting_sheet(seed_meeting_sheet(scale=scale)))

    assert table_rows(grid_table(document))[0][2:] == ["Pas encore", "En cours", "Compétence acquise", "Expert"]
    assert count(document, "☐") == 4 * (5 + 1 + 1 + 1) + OTHER_BOXES
    assert "Non évalué" not in body_text(document)


def test_engagement_meeting_date_comment_and_signatures():
    document = open_docx(
        build_meeting_sheet(seed_meeting_sheet(comment="Bonne implication.\nRevoir la sécurité.", minor=False))
    )

    text = body_text(document)
    assert "Engagement de l'apprenant dans l'activité : ☐ ★☆☆☆    ☐ ★★☆☆    ☐ ★★★☆    ☐ ★★★★" in text
    # R20: the meeting date defaults to the period's last day
    assert "Date de la rencontre : 04/12/2026" in text
    assert "Bonne implication.\nRevoir la sécurité." in text
    # an adult learner signs alone: teacher, trainer, learner
    signatures = table_rows(document.tables[-1])
    assert signatures[0] == ["Le professeur référent", "Le formateur en entreprise (tuteur de stage)", "L'apprenant"]
    assert signatures[1] == [
        "Nom : Claire MARTIN\nSignature :",
        "Nom : Eude Toutcourt\nSignature et cachet de l'entreprise :",
        "Nom : Angélique DUPIRE\nSignature :",
    ]


def test_a_minor_or_a_learner_of_unknown_age_has_a_legal_guardian_line():
    minor = table_rows(open_docx(build_meeting_sheet(seed_meeting_sheet(minor=True))).tables[-1])
    unknown = table_rows(open_docx(build_meeting_sheet(seed_meeting_sheet(minor=None))).tables[-1])

    assert minor[0][2:] == ["L'apprenant", "Le représentant légal"]
    assert unknown[0][3] == "Le représentant légal (si l'apprenant est mineur)"
    assert minor[1][3] == "Nom :\nSignature :"


def test_a_completed_bilan_is_titled_as_the_bilan_and_ticks_its_levels():
    activities = grid(
        "cap-electricien",
        tasks=("TA 1-1", "TA 1-2"),
        competence_refs={("TA 1-1", "C07"): (1,), ("TA 1-2", "C07"): (2,)},
    )
    activities = tuple(
        replace(
            activity,
            tasks=tuple(
                replace(
                    task,
                    competences=tuple(
                        replace(c, level="ACQUIRED" if c.code == "C07" else "NOT_EVALUATED") for c in task.competences
                    ),
                )
                for task in activity.tasks
            ),
        )
        for activity in activities
    )
    bilan = SheetBilan(True, 3, datetime(2026, 12, 5, 22, 30, tzinfo=UTC), "Claire MARTIN")
    late = SheetBilan(True, 3, datetime(2026, 12, 5, 23, 30, tzinfo=UTC), "Claire MARTIN")
    late_text = body_text(open_docx(build_meeting_sheet(seed_meeting_sheet(bilan=late))))
    # the day printed is the day in France: 00:30 on 6 December there
    assert "complété le 06/12/2026 par Claire MARTIN" in late_text
    data = seed_meeting_sheet(activities=activities, bilan=bilan, comment="Très bien.", minor=False)
    document = open_docx(build_meeting_sheet(data))

    text = body_text(document)
    assert "Bilan entreprise\nBilan de la période en entreprise — complété le 05/12/2026 par Claire MARTIN" in text
    assert "à compléter lors de la visite" not in text and "Préparer la rencontre" not in text
    rows = table_rows(grid_table(document))
    # C07 selected under both tasks: "Acquis" ticked on both rows; others "Non évalué"
    acquired = ["☐", "☐", "☐", "☐", "☒", "☐"]
    assert [row[2:] for row in rows if row[0].startswith("☑ C07 ")] == [acquired, acquired]
    assert row_starting(rows, "C02 ")[2:] == ["☒", *["☐"] * 5]
    assert "Engagement de l'apprenant dans l'activité : ★★★☆" in text
    assert "Très bien.\nBilan complété le 05/12/2026 par Claire MARTIN." in text


def test_a_draft_bilan_says_so_in_its_title_and_ticks_what_is_recorded():
    document = open_docx(build_meeting_sheet(seed_meeting_sheet(bilan=SheetBilan(engagement=2))))

    text = body_text(document)
    assert text.startswith("Préparer la rencontre — bilan en brouillon\n")
    assert "Bilan entreprise non complété (brouillon)" in text
    assert "☐ ★☆☆☆    ☒ ★★☆☆    ☐ ★★★☆    ☐ ★★★★" in text


def test_meeting_date_set_on_the_bilan_is_printed():
    document = open_docx(build_meeting_sheet(seed_meeting_sheet(meeting_date=date(2026, 12, 3))))

    assert "Date de la rencontre : 03/12/2026" in body_text(document)


def test_apprentice_is_followed_by_an_apprenticeship_master():
    apprentice = LearnerInfo("Lydie", "HÔT", "CAPELECT", apprentice=True)
    document = open_docx(build_meeting_sheet(seed_meeting_sheet(learner=apprentice)))

    text = body_text(document)
    assert "Maître d'apprentissage" in text
    assert "Le formateur en entreprise (maître d'apprentissage)" in text


def test_empty_grid_without_fiches_nor_workplace_still_gives_a_sheet():
    document = open_docx(
        build_meeting_sheet(seed_meeting_sheet(activities=(), fiches=(), workplace=None, teacher_name=None))
    )

    text = body_text(document)
    assert "Aucune tâche n'est retenue dans la grille de cette période." in text
    assert "Liste des fiches : aucune fiche activités sur cette période" in text
    assert count(document, "☐") == OTHER_BOXES
    assert table_rows(document.tables[0])[1] == ["Entreprise", "", "Domaine d'activité", ""]
    assert "Nom : ______" in table_rows(document.tables[-1])[1][0]


def test_page_is_a4_landscape_with_page_numbers_and_well_ordered_xml():
    document = open_docx(build_meeting_sheet(seed_meeting_sheet(activities=grid("cap-electricien"))))

    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    # stored in twentieths of a point: equal to the EMU within a rounding
    assert abs(section.page_width - Cm(29.7)) < Cm(0.01) and abs(section.page_height - Cm(21.0)) < Cm(0.01)
    assert abs(section.left_margin - Cm(1.8)) < Cm(0.01)
    assert footer_fields(document) == ["PAGE", "NUMPAGES"]
    assert "Préparer la rencontre — Page" in section.footer.paragraphs[0].text
    assert schema_order_errors(document) == []
