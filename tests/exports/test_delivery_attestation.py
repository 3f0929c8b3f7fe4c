"""The PFMP attestation over HTTP (issue 14, part 4): one learner's, or a period's with one section per learner on
a new page; the company with its address and SIRET, the learner, the diploma and its year, the school with its
address, the dates, the days actually done against those planned, the activities the period's fiches link, and
the signatures of the company and of the head of school. Staff get every learner's, a learner their own."""

import datetime as dt

from docx.enum.section import WD_SECTION_START

from graph.types.common import encode_id
from models.fiches import ActivityFiche, FicheTask
from models.frameworks import Task
from models.periods import Period
from models.portfolios import LiaisonFiche
from models.schools import Level, School
from models.users import User
from resolvers.periods.portfolio_rules import open_portfolio
from tests.exports.delivery import docx_of, fetch, outcome, period_id, portfolio_id, portfolio_of, refusal
from tests.exports.reading import table_rows

TA_1_1 = "Prendre connaissance du dossier relatif aux opérations à réaliser dans leur environnement"
TA_1_2 = "Vérifier et compléter si besoin la liste des matériels, équipements et outillages nécessaires aux opérations"
TITLE = "Attestation de période de formation en milieu professionnel"
DIACRITICS = "àâäçéèêëîïôöùûüÿœæ ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ"


def facts(table) -> dict[str, str]:
    cells = [cell for row in table_rows(table) for cell in row]
    return dict(zip(cells[::2], cells[1::2]))


async def test_a_learner_gets_her_attestation_with_every_fact_of_the_national_model(learner):
    # when DUPIRE downloads her attestation of the demo period (16 to 27 November: ten weekdays)
    response = await fetch(learner, f"/exports/attestation/{await portfolio_id('DUPIRE')}")
    document, text = docx_of(response)
    period = await Period.get(name="Stage de découverte")
    # then one section, titled for her and the period, and named so in the file name
    assert len(document.sections) == 1
    assert f"{TITLE}\nStage de découverte — Angélique DUPIRE" in text
    assert "Attestation-PFMP_DUPIRE_Stage-de-d%C3%A9couverte.docx" in response.headers["content-disposition"]
    # the company with the address and SIRET of her liaison fiche
    company = facts(document.tables[0])
    assert company == {
        "Entreprise": "Tout élec",
        "SIRET": "99999999900017",
        "Adresse": "4 rue de la Lumière, 59650 Villeneuve-d'Ascq",
    }
    # the learner, her diploma and its year, the school and its address
    who = facts(document.tables[1])
    assert who["Nom, prénom"] == "DUPIRE Angélique"
    assert who["Né(e) le"] == f"14/03/{period.school_year - 16}"
    assert who["Classe"] == "CAPELECT" and who["Statut"] == "Élève"
    assert who["Diplôme préparé"] == "CAP Électricien — CAP, première année"
    assert facts(document.tables[2]) == {
        "Établissement": "Lycée professionnel de démonstration (UAI 0599999Z)",
        "Adresse": "12 rue des Artisans, 59000 Lille",
    }
    # the dates, the days not yet recorded left blank against the ten planned, the tutor
    when = facts(document.tables[3])
    assert when["Période"] == "Stage de découverte (non certifiante)"
    assert when["Dates"] == f"du {period.start_date:%d/%m/%Y} au {period.end_date:%d/%m/%Y}"
    assert when["Durée effective"] == "________ jours effectués sur 10 jours prévus"
    assert when["Tuteur de stage"] == "Eude Toutcourt, électricien"
    # the activities: the tasks her fiche links, by code and title
    assert table_rows(document.tables[4]) == [["Code", "Tâche"], ["TA 1-1", TA_1_1], ["TA 1-2", TA_1_2]]
    # the signatures of the company and of the head of school, named
    assert table_rows(document.tables[5])[0] == [
        "Pour l'entreprise : nom, fonction du signataire",
        "Le chef d'établissement, Nathalie LEPROVISEUR",
    ]
    assert "Signature et cachet de l'entreprise :" in text and "Signature et cachet de l'établissement :" in text


