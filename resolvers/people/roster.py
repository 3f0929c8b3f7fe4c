"""Roster files: learners and their classrooms from the school-administration exports.

Two formats (docs/identity.md, "Roster import"):
- XML: the learners export of the school-administration system (SIECLE
  « ElevesSansAdresses » and alike): `ELEVE` elements (ELEVE_ID, NOM_DE_FAMILLE
  or NOM, PRENOM, DATE_NAISS) and `STRUCTURES_ELEVE` elements whose
  `CODE_STRUCTURE` (of TYPE_STRUCTURE D, the division) is the classroom;
- CSV: one learner a line, columns `identifiant, nom, prenom, date_naissance,
  classe` (+ optional `email, statut, niveau, identifiant_ent`).

Parsing is pure: a file becomes validated `LearnerRow`s or a `RosterFileError`
listing every problem with its line or element; nothing is written for a bad
file. Writing is in roster_write.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeXML
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from models.users import LearnerStatus

MAX_LEARNERS = 20_000
MAX_PROBLEMS = 50
REQUIRED_COLUMNS = ("identifiant", "nom", "prenom", "date_naissance", "classe")
OPTIONAL_COLUMNS = ("email", "statut", "niveau", "identifiant_ent")
STATUSES = {
    "eleve": LearnerStatus.SCHOOL,
    "scolaire": LearnerStatus.SCHOOL,
    "school": LearnerStatus.SCHOOL,
    "apprenti": LearnerStatus.APPRENTICE,
    "apprentice": LearnerStatus.APPRENTICE,
}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
XML_NAMES = {
    "identifiant": "ELEVE_ID",
    "nom": "NOM_DE_FAMILLE",
    "prenom": "PRENOM",
    "date_naissance": "DATE_NAISS",
    "classe": "CODE_STRUCTURE",
}
LIMITS = {
    "identifiant": 40,
    "nom": 100,
    "prenom": 100,
    "classe": 100,
    "email": 254,
    "niveau": 200,
    "identifiant_ent": 254,
}


class RosterFormat(str, Enum):
    XML = "XML"
    CSV = "CSV"


class RosterFileError(Exception):
    """The file is refused whole; each problem is "where: what"."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class LearnerRow:
    where: str
    identifier: str
    last_name: str
    first_name: str
    birth_date: dt.date
    classroom: str
    email: str | None = None
    status: LearnerStatus | None = None
    level: str | None = None
    ent_id: str | None = None


@dataclass
class Roster:
    learners: list[LearnerRow]
    warnings: list[str] = field(default_factory=list)


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def raise_any(self) -> None:
        if self.items:
            shown = self.items[:MAX_PROBLEMS]
            if len(self.items) > MAX_PROBLEMS:
                shown.append(f"… and {len(self.items) - MAX_PROBLEMS} more problem(s)")
            raise RosterFileError(shown)


def parse_date(value: str) -> dt.date | None:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        return parsed if dt.date(1900, 1, 1) <= parsed <= dt.date.today() else None
    return None


def check_person(
    problems: Problems,
    where: str,
    values: dict[str, str],
    seen: set[str],
    required: tuple[str, ...],
    limited: tuple[str, ...],
    labels: dict[str, str] | None = None,
) -> tuple[str, str | None]:
    """What a learner's and a teacher's row share: the required values, the lengths, the email, an identifier
    seen once in the file. Problems are noted (named as the file names the column); returns the identifier and
    the email, lower-cased."""
    name = (labels or {}).get
    for key in required:
        if not values.get(key):
            problems.add(where, f"{name(key, key)} is missing or empty")
    for key in limited:
        if len(values.get(key) or "") > LIMITS[key]:
            problems.add(where, f"{name(key, key)} is longer than {LIMITS[key]} characters")
    email = (values.get("email") or "").lower() or None
    if email and not EMAIL.fullmatch(email):
        problems.add(where, f"email {email!r} is not an email address")
    identifier = values.get("identifiant") or ""
    if identifier and identifier in seen:
        problems.add(where, f"{name('identifiant', 'identifiant')} {identifier!r} appears twice in the file")
    seen.add(identifier)
    return identifier, email


def _checked(
    problems: Problems, where: str, values: dict[str, str], seen: set[str], labels: dict[str, str] | None = None
) -> LearnerRow | None:
    """One learner's values (keys as the CSV columns) checked; None and problems noted when bad."""
    before = len(problems.items)
    name = (labels or {}).get
    identifier, email = check_person(problems, where, values, seen, REQUIRED_COLUMNS, tuple(LIMITS), labels)
    birth = values.get("date_naissance")
    birth_date = parse_date(birth) if birth else None
    if birth and birth_date is None:
        problems.add(where, f"{name('date_naissance', 'date_naissance')} {birth!r} is not a past date (DD/MM/YYYY)")
    raw_status = values.get("statut") or ""
    status = STATUSES.get(plain(raw_status)) if raw_status else None
    if raw_status and status is None:
        problems.add(where, f"statut {raw_status!r} is neither 'élève' nor 'apprenti'")
    if len(problems.items) > before:
        return None
    assert birth_date is not None  # a missing or unreadable date is a problem noted above
    return LearnerRow(
        where=where,
        identifier=identifier,
        last_name=values["nom"],
        first_name=values["prenom"],
        birth_date=birth_date,
        classroom=values["classe"],
        email=email,
        status=status,
        level=values.get("niveau") or None,
        ent_id=values.get("identifiant_ent") or None,
    )


def plain(text: str) -> str:
    """Lower case, no accents, spaces and hyphens as underscores: how column names and statuses compare."""
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", "_", flat.strip().lower())


