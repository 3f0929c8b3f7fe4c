"""Pre-conventions (R23) over HTTP: one learner's, or a period's with one section per learner on a new page;
the school, learner, classroom, period and its duration, the workplace when known, the liaison fiche's
objectives and activities, and the timetable for the company."""

import datetime as dt
from urllib.parse import unquote

from docx.enum.section import WD_SECTION_START

from graph.types.common import encode_id
from models.periods import Period, PeriodTemplate
from models.portfolios import LiaisonFiche
from models.users import Role, User
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


async def test_an_empty_period_gives_a_document_that_says_so_with_the_apis_planned_days(admin):
    # given a period of the demo level with no learner assigned, made from a template of 20 days, over Easter
    first = await Period.get(name="Stage de découverte")
    template = await PeriodTemplate.create(
        school_id=first.school_id, level_id=first.level_id, name="PFMP longue", duration_days=20
    )
    empty = await Period.create(
        school_id=first.school_id,
        level_id=first.level_id,
        template=template,
        name="PFMP de printemps",
        start_date=dt.date(2027, 3, 22),
        end_date=dt.date(2027, 4, 9),
        school_year=first.school_year,
    )
    empty_id = encode_id("Period", empty.id)
    # when it is exported
    document, text = docx_of(await fetch(admin, f"/exports/pre-convention/period/{empty_id}"))
    # then one page names the period and says nobody is assigned
    assert len(document.sections) == 1
    assert "Aucun apprenant n'est affecté à cette période." in text
    period = facts(document.tables[0])
    assert period["Période"] == "PFMP de printemps"
    assert period["Dates"] == "du 22/03/2027 au 09/04/2027"
    # three weeks less Easter Monday (29 March 2027): the figure the API gives, not the template's 20
    assert period["Durée"] == "14 jours" and period["Certifiante"] == "Oui"
    assert (await admin.data(PLANNED, id=empty_id))["node"]["plannedDays"] == 14


PLANNED = "query($id: ID!) { node(id: $id) { ... on Period { plannedDays } } }"
SET_PLANNED = """mutation($id: ID!, $days: Int) { periodPlannedDaysSet(input: {id: $id, plannedDays: $days}) {
  period { plannedDays } errors { code } } }"""


async def test_the_duration_printed_is_the_periods_planned_days_holidays_deducted_or_as_set(teacher):
    # given a period over 11 November, with one learner
    created = await teacher.data(
        """mutation($l: ID!, $learners: [ID!]) { periodCreate(input: {levelId: $l, name: "PFMP de novembre",
        startDate: "2026-11-09", endDate: "2026-11-20", learnerIds: $learners}) { period { id plannedDays }
        errors { code message } } }""",
        l=encode_id("Level", (await Period.get(name="Stage de découverte")).level_id),
        learners=[encode_id("Learner", (await User.get(last_name="CARLIER")).id)],
    )
    period = created["periodCreate"]["period"]
    assert created["periodCreate"]["errors"] == [] and period["plannedDays"] == 9
    # when its pre-conventions are printed, then they say the 9 days the API says (10 weekdays, 11 November off)
    document, _ = docx_of(await fetch(teacher, f"/exports/pre-convention/period/{period['id']}"))
    assert facts(document.tables[0])["Durée"] == "9 jours"
    # when the teacher sets 8 days, then the API and the document say 8
    payload = (await teacher.data(SET_PLANNED, id=period["id"], days=8))["periodPlannedDaysSet"]
    assert payload == {"period": {"plannedDays": 8}, "errors": []}
    document, _ = docx_of(await fetch(teacher, f"/exports/pre-convention/period/{period['id']}"))
    assert facts(document.tables[0])["Durée"] == "8 jours"


async def _contacts(trainer_email: str, phone: str) -> None:
    await User.filter(email=trainer_email).update(phone=phone)


async def test_an_apprentice_document_is_titled_for_an_apprenticeship_and_names_the_master_of_the_account(
    master, teacher
):
    # given HÔT's master, Sylvie Ampère of Ampère Services, and a liaison fiche that names no workplace
    await _contacts("sylvie.ampere@demo.pfmp.test", "06 11 22 33 44")
    for api in (master, teacher):
        # when her master, then her teacher, download HÔT's pre-convention
        document, text = docx_of(await fetch(api, f"/exports/pre-convention/portfolio/{await portfolio_id('HÔT')}"))
        # then it is titled for an apprenticeship, not a PFMP, and names the master's company and the master
        assert text.startswith("Pré-convention — période en entreprise d'un apprenti\nStage de découverte — Lydie HÔT")
        assert "Pré-convention de stage" not in text and "conventions de stage" not in text
        company = facts(document.tables[1])
        assert company["Entreprise"] == "Ampère Services"
        assert company["Maître d'apprentissage"] == "Sylvie Ampère" and company["Fonction"] == "cheffe d'équipe"
        # the master reads her own contact details, staff read them
        assert company["Téléphone"] == "06 11 22 33 44" and company["Courriel"] == "sylvie.ampere@demo.pfmp.test"
        assert "L'entreprise (maître d'apprentissage)" in text
        assert table_rows(document.tables[2])[1:] == [["TA 1-1", TA_1_1], ["TA 1-2", TA_1_2]]
        assert (
            "Pré-convention — période en entreprise d'un apprenti — Page"
            in document.sections[0].footer.paragraphs[0].text
        )


