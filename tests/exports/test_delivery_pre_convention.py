"""Pre-conventions (R23) over HTTP: one learner's, or a period's with one section per learner on a new page;
the school, learner, classroom, period and its duration, the workplace when known, the liaison fiche's
objectives and activities, and the timetable for the company."""

import datetime as dt

from docx.enum.section import WD_SECTION_START

from graph.types.common import encode_id
from models.periods import Period, PeriodTemplate
from models.portfolios import LiaisonFiche
from tests.exports.delivery import docx_of, fetch, period_id, portfolio_id, portfolio_of
from tests.exports.reading import table_rows

OBJECTIVES = (
    "Découvrir l'entreprise, ses métiers et ses règles de sécurité ; "
    "observer puis participer à la préparation d'une intervention."
)
TA_1_1 = "Prendre connaissance du dossier relatif aux opérations à réaliser dans leur environnement"
TA_1_2 = "Vérifier et compléter si besoin la liste des matériels, équipements et outillages nécessaires aux opérations"


def facts(table) -> dict[str, str]:
    cells = [cell for row in table_rows(table) for cell in row]
    return dict(zip(cells[::2], cells[1::2]))


async def test_a_learner_gets_their_pre_convention_with_the_liaison_fiche(learner):
    # when DUPIRE downloads her pre-convention
    document, text = docx_of(await fetch(learner, f"/exports/pre-convention/portfolio/{await portfolio_id('DUPIRE')}"))
    period = await Period.get(name="Stage de découverte")
    # then one section: the learner, the period and its duration, the school
    assert len(document.sections) == 1
    assert "Pré-convention de stage\nStage de découverte — Angélique DUPIRE" in text
    who = facts(document.tables[0])
    assert who["Apprenant"] == "Angélique DUPIRE" and who["Classe"] == "CAPELECT" and who["Statut"] == "Élève"
    assert who["Établissement"] == "Lycée professionnel de démonstration (UAI 0599999Z)"
    assert who["Dates"] == f"du {period.start_date:%d/%m/%Y} au {period.end_date:%d/%m/%Y}"
    assert who["Durée"] == "10 jours"
    assert who["Certifiante"] == "Non (parcours non certifiant)"
    # the workplace and tutor of her liaison fiche
    company = facts(document.tables[1])
    assert company["Entreprise"] == "Tout élec" and company["Tuteur de stage"] == "Eude Toutcourt"
    assert company["Fonction"] == "électricien"
    # the objectives and planned activities, in framework order, then the timetable to fill in
    assert OBJECTIVES in text
    assert table_rows(document.tables[2]) == [["Code", "Tâche"], ["TA 1-1", TA_1_1], ["TA 1-2", TA_1_2]]
    timetable = table_rows(document.tables[3])
    assert timetable[0] == ["Jour", "Matin début", "Matin fin", "Après-midi début", "Après-midi fin", "Total heures"]
    assert [row[0] for row in timetable[1:]] == [
        "Lundi",
        "Mardi",
        "Mercredi",
        "Jeudi",
        "Vendredi",
        "Samedi",
        "Total de la semaine",
    ]


async def test_the_period_gives_every_learner_a_section_on_a_new_page(teacher):
    # given the master individualized HÔT's plan, and nothing of CARLIER's workplace is known
    hot = await LiaisonFiche.get(portfolio=await portfolio_of("HÔT"))
    hot.objectives = "Câbler un tableau de chantier sous la conduite de la cheffe d'équipe."
    hot.objectives_individualized = True
    await hot.save()
    await hot.tasks.clear()
    # when the teacher downloads the period's pre-conventions
    document, text = docx_of(await fetch(teacher, f"/exports/pre-convention/period/{await period_id()}"))
    # then five sections, each after the first on a new page, learners by name
    assert len(document.sections) == 5
    assert all(section.start_type == WD_SECTION_START.NEW_PAGE for section in document.sections[1:])
    names = [line.split(" — ")[1] for line in text.splitlines() if line.startswith("Stage de découverte — ")]
    assert names == ["Matis CARLIER", "Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT", "Jean LECAM"]
    # the period's objectives for four of them, HÔT's own for her, and her empty plan said so
    assert text.count(OBJECTIVES) == 4
    assert text.count("Câbler un tableau de chantier sous la conduite de la cheffe d'équipe.") == 1
    assert text.count("Aucune activité n'est encore prévue pour cette période.") == 1
    assert text.count("TA 1-1") == 4
    # HÔT is an apprentice: her trainer is an apprenticeship master
    assert text.count("Statut\nApprenti\n") == 1 and "Maître d'apprentissage" in text
    # only DUPIRE's workplace is known
    assert text.count("Tout élec") == 1


async def test_an_empty_period_gives_a_document_that_says_so(admin):
    # given a period of the demo level with no learner assigned, made from a template of 20 days
    first = await Period.get(name="Stage de découverte")
    template = await PeriodTemplate.create(
        school_id=first.school_id, level_id=first.level_id, name="PFMP longue", duration_days=20
    )
    empty = await Period.create(
        school_id=first.school_id,
        level_id=first.level_id,
        template=template,
        name="PFMP de printemps",
        start_date=dt.date(2027, 3, 1),
        end_date=dt.date(2027, 3, 26),
        school_year=first.school_year,
    )
    # when it is exported
    document, text = docx_of(await fetch(admin, f"/exports/pre-convention/period/{encode_id('Period', empty.id)}"))
    # then one page names the period and says nobody is assigned
    assert len(document.sections) == 1
    assert "Aucun apprenant n'est affecté à cette période." in text
    period = facts(document.tables[0])
    assert period["Période"] == "PFMP de printemps"
    assert period["Dates"] == "du 01/03/2027 au 26/03/2027"
    assert period["Durée"] == "20 jours" and period["Certifiante"] == "Oui"


async def test_the_master_gets_the_apprentice_pre_convention(master):
    document, text = docx_of(await fetch(master, f"/exports/pre-convention/portfolio/{await portfolio_id('HÔT')}"))
    assert "Stage de découverte — Lydie HÔT" in text
    company = facts(document.tables[1])
    assert company["Maître d'apprentissage"] == "" and company["Entreprise"] == ""
    assert table_rows(document.tables[2])[1:] == [["TA 1-1", TA_1_1], ["TA 1-2", TA_1_2]]
