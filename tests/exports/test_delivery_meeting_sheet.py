"""« Préparer la rencontre » (R22) over HTTP: header, the bilan's grid with marks and fiche references,
the level boxes of each competence or criterion in its current mode, engagement, date, comment, signatures."""

import datetime as dt
from zoneinfo import ZoneInfo

from graph.types.common import encode_id
from models.bilans import CompanyBilan
from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask
from models.frameworks import Competence, Criterion, Task
from models.periods import Period
from tests.exports.delivery import docx_of, fetch, portfolio_id, portfolio_of
from tests.exports.reading import count, table_rows

LEVELS = ["Non évalué", "Non acquis", "Début d'acquisition", "Partiellement acquis", "Acquis", "Maîtrisé"]
# CAP Électricien: C01…C09 each get their 6 boxes once; then the legend's box and the 4 engagement boxes.
GLOBAL_BOXES = 9 * 6 + 1 + 4

UPDATE = """mutation($input: BilanUpdateInput!) { bilanUpdate(input: $input) {
  bilan { version } errors { code message } } }"""
COMPLETE = (
    "mutation($id: ID!, $v: Int!) { bilanComplete(input: {id: $id, version: $v}) { bilan { status } errors { code } } }"
)


def facts(table) -> dict[str, str]:
    """The header's facts, printed two by two: label, value, label, value."""
    cells = [cell for row in table_rows(table) for cell in row]
    return dict(zip(cells[::2], cells[1::2]))


async def _sheet(api, last_name: str = "DUPIRE"):
    return docx_of(await fetch(api, f"/exports/meeting-sheet/{await portfolio_id(last_name)}"))


async def _cap(code: str):
    return await Task.get(code=code, framework__code="CAP-ELEC", framework__school_id=None)


async def _competence(code: str) -> Competence:
    return await Competence.get(code=code, framework__code="CAP-ELEC", framework__school_id=None)


async def _target(fiche: ActivityFiche, task: str, competence: str, criterion: int | None = None) -> None:
    """What the teacher's choice of targets writes (R14)."""
    task_row, competence_row = await _cap(task), await _competence(competence)
    await FicheTask.get_or_create(fiche=fiche, task=task_row, defaults={"checked_by_teacher": True})
    criterion_row = await Criterion.get(competence=competence_row, position=criterion) if criterion else None
    await FicheEvaluationTarget.create(fiche=fiche, task=task_row, competence=competence_row, criterion=criterion_row)


async def _fiches() -> list[ActivityFiche]:
    return list(await ActivityFiche.filter(portfolio=await portfolio_of("DUPIRE")).order_by("created_at", "id"))


async def test_the_sheet_has_the_header_the_grid_and_the_closing(teacher):
    # when the teacher prints DUPIRE's sheet
    document, text = await _sheet(teacher)
    period = await Period.get(name="Stage de découverte")
    # then the header names the period, its dates, the learner, the workplace and the tutor
    header = facts(document.tables[0])
    assert header["Période"] == f"Stage de découverte, du {period.start_date:%d/%m/%Y} au {period.end_date:%d/%m/%Y}"
    assert header["Apprenant"] == "Angélique DUPIRE (CAPELECT)"
    assert header["Entreprise"] == "Tout élec"
    assert header["Domaine d'activité"] == "Entreprise générale d'électricité (particuliers)"
    assert header["Tuteur de stage"] == "Eude Toutcourt, électricien"
    assert "[1] Fiche 1 : Découverte de l'entreprise - [2] À compléter" in text
    # the grid: every task of the framework, the level labels as columns, one box per level and competence
    grid = table_rows(document.tables[1])
    assert grid[0] == ["Tâches, compétences et critères", "Fiches", *LEVELS]
    assert [row[0] for row in grid if row[0].startswith(("☑ TA", "TA"))][:3] == [
        "☑ TA 1-1 : Prendre connaissance du dossier relatif aux opérations à réaliser dans leur environnement",
        "☑ TA 1-2 : Vérifier et compléter si besoin la liste des matériels, équipements et outillages nécessaires "
        "aux opérations",
        "TA 2-1 : Organiser le poste de travail",
    ]
    assert sum(1 for row in grid if row[0].lstrip("☑ ").startswith("TA ")) == 10
    assert count(document, "☐") == GLOBAL_BOXES
    # the closing: stars to tick, the meeting date (the period's last day), comment and signatures
    assert "☐ ★☆☆☆    ☐ ★★☆☆    ☐ ★★★☆    ☐ ★★★★" in text
    assert f"Date de la rencontre : {period.end_date:%d/%m/%Y}" in text
    assert "Commentaire (appréciation ou conseil destiné à l'apprenant) :" in text
    # DUPIRE is 16 (the demo): her legal guardian signs too
    signatures = table_rows(document.tables[-1])
    assert signatures[0] == [
        "Le professeur référent",
        "Le formateur en entreprise (tuteur de stage)",
        "L'apprenant",
        "Le représentant légal",
    ]
    assert signatures[1] == [
        "Nom : Claire MARTIN\nSignature :",
        "Nom : Eude Toutcourt\nSignature et cachet de l'entreprise :",
        "Nom : Angélique DUPIRE\nSignature :",
        "Nom :\nSignature :",
    ]
    # a draft says so in its title
    assert text.startswith("Préparer la rencontre — bilan en brouillon\n")