async def test_the_days_done_recorded_by_the_teacher_are_printed_against_those_planned(teacher, learner):
    # given the teacher records 9.5 days done for DUPIRE
    portfolio = await portfolio_id("DUPIRE")
    recorded = await teacher.data(
        'mutation($id: ID!) { portfolioDaysDoneSet(input: {id: $id, daysDone: "9.5"}) { errors { code } } }',
        id=portfolio,
    )
    assert recorded["portfolioDaysDoneSet"]["errors"] == []
    # when she downloads her attestation, then it prints them against the ten planned
    document, _ = docx_of(await fetch(learner, f"/exports/attestation/{portfolio}"))
    assert facts(document.tables[3])["Durée effective"] == "9,5 jours effectués sur 10 jours prévus"


async def test_the_activities_are_the_tasks_of_the_fiches_not_deleted_each_once_in_framework_order(teacher):
    # given DUPIRE's second fiche links TA 1-2 again and TA 2-1, and a deleted fiche links TA 3-1
    dupire = await portfolio_of("DUPIRE")
    second = await ActivityFiche.get(portfolio=dupire, title="À compléter")
    tasks = {task.code: task for task in await Task.filter(code__in=["TA 1-2", "TA 2-1", "TA 3-1"])}
    await FicheTask.create(fiche=second, task=tasks["TA 2-1"], ticked_by_learner=True)
    await FicheTask.create(fiche=second, task=tasks["TA 1-2"], ticked_by_learner=True)
    deleted = await ActivityFiche.create(
        school_id=dupire.school_id,
        learner_id=dupire.learner_id,
        portfolio=dupire,
        title="Supprimée",
        deleted_at=dt.datetime.now(dt.UTC),
    )
    await FicheTask.create(fiche=deleted, task=tasks["TA 3-1"], ticked_by_learner=True)
    # when the teacher downloads her attestation
    document, _ = docx_of(await fetch(teacher, f"/exports/attestation/{await portfolio_id('DUPIRE')}"))
    # then TA 1-1, TA 1-2 and TA 2-1, each once, in framework order; nothing of the deleted fiche
    assert [row[0] for row in table_rows(document.tables[4])] == ["Code", "TA 1-1", "TA 1-2", "TA 2-1"]


async def test_the_period_gives_every_learner_a_section_on_a_new_page(teacher):
    # when the teacher downloads the period's attestations
    response = await fetch(teacher, f"/exports/period-attestations/{await period_id()}")
    document, text = docx_of(response)
    assert "Attestations-PFMP_Stage-de-d%C3%A9couverte.docx" in response.headers["content-disposition"]
    # then five sections, each after the first on a new page, learners by name
    assert len(document.sections) == 5
    assert all(section.start_type == WD_SECTION_START.NEW_PAGE for section in document.sections[1:])
    names = [line.split(" — ")[1] for line in text.splitlines() if line.startswith("Stage de découverte — ")]
    assert names == ["Matis CARLIER", "Angélique DUPIRE", "Marine FABROWSKI", "Lydie HÔT", "Jean LECAM"]
    # the learners without workplace or tasks get blanks and say so; HÔT, an apprentice, has a master
    assert text.count("Aucune activité n'est rattachée aux fiches d'activité de la période.") == 4
    assert text.count("Maître d'apprentissage") == 1
    assert text.count("Nathalie LEPROVISEUR") == 5


async def test_a_learner_gets_her_own_section_only_and_trainers_are_refused(learner, tutor, master, clients):
    # when DUPIRE downloads the period's attestations: her own section only
    document, text = docx_of(await fetch(learner, f"/exports/period-attestations/{await period_id()}"))
    assert len(document.sections) == 1 and "Angélique DUPIRE" in text and "CARLIER" not in text
    # another learner's attestation does not exist for her
    assert refusal(await fetch(learner, f"/exports/attestation/{await portfolio_id('CARLIER')}")) == (
        404,
        "NOT_FOUND",
    )
    # the tutor and the master reach a portfolio, but the attestation is not theirs to print
    assert refusal(await fetch(tutor, f"/exports/attestation/{await portfolio_id('DUPIRE')}")) == (403, "FORBIDDEN")
    assert refusal(await fetch(master, f"/exports/period-attestations/{await period_id()}")) == (403, "FORBIDDEN")
    # without a token: 401
    assert outcome(await fetch(clients[None], f"/exports/attestation/{await portfolio_id('DUPIRE')}")) == 401


