"""Bordered tables of fixed column widths, written straight as WordprocessingML.

python-docx's `Table.add_row` and `row.cells` recompute the whole cell grid
on each access; the level synthesis writes thousands of rows, so rows are
built here element by element through `OxmlElement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

# The paragraph style of table text (made by `common.new_document`); python-docx
# derives a style id from the name by dropping the spaces.
CELL_STYLE = "Texte de tableau"
CELL_STYLE_ID = CELL_STYLE.replace(" ", "")
HEADER_FILL = "D9E2F3"
TWIPS_PER_CM = 567


@dataclass(frozen=True)
class Run:
    """A piece of text with its own look, inside a paragraph or a table cell."""

    text: str
    bold: bool = False
    italic: bool = False
    color: str | None = None


Line = str | Run | Sequence[Run]


def runs_of(line: Line) -> Sequence[Run]:
    if isinstance(line, str):
        return (Run(line),)
    if isinstance(line, Run):
        return (line,)
    return line


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
        if content and all(isinstance(item, Run) for item in content):
            return (content,)
        return content or ("",)


class Table:
    """A bordered table of fixed column widths (cm), filled row by row."""

    def __init__(self, document: DocxDocument, widths_cm: Sequence[float]):
        self.widths = [round(width * TWIPS_PER_CM) for width in widths_cm]  # twentieths of a point
        table = document.add_table(rows=0, cols=len(self.widths))
        self.element = table._tbl
        # Rebuilt in the schema's order (tblW, tblBorders, tblLayout, tblCellMar, tblLook): Word
        # refuses to open a file whose property elements are out of order.
        properties = self.element.tblPr
        look = properties.find(qn("w:tblLook"))
        for child in list(properties):
            properties.remove(child)
        properties.append(oxml("w:tblW", {"w:w": str(sum(self.widths)), "w:type": "dxa"}))
        borders = oxml("w:tblBorders")
        for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
            borders.append(oxml(f"w:{side}", {"w:val": "single", "w:sz": "4", "w:space": "0", "w:color": "808080"}))
        properties.append(borders)
        properties.append(oxml("w:tblLayout", {"w:type": "fixed"}))
        margins = oxml("w:tblCellMar")
        for side in ("left", "right"):
            margins.append(oxml(f"w:{side}", {"w:w": "70", "w:type": "dxa"}))
        properties.append(margins)
        if look is not None:
            properties.append(look)
        for column, width in zip(self.element.tblGrid.iterchildren(qn("w:gridCol")), self.widths):
            column.set(qn("w:w"), str(width))

    def row(
        self,
        cells: Sequence[Cell | Line],
        *,
        header: bool = False,
        fill: str | None = None,
        height_cm: float | None = None,
    ) -> None:
        """Append a row; a header row is bold, shaded and repeated at the top of each page."""
        row = oxml("w:tr")
        row_properties = oxml("w:trPr")
        row_properties.append(oxml("w:cantSplit"))
        if height_cm:
            height = str(round(height_cm * TWIPS_PER_CM))
            row_properties.append(oxml("w:trHeight", {"w:val": height, "w:hRule": "atLeast"}))
        if header:
            row_properties.append(oxml("w:tblHeader"))
        row.append(row_properties)
        column = 0
        for cell in cells:
            if not isinstance(cell, Cell):
                cell = Cell(cell)
            width = sum(self.widths[column : column + cell.span])
            column += cell.span
            row.append(_cell(cell, width, header=header, fill=cell.fill or fill or (HEADER_FILL if header else None)))
        self.element.append(row)


def oxml(tag: str, attrs: dict[str, str] | None = None):
    element = OxmlElement(tag)
    for name, value in (attrs or {}).items():
        element.set(qn(name), value)
    return element


def _cell(cell: Cell, width: int, *, header: bool, fill: str | None):
    element = oxml("w:tc")
    properties = oxml("w:tcPr")
    properties.append(oxml("w:tcW", {"w:w": str(width), "w:type": "dxa"}))
    if cell.span > 1:
        properties.append(oxml("w:gridSpan", {"w:val": str(cell.span)}))
    if fill:
        properties.append(oxml("w:shd", {"w:val": "clear", "w:color": "auto", "w:fill": fill}))
    properties.append(oxml("w:vAlign", {"w:val": "top" if cell.top else "center"}))
    element.append(properties)
    for line in cell.lines():
        paragraph = oxml("w:p")
        paragraph_properties = oxml("w:pPr")
        paragraph_properties.append(oxml("w:pStyle", {"w:val": CELL_STYLE_ID}))
        if cell.indent_cm:
            paragraph_properties.append(oxml("w:ind", {"w:left": str(round(cell.indent_cm * TWIPS_PER_CM))}))
        if cell.center or header:
            paragraph_properties.append(oxml("w:jc", {"w:val": "center"}))
        paragraph.append(paragraph_properties)
        for run in runs_of(line):
            if run.text:
                paragraph.append(_run(run, bold=cell.bold or header, italic=cell.italic))
        element.append(paragraph)
    return element


def _run(run: Run, *, bold: bool, italic: bool):
    element = oxml("w:r")
    if run.bold or bold or run.italic or italic or run.color:
        properties = oxml("w:rPr")
        if run.bold or bold:
            properties.append(oxml("w:b"))
        if run.italic or italic:
            properties.append(oxml("w:i"))
        if run.color:
            properties.append(oxml("w:color", {"w:val": run.color}))
        element.append(properties)
    text = oxml("w:t", {"xml:space": "preserve"})
    text.text = run.text
    element.append(text)
    return element
