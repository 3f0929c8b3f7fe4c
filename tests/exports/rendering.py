"""Rendering DOCX documents as a teacher sees them: LibreOffice (Debian's package) to PDF, poppler to text,
page sizes, fonts and PNG pages. Shared by tests/exports/test_rendering.py and bench/render_documents.py.

Each caller passes its own LibreOffice profile folder (`-env:UserInstallation`), so that parallel runs never
share one (a second soffice on the same profile waits or quits)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SOFFICE = shutil.which("soffice")
POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo", "pdffonts", "pdftoppm"))


def to_pdf(documents: list[Path], out: Path, profile: Path, *, timeout: float = 300) -> list[Path]:
    """Converts every DOCX in one soffice call (one start-up for all); answers the PDFs in the same order."""
    if SOFFICE is None:
        raise RuntimeError("soffice is not installed (apt-get install libreoffice-writer-nogui)")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.resolve().as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(out),
            *map(str, documents),
        ],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    pdfs = [out / (document.stem + ".pdf") for document in documents]
    missing = [pdf.name for pdf in pdfs if not pdf.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice made no PDF of {missing}")
    return pdfs


def pages_text(pdf: Path) -> list[str]:
    """The text of each page, laid out as on the page (pdftotext -layout): one string per page."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


@dataclass(frozen=True)
class PageSize:
    width_pt: float
    height_pt: float

    @property
    def landscape(self) -> bool:
        return self.width_pt > self.height_pt


def page_sizes(pdf: Path) -> list[PageSize]:
    """Each page's size in points (pdfinfo -f 1 -l N)."""
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    sizes = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", str(count), str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    return [
        PageSize(float(width), float(height))
        for width, height in re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", sizes, re.M)
    ]


@dataclass(frozen=True)
class PdfFont:
    name: str
    embedded: bool


def fonts(pdf: Path) -> list[PdfFont]:
    """The fonts LibreOffice used (pdffonts), without the subset prefix (ABCDEF+Carlito → Carlito)."""
    lines = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout.splitlines()
    found = []
    for line in lines[2:]:
        columns = line.split()
        if len(columns) < 5:
            continue
        # name, type (one or two words), encoding, emb, sub, uni, object, ID: count from the end
        name, embedded = columns[0].split("+", 1)[-1], columns[-5] == "yes"
        found.append(PdfFont(name, embedded))
    return found


def to_png(pdf: Path, out: Path, *, resolution: int = 60) -> list[Path]:
    """The pages as PNG images (pdftoppm -png -r 60): out/<pdf stem>-<n>.png."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", str(resolution), str(pdf), str(out / pdf.stem)], check=True)
    return sorted(out.glob(f"{pdf.stem}-*.png"))


def squeeze(text: str) -> str:
    """Runs of spaces as one: pdftotext -layout pads columns with spaces."""
    return re.sub(r"[ \t]+", " ", text)
