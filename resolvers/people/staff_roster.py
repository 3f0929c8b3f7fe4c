"""Staff files: teachers and the classrooms they teach, from the school-administration exports.

Two formats (docs/identity.md, "Teachers import"):
- XML: the timetable export of STS-Web (« STS_emp_<UAI>_<année>.xml », root `STS_EDT`): the `INDIVIDU`
  elements of `DONNEES/INDIVIDUS` (attribute ID; NOM_USAGE or NOM_PATRONYMIQUE, PRENOM, FONCTION) and the
  services of `DONNEES/STRUCTURE`: a `DIVISION` (or a `GROUPE` and the divisions it belongs to) whose
  `SERVICE` lists an `ENSEIGNANT ID` is a classroom that person teaches. Teachers are the individuals whose
  FONCTION is ENS, and anyone the services name as ENSEIGNANT; the other staff (direction, education, …) are
  skipped with a warning. Before the timetable is sent up to STS-Web the export carries no services: then the
  teachers are imported and their classrooms are left as they are.
- CSV: one teacher a line, columns `identifiant, nom, prenom` (+ optional `email, classes, identifiant_ent`);
  `classes` lists the classroom codes or names separated by `|`.

Parsing is pure, as for learners (roster.py): a file becomes validated `TeacherRow`s or a `RosterFileError`
listing every problem; writing is in staff_roster_write.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from resolvers.people.roster import (
    LIMITS,
    Problems,
    RosterFileError,
    RosterFormat,
    check_person,
    child_text,
    csv_records,
    decode_text,
    read_xml,
)

MAX_TEACHERS = 5_000
REQUIRED_COLUMNS = ("identifiant", "nom", "prenom")
OPTIONAL_COLUMNS = ("email", "classes", "identifiant_ent")
TEACHING_FUNCTION = "ENS"


@dataclass(frozen=True)
class TeacherRow:
    where: str
    identifier: str
    last_name: str
    first_name: str
    email: str | None = None
    # Codes (or names) of the classrooms taught; None when the file says nothing of them.
    classrooms: tuple[str, ...] | None = None
    ent_id: str | None = None


@dataclass
class StaffRoster:
    teachers: list[TeacherRow]
    warnings: list[str] = field(default_factory=list)


def _checked(problems: Problems, where: str, values: dict[str, str], seen: set[str]) -> TeacherRow | None:
    before = len(problems.items)
    identifier, email = check_person(
        problems, where, values, seen, REQUIRED_COLUMNS, ("identifiant", "nom", "prenom", "email", "identifiant_ent")
    )
    raw_classes = values.get("classes")
    classrooms = None if raw_classes is None else tuple(c.strip() for c in raw_classes.split("|") if c.strip())
    for code in classrooms or ():
        if len(code) > LIMITS["classe"]:
            problems.add(where, f"classroom {code[:20]!r}… is longer than {LIMITS['classe']} characters")
    if len(problems.items) > before:
        return None
    return TeacherRow(
        where=where,
        identifier=identifier,
        last_name=values["nom"],
        first_name=values["prenom"],
        email=email,
        classrooms=classrooms,
        ent_id=values.get("identifiant_ent") or None,
    )


def parse_csv(text: str) -> StaffRoster:
    problems, roster, seen = Problems(), StaffRoster([]), set[str]()
    for where, values in csv_records(text, REQUIRED_COLUMNS, OPTIONAL_COLUMNS, problems, roster.warnings, MAX_TEACHERS):
        row = _checked(problems, where, values, seen)
        if row:
            roster.teachers.append(row)
    if not roster.teachers and not problems.items:
        problems.add("line 2", "no teacher in the file")
    problems.raise_any()
    return roster


def _services(root: Element) -> dict[str, list[str]] | None:
    """Individual ID -> the divisions they teach, in the file's order; None when the export has no service."""
    taught: dict[str, list[str]] = {}
    found = False
    structure = root.find("DONNEES/STRUCTURE")
    if structure is None:
        return None
    for division in structure.iter("DIVISION"):
        code = division.get("CODE", "").strip()
        for teacher in division.iter("ENSEIGNANT"):
            found = True
            listed = taught.setdefault(teacher.get("ID", "").strip(), [])
            if code and code not in listed:
                listed.append(code)
    for group in structure.iter("GROUPE"):
        codes = [d.get("CODE", "").strip() for d in group.iter("DIVISION_APPARTENANCE")]
        for teacher in group.iter("ENSEIGNANT"):
            found = True
            listed = taught.setdefault(teacher.get("ID", "").strip(), [])
            listed.extend(code for code in codes if code and code not in listed)
    return taught if found else None


def parse_xml(data: bytes | str) -> StaffRoster:
    problems, roster, seen = Problems(), StaffRoster([]), set[str]()
    root = read_xml(data)
    individuals = root.findall("DONNEES/INDIVIDUS/INDIVIDU")
    if root.tag != "STS_EDT" or not individuals:
        raise RosterFileError(["document: no STS_EDT/DONNEES/INDIVIDUS/INDIVIDU element; is this the STS-Web export?"])
    services = _services(root)
    if services is None:
        roster.warnings.append(
            "document: no service names a teacher (the timetable is not in the export yet): "
            "the teachers' classrooms are left as they are"
        )
    for index, individual in enumerate(individuals, start=1):
        identifier = individual.get("ID", "").strip()
        where = f"INDIVIDU #{index}" + (f" (ID {identifier})" if identifier else "")
        if index > MAX_TEACHERS:
            problems.add(where, f"more than {MAX_TEACHERS} individuals in one file")
            break
        function = child_text(individual, "FONCTION").upper()
        teaches = services is not None and identifier in services
        if function != TEACHING_FUNCTION and not teaches:
            roster.warnings.append(f"{where}: FONCTION {function or 'absent'} is not teaching (ENS), not imported")
            continue
        values = {
            "identifiant": identifier,
            "nom": child_text(individual, "NOM_USAGE", "NOM_PATRONYMIQUE"),
            "prenom": child_text(individual, "PRENOM"),
        }
        row = _checked(problems, where, values, seen)
        if row:
            classrooms = None if services is None else tuple(services.get(identifier, ()))
            roster.teachers.append(
                TeacherRow(
                    where=row.where,
                    identifier=row.identifier,
                    last_name=row.last_name,
                    first_name=row.first_name,
                    classrooms=classrooms,
                )
            )
    if not roster.teachers and not problems.items:
        problems.add("document", "no teacher (FONCTION ENS) in the file")
    problems.raise_any()
    return roster


def parse_staff(data: bytes | str, fmt: RosterFormat) -> StaffRoster:
    if fmt is RosterFormat.XML:
        return parse_xml(data)
    return parse_csv(decode_text(data) if isinstance(data, bytes) else data)
