"""French formatting and the small rules the input dataclasses carry."""

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from exports import build_pre_convention
from exports.common import fiche_refs, format_date, format_days, period_dates, stars
from exports.data import (
    GridCompetence,
    GridCriterion,
    PeriodInfo,
    PreConventionData,
    PreConventionLearner,
    Scale,
    ScaleLevel,
    TaskRef,
)
from tests.exports.reading import body_text, open_docx
from tests.exports.samples import ANGELIQUE, DISCOVERY, SCHOOL, scale_of


def test_dates_are_printed_day_first():
    assert format_date(date(2026, 11, 16)) == "16/11/2026"
    assert format_date(None) == ""
    assert period_dates(DISCOVERY) == "du 16/11/2026 au 04/12/2026"


@pytest.mark.parametrize(
    ("days", "printed"),
    [(Decimal("9.5"), "9,5"), (Decimal("15.0"), "15"), (15, "15"), (12.5, "12,5"), (Decimal("20"), "20"), (None, "—")],
)
def test_days_use_a_decimal_comma(days, printed):
    assert format_days(days) == printed


def test_engagement_stars_out_of_four():
    assert [stars(count) for count in (1, 2, 3, 4)] == ["★☆☆☆", "★★☆☆", "★★★☆", "★★★★"]
    assert stars(None) == "Non renseigné"


def test_fiche_references():
    assert fiche_refs((1, 2)) == "[1] [2]"
    assert fiche_refs(()) == ""


def test_planned_days_count_weekdays_unless_the_template_says():
    assert DISCOVERY.planned_days == 15  # three weeks, Monday 16 to Friday 4
    assert PeriodInfo("Semaine", date(2026, 11, 16), date(2026, 11, 22)).planned_days == 5
    assert PeriodInfo("Modèle", date(2026, 11, 16), date(2026, 12, 4), planned=14).planned_days == 14


def test_scale_labels_ranks_and_threshold_come_from_its_levels():
    scale = scale_of("cap-electricien")
    assert [level.label for level in scale.levels][0] == "Non évalué"
    assert scale.label("BEGINNING") == "Début d'acquisition"
    assert scale.label("UNKNOWN") == "UNKNOWN"
    assert scale.threshold_rank == 4
    assert scale.reaches_threshold("MASTERED") and scale.reaches_threshold("ACQUIRED")
    assert not scale.reaches_threshold("PARTIAL") and not scale.reaches_threshold(None)
    without_threshold = Scale((ScaleLevel("ACQUIRED", "Acquis"),))
    assert not without_threshold.reaches_threshold("ACQUIRED")


def test_a_competence_is_marked_when_it_or_one_of_its_criteria_was_selected():
    competence = GridCompetence(
        "C01", "Analyser", fiche_refs=(3,), criteria=(GridCriterion("a", (2, 1)), GridCriterion("b"))
    )
    assert competence.all_fiche_refs == (1, 2, 3)
    assert competence.marked
    assert not GridCompetence("C02", "Organiser", criteria=(GridCriterion("a"),)).marked


def test_text_with_markup_characters_and_pasted_control_characters_is_printed_safely():
    entry = PreConventionLearner(
        ANGELIQUE,
        objectives="Câbler <tableau> & armoire\x01 (norme NF C 15-100)\x0bPoser une prise",
        tasks=(TaskRef("T<1>", "Poser & raccorder\x01"),),
    )
    document = open_docx(build_pre_convention(PreConventionData(SCHOOL, DISCOVERY, (entry,))))

    text = body_text(document)
    assert "\nCâbler <tableau> & armoire (norme NF C 15-100)\nPoser une prise\n" in text  # Word's line break: \x0b
    assert "Poser & raccorder" in text and "T<1>" in text


def test_file_properties_name_the_document_and_the_school_not_the_template():
    data = build_pre_convention(PreConventionData(SCHOOL, DISCOVERY, ()))
    properties = open_docx(data).core_properties

    assert (properties.title, properties.author, properties.language) == (
        "Pré-convention de stage",
        "Lycée professionnel de démonstration",
        "fr-FR",
    )
    assert properties.comments == "" and properties.created is None
    assert "docProps/thumbnail.jpeg" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
