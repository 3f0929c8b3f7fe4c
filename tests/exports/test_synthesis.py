"""Learner and level syntheses of periods in companies (R24)."""

from datetime import date
from decimal import Decimal

from docx.oxml.ns import qn

from exports import build_learner_synthesis, build_level_synthesis
from exports.data import BilanSummary, LearnerPeriods, LearnerSynthesisData, LevelSynthesisData, PeriodInfo, Scale
from exports.synthesis import tally
from tests.exports.reading import (
    body_text,
    footer_fields,
    header_row_repeats,
    open_docx,
    page_breaks,
    schema_order_errors,
    table_rows,
)
from tests.exports.samples import (
    ANGELIQUE,
    DISCOVERY,
    DISCOVERY_FICHE,
    JEAN,
    LEARNERS,
    MATIS,
    SCHOOL,
    competence_labels,
    period_record,
    results,
    scale_of,
)

CAP = scale_of("cap-electricien")
NBSP = "\u00a0"
SPRING = PeriodInfo("PFMP 2", date(2027, 3, 1), date(2027, 3, 26), certifying=False)
C01, C07, C08 = (f"{code} {competence_labels('cap-electricien')[code][0]}" for code in ("C01", "C07", "C08"))


def completed_discovery():
    bilan = BilanSummary(
        completed=True,
        meeting_date=date(2026, 12, 4),
        engagement=3,
        results=results("cap-electricien", {"C01": "ACQUIRED", "C07": "PARTIAL", "C08": None}),
        comment="Bon début, continue ainsi.",
    )
    return period_record(bilan=bilan, fiches=(DISCOVERY_FICHE, "Fiche 2 : Préparation d'un chantier"))


def draft_spring():
    return period_record(SPRING, days_done=None, bilan=BilanSummary(completed=False))


def two_periods():
    return (completed_discovery(), draft_spring())


def learner_synthesis(periods, scale: Scale = CAP) -> LearnerSynthesisData:
    return LearnerSynthesisData(SCHOOL, scale, ANGELIQUE, periods, "Deuxième année de CAP", "2026-2027")


def facts_of(table) -> dict[str, str]:
    return {row[0]: row[1] for row in table_rows(table)}


def test_learner_synthesis_gives_each_period_its_workplace_days_fiches_bilan_and_results():
    document = open_docx(build_learner_synthesis(learner_synthesis(two_periods())))

    text = body_text(document)
    assert "Synthèse des formations en entreprise" in text
    assert "Angélique DUPIRE (CAPELECT)" in text
    discovery = facts_of(document.tables[1])
    assert discovery["Dates"] == "du 16/11/2026 au 04/12/2026"
    assert discovery["Prise en compte pour le diplôme"] == "Oui"
    # one line each: company, domain, trainer (no parentheses inside parentheses)
    assert discovery["Lieu de réalisation"] == (
        "Tout élec\nEntreprise générale d'électricité (particuliers)\nTuteur de stage : Eude Toutcourt, électricien"
    )
    assert discovery["Jours effectués"] == "14,5 sur 15 jours prévus"
    assert discovery["Fiches activités"] == (
        f"2 fiches, toutes complétées\n• {DISCOVERY_FICHE}\n• Fiche 2 : Préparation d'un chantier"
    )
    assert discovery["Bilan entreprise"] == "Complété, rencontre du 04/12/2026"
    assert discovery["Engagement"] == "★★★☆"
    results_table = document.tables[2]
    assert header_row_repeats(results_table)
    assert table_rows(results_table) == [
        ["Compétence", "Niveau de réussite"],
        [C01, "Acquis"],
        [C07, "Partiellement acquis"],
        [C08, "—"],
    ]
    assert "Commentaire : Bon début, continue ainsi." in text

    spring = facts_of(document.tables[3])
    assert spring["Prise en compte pour le diplôme"] == "Non (parcours non certifiant)"
    assert spring["Jours effectués"] == "Non renseigné (20 jours prévus)"
    assert spring["Bilan entreprise"] == "En cours (brouillon)"
    assert spring["Engagement"] == "Non renseigné"
    assert len(document.tables) == 4  # a draft without results prints no results table