def decode_text(data: bytes) -> str:
    """A CSV file's text: UTF-8 (with or without BOM), else Windows-1252 as spreadsheets write it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def csv_records(
    text: str, required: tuple[str, ...], optional: tuple[str, ...], problems: Problems, warnings: list[str], limit: int
) -> Iterator[tuple[str, dict[str, str]]]:
    """Each non-empty line of a CSV file as (where, values by plain column name), its delimiter (`;`, `,` or tab)
    guessed from the header; problems of the header or of a line's shape are noted, and stop at `limit` lines."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [plain(name) for name in next(reader, [])]
        missing = [name for name in required if name not in header]
        if missing:
            problems.add("line 1", f"missing column(s): {', '.join(missing)} (required: {', '.join(required)})")
            problems.raise_any()
        doubled = sorted({name for name in header if name and header.count(name) > 1})
        if doubled:
            problems.add("line 1", f"column(s) {', '.join(doubled)} appear twice")
            problems.raise_any()
        ignored = [name for name in header if name not in required + optional]
        if ignored:
            warnings.append(f"column(s) ignored: {', '.join(ignored)}")
        count = 0
        for fields in reader:
            where = f"line {reader.line_num}"
            if not any(value.strip() for value in fields):
                continue
            if len(fields) != len(header):
                problems.add(where, f"{len(fields)} field(s) where the header has {len(header)}")
                continue
            if count + len(problems.items) >= limit:
                problems.add(where, f"more than {limit} lines in one file")
                break
            count += 1
            yield where, {k: v.strip() for k, v in zip(header, fields, strict=True)}
    except csv.Error as exc:
        problems.add(f"line {reader.line_num}", f"not readable as CSV ({exc})")


def parse_csv(text: str) -> Roster:
    problems, roster, seen = Problems(), Roster([]), set[str]()
    for where, values in csv_records(text, REQUIRED_COLUMNS, OPTIONAL_COLUMNS, problems, roster.warnings, MAX_LEARNERS):
        row = _checked(problems, where, values, seen)
        if row:
            roster.learners.append(row)
    if not roster.learners and not problems.items:
        problems.add("line 2", "no learner in the file")
    problems.raise_any()
    return roster


def child_text(element: Element, *names: str) -> str:
    """The first non-empty of the children (or attributes) `names` of `element`."""
    for name in names:
        value = element.get(name)
        if value is None:
            child = element.find(name)
            value = child.text if child is not None else None
        if value and value.strip():
            return value.strip()
    return ""


def _division(structures: Element) -> str:
    """The classroom among a learner's structures: the division (D), else an untyped one."""
    items = structures.findall("STRUCTURE") or [structures]
    for wanted in ("D", ""):
        for item in items:
            if child_text(item, "TYPE_STRUCTURE").upper() == wanted and child_text(item, "CODE_STRUCTURE"):
                return child_text(item, "CODE_STRUCTURE")
    return ""


def read_xml(data: bytes | str) -> Element:
    """The root element of an export, parsed with DTDs, entities and external references refused."""
    try:
        return SafeXML.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise RosterFileError(
            [
                "document: declares a DTD or entities, refused (entity expansion attacks); "
                "the school-administration exports declare none"
            ]
        ) from None
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise RosterFileError([f"line {line}, column {column + 1}: XML error, {reason}"]) from None
    except (DefusedXmlException, ValueError) as exc:
        raise RosterFileError([f"document: not readable as XML ({type(exc).__name__})"]) from None


def parse_xml(data: bytes | str) -> Roster:
    problems, roster, seen = Problems(), Roster([]), set[str]()
    root = read_xml(data)
    eleves = list(root.iter("ELEVE"))
    if not eleves:
        raise RosterFileError(["document: no ELEVE element; is this the learners export?"])
    divisions: dict[str, str] = {}
    for structures in root.iter("STRUCTURES_ELEVE"):
        key = child_text(structures, "ELEVE_ID")
        if key:
            divisions[key] = _division(structures)
    today = dt.date.today()
    for index, eleve in enumerate(eleves, start=1):
        identifier = child_text(eleve, "ELEVE_ID")
        where = f"ELEVE #{index}" + (f" (ELEVE_ID {identifier})" if identifier else "")
        if index > MAX_LEARNERS:
            problems.add(where, f"more than {MAX_LEARNERS} learners in one file")
            break
        left = parse_date(child_text(eleve, "DATE_SORTIE"))
        if left is not None and left <= today:
            roster.warnings.append(f"{where}: left the school on {left:%d/%m/%Y}, not imported")
            continue
        inner = eleve.find("STRUCTURES_ELEVE")
        classroom = _division(inner) if inner is not None else divisions.get(identifier, "")
        if identifier and not classroom:
            roster.warnings.append(f"{where}: in no classroom (no STRUCTURES_ELEVE division), not imported")
            continue
        values = {
            "identifiant": identifier,
            "nom": child_text(eleve, "NOM_USAGE", "NOM_DE_FAMILLE", "NOM"),
            "prenom": child_text(eleve, "PRENOM"),
            "date_naissance": child_text(eleve, "DATE_NAISS"),
            "classe": classroom,
        }
        row = _checked(problems, where, values, seen, XML_NAMES)
        if row:
            roster.learners.append(row)
    problems.raise_any()
    return roster


def parse_roster(data: bytes | str, fmt: RosterFormat) -> Roster:
    if fmt is RosterFormat.XML:
        return parse_xml(data)
    return parse_csv(decode_text(data) if isinstance(data, bytes) else data)
