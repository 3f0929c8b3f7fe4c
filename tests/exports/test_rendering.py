"""The look of the documents as a teacher sees them (issue 14, part 7): the DOCX downloaded over HTTP, rendered
by LibreOffice to PDF, read back with poppler (pdftotext -layout per page, pdfinfo, pdffonts).

Skipped when soffice or poppler is missing, unless PFMP_REQUIRE_OFFICE=1 says the run must render them (.ci/run
installs libreoffice-writer-nogui, poppler-utils and fonts-crosextra-carlito). Each test makes one soffice call."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from docx.oxml.ns import qn

from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask
from models.frameworks import Competence, Task
from models.portfolios import LiaisonFiche
from tests.exports.delivery import docx_of, fetch, period_id, portfolio_id, portfolio_of
from tests.exports.reading import table_rows
from tests.exports.rendering import POPPLER, SOFFICE, fonts, page_sizes, pages_text, squeeze, to_pdf

REQUIRE_OFFICE = os.environ.get("PFMP_REQUIRE_OFFICE") == "1"
pytestmark = pytest.mark.skipif(
    not (SOFFICE and POPPLER) and not REQUIRE_OFFICE,
    reason="LibreOffice or poppler not installed (PFMP_REQUIRE_OFFICE=1 makes this a failure)",
)

LEVEL_LABELS = ["Non évalué", "Non acquis", "Début d'acquisition", "Partiellement", "Acquis", "Maîtrisé"]


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Path:
    """One LibreOffice profile for this module's calls, never shared with another run."""
    return tmp_path_factory.mktemp("libreoffice-profile")


async def _render(api, paths: dict[str, str], out: Path, profile: Path) -> dict[str, tuple[object, Path]]:
    """Downloads each document over HTTP and converts them all in one soffice call: name → (DOCX, PDF)."""
    out.mkdir(parents=True, exist_ok=True)
    documents, files = {}, []
    for name, path in paths.items():
        response = await fetch(api, path)
        documents[name], _ = docx_of(response)
        files.append(out / f"{name}.docx")
        files[-1].write_bytes(response.content)
    pdfs = to_pdf(files, out / "pdf", profile)
    return {name: (documents[name], pdf) for name, pdf in zip(paths, pdfs)}


def _cant_split(row) -> bool:
    properties = row._tr.trPr
    return properties is not None and properties.find(qn("w:cantSplit")) is not None


def _keeps_with_next(paragraph) -> bool:
    """keepNext on the paragraph itself or through its style (the headings)."""
    if paragraph.paragraph_format.keep_with_next:
        return True
    style = paragraph.style
    while style is not None:
        if style.paragraph_format.keep_with_next:
            return True
        style = style.base_style
    return False


def _page_of(pages: list[str], text: str) -> list[int]:
    return [n for n, page in enumerate(pages) if text in squeeze(page)]


def _rows_whole(pages: list[str], first_cells: list[str]) -> list[str]:
    """The rows, in order, whose first cell starts on one page and ends on another (pdftotext lays the words of a
    wrapped cell out in order on the lines of its row): the first three words are found after the previous row,
    the last three must follow them on the same page."""
    split, page, position = [], 0, 0
    texts = [squeeze(text).replace("\n", " ") for text in pages]
    texts = [re.sub(r" +", " ", text) for text in texts]
    for cell in first_cells:
        words = cell.split()
        if len(words) < 4:
            continue
        head, tail = " ".join(words[:3]), " ".join(words[-3:])
        while page < len(texts) and (found := texts[page].find(head, position)) < 0:
            page, position = page + 1, 0
        assert page < len(texts), f"row not found in the PDF: {cell!r}"
        position = found + len(head)
        # the tail of a wrapped cell: on the same page, interleaved with the other cells' words at most
        rest = texts[page][position:]
        tail_words = tail.split()
        if not all(word in rest for word in tail_words):
            split.append(cell)
    return split


