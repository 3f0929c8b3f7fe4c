"""Learner and level syntheses (R24) over HTTP: every period with its dates, workplace, days done, fiches,
the bilan's results per competence (the level the bilan retains) and engagement; a draft's content only
for those who may read drafts; the level's summary table and one page per learner."""

import datetime as dt
from decimal import Decimal

from docx.oxml.ns import qn

from graph.types.common import encode_id
from models.bilans import CompanyBilan
from models.frameworks import Competence, Criterion
from models.periods import Period
from models.users import User
from resolvers.periods.portfolio_rules import open_portfolio
from tests.exports.delivery import docx_of, fetch, learner_id, level_id, portfolio_of
from tests.exports.reading import table_rows

UPDATE = """mutation($input: BilanUpdateInput!) { bilanUpdate(input: $input) {
  bilan { version } errors { code message } } }"""
COMPLETE = (
    "mutation($id: ID!, $v: Int!) { bilanComplete(input: {id: $id, version: $v}) { bilan { status } errors { code } } }"
)
C01 = "C01 Analyser les conditions de l'opération et son contexte"
C07 = "C07 Exploiter les outils numériques dans le contexte professionnel"


def gid(type_name: str, pk: int) -> str:
    return encode_id(type_name, pk)


async def _enter_dupire_bilan(teacher, *, complete: bool) -> Period:
    """C01 criterion by criterion (Non acquis, Acquis, Maîtrisé: Acquis retained), C07 globally Partiellement
    acquis, 3 stars, a comment and 9.5 days done; completed if asked."""
    portfolio = await portfolio_of("DUPIRE")
    portfolio.days_done = Decimal("9.5")
    await portfolio.save()
    bilan = await CompanyBilan.get(portfolio=portfolio)
    c01 = await Competence.get(code="C01", framework__code="CAP-ELEC", framework__school_id=None)
    c07 = await Competence.get(code="C07", framework__code="CAP-ELEC", framework__school_id=None)
    criteria = {k.position: k for k in await Criterion.filter(competence=c01)}
    results = [
        {
            "competenceId": gid("Competence", c01.id),
            "criterionId": gid("Criterion", criteria[position].id),
            "level": level,
        }
        for position, level in ((1, "NOT_ACQUIRED"), (2, "ACQUIRED"), (3, "MASTERED"))
    ]
    results.append({"competenceId": gid("Competence", c07.id), "level": "PARTIAL"})
    saved = await teacher.data(
        UPDATE,
        input={
            "id": gid("CompanyBilan", bilan.id),
            "version": bilan.version,
            "engagement": 3,
            "comment": "Bon début, continue ainsi.",
            "results": results,
            "modes": [
                {"competenceId": gid("Competence", c01.id), "mode": "CRITERIA"},
                {"competenceId": gid("Competence", c07.id), "mode": "GLOBAL"},
            ],
        },
    )
    assert saved["bilanUpdate"]["errors"] == [], saved
    if complete:
        done = await teacher.data(
            COMPLETE, id=gid("CompanyBilan", bilan.id), v=saved["bilanUpdate"]["bilan"]["version"]
        )
        assert done["bilanComplete"]["errors"] == []
    return await Period.get(id=portfolio.period_id)


async def _earlier_period(discovery: Period) -> Period:
    """A certifying period before the discovery one, with DUPIRE in it."""
    start = discovery.start_date - dt.timedelta(days=56)
    earlier = await Period.create(
        school_id=discovery.school_id,
        level_id=discovery.level_id,
        name="Rentrée en atelier",
        start_date=start,
        end_date=start + dt.timedelta(days=11),
        school_year=discovery.school_year,
    )
    await open_portfolio(earlier, await User.get(last_name="DUPIRE"), [])
    return earlier


def _results(document) -> dict[str, str]:
    """Competence → printed level, over every results table of the document."""
    found = {}
    for table in document.tables:
        rows = table_rows(table)
        if rows and rows[0] == ["Compétence", "Niveau de réussite"]:
            found.update({row[0]: row[1] for row in rows[1:]})
    return found


