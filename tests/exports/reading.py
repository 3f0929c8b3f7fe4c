"""Reading generated DOCX back with python-docx, to assert what a reader would see."""

from __future__ import annotations

import io

import docx
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn

W_T = qn("w:t")


def open_docx(data: bytes) -> DocxDocument:
    assert data[:2] == b"PK", "a DOCX is a ZIP archive"
    return docx.Document(io.BytesIO(data))


def body_text(document: DocxDocument) -> str:
    """Every text of the body, paragraphs and table cells alike, in document order, one line per paragraph."""
    lines = []
    for paragraph in document.element.body.iter(qn("w:p")):
        lines.append("".join(node.text or "" for node in paragraph.iter(W_T)))
    return "\n".join(lines)


def count(document: DocxDocument, glyph: str) -> int:
    return body_text(document).count(glyph)


def table_rows(table) -> list[list[str]]:
    """Cell texts row by row; a cell spanning columns appears once."""
    return [["\n".join(p.text for p in cell.paragraphs) for cell in _unique_cells(row)] for row in table.rows]


def _unique_cells(row):
    seen, cells = set(), []
    for cell in row.cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            cells.append(cell)
    return cells


def header_row_repeats(table) -> bool:
    first = table.rows[0]._tr
    return first.trPr is not None and first.trPr.find(qn("w:tblHeader")) is not None


def page_breaks(document: DocxDocument) -> int:
    return sum(1 for br in document.element.body.iter(qn("w:br")) if br.get(qn("w:type")) == "page")


def footer_fields(document: DocxDocument) -> list[str]:
    """The field instructions of each section's footer (linked footers read the first one's)."""
    instructions = []
    for node in document.sections[0].footer._element.iter(qn("w:instrText")):
        instructions.append(node.text.strip())
    return instructions


def header_text(document: DocxDocument) -> str:
    return "\n".join(p.text for p in document.sections[0].header.paragraphs)


# The order the WordprocessingML schema imposes on the children of the property
# elements the exports write (a subset of each sequence); Word refuses a file
# whose children are out of order.
SCHEMA_ORDER = {
    "tblPr": "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc "
    "tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook",
    "tcPr": "cnfStyle tcW gridSpan hMerge vMerge tcBorders shd noWrap tcMar textDirection tcFitText vAlign hideMark",
    "pPr": "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers pBdr shd "
    "tabs suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi "
    "adjustRightInd snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc textDirection "
    "textAlignment textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange",
    "rPr": "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint noProof "
    "snapToGrid vanish webHidden color spacing w kern position sz szCs highlight u effect bdr shd fitText "
    "vertAlign rtl cs em lang eastAsianLayout specVanish oMath",
    "pBdr": "top left bottom right between bar",
}


def schema_order_errors(document: DocxDocument) -> list[str]:
    """Property elements of the body and footer whose children break the schema's order."""
    errors = []
    roots = [document.element.body, document.sections[0].footer._element]
    for root in roots:
        for container, sequence in SCHEMA_ORDER.items():
            order = {name: index for index, name in enumerate(sequence.split())}
            for element in root.iter(qn(f"w:{container}")):
                names = [child.tag.rsplit("}", 1)[1] for child in element]
                positions = [order.get(name, -1) for name in names]
                if -1 in positions or positions != sorted(positions) or len(set(names)) != len(names):
                    errors.append(f"{container}: {names}")
    return errors