async def test_marks_references_and_criteria_mode_follow_the_fiches(teacher, tutor):
    # given fiche [1] targets two criteria of C01 and C07 as a whole under TA 1-1, fiche [2] C02 under TA 1-2
    first, second = await _fiches()
    await _target(first, "TA 1-1", "C01", 1)
    await _target(first, "TA 1-1", "C01", 2)
    await _target(first, "TA 1-1", "C07")
    await _target(second, "TA 1-2", "C02")
    for api in (teacher, tutor):
        # when the teacher or the tutor prints the sheet
        document, text = await _sheet(api)
        grid = {row[0]: row[1:] for row in table_rows(document.tables[1])}
        # then C01 is boxed criterion by criterion, the others as a whole, each with its fiche references
        assert grid["☑ C01 Analyser les conditions de l'opération et son contexte"][1] == "évaluée par critères"
        assert grid["☑ Les informations nécessaires sont recueillies"] == ["[1]", *["☐"] * 6]
        assert grid["☑ Les contraintes techniques et d'exécution sont repérées"] == ["[1]", *["☐"] * 6]
        assert grid["Les risques professionnels sont évalués"] == ["", *["☐"] * 6]
        assert grid["☑ C07 Exploiter les outils numériques dans le contexte professionnel"] == ["[1]", *["☐"] * 6]
        assert (
            grid[
                "☑ TA 1-2 : Vérifier et compléter si besoin la liste des matériels, équipements et outillages "
                "nécessaires aux opérations"
            ][0]
            == "[1] [2]"
        )
        assert grid["☑ C02 Organiser l'opération dans son contexte"] == ["[2]", *["☐"] * 6]
        # C01's five criteria take the place of its own six boxes
        assert count(document, "☐") == GLOBAL_BOXES - 6 + 5 * 6


async def test_a_completed_bilan_prints_its_frozen_grid_date_and_comment(teacher):
    # given the teacher dated, commented and completed DUPIRE's bilan
    bilan = await CompanyBilan.get(portfolio=await portfolio_of("DUPIRE"))
    bilan_id = encode_id("CompanyBilan", bilan.id)
    period = await Period.get(name="Stage de découverte")
    meeting = period.end_date + dt.timedelta(days=1)
    saved = await teacher.data(
        UPDATE,
        input={
            "id": bilan_id,
            "version": bilan.version,
            "meetingDate": meeting.isoformat(),
            "comment": "Très bon accueil.\nContinue ainsi.",
            "engagement": 3,
        },
    )
    assert saved["bilanUpdate"]["errors"] == []
    completed = await teacher.data(COMPLETE, id=bilan_id, v=saved["bilanUpdate"]["bilan"]["version"])
    assert completed["bilanComplete"]["errors"] == []
    # when a fiche is added afterwards
    first = (await _fiches())[0]
    late = await ActivityFiche.create(
        school_id=first.school_id,
        learner_id=first.learner_id,
        portfolio_id=first.portfolio_id,
        title="Fiche 3 : Après la visite",
    )
    await _target(late, "TA 2-1", "C02")
    document, text = await _sheet(teacher)
    # then the sheet still shows the grid as completed, with its date and comment
    assert "[1] Fiche 1 : Découverte de l'entreprise - [2] À compléter" in text
    assert "Fiche 3 : Après la visite" not in text
    assert "☑ TA 2-1" not in text
    assert f"Date de la rencontre : {meeting:%d/%m/%Y}" in text
    assert "Très bon accueil.\nContinue ainsi." in text


