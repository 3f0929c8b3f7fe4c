"""Small files of each kind, made here: the accepted types and the refused ones."""

from __future__ import annotations

import io
import zipfile

import docx as python_docx

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
TEXT_UTF8 = "Compte rendu : câblage du tableau, vérifié avec le tuteur.\n".encode()
TEXT_CP1252 = "Compte rendu : câblage vérifié.\r\n".encode("cp1252")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
HTML = b"  <!DOCTYPE html><html><script>alert(1)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
BINARY = b"\x00\x01\x02\x03 not text \x00\xfe"


def _zip(entries: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (name, data) in enumerate(entries):
            kind = zipfile.ZIP_STORED if stored_first and i == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=kind)
    return buffer.getvalue()


def docx() -> bytes:

    document = python_docx.Document()
    document.add_paragraph("Schéma du tableau électrique")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


_XLSX_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    b'spreadsheetml.sheet.main+xml"/></Types>'
)


def xlsx_libreoffice_order() -> bytes:
    """An OOXML file whose first entries are not the ones filetype looks for."""
    return _zip(
        [
            ("docProps/app.xml", b"<x/>" * 2000),
            ("docProps/core.xml", b"<x/>" * 2000),
            ("xl/_rels/workbook.xml.rels", b"<x/>"),
            ("xl/workbook.xml", b"<workbook/>"),
            ("[Content_Types].xml", _XLSX_TYPES),
        ]
    )


def docm() -> bytes:
    """A Word file with macros."""
    types = _XLSX_TYPES.replace(b"/xl/workbook.xml", b"/word/document.xml").replace(
        b"spreadsheetml.sheet.main+xml", b"wordprocessingml.document.main+xml"
    )
    return _zip([("[Content_Types].xml", types), ("word/document.xml", b"<w/>"), ("word/vbaProject.bin", b"\x00" * 10)])


def odt() -> bytes:
    return _zip(
        [
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b"<office/>"),
            ("META-INF/manifest.xml", b"<manifest/>"),
        ],
        stored_first=True,
    )


def plain_zip() -> bytes:
    return _zip([("photo.jpg", JPEG), ("notes.txt", TEXT_UTF8)])
