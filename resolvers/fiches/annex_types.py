"""What an annex file is, decided from its content, never from its name (R16).

Accepted: PDF, images, office documents (OOXML, OpenDocument, the older
Microsoft formats, RTF) and plain text. The first bytes name the format
(`filetype`); a ZIP is opened and must be an OOXML or OpenDocument document
(macros refused); text is followed to its last byte: UTF-8 or a single-byte
encoding, no control characters, no markup (HTML, SVG, XML).
"""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path
from typing import IO, Any

import filetype

from graph.errors import Reason, UserInputError, problem
from graph.messages import Term

HEAD_SIZE = 8192

ALLOWED_MAGIC = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "image/avif",
    "image/bmp",
    "image/tiff",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/rtf",
}
ODF_TYPES = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
# (main part, content type it must be declared with, MIME type of the document)
OOXML_TYPES = (
    (
        "word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "xl/workbook.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
)
MAX_ZIP_ENTRIES = 20000
MAX_CONTENT_TYPES = 1024 * 1024

# Bytes no text file carries: C0 controls but tab, line feed, form feed, carriage return; and DEL.
_CONTROL = bytes([b for b in range(32) if b not in (9, 10, 12, 13)] + [127])
_MARKUP = re.compile(rb"^(\xef\xbb\xbf)?\s*<[!?a-zA-Z]")

ACCEPTED = Term("PDF, images, office documents or plain text")


class Refused(Exception):
    """The content is not of an accepted type; `reason` says why, for the learner."""

    def __init__(self, reason: Reason, **params: Any) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.params = params

    def problem(self) -> UserInputError:
        return problem("file", self.reason, **self.params)


class ContentCheck:
    """Follows one file as it is written: `start(head)`, `feed(chunk)` for the rest, then `finish()` (or, for a ZIP,
    `office_zip_type` of the file)."""

    def __init__(self) -> None:
        self.kind: str | None = None  # "binary", "zip" or "text"
        self.content_type: str | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._utf8 = True

    def start(self, head: bytes) -> None:
        if head.startswith(b"PK\x03\x04"):
            self.kind = "zip"
            return
        guess = filetype.guess(head)
        if guess is not None and guess.mime == "image/bmp" and not _is_bmp(head):
            guess = None  # "BM" is all filetype checks: text may well start so
        if guess is not None:
            if guess.mime not in ALLOWED_MAGIC:
                raise Refused(Reason.FILE_TYPE_REFUSED, mime=guess.mime, accepted=ACCEPTED)
            self.kind, self.content_type = "binary", guess.mime
            return
        if _MARKUP.match(head):
            raise Refused(Reason.FILE_MARKUP_REFUSED, accepted=ACCEPTED)
        self.kind = "text"
        self.feed(head)

    def feed(self, chunk: bytes | bytearray) -> None:
        if self.kind != "text":
            return
        if len(chunk.translate(None, _CONTROL)) != len(chunk):
            raise Refused(Reason.FILE_FORMAT_UNKNOWN, accepted=ACCEPTED)
        if self._utf8:
            try:
                self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self._utf8 = False

    def finish(self) -> str:
        """The content type to store, for what is not a ZIP (`office_zip_type` reads those)."""
        if self.kind == "text":
            if self._utf8:
                try:
                    self._decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    self._utf8 = False
            return "text/plain; charset=utf-8" if self._utf8 else "text/plain; charset=windows-1252"
        assert self.kind != "zip", "a ZIP is judged by office_zip_type"
        assert self.content_type is not None
        return self.content_type


def _is_bmp(head: bytes) -> bool:
    """A BMP names its DIB header, whose size is one of a few known values, at byte 14."""
    return len(head) >= 26 and int.from_bytes(head[14:18], "little") in (12, 16, 40, 52, 56, 64, 108, 124)


def office_zip_type(file: Path | IO[bytes]) -> str:
    """The MIME type of an OOXML or OpenDocument file, checked inside the archive; Refused otherwise. Blocking (it
    reads the archive's directory): run it in a thread."""
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise Refused(Reason.ARCHIVE_TOO_MANY_ENTRIES)
            names = {entry.filename for entry in entries}
            if any(name.lower().rsplit("/", 1)[-1] in ("vbaproject.bin", "vbadata.xml") for name in names) or any(
                name.lower().startswith("basic/") for name in names
            ):
                raise Refused(Reason.OFFICE_MACROS_REFUSED)
            if entries and entries[0].filename == "mimetype":
                with archive.open(entries[0]) as handle:
                    declared = handle.read(101).decode("ascii", "replace").strip()
                if declared in ODF_TYPES and "content.xml" in names and "META-INF/manifest.xml" in names:
                    return declared
                raise Refused(Reason.OPENDOCUMENT_KIND_REFUSED, accepted=ACCEPTED)
            if "[Content_Types].xml" in names:
                info = archive.getinfo("[Content_Types].xml")
                with archive.open(info) as handle:
                    content_types = handle.read(MAX_CONTENT_TYPES + 1)
                if len(content_types) > MAX_CONTENT_TYPES:
                    raise Refused(Reason.OFFICE_MALFORMED)
                for main_part, content_type, mime in OOXML_TYPES:
                    if main_part in names and content_type.encode() in content_types:
                        return mime
                raise Refused(Reason.OFFICE_KIND_REFUSED, accepted=ACCEPTED)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise Refused(Reason.ARCHIVE_UNREADABLE) from exc
    raise Refused(Reason.ZIP_REFUSED, accepted=ACCEPTED)