async def _select(portfolio, task: str, competence: str) -> None:
    """What the teacher's choice of targets writes (R14): the competence selected under the task by fiche [1]."""
    fiche = await ActivityFiche.filter(portfolio=portfolio).order_by("created_at", "id").first()
    task_row = await Task.get(code=task, framework__code="CAP-ELEC", framework__school_id=None)
    competence_row = await Competence.get(code=competence, framework__code="CAP-ELEC", framework__school_id=None)
    await FicheTask.get_or_create(fiche=fiche, task=task_row, defaults={"checked_by_teacher": True})
    await FicheEvaluationTarget.create(fiche=fiche, task=task_row, competence=competence_row)


async def test_the_demo_pre_convention_fits_one_page_with_its_signatures_under_their_heading(
    teacher, tmp_path, profile
):
    # when the teacher prints DUPIRE's pre-convention and those of her period
    rendered = await _render(
        teacher,
        {
            "learner": f"/exports/pre-convention/portfolio/{await portfolio_id('DUPIRE')}",
            "period": f"/exports/pre-convention/period/{await period_id()}",
        },
        tmp_path,
        profile,
    )
    document, pdf = rendered["learner"]
    # then hers is one A4 portrait page
    sizes = page_sizes(pdf)
    assert len(sizes) == 1
    assert not sizes[0].landscape and round(sizes[0].width_pt) == 595 and round(sizes[0].height_pt) == 842
    # and in the DOCX, the heading « Signatures », the « Fait à » line and the signature table's header hold on
    # to what follows, and no row of any table can split across pages
    paragraphs = document.paragraphs
    signatures = next(n for n, p in enumerate(paragraphs) if p.text == "Signatures")
    assert _keeps_with_next(paragraphs[signatures])
    assert paragraphs[signatures + 1].text.startswith("Fait à") and _keeps_with_next(paragraphs[signatures + 1])
    signature_table = document.tables[-1]
    assert table_rows(signature_table)[0][0] == "L'apprenant"
    assert all(_keeps_with_next(p) for p in signature_table.rows[0].cells[0].paragraphs)
    assert all(_cant_split(row) for table in document.tables for row in table.rows)
    # and in the period's bundle every learner's signature heading shares its page with the three signature
    # boxes and with that learner's name
    _, bundle = rendered["period"]
    pages = pages_text(bundle)
    assert len(pages) == 5
    for page in pages:
        text = squeeze(page)
        assert text.count("Signatures") == 1
        assert "L'apprenant Le professeur référent L'entreprise (" in text
        assert re.search(r"Stage de découverte — \S+ \S+", text)


async def test_the_demo_attestation_fits_one_page_with_its_signatures(teacher, tmp_path, profile):
    # given the teacher recorded DUPIRE's days done, so every fact of her attestation is filled in
    portfolio = await portfolio_id("DUPIRE")
    await teacher.data(
        'mutation($id: ID!) { portfolioDaysDoneSet(input: {id: $id, daysDone: "10"}) { errors { code } } }',
        id=portfolio,
    )
    # when the teacher prints DUPIRE's attestation and those of her period
    rendered = await _render(
        teacher,
        {"learner": f"/exports/attestation/{portfolio}", "period": f"/exports/period-attestations/{await period_id()}"},
        tmp_path,
        profile,
    )
    document, pdf = rendered["learner"]
    # then hers is one A4 portrait page, from the title down to both signature boxes
    sizes = page_sizes(pdf)
    assert len(sizes) == 1
    assert not sizes[0].landscape and round(sizes[0].width_pt) == 595 and round(sizes[0].height_pt) == 842
    text = squeeze(pages_text(pdf)[0])
    for expected in (
        "Attestation de période de formation en milieu professionnel",
        "99999999900017",
        "CAP Électricien — CAP, première année",
        "10 jours effectués sur 10 jours prévus",
        "TA 1-2",
        "Le chef d'établissement, Nathalie LEPROVISEUR",
        "Signature et cachet de l'entreprise :",
    ):
        assert expected in text, expected
    # the signature heading and « Fait à » hold on to the boxes, and no row splits across pages
    paragraphs = document.paragraphs
    signatures = next(n for n, p in enumerate(paragraphs) if p.text == "Signatures")
    assert _keeps_with_next(paragraphs[signatures]) and _keeps_with_next(paragraphs[signatures + 1])
    assert all(_cant_split(row) for table in document.tables for row in table.rows)
    # and the period's bundle gives each of its 5 learners one page of their own
    pages = pages_text(rendered["period"][1])
    assert len(pages) == 5
    assert all(squeeze(page).count("Signature et cachet de l'établissement :") == 1 for page in pages)
    # and each counts its own pages, not the bundle's
    assert [re.findall(r"Attestation de PFMP — Page (\d+) / (\d+)", squeeze(page)) for page in pages] == [
        [("1", "1")]
    ] * 5


