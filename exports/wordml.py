"""Body paragraphs and bordered tables, written as WordprocessingML text.

python-docx builds every element through its own element classes, and its
`Table.add_row`/`row.cells` recompute the whole cell grid on each access,
`add_table` and style look-ups by name search the document each time: at
the level synthesis' thousands of rows that was most of the build time. Here
a paragraph or a table row is written as XML text and parsed by lxml in one
call, then inserted before the body's final `w:sectPr`.

Children of property elements (`w:pPr`, `w:tcPr`, `w:rPr`, `w:tblPr`) are
written in the order the schema imposes: Word refuses a file otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeGuard
from xml.sax.saxutils import escape

from docx.document import Document as DocxDocument
from docx.oxml.ns import nsdecls
from lxml.etree import fromstring

# The paragraph style of table text (made by `common.new_document`); python-docx
# derives a style id from the name by dropping the spaces.
CELL_STYLE = "Texte de tableau"
CELL_STYLE_ID = CELL_STYLE.replace(" ", "")
HEADER_FILL = "D9E2F3"
TWIPS_PER_CM = 567
_NAMESPACE = nsdecls("w")
_FORBIDDEN = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\ufffe\\uffff]")


@dataclass(frozen=True)
class Run:
    """A piece of text with its own look, inside a paragraph or a table cell."""

    text: str
    bold: bool = False
    italic: bool = False
    color: str | None = None
    size_pt: float | None = None


Line = str | Run | Sequence[Run]


def runs_of(line: Line) -> Sequence[Run]:
    if isinstance(line, str):
        return (Run(line),)
    if isinstance(line, Run):
        return (line,)
    return line


def xml_safe(text: str) -> str:
    """The text without the control characters XML 1.0 forbids (pasted text may carry some), escaped."""
    return escape(_FORBIDDEN.sub("", text))


def _append(document: DocxDocument, xml: str):
    """Parse `xml` and insert it at the end of the body, before its final `w:sectPr`.

    That `w:sectPr` is the body's last child (python-docx keeps it there, even
    when adding sections): `body[-1]` finds it at once where `body.sectPr`
    scans every paragraph and table of the body.
    """
    element = fromstring(xml)
    document.element.body[-1].addprevious(element)
    return element


def _runs(parts: list[str], line: Line, *, bold: bool = False, italic: bool = False) -> None:
    for run in runs_of(line):
        if not run.text:
            continue
        parts.append("<w:r>")
        properties = []
        if bold or run.bold:
            properties.append("<w:b/>")
        if italic or run.italic:
            properties.append("<w:i/>")
        if run.color:
            properties.append(f'<w:color w:val="{run.color}"/>')
        if run.size_pt:
            properties.append(f'<w:sz w:val="{round(run.size_pt * 2)}"/>')
        if properties:
            parts.append("<w:rPr>" + "".join(properties) + "</w:rPr>")
        parts.append(f'<w:t xml:space="preserve">{xml_safe(run.text)}</w:t></w:r>')


# --- paragraphs -------------------------------------------------------------


def add_paragraph(
    document: DocxDocument,
    line: Line = "",
    *,
    style_id: str | None = None,
    italic: bool = False,
    keep_with_next: bool = False,
    page_break_before: bool = False,
    ruled: bool = False,
    space_before_pt: float | None = None,
    space_after_pt: float | None = None,
    line_pt: float | None = None,
) -> None:
    """A paragraph at the end of the body; `style_id` as python-docx names it ("Heading1").

    `ruled` draws a grey line under the paragraph, to write on by hand.
    """
    properties = []
    if style_id:
        properties.append(f'<w:pStyle w:val="{style_id}"/>')
    if keep_with_next:
        properties.append("<w:keepNext/>")
    if page_break_before:
        properties.append("<w:pageBreakBefore/>")
    if ruled:
        # "between" too: Word and LibreOffice draw one border under a group of alike paragraphs.
        border = 'w:val="single" w:sz="4" w:space="1" w:color="A6A6A6"'
        properties.append(f"<w:pBdr><w:bottom {border}/><w:between {border}/></w:pBdr>")
    spacing = ""
    if space_before_pt is not None:
        spacing += f' w:before="{round(space_before_pt * 20)}"'
    if space_after_pt is not None:
        spacing += f' w:after="{round(space_after_pt * 20)}"'
    if line_pt is not None:
        spacing += f' w:line="{round(line_pt * 20)}" w:lineRule="exact"'
    if spacing:
        properties.append(f"<w:spacing{spacing}/>")
    parts = [f"<w:p {_NAMESPACE}>"]
    if properties:
        parts.append("<w:pPr>" + "".join(properties) + "</w:pPr>")
    _runs(parts, line, italic=italic)
    parts.append("</w:p>")
    _append(document, "".join(parts))


# --- tables -----------------------------------------------------------------


def _all_runs(items: Sequence[object]) -> TypeGuard[Sequence[Run]]:
    return all(isinstance(item, Run) for item in items)


@dataclass(frozen=True)
class Cell:
    """One table cell: its lines (a str may hold several, split on newlines), span and look."""

    content: Line | Sequence[Line] = ""
    span: int = 1
    bold: bool = False
    italic: bool = False
    center: bool = False
    fill: str | None = None
    indent_cm: float = 0
    top: bool = False

    def lines(self) -> Sequence[Line]:
        content = self.content
        if isinstance(content, str):
            return content.split("\n")
        if isinstance(content, Run):
            return (content,)
        if content and _all_runs(content):
            return (content,)
        return content or ("",)


class Table:
    """A bordered table of fixed column widths (cm), added at the end of the body, filled row by row."""

    def __init__(self, document: DocxDocument, widths_cm: Sequence[float]):
        self.widths = [round(width * TWIPS_PER_CM) for width in widths_cm]  # twentieths of a point
        border = 'w:val="single" w:sz="4" w:space="0" w:color="808080"'
        sides = "".join(f"<w:{side} {border}/>" for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
        columns = "".join(f'<w:gridCol w:w="{width}"/>' for width in self.widths)
        self.element = _append(
            document,
            f"<w:tbl {_NAMESPACE}><w:tblPr>"
            f'<w:tblW w:w="{sum(self.widths)}" w:type="dxa"/>'
            f"<w:tblBorders>{sides}</w:tblBorders>"
            '<w:tblLayout w:type="fixed"/>'
            '<w:tblCellMar><w:left w:w="70" w:type="dxa"/><w:right w:w="70" w:type="dxa"/></w:tblCellMar>'
            '<w:tblLook w:val="04A0" w:firstRow="1" w:firstColumn="1" w:noVBand="1"/>'
            f"</w:tblPr><w:tblGrid>{columns}</w:tblGrid></w:tbl>",
        )

    def row(
        self,
        cells: Sequence[Cell | Line],
        *,
        header: bool = False,
        fill: str | None = None,
        height_cm: float | None = None,
        keep_with_next: bool = False,
    ) -> None:
        """Append a row; a header row is bold, shaded and repeated at the top of each page. `keep_with_next`
        keeps the row on the page of the next one (set it on every row but the last to keep a table whole)."""
        parts = [f"<w:tr {_NAMESPACE}><w:trPr><w:cantSplit/>"]
        if height_cm:
            parts.append(f'<w:trHeight w:val="{round(height_cm * TWIPS_PER_CM)}" w:hRule="atLeast"/>')
        if header:
            parts.append("<w:tblHeader/>")
        parts.append("</w:trPr>")
        column = 0
        for cell in cells:
            if not isinstance(cell, Cell):
                cell = Cell(cell)
            width = sum(self.widths[column : column + cell.span])
            column += cell.span
            _cell(
                parts,
                cell,
                width,
                header=header,
                fill=cell.fill or fill or (HEADER_FILL if header else None),
                keep_with_next=keep_with_next,
            )
        parts.append("</w:tr>")
        self.element.append(fromstring("".join(parts)))


def _cell(
    parts: list[str], cell: Cell, width: int, *, header: bool, fill: str | None, keep_with_next: bool = False
) -> None:
    parts.append(f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>')
    if cell.span > 1:
        parts.append(f'<w:gridSpan w:val="{cell.span}"/>')
    if fill:
        parts.append(f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>')
    parts.append(f'<w:vAlign w:val="{"top" if cell.top else "center"}"/></w:tcPr>')
    paragraph_properties = f'<w:pPr><w:pStyle w:val="{CELL_STYLE_ID}"/>'
    if keep_with_next:
        paragraph_properties += "<w:keepNext/>"
    if cell.indent_cm:
        paragraph_properties += f'<w:ind w:left="{round(cell.indent_cm * TWIPS_PER_CM)}"/>'
    if cell.center or header:
        paragraph_properties += '<w:jc w:val="center"/>'
    paragraph_properties += "</w:pPr>"
    for line in cell.lines():
        parts.append("<w:p>")
        parts.append(paragraph_properties)
        _runs(parts, line, bold=cell.bold or header, italic=cell.italic)
        parts.append("</w:p>")
    parts.append("</w:tc>")