async def test_a_competence_selected_under_two_tasks_is_boxed_on_both_rows(teacher):
    # given fiche [1] selects C02 under TA 1-2 and fiche [2] under TA 2-1 (C02 is linked to both)
    first, second = await _fiches()
    await _target(first, "TA 1-2", "C02")
    await _target(second, "TA 2-1", "C02")
    document, _ = await _sheet(teacher)
    rows = table_rows(document.tables[1])
    # then each of its rows is marked, names its fiche and carries the six boxes
    c02 = [row for row in rows if "C02 Organiser l'opération dans son contexte" in row[0]]
    assert [row[1:] for row in c02 if row[0].startswith("☑")] == [["[1]", *["☐"] * 6], ["[2]", *["☐"] * 6]]
    # and its rows under tasks no fiche selected it for point to the rows that carry them
    assert {tuple(row[1:]) for row in c02 if not row[0].startswith("☑")} == {("", "évaluée avec TA 1-2, TA 2-1")}


async def test_the_completed_bilan_prints_its_results_engagement_and_who_completed_it(teacher, tutor, learner):
    # given the teacher recorded C02 « Acquis » and C07 « Partiellement acquis », 3 stars, and completed the bilan
    first, _ = await _fiches()
    await _target(first, "TA 1-2", "C02")
    bilan = await CompanyBilan.get(portfolio=await portfolio_of("DUPIRE"))
    bilan_id = encode_id("CompanyBilan", bilan.id)
    c02, c07 = (
        encode_id("Competence", (await _competence("C02")).id),
        encode_id("Competence", (await _competence("C07")).id),
    )
    results = [{"competenceId": c02, "level": "ACQUIRED"}, {"competenceId": c07, "level": "PARTIAL"}]
    saved = await teacher.data(
        UPDATE,
        input={
            "id": bilan_id,
            "version": bilan.version,
            "engagement": 3,
            "comment": "Sérieuse et curieuse.",
            "results": results,
        },
    )
    assert saved["bilanUpdate"]["errors"] == [], saved
    completed = await teacher.data(COMPLETE, id=bilan_id, v=saved["bilanUpdate"]["bilan"]["version"])
    assert completed["bilanComplete"]["errors"] == []
    # the day of completion in France (the server stores UTC)
    stored = (await CompanyBilan.get(id=bilan.id)).completed_at
    assert stored is not None
    today = stored.astimezone(ZoneInfo("Europe/Paris")).date()
    for api in (teacher, tutor):
        # when the teacher or the tutor downloads the sheet
        document, text = await _sheet(api)
        # then it is the bilan: titled so, with who completed it and when, not a sheet to fill in
        assert text.startswith("Bilan entreprise\nBilan de la période en entreprise — complété le ")
        assert f"Bilan complété le {today:%d/%m/%Y} par Claire MARTIN." in text
        assert "à compléter lors de la visite" not in text
        grid = table_rows(document.tables[1])
        ticked = {row[0]: LEVELS[row[2:].index("☒")] for row in grid if "☒" in row[2:]}
        assert ticked["☑ C02 Organiser l'opération dans son contexte"] == "Acquis"
        assert ticked["C07 Exploiter les outils numériques dans le contexte professionnel"] == "Partiellement acquis"
        assert sum(1 for row in grid if "☒" in row) == 2
        assert "Engagement de l'apprenant dans l'activité : ★★★☆" in text
        assert "Sérieuse et curieuse." in text
    # the meeting sheet is not the learner's to print, but her completed bilan is, by its id, with the same results
    response = await fetch(learner, f"/exports/meeting-sheet/{await portfolio_id('DUPIRE')}")
    assert response.status_code == 403
    document, text = docx_of(await fetch(learner, f"/exports/bilan/{bilan_id}"))
    assert text.startswith("Bilan entreprise\n")
    grid = table_rows(document.tables[1])
    assert {row[0]: LEVELS[row[2:].index("☒")] for row in grid if "☒" in row[2:]} == {
        "☑ C02 Organiser l'opération dans son contexte": "Acquis",
        "C07 Exploiter les outils numériques dans le contexte professionnel": "Partiellement acquis",
    }
    assert "Sérieuse et curieuse." in text and "Engagement de l'apprenant dans l'activité : ★★★☆" in text


async def test_the_master_prints_the_apprentice_sheet(master):
    document, text = await _sheet(master, "HÔT")
    header = facts(document.tables[0])
    # HÔT is an apprentice: the trainer is a master; the liaison fiche's workplace is not filled in yet
    assert header["Apprenant"] == "Lydie HÔT (CAPELECT)"
    assert header["Maître d'apprentissage"] == "" and header["Entreprise"] == ""
    assert "[1] À compléter" in text
    assert "Le formateur en entreprise (maître d'apprentissage)" in text
    assert "Nom : Claire MARTIN" in text
    assert count(document, "☐") == GLOBAL_BOXES