async def test_a_periods_bundle_numbers_each_learners_pages_on_their_own(teacher, tmp_path, profile):
    # given two learners of the demo period whose objectives run over a page: CARLIER and HÔT (an apprentice)
    long_objectives = "\n".join(
        f"Objectif {n} : préparer « pas à pas » l'intervention n° {n}, vérifier le matériel et rendre compte."
        for n in range(1, 26)
    )
    for name in ("CARLIER", "HÔT"):
        await LiaisonFiche.filter(portfolio=await portfolio_of(name)).update(
            objectives=long_objectives, objectives_individualized=True
        )
    # when the teacher prints the period's pre-conventions
    rendered = await _render(
        teacher, {"period": f"/exports/pre-convention/period/{await period_id()}"}, tmp_path, profile
    )
    _, pdf = rendered["period"]
    pages = [squeeze(page) for page in pages_text(pdf)]
    # then each learner starts a page, and the footer counts that learner's pages only
    footers = [re.findall(r"Pré-conventions — Page (\d+) / (\d+)", page) for page in pages]
    starts = [re.findall(r"Stage de découverte — (\S+ \S+)", page) for page in pages]
    assert footers == [[("1", "2")], [("2", "2")], [("1", "1")], [("1", "1")], [("1", "2")], [("2", "2")], [("1", "1")]]
    assert starts == [
        ["Matis CARLIER"],
        [],
        ["Angélique DUPIRE"],
        ["Marine FABROWSKI"],
        ["Lydie HÔT"],
        [],
        ["Jean LECAM"],
    ]
    # and no page holds only the signatures: the timetable shares the page of each learner's signature boxes
    for page in pages:
        if "Signatures" in page:
            assert "Horaires journaliers" in page and "L'apprenant Le professeur référent L'entreprise (" in page


NO_CARLITO = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <selectfont><rejectfont><glob>*arlito*</glob></rejectfont></selectfont>
  <cachedir>%s</cachedir>