def test_learner_synthesis_opens_with_the_learner_totals():
    document = open_docx(build_learner_synthesis(learner_synthesis(two_periods())))

    totals = facts_of(document.tables[0])
    assert totals["Niveau"] == "Deuxième année de CAP"
    assert totals["Année scolaire"] == "2026-2027"
    assert totals["Périodes"] == "2 périodes dont 1 certifiante"
    assert totals["Jours effectués"] == "14,5 sur 35 jours prévus"
    assert totals["Fiches activités"] == "3 fiches, toutes complétées"
    # C01 reached "Acquis", C07 did not, C08 has no result
    # the label between guillemets is held together by non-breaking spaces
    assert totals[f"Compétences «{NBSP}Acquis{NBSP}» ou plus"] == "1 sur 2 évaluées"


def test_level_labels_and_threshold_come_from_the_scale_given():
    levels = tuple(
        level.__class__(level.value, level.label.upper(), is_threshold=level.value == "PARTIAL") for level in CAP.levels
    )
    document = open_docx(build_learner_synthesis(learner_synthesis(two_periods(), Scale(levels))))

    assert table_rows(document.tables[2])[1:3] == [[C01, "ACQUIS"], [C07, "PARTIELLEMENT ACQUIS"]]
    label = f"Compétences «{NBSP}PARTIELLEMENT{NBSP}ACQUIS{NBSP}» ou plus"
    assert facts_of(document.tables[0])[label] == "2 sur 2 évaluées"


def test_learner_without_period_gives_a_document_that_says_so():
    document = open_docx(build_learner_synthesis(learner_synthesis(())))

    text = body_text(document)
    assert "Aucune période en entreprise n'est enregistrée pour cet apprenant." in text
    assert facts_of(document.tables[0])["Périodes"] == "Aucune période"
    assert footer_fields(document) == ["PAGE", "NUMPAGES"]


def test_period_without_bilan_nor_workplace():
    record = period_record(workplace=None, fiches=(), bilan=None, days_done=Decimal("15.0"))
    document = open_docx(build_learner_synthesis(learner_synthesis((record,))))

    facts = facts_of(document.tables[1])
    assert facts["Lieu de réalisation"] == "Non renseigné"
    assert facts["Jours effectués"] == "15 sur 15 jours prévus"
    assert facts["Fiches activités"] == "Aucune fiche"
    assert facts["Bilan entreprise"] == "Non commencé"


def test_tally_keeps_the_latest_completed_result_of_each_competence():
    # given: C01 acquired in the autumn, then not acquired in a later completed bilan;
    # a draft says "Maîtrisé" but is not final; NOT_EVALUATED does not count as evaluated
    later = period_record(
        SPRING,
        bilan=BilanSummary(
            completed=True, results=results("cap-electricien", {"C01": "NOT_ACQUIRED", "C07": "NOT_EVALUATED"})
        ),
    )
    draft = period_record(
        PeriodInfo("PFMP 3", date(2027, 5, 3), date(2027, 5, 28)),
        bilan=BilanSummary(completed=False, results=results("cap-electricien", {"C01": "MASTERED"})),
    )

    # when the periods come out of order
    counts = tally(CAP, (later, draft, completed_discovery()))

    # then C01 counts on its spring result, C07 on its autumn one
    assert (counts.competences_reached, counts.competences_evaluated) == (0, 2)
    assert counts.periods == 3 and counts.certifying_periods == 2
    assert counts.days_done == Decimal("43.5")
    assert counts.fiches == 4


