"""Writing a parsed staff file (staff_roster.py) into a school, inside the caller's transaction.

As for learners (roster_write.py): everything is checked before the first write, and a problem raises
RosterFileError so the caller's transaction writes nothing. Teachers are matched by their identifier in the
export (the STS-Web INDIVIDU ID / `identifiant`, kept as `User.national_id`), or, for an account made by hand
before any import, by first and last name when exactly one teacher of the school bears them. A new teacher's
account has no password: they sign in through the school's ENT (with `identityProvider`) or an administrator
gives them a temporary one. Nobody is deleted or deactivated: teachers of the school absent from the file are
reported as missing. Classrooms are never created here (they come with the learners' import): a classroom
the file names that the school does not have is a warning, and the teacher's other classrooms are set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models import stamps
from models.schools import Classroom, School
from models.users import Role, User
from resolvers.people.roster_write import email_problems, identity_problems, link_identity, refuse_if_any
from resolvers.people.staff_roster import StaffRoster, TeacherRow


@dataclass
class StaffResult:
    created: list[User] = field(default_factory=list)
    updated: list[User] = field(default_factory=list)
    unchanged: list[User] = field(default_factory=list)
    missing: list[User] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def placeholder_email(row: TeacherRow, uai: str) -> str:
    """Accounts need a unique email; STS-Web gives none. `.invalid` is reserved: it never delivers."""
    return f"{row.identifier.lower()}.{uai.lower()}@staff.invalid"


def _name_key(first: str, last: str) -> tuple[str, str]:
    return first.casefold(), last.casefold()


async def _matches(roster: StaffRoster, school: School) -> tuple[dict[str, User | None], list[User]]:
    teachers = await User.filter(school=school, role=Role.TEACHER)
    by_id = {u.national_id: u for u in teachers if u.national_id}
    by_name: dict[tuple[str, str], list[User]] = {}
    for teacher in teachers:
        if not teacher.national_id:
            by_name.setdefault(_name_key(teacher.first_name, teacher.last_name), []).append(teacher)
    matches: dict[str, User | None] = {}
    for row in roster.teachers:
        user = by_id.get(row.identifier)
        if user is None:
            candidates = by_name.get(_name_key(row.first_name, row.last_name), [])
            user = candidates[0] if len(candidates) == 1 else None
        matches[row.identifier] = user
    matched = {u.id for u in matches.values() if u is not None}
    missing = [u for u in teachers if u.is_active and u.national_id and u.id not in matched]
    return matches, missing


def _taught(row: TeacherRow, classrooms: list[Classroom], warnings: list[str]) -> list[Classroom] | None:
    """The school's classrooms a row names (by export code, else by name); None when the file says nothing."""
    if row.classrooms is None:
        return None
    by_code = {c.external_code: c for c in classrooms if c.external_code}
    by_name = {c.name.casefold(): c for c in classrooms}
    found: list[Classroom] = []
    for code in row.classrooms:
        classroom = by_code.get(code) or by_name.get(code.casefold())
        if classroom is None:
            warnings.append(
                f"{row.where}: classroom {code!r} is not in the school (import the learners first), skipped"
            )
        elif classroom not in found:
            found.append(classroom)
    return found


async def _write(
    row: TeacherRow, user: User | None, school: School, taught: list[Classroom] | None
) -> tuple[User, bool]:
    """Create or bring up to date one teacher: the account, and whether something changed."""
    if user is None:
        user = await User.create(
            school=school,
            role=Role.TEACHER,
            email=row.email or placeholder_email(row, school.uai),
            first_name=row.first_name,
            last_name=row.last_name,
            national_id=row.identifier,
        )
        if taught:
            await user.taught_classrooms.add(*taught)
        return user, True
    wanted = {"first_name": row.first_name, "last_name": row.last_name, "national_id": row.identifier}
    if row.email:
        wanted["email"] = row.email
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    if changed:
        await user.save(update_fields=[*changed, "updated_at"])
    if taught is not None:
        current = set(await user.taught_classrooms.all().values_list("id", flat=True))
        if current != {c.id for c in taught}:
            await user.taught_classrooms.clear()
            if taught:
                await user.taught_classrooms.add(*taught)
            return user, True
    return user, bool(changed)


async def apply_staff(roster: StaffRoster, *, school_id: int, provider: str | None = None) -> StaffResult:
    """Write `roster` into the school; RosterFileError (and nothing written) when it cannot be applied whole.

    Call it inside a transaction: a problem found while writing raises, and the rollback undoes the rest.
    """
    school = await School.get(id=school_id)
    matches, missing = await _matches(roster, school)
    problems = await email_problems(roster.teachers, matches, lambda row: placeholder_email(row, school.uai))
    if provider:
        problems += await identity_problems(roster.teachers, matches, provider, "teachers")
    refuse_if_any(problems)
    result = StaffResult(missing=missing, warnings=list(roster.warnings))
    classrooms = await Classroom.filter(school=school)
    for row in roster.teachers:
        existing = matches[row.identifier]
        user, changed = await _write(row, existing, school, _taught(row, classrooms, result.warnings))
        if provider and await link_identity(user, provider, row.ent_id or row.identifier):
            changed = True
        (result.created if existing is None else result.updated if changed else result.unchanged).append(user)
    # In the caller's transaction, with the rows (models/stamps.py).
    await stamps.bump(stamps.school_scope(school_id))
    return result