async def test_the_learners_copy_leaves_the_trainers_contacts_blank(learner, teacher, tutor, admin):
    # given DUPIRE's tutor, with a phone
    await _contacts("eude.toutcourt@demo.pfmp.test", "06 98 76 54 32")
    path = f"/exports/pre-convention/portfolio/{await portfolio_id('DUPIRE')}"
    seen = {}
    for name, api in (("learner", learner), ("teacher", teacher), ("tutor", tutor), ("admin", admin)):
        document, text = docx_of(await fetch(api, path))
        company = facts(document.tables[1])
        # the tutor is named from the assigned account on every copy
        assert company["Tuteur de stage"] == "Eude Toutcourt" and company["Entreprise"] == "Tout élec"
        assert text.startswith("Pré-convention de stage\n")
        seen[name] = (company["Téléphone"], company["Courriel"])
    # then the learner's copy leaves them blank (access.md: trainers' email and phone are not the learners'), the
    # staff's and the tutor's own carry them
    contact = ("06 98 76 54 32", "eude.toutcourt@demo.pfmp.test")
    assert seen == {"learner": ("", ""), "teacher": contact, "tutor": contact, "admin": contact}


async def test_the_referent_teacher_is_printed_and_follows_the_portfolio(teacher, admin):
    path = f"/exports/pre-convention/portfolio/{await portfolio_id('DUPIRE')}"
    # given the demo period, created by Claire MARTIN: she is printed as referent, in the facts and her signature box
    document, _ = docx_of(await fetch(admin, path))
    assert facts(document.tables[0])["Professeur référent"] == "Claire MARTIN"
    signatures = table_rows(document.tables[-1])
    assert signatures[0][1] == "Le professeur référent" and signatures[1][1] == "Claire MARTIN"
    # when the admin names another teacher referent of DUPIRE's portfolio
    portfolio = await portfolio_of("DUPIRE")
    other = await User.create(
        school_id=portfolio.school_id,
        role=Role.TEACHER,
        email="helene@demo.pfmp.test",
        first_name="Hélène",
        last_name="NOËL « la référente »",
    )
    payload = await admin.data(
        "mutation($id: ID!, $t: ID) { portfolioReferentTeacherSet(input: {id: $id, teacherId: $t}) { errors { code } } }",
        id=encode_id("Portfolio", portfolio.id),
        t=encode_id("Teacher", other.id),
    )
    assert payload["portfolioReferentTeacherSet"]["errors"] == []
    # then her name is printed on DUPIRE's, the others keep the period's creator
    document, text = docx_of(await fetch(teacher, f"/exports/pre-convention/period/{await period_id()}"))
    referents = [
        facts(table)["Professeur référent"] for table in document.tables if table.cell(0, 0).text == "Apprenant"
    ]
    assert referents == [
        "Claire MARTIN",
        "Hélène NOËL « la référente »",
        "Claire MARTIN",
        "Claire MARTIN",
        "Claire MARTIN",
    ]


async def test_names_with_every_french_diacritic_and_guillemets_give_a_valid_document(teacher):
    # given a learner, a company and a period named with every French diacritic and « »
    await User.filter(last_name="DUPIRE").update(first_name="Ægidià « Gigi »", last_name="ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ")
    await LiaisonFiche.filter(portfolio=await portfolio_of("ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ")).update(
        company_name="Électricité « Œuvre & Fils »", objectives="Poser « proprement » des prises — àâäçéèêëîïôöùûüÿœæ"
    )
    await Period.filter(name="Stage de découverte").update(name="Stage « découverte » d'été")
    # when the teacher downloads the period's pre-conventions
    renamed = await period_id("Stage « découverte » d'été")
    response = await fetch(teacher, f"/exports/pre-convention/period/{renamed}")
    document, text = docx_of(response)
    # then every name is printed as written
    assert "Stage « découverte » d'été — Ægidià « Gigi » ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ" in text
    assert "Électricité « Œuvre & Fils »" in text and "Poser « proprement » des prises — àâäçéèêëîïôöùûüÿœæ" in text
    assert "Pré-conventions_Stage-«-découverte-»-d'été.docx" in unquote(response.headers["content-disposition"])