def test_level_synthesis_summary_table_then_one_page_per_learner():
    # given the demo learners; Jean has no period yet
    learners = tuple(LearnerPeriods(learner, () if learner is JEAN else two_periods()) for learner in LEARNERS)
    data = LevelSynthesisData(SCHOOL, CAP, "Deuxième année de CAP", learners, "2026-2027")

    # when
    document = open_docx(build_level_synthesis(data))

    # then
    text = body_text(document)
    assert "Synthèse des formations en entreprise pour tous les apprenants de ce niveau" in text
    assert "Deuxième année de CAP — 2026-2027" in text
    # it opens with the competences × learners table, five learners a table: current levels in the scale's words
    assert text.index("Niveaux actuels par compétence") < text.index("Tableau récapitulatif")
    levels = table_rows(document.tables[0])
    assert levels[0] == ["Compétence", *(learner.full_name for learner in LEARNERS[:5])]
    assert levels[1:] == [
        [C01, *("—" if learner is JEAN else "Acquis" for learner in LEARNERS[:5])],
        [C07, *("—" if learner is JEAN else "Partiellement acquis" for learner in LEARNERS[:5])],
        [C08, *["—"] * 5],
    ]
    assert header_row_repeats(document.tables[0])
    # kept whole on one page: every row but the last keeps with the next
    kept = [bool(row._tr.xpath("./w:tc/w:p/w:pPr/w:keepNext")) for row in document.tables[0].rows]
    assert kept == [True] * (len(levels) - 1) + [False]
    summary = document.tables[_first_summary(document)]
    assert header_row_repeats(summary)
    rows = table_rows(summary)
    assert rows[0] == [
        "Apprenant",
        "Classe",
        "Périodes",
        "Jours effectués",
        "Fiches",
        f"Compétences «{NBSP}Acquis{NBSP}» ou plus / évaluées",
    ]
    assert rows[1] == ["Matis CARLIER", "CAP 1 ELEC", "2", "14,5 / 35", "3", "1 / 2"]
    assert [row[0] for row in rows[1:]] == [learner.full_name for learner in LEARNERS]
    assert rows[-1] == ["Jean LECAM", "CAP 1 ELEC", "0", "— / 0", "0", "0 / 0"]

    headings = [p for p in document.paragraphs if p.style.name == "Heading 1"]
    assert [p.text for p in headings] == [f"{learner.full_name} ({learner.classroom})" for learner in LEARNERS]
    assert all(p.paragraph_format.page_break_before for p in headings)
    assert _page_breaks_before(document) == len(LEARNERS)
    assert page_breaks(document) == 0
    assert text.count("Aucune période en entreprise n'est enregistrée pour cet apprenant.") == 1


def test_level_without_learner_gives_a_document_that_says_so():
    document = open_docx(build_level_synthesis(LevelSynthesisData(SCHOOL, CAP, "Première année de CAP")))

    assert "Aucun apprenant n'est inscrit dans ce niveau." in body_text(document)
    assert document.tables == []
    assert footer_fields(document) == ["PAGE", "NUMPAGES"]


def test_level_synthesis_xml_is_well_ordered():
    learners = (LearnerPeriods(MATIS, two_periods()), LearnerPeriods(ANGELIQUE, (completed_discovery(),)))
    document = open_docx(build_level_synthesis(LevelSynthesisData(SCHOOL, CAP, "Deuxième année de CAP", learners)))

    assert schema_order_errors(document) == []
    assert "Synthèse des formations en entreprise — Page" in document.sections[0].footer.paragraphs[0].text
    assert DISCOVERY.name in body_text(document)


def _page_breaks_before(document) -> int:
    return sum(1 for _ in document.element.body.iter(qn("w:pageBreakBefore")))


def _first_summary(document) -> int:
    return next(i for i, table in enumerate(document.tables) if table.rows[0].cells[0].text == "Apprenant")


def test_level_synthesis_without_a_completed_bilan_says_there_is_no_level_yet():
    learners = (LearnerPeriods(MATIS, (draft_spring(),)), LearnerPeriods(JEAN, ()))
    document = open_docx(build_level_synthesis(LevelSynthesisData(SCHOOL, CAP, "Deuxième année de CAP", learners)))

    text = body_text(document)
    assert "Niveaux actuels par compétence\nAucun bilan entreprise complété : pas encore de niveau à reporter." in text
    assert table_rows(document.tables[0])[0][0] == "Apprenant"


def test_no_guillemet_of_a_synthesis_is_followed_or_preceded_by_a_breaking_space():
    learners = (LearnerPeriods(MATIS, two_periods()), LearnerPeriods(ANGELIQUE, (completed_discovery(),)))
    level = body_text(open_docx(build_level_synthesis(LevelSynthesisData(SCHOOL, CAP, "CAP", learners))))
    learner = body_text(open_docx(build_learner_synthesis(learner_synthesis(two_periods()))))

    for text in (level, learner):
        assert "«" in text
        assert "« " not in text and " »" not in text