async def test_a_period_without_learners_and_a_learner_without_fiches_give_valid_documents(admin):
    # given a period nobody is assigned to, and CARLIER's fiches all gone
    level = await Level.get(name="Première année de CAP")
    empty = await Period.create(
        school_id=level.school_id,
        level=level,
        name="Stage vide",
        start_date=dt.date(2026, 3, 2),
        end_date=dt.date(2026, 3, 13),
        school_year=2025,
    )
    await ActivityFiche.filter(portfolio=await portfolio_of("CARLIER")).delete()
    # when the admin downloads both
    _, text = docx_of(await fetch(admin, f"/exports/period-attestations/{encode_id('Period', empty.id)}"))
    # then the empty period says so, and CARLIER's attestation lists no activity
    assert f"{TITLE}\nStage vide" in text and "Aucun apprenant n'est affecté à cette période." in text
    document, text = docx_of(await fetch(admin, f"/exports/attestation/{await portfolio_id('CARLIER')}"))
    assert "Aucune activité n'est rattachée aux fiches d'activité de la période." in text
    assert facts(document.tables[0]) == {"Entreprise": "", "SIRET": "", "Adresse": ""}


async def test_every_french_diacritic_and_guillemets_print_as_given(admin):
    # given names, a company, an address and a head of school with every French diacritic and « »
    odd = f"{DIACRITICS} « Zoé »"
    await User.filter(last_name="CARLIER").update(first_name="Zoé-Ånaïs « Ÿ »", last_name=f"CŒUR-{DIACRITICS}")
    await LiaisonFiche.filter(portfolio=await portfolio_of(f"CŒUR-{DIACRITICS}")).update(
        company_name=odd, company_address=f"{odd}\n59000 Lille", tutor_name=odd
    )
    await School.all().update(head_of_school=odd)
    await Level.filter(name="Première année de CAP").update(diploma_name=odd)
    # when the admin downloads the attestation
    response = await fetch(admin, f"/exports/attestation/{await portfolio_id(f'CŒUR-{DIACRITICS}')}")
    document, text = docx_of(response)
    # then every text is printed as given, and the file has a name
    assert f"Zoé-Ånaïs « Ÿ » CŒUR-{DIACRITICS}" in text
    assert facts(document.tables[0])["Adresse"] == f"{odd}\n59000 Lille"
    assert text.count(odd) >= 5
    assert response.headers["content-disposition"].startswith('attachment; filename="Attestation-PFMP_COEUR-aaac')


async def test_the_statements_do_not_grow_with_the_learners(admin, sql_counter):
    # given the demo period of 5 learners: count what its attestations cost
    path = f"/exports/period-attestations/{await period_id()}"
    sql_counter.reset()
    docx_of(await fetch(admin, path))
    five = sql_counter.count
    # when 10 more learners, each with a liaison fiche and a fiche linking a task, join the period
    period = await Period.get(name="Stage de découverte")
    dupire = await User.get(last_name="DUPIRE")
    task = await Task.get(code="TA 2-1")
    for index in range(10):
        learner = await User.create(
            school_id=period.school_id,
            role=dupire.role,
            email=f"extra{index}@demo.pfmp.test",
            first_name="Extra",
            last_name=f"ZZ{index:02}",
            learner_status=dupire.learner_status,
            classroom_id=dupire.classroom_id,
        )
        opened = await open_portfolio(period, learner, [task])
        fiche = await ActivityFiche.create(
            school_id=period.school_id, learner=learner, portfolio=opened, title=f"Fiche {index}"
        )
        await FicheTask.create(fiche=fiche, task=task, ticked_by_learner=True)
    sql_counter.reset()
    document, _ = docx_of(await fetch(admin, path))
    # then 15 sections for as many statements
    assert len(document.sections) == 15
    assert sql_counter.count == five, (five, sql_counter.count)
