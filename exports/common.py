"""What every export shares: the A4 page, styles, header and footer, French formatting,
and the blocks several documents print (facts tables, workplace). Paragraphs and tables: `exports.wordml`."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import TypeVar

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION_START
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Cm, Pt, RGBColor

from exports.data import LearnerInfo, PeriodInfo, SchoolInfo, Workplace
from exports.wordml import CELL_STYLE, Cell, Line, Run, Table, add_paragraph

EMPTY_BOX = "☐"
MARKED = "☑"
FULL_STAR, EMPTY_STAR = "★", "☆"
STAR_COUNT = 4
BLANK = "_" * 30
FONT = "Calibri"

GROUP_FILL = "EDEDED"
MARKED_FILL = "FFF2CC"
MUTED = "595959"
ACCENT_HEX = "1F3A5F"
ACCENT = RGBColor.from_string(ACCENT_HEX)

Entry = TypeVar("Entry")

A4_WIDTH, A4_HEIGHT = Cm(21.0), Cm(29.7)
MARGIN = Cm(1.8)


# --- formatting -------------------------------------------------------------


def format_date(value: date | None) -> str:
    """16/11/2026; an unknown date prints empty."""
    return value.strftime("%d/%m/%Y") if value else ""


def period_dates(period: PeriodInfo) -> str:
    return f"du {format_date(period.start_date)} au {format_date(period.end_date)}"


def format_days(value: Decimal | float | int | None) -> str:
    """Days with a French decimal comma, no trailing ",0": 9,5 · 15; unknown prints "—"."""
    if value is None:
        return "—"
    number = Decimal(str(value)).normalize()
    text = f"{number:f}"
    return text.replace(".", ",")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count} {singular if count <= 1 else (plural_form or singular + 's')}"


def stars(count: int | None) -> str:
    """★★☆☆ for 2 of 4; None (not yet set) prints "Non renseigné"."""
    if count is None:
        return "Non renseigné"
    count = max(0, min(STAR_COUNT, count))
    return FULL_STAR * count + EMPTY_STAR * (STAR_COUNT - count)


def fiche_refs(refs: Iterable[int]) -> str:
    return " ".join(f"[{ref}]" for ref in refs)


NBSP = "\u00a0"


def quoted(text: str) -> str:
    """ "« Partiellement acquis »" with non-breaking spaces inside the guillemets: a line never breaks in it."""
    return f"«{NBSP}{text.strip().replace(' ', NBSP)}{NBSP}»"


def or_blank(value: str | None) -> str:
    return value if value and value.strip() else BLANK


# --- document, page, header and footer --------------------------------------


def new_document(school: SchoolInfo, title: str, *, landscape: bool = False) -> DocxDocument:
    """An empty A4 document in French with the school in the header and "Page X / Y" in the footer."""
    document = Document()
    _set_styles(document)
    _set_properties(document, school, title)

    section = document.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = A4_HEIGHT, A4_WIDTH
    else:
        section.page_width, section.page_height = A4_WIDTH, A4_HEIGHT
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, MARGIN)
    section.header_distance = section.footer_distance = Cm(0.8)

    header = section.header.paragraphs[0]
    header.style = document.styles["Header"]
    _add_run(header, f"{school.name} — UAI {school.uai}", color=MUTED, size=8)

    footer = section.footer.paragraphs[0]
    footer.style = document.styles["Footer"]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_run(footer, f"{title} — Page ", color=MUTED, size=8)
    _add_field(footer, "PAGE")
    _add_run(footer, " / ", color=MUTED, size=8)
    _add_field(footer, "NUMPAGES")
    return document


def number_pages_per_section(document: DocxDocument, section: Section, title: str, bookmark: str) -> None:
    """The section's footer says "Page X / Y" of the section alone: its pages are numbered from 1, and Y is the
    page number of `bookmark`, which the caller puts on the section's last page (`bookmark_last_paragraph`).

    Not SECTIONPAGES: LibreOffice (7.4, Debian's) does not compute that field and prints whatever value the file
    carries, where it computes a PAGEREF to a bookmark, as Word does."""
    restart_page_numbers(section)
    section.footer.is_linked_to_previous = False
    footer = section.footer.paragraphs[0]
    for run in list(footer.runs):
        run._r.getparent().remove(run._r)
    footer.style = document.styles["Footer"]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_run(footer, f"{title} — Page ", color=MUTED, size=8)
    _add_field(footer, "PAGE")
    _add_run(footer, " / ", color=MUTED, size=8)
    _add_field(footer, f"PAGEREF {bookmark}")


def sections_per_learner(
    document: DocxDocument, footer_title: str, learners: Sequence[Entry], write: Callable[[Entry], None]
) -> None:
    """One section per learner, each starting on a new page and numbering its own pages (page X / Y of that
    learner), so that one learner's copy can be handed out alone; `write` fills the learner's section."""
    for index, entry in enumerate(learners):
        section = document.add_section(WD_SECTION_START.NEW_PAGE) if index else document.sections[0]
        bookmark = f"fin_apprenant_{index + 1}"
        number_pages_per_section(document, section, footer_title, bookmark)
        write(entry)
        bookmark_last_paragraph(document, bookmark)


def bookmark_last_paragraph(document: DocxDocument, name: str) -> None:
    """A bookmark around the body's last paragraph (inside the last table when the body ends with one)."""
    body = document.element.body
    paragraphs = [element for element in body.iter(qn("w:p")) if element.getparent().tag != qn("w:sectPr")]
    target = paragraphs[-1]
    ids = [int(element.get(qn("w:id"))) for element in body.iter(qn("w:bookmarkStart"))]
    start, end = OxmlElement("w:bookmarkStart"), OxmlElement("w:bookmarkEnd")
    identifier = str(max(ids, default=0) + 1)
    start.set(qn("w:id"), identifier)
    start.set(qn("w:name"), name)
    end.set(qn("w:id"), identifier)
    properties = target.find(qn("w:pPr"))
    if properties is not None:
        properties.addnext(start)
    else:
        target.insert(0, start)
    target.append(end)


def restart_page_numbers(section: Section) -> None:
    """Number the section's pages from 1 (`w:pgNumType w:start="1"`)."""
    sect_pr = section._sectPr
    numbering = sect_pr.find(qn("w:pgNumType"))
    if numbering is None:
        numbering = OxmlElement("w:pgNumType")
        # The schema's order: pgNumType comes after the page margins and borders, before the columns.
        following = next(
            (
                sect_pr.find(qn(tag))
                for tag in (
                    "w:cols",
                    "w:formProt",
                    "w:vAlign",
                    "w:noEndnote",
                    "w:titlePg",
                    "w:textDirection",
                    "w:bidi",
                    "w:rtlGutter",
                    "w:docGrid",
                )
                if sect_pr.find(qn(tag)) is not None
            ),
            None,
        )
        if following is not None:
            following.addprevious(numbering)
        else:
            sect_pr.append(numbering)
    numbering.set(qn("w:start"), "1")


def to_bytes(document: DocxDocument) -> bytes:
    """The DOCX file, after which the document is emptied.

    python-docx's parts reference each other, so a document is freed only by
    the cycle collector, which does not see lxml's C memory and may run late:
    a server building documents one after another would hold several trees
    at once. Clearing the body frees the bulk of it now.
    """
    buffer = io.BytesIO()
    document.save(buffer)
    document.element.body.clear()
    return buffer.getvalue()


def usable_width_cm(document: DocxDocument) -> float:
    """Text width of the last section. Read from the body's final `w:sectPr`, its last child:
    `document.sections` and `body.sectPr` search the whole body, on every call."""
    section = Section(document.element.body[-1], document.part)
    width, left, right = section.page_width, section.left_margin, section.right_margin
    assert width is not None and left is not None and right is not None  # new_document sizes every section
    return (width - left - right) / 360000


def _set_properties(document: DocxDocument, school: SchoolInfo, title: str) -> None:
    """File properties: ours instead of those of python-docx's template."""
    properties = document.core_properties
    properties.title, properties.author, properties.language = title, school.name, "fr-FR"
    properties.comments, properties.keywords = "", "PFMP"
    # The template says it was created in 2013; with no date, the first save in Word sets one.
    for name in ("dcterms:created", "dcterms:modified"):
        for element in properties._element.findall(qn(name)):
            properties._element.remove(element)
    # The template's thumbnail would show a page that is not this document.
    package = document.part.package
    for key, relationship in list(package.rels.items()):
        if relationship.reltype == RT.THUMBNAIL:
            package.rels.pop(key)


_THEME_FONTS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


def _declare_font(styles) -> None:
    """Calibri by name everywhere, the defaults included: the template's theme fonts (Cambria for body text)
    would take precedence over a name in Word. Where Calibri is missing, LibreOffice and fontconfig set it in
    Carlito, whose glyphs have Calibri's widths, so lines and pages break at the same places."""
    for fonts in styles.iter(qn("w:rFonts")):
        for attribute in _THEME_FONTS:
            fonts.attrib.pop(qn(attribute), None)
        if fonts.get(qn("w:ascii")) is None:
            for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
                fonts.set(qn(attribute), FONT)


def _set_styles(document: DocxDocument) -> None:
    styles = document.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    language = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    if language is not None:
        # French spelling and hyphenation in Word and LibreOffice.
        language.set(qn("w:val"), "fr-FR")
        language.set(qn("w:eastAsia"), "fr-FR")

    normal = styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(10)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.1

    for name, size in (("Title", 18), ("Heading 1", 14), ("Heading 2", 12), ("Heading 3", 11)):
        style = styles[name]
        style.font.name, style.font.size, style.font.color.rgb = FONT, Pt(size), ACCENT
        style.paragraph_format.space_before = Pt(8 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(4)
        style.paragraph_format.keep_with_next = True
    _declare_font(styles.element)

    cell = styles.add_style(CELL_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    cell.font.size = Pt(9)
    cell.paragraph_format.space_before = Pt(1)
    cell.paragraph_format.space_after = Pt(1)
    cell.paragraph_format.line_spacing = 1.0


def _add_run(paragraph, text: str, *, bold=False, italic=False, color: str | None = None, size: float | None = None):
    run = paragraph.add_run(text)
    run.bold, run.italic = bold or None, italic or None
    if color:
        run.font.color.rgb = RGBColor.from_string(color)
    if size:
        run.font.size = Pt(size)
    return run


def _add_field(paragraph, instruction: str) -> None:
    """A complex field (PAGE, NUMPAGES): Word and LibreOffice compute its value when laying out pages.

    Each part sits in its own run carrying the footer's look, as Word writes
    it; a reader takes the result's look from these runs.
    """
    for part in ("begin", "instruction", "separate", "result", "end"):
        run = _add_run(paragraph, "", color=MUTED, size=8)._r
        if part == "instruction":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {instruction} "
        elif part == "result":
            element = OxmlElement("w:t")
            element.text = "1"  # shown until the reader updates the field
        else:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), part)
        run.append(element)


# --- paragraphs -------------------------------------------------------------


def title(document: DocxDocument, text: str, subtitle: str | None = None) -> None:
    add_paragraph(document, text, style_id="Title")
    if subtitle:
        add_paragraph(document, Run(subtitle, bold=True, color=ACCENT_HEX, size_pt=12))


def heading(document: DocxDocument, text: str, level: int = 1, *, page_break: bool = False) -> None:
    add_paragraph(document, text, style_id=f"Heading{level}", page_break_before=page_break)


def paragraph(
    document: DocxDocument,
    line: Line,
    *,
    italic: bool = False,
    space_before: float | None = None,
    space_after: float | None = None,
    keep_with_next: bool = False,
) -> None:
    add_paragraph(
        document,
        line,
        italic=italic,
        space_before_pt=space_before,
        space_after_pt=space_after,
        keep_with_next=keep_with_next,
    )


def blank_lines(document: DocxDocument, count: int) -> None:
    """Ruled lines across the text width, to write on by hand."""
    for _ in range(count):
        add_paragraph(document, ruled=True, keep_with_next=True, space_before_pt=10, space_after_pt=0)


# --- blocks shared by several documents -------------------------------------


def identity_table(document: DocxDocument, rows: Sequence[tuple[str, Line]], label_width_cm: float = 4.5) -> None:
    """A two-column table "label | value" for the header facts of a document."""
    table = Table(document, (label_width_cm, usable_width_cm(document) - label_width_cm))
    for label, value in rows:
        table.row([Cell(label, bold=True, fill=GROUP_FILL), Cell(value)])
    spacer(document)


def facts_table(document: DocxDocument, facts: Sequence[tuple[str, Line]], label_width_cm: float = 3.6) -> None:
    """Header facts two by two: "label | value | label | value", half the rows of `identity_table`."""
    half = usable_width_cm(document) / 2
    table = Table(document, (label_width_cm, half - label_width_cm, label_width_cm, half - label_width_cm))
    for index in range(0, len(facts), 2):
        pair = list(facts[index : index + 2])
        cells = []
        for label, value in pair:
            cells += [Cell(label, bold=True, fill=GROUP_FILL), Cell(value)]
        if len(pair) == 1:
            cells[-1] = Cell(pair[0][1], span=3)
        # room to write by hand in the cells left empty
        table.row(cells, height_cm=0.6)
    spacer(document)


def spacer(document: DocxDocument) -> None:
    """A small gap after a table: Word glues the next paragraph to it otherwise."""
    add_paragraph(document, space_after_pt=2, line_pt=6)


def learner_line(learner: LearnerInfo) -> str:
    return f"{learner.full_name} ({learner.classroom})" if learner.classroom else learner.full_name


def workplace_lines(workplace: Workplace | None, trainer_title: str = "Tuteur") -> list[tuple[str, str]]:
    """The workplace facts as table rows; an unknown one is an empty cell, to fill in by hand."""
    workplace = workplace or Workplace()
    return [
        ("Entreprise", workplace.company_name or ""),
        ("Domaine d'activité", workplace.activity_domain or ""),
        ("Service", workplace.service or ""),
        (trainer_title, workplace.tutor_name or ""),
        ("Fonction", workplace.tutor_role or ""),
    ]


def workplace_summary(workplace: Workplace | None, trainer_title: str = "tuteur") -> str:
    """ "Tout élec (Entreprise générale d'électricité) — tuteur : Eude Toutcourt, électricien"."""
    if workplace is None or not workplace.company_name:
        return "Non renseigné"
    text = workplace.company_name
    if workplace.activity_domain:
        text += f" ({workplace.activity_domain})"
    if workplace.service:
        text += f", service {workplace.service}"
    if workplace.tutor_name:
        text += f" — {trainer_title} : {workplace.tutor_name}"
        if workplace.tutor_role:
            text += f", {workplace.tutor_role}"
    return text