</fontconfig>
"""


async def test_without_calibris_metrics_the_signatures_turn_the_page_with_the_timetable(teacher, tmp_path, monkeypatch):
    # given a machine without Carlito: LibreOffice sets the text in DejaVu Sans, wider, and DUPIRE's pre-convention
    # runs over one page
    config = tmp_path / "fonts.conf"
    config.write_text(NO_CARLITO % (tmp_path / "font-cache"), "utf-8")
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    # when it is rendered (a profile of its own: LibreOffice keeps the fonts it found in its profile)
    rendered = await _render(
        teacher,
        {"learner": f"/exports/pre-convention/portfolio/{await portfolio_id('DUPIRE')}"},
        tmp_path / "out",
        tmp_path / "profile",
    )
    _, pdf = rendered["learner"]
    assert "Carlito" not in {font.name for font in fonts(pdf)}
    pages = [squeeze(page) for page in pages_text(pdf)]
    # then the page of the signatures also holds the timetable: no page holds the signatures alone
    assert len(pages) == 2
    assert "Signatures" in pages[1] and "Horaires journaliers" in pages[1] and "Total de la semaine" in pages[1]
    assert "Page 2 / 2" in pages[1]


async def test_the_cap_meeting_sheet_fits_three_landscape_pages_with_the_boxes_on_every_selected_row(
    teacher, tmp_path, profile
):
    # given DUPIRE's fiche [1] selects C01 under TA 1-1 and TA 1-2, and C07 under TA 1-1
    portfolio = await portfolio_of("DUPIRE")
    for task, competence in (("TA 1-1", "C01"), ("TA 1-2", "C01"), ("TA 1-1", "C07")):
        await _select(portfolio, task, competence)
    # when the teacher prints her meeting sheet
    rendered = await _render(
        teacher, {"sheet": f"/exports/meeting-sheet/{await portfolio_id('DUPIRE')}"}, tmp_path, profile
    )
    document, pdf = rendered["sheet"]
    # then it takes at most three A4 landscape pages
    sizes = page_sizes(pdf)
    assert 1 <= len(sizes) <= 3
    assert all(size.landscape and round(size.width_pt) == 842 for size in sizes)
    pages = pages_text(pdf)
    # and each of the three selected rows shows, on its line, its fiche reference and six boxes under the level
    # headers of its page (a row whose name wraps carries them on its second line)
    selected = 0
    for number, page in enumerate(pages):
        lines = page.splitlines()
        for n, line in enumerate(lines):
            if not re.match(r"\s*☑ C\d\d ", line):
                continue
            selected += 1
            row = line if "[1]" in line else lines[n + 1]
            assert "[1]" in row and row.count("☐") == 6, (number, line, row)
            assert all(label in page for label in LEVEL_LABELS), f"page {number + 1} lacks the level headers"
    assert selected == 3
    # and the closing heading shares its page with the engagement, the date and the four signature boxes
    closing = _page_of(pages, "Engagement, rencontre et signatures")
    assert len(closing) == 1
    last = squeeze(pages[closing[0]])
    assert "Engagement de l'apprenant dans l'activité" in last and "Date de la rencontre" in last
    for box in ("Le professeur référent", "Le formateur en entreprise", "L'apprenant", "Le représentant légal"):
        assert box in last
    # and no row of the grid may split across pages: cantSplit on every row of the DOCX, and in the PDF each
    # row's first cell ends on the page where it starts
    grid = document.tables[1]
    assert all(_cant_split(row) for row in grid.rows)
    first_cells = [" ".join(cells[0].split()) for cells in table_rows(grid)[1:]]
    assert _rows_whole(pages, first_cells) == []


async def test_the_documents_declare_calibri_and_render_in_its_metric_twin_carlito(teacher, tmp_path, profile):
    # when the teacher prints DUPIRE's pre-convention (text only: the boxes and stars of other documents are
    # glyphs Carlito lacks, which LibreOffice takes from DejaVu Sans)
    rendered = await _render(
        teacher, {"learner": f"/exports/pre-convention/portfolio/{await portfolio_id('DUPIRE')}"}, tmp_path, profile
    )
    document, pdf = rendered["learner"]
    # then every text of the DOCX is declared in Calibri: the defaults and every style that names a font,
    # with no theme font that would take precedence in Word
    styles = document.styles.element
    declared = list(styles.iter(qn("w:rFonts")))
    assert declared
    for fonts_element in declared:
        assert fonts_element.get(qn("w:ascii")) in ("Calibri", "Courier"), fonts_element.attrib
        assert fonts_element.get(qn("w:hAnsi")) == fonts_element.get(qn("w:ascii"))
        assert fonts_element.get(qn("w:asciiTheme")) is None and fonts_element.get(qn("w:hAnsiTheme")) is None
    defaults = styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
    assert defaults is not None and defaults.get(qn("w:ascii")) == "Calibri"
    # and LibreOffice, without Calibri, set it in Carlito (same widths, so the same line and page breaks),
    # embedded, and in no other font
    used = fonts(pdf)
    assert {font.name.split("-")[0] for font in used} == {"Carlito"}, f"{used}: apt-get install fonts-crosextra-carlito"
    assert all(font.embedded for font in used)