async def test_the_learner_synthesis_gives_every_period_and_the_retained_levels(teacher, learner):
    # given DUPIRE's completed bilan of the discovery period and an earlier period not started
    discovery = await _enter_dupire_bilan(teacher, complete=True)
    earlier = await _earlier_period(discovery)
    for api in (teacher, learner):
        # when the teacher, or DUPIRE herself, downloads her synthesis
        document, text = docx_of(await fetch(api, f"/exports/learner-synthesis/{await learner_id('DUPIRE')}"))
        # then it names her, her level and the school year, and counts her periods
        assert "Synthèse des formations en entreprise\nAngélique DUPIRE (CAPELECT)" in text
        summary = dict(table_rows(document.tables[0]))
        assert summary["Niveau"] == "Première année de CAP"
        assert summary["Année scolaire"] == f"{discovery.school_year}-{discovery.school_year + 1}"
        assert summary["Périodes"] == "2 périodes dont 1 certifiante"
        assert summary["Fiches activités"] == "3 fiches dont 1 complétée"
        # the periods oldest first, with dates, workplace, days done, fiches and the bilan
        assert text.index("Rentrée en atelier") < text.index("Stage de découverte\nDates")
        later = dict(table_rows(document.tables[2]))
        assert later["Dates"] == f"du {discovery.start_date:%d/%m/%Y} au {discovery.end_date:%d/%m/%Y}"
        assert later["Lieu de réalisation"] == (
            "Tout élec\nEntreprise générale d'électricité (particuliers)\nTuteur de stage : Eude Toutcourt, électricien"
        )
        assert later["Jours effectués"] == "9,5 sur 10 jours prévus"
        assert (
            later["Fiches activités"] == "2 fiches dont 1 complétée\n• Fiche 1 : Découverte de l'entreprise"
            "\n• À compléter"
        )
        assert later["Bilan entreprise"] == f"Complété, rencontre du {discovery.end_date:%d/%m/%Y}"
        assert later["Engagement"] == "★★★☆"
        first = dict(table_rows(document.tables[1]))
        assert first["Dates"] == f"du {earlier.start_date:%d/%m/%Y} au {earlier.end_date:%d/%m/%Y}"
        assert first["Bilan entreprise"] == "En cours (brouillon)" and first["Engagement"] == "Non renseigné"
        assert first["Jours effectués"] == "Non renseigné (10 jours prévus)"
        # C01, by criteria, at the level its bilan retains; C07 as entered; the others not evaluated
        results = _results(document)
        assert results[C01] == "Acquis" and results[C07] == "Partiellement acquis"
        assert results["C02 Organiser l'opération dans son contexte"] == "—"
        assert "Commentaire : Bon début, continue ainsi." in text


async def test_a_draft_shows_its_results_to_staff_only(teacher, learner):
    # given DUPIRE's bilan entered but not completed
    await _enter_dupire_bilan(teacher, complete=False)
    path = f"/exports/learner-synthesis/{await learner_id('DUPIRE')}"
    # when the teacher downloads the synthesis, the draft's results are there
    staff, staff_text = docx_of(await fetch(teacher, path))
    assert _results(staff)[C01] == "Acquis"
    assert "En cours (brouillon)" in staff_text and "★★★☆" in staff_text and "Bon début" in staff_text
    # and DUPIRE gets the status only: nothing of what is being entered
    own, own_text = docx_of(await fetch(learner, path))
    assert "En cours (brouillon)" in own_text
    assert _results(own) == {}
    assert "★" not in own_text and "Bon début" not in own_text and "Partiellement acquis" not in own_text


async def test_the_level_synthesis_has_a_summary_and_a_page_per_learner(teacher, admin):
    # given DUPIRE's completed bilan
    await _enter_dupire_bilan(teacher, complete=True)
    for api in (teacher, admin):
        # when staff download the first level's synthesis
        document, text = docx_of(await fetch(api, f"/exports/level-synthesis/{await level_id()}"))
        # then a summary table of the five learners by name, then one page each
        assert "Synthèse des formations en entreprise pour tous les apprenants de ce niveau" in text
        # the competences × learners table first: DUPIRE's current levels, nobody else has a completed bilan
        levels = table_rows(document.tables[0])
        assert levels[0] == [
            "Compétence",
            "Matis CARLIER",
            "Angélique DUPIRE",
            "Marine FABROWSKI",
            "Lydie HÔT",
            "Jean LECAM",
        ]
        by_competence = {row[0]: row[1:] for row in levels[1:]}
        assert by_competence[C01] == ["—", "Acquis", "—", "—", "—"]
        assert by_competence[C07] == ["—", "Partiellement acquis", "—", "—", "—"]
        assert len(by_competence) == 9  # every competence of CAP Électricien
        summary = table_rows(document.tables[1])
        assert summary[0][-1] == "Compétences «\u00a0Acquis\u00a0» ou plus / évaluées"
        assert [row[0] for row in summary[1:]] == [
            "Matis CARLIER",
            "Angélique DUPIRE",
            "Marine FABROWSKI",
            "Lydie HÔT",
            "Jean LECAM",
        ]
        dupire = summary[2]
        assert dupire == ["Angélique DUPIRE", "CAPELECT", "1", "9,5 / 10", "2", "1 / 2"]
        headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading 1")]
        assert headings == [
            "Matis CARLIER (CAP 1 ELEC)",
            "Angélique DUPIRE (CAPELECT)",
            "Marine FABROWSKI (CAPELECT)",
            "Lydie HÔT (CAPELECT)",
            "Jean LECAM (CAP 1 ELEC)",
        ]
        assert sum(1 for _ in document.element.body.iter(qn("w:pageBreakBefore"))) == 5
        assert _results(document)[C01] == "Acquis"
        assert text.count("Stage de découverte\nDates") == 5
