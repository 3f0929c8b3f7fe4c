"""Writing a parsed roster (roster.py) into a school, inside the caller's transaction.

Everything is checked before the first write (classrooms, levels, emails and
identities already used by someone else); a problem raises RosterFileError and
the caller's transaction writes nothing. Learners are matched by their
identifier (ELEVE_ID / `identifiant`, kept as `User.national_id`), or, for an
account made by hand before any import, by names and birth date. Nobody is
ever deleted: a learner of a classroom the file covers who is not in the file
is reported as missing, and their portfolios stay as they are; from the import
on, they have left the school (`User.left_at`, the day of the import, unless an
earlier day is set), which starts their retention period (docs/stewardship.md,
part 2). A learner listed again is back: their leaving date is cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from models import stamps
from models.schools import Classroom, Level, School
from models.users import ExternalIdentity, LearnerStatus, Role, User
from resolvers.people.roster import MAX_PROBLEMS, LearnerRow, Roster, RosterFileError


@dataclass
class RosterResult:
    created: list[User] = field(default_factory=list)
    updated: list[User] = field(default_factory=list)
    unchanged: list[User] = field(default_factory=list)
    missing: list[User] = field(default_factory=list)
    classrooms_created: list[Classroom] = field(default_factory=list)
    classrooms_updated: list[Classroom] = field(default_factory=list)
    classrooms_unchanged: list[Classroom] = field(default_factory=list)
    levels_created: list[Level] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _key(first: str, last: str, birth) -> tuple:
    return first.casefold(), last.casefold(), birth


def placeholder_email(row: LearnerRow, uai: str) -> str:
    """Accounts need a unique email; the exports carry none. `.invalid` is reserved: it never delivers."""
    return f"{row.identifier.lower()}.{uai.lower()}@roster.invalid"


class _Plan:
    """What the file means for the school, worked out before any write."""

    def __init__(self, roster: Roster, school: School, level_name: str | None, provider: str | None):
        self.roster, self.school, self.level_name, self.provider = roster, school, level_name, provider
        self.problems: list[str] = []
        self.classrooms: dict[str, Classroom | None] = {}  # file code -> existing classroom, None = to create
        self.new_levels: dict[str, str] = {}  # code of a new classroom -> name of its level
        self.matches: dict[str, User | None] = {}  # identifier -> existing learner, None = to create

    async def make(self) -> None:
        await self._classrooms()
        await self._learners()
        await self._emails()
        if self.provider:
            await self._identities()
        refuse_if_any(self.problems)

    async def _classrooms(self) -> None:
        existing = await Classroom.filter(school=self.school)
        by_code = {c.external_code: c for c in existing if c.external_code}
        by_name = {c.name.casefold(): c for c in existing}
        for row in self.roster.learners:
            if row.classroom in self.classrooms:
                level = self.new_levels.get(row.classroom)
                if row.level and level and row.level.casefold() != level.casefold():
                    self.problems.append(
                        f"{row.where}: classroom {row.classroom!r} is given the level "
                        f"{row.level!r} here and {level!r} above"
                    )
                continue
            found = by_code.get(row.classroom) or by_name.get(row.classroom.casefold())
            if found is not None and found.external_code not in (None, row.classroom):
                self.problems.append(
                    f"{row.where}: classroom {found.name!r} already has the code "
                    f"{found.external_code!r}, not {row.classroom!r}"
                )
            elif found is None and not (row.level or self.level_name):
                self.problems.append(
                    f"{row.where}: classroom {row.classroom!r} is new; give its level "
                    "(CSV column niveau, or the level option)"
                )
            self.classrooms[row.classroom] = found
            if found is None:
                self.new_levels[row.classroom] = row.level or self.level_name or ""

    async def _learners(self) -> None:
        learners = await User.filter(school=self.school, role=Role.LEARNER)
        by_id = {u.national_id: u for u in learners if u.national_id}
        by_person: dict[tuple, list[User]] = {}
        for learner in learners:
            if not learner.national_id:
                by_person.setdefault(_key(learner.first_name, learner.last_name, learner.birth_date), []).append(
                    learner
                )
        for row in self.roster.learners:
            user = by_id.get(row.identifier)
            if user is None:
                candidates = by_person.get(_key(row.first_name, row.last_name, row.birth_date), [])
                user = candidates[0] if len(candidates) == 1 else None
            self.matches[row.identifier] = user
        matched = {u.id for u in self.matches.values() if u is not None}
        covered = {c.id for c in self.classrooms.values() if c is not None}
        self.missing = [u for u in learners if u.is_active and u.classroom_id in covered and u.id not in matched]

    async def _emails(self) -> None:
        self.problems += await email_problems(
            self.roster.learners, self.matches, lambda row: placeholder_email(row, self.school.uai)
        )

    async def _identities(self) -> None:
        assert self.provider is not None
        self.problems += await identity_problems(self.roster.learners, self.matches, self.provider, "learners")


def refuse_if_any(problems: list[str]) -> None:
    """RosterFileError naming the first problems, when there are any: the file is refused whole."""
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"… and {len(problems) - MAX_PROBLEMS} more problem(s)")
        raise RosterFileError(shown)


class ImportedRow(Protocol):
    """A person's row of an import file (learners or teachers), as the checks shared by both read it."""

    @property
    def where(self) -> str: ...
    @property
    def identifier(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def ent_id(self) -> str | None: ...


async def email_problems(
    rows: Sequence[ImportedRow], matches: Mapping[str, User | None], placeholder: Callable[[Any], str]
) -> list[str]:
    """The emails the file would give that another account has, or that two rows of the file share.

    A new account without an email in the file gets `placeholder(row)`; a known one keeps its own."""
    problems: list[str] = []
    wanted: dict[str, ImportedRow] = {}
    for row in rows:
        user = matches[row.identifier]
        email = row.email or (placeholder(row) if user is None else None)
        if email is None or (user is not None and user.email == email):
            continue
        if email in wanted:
            problems.append(f"{row.where}: email {email!r} is also the one of {wanted[email].where}")
        wanted[email] = row
    taken = await User.filter(email__in=list(wanted)).values("id", "email") if wanted else []
    for hit in taken:
        row = wanted[hit["email"]]
        user = matches[row.identifier]
        if user is None or user.id != hit["id"]:
            problems.append(f"{row.where}: email {hit['email']!r} is already another account's")
    return problems


async def identity_problems(
    rows: Sequence[ImportedRow], matches: Mapping[str, User | None], provider: str, people: str
) -> list[str]:
    """The identities at `provider` the file would record that another account holds, or two rows share."""
    problems: list[str] = []
    subjects = {row.ent_id or row.identifier: row for row in rows}
    if len(subjects) < len(rows):
        problems.append(f"document: two {people} share one identifiant_ent for {provider!r}")
    links = await ExternalIdentity.filter(provider=provider, subject__in=list(subjects))
    for link in links:
        row = subjects[link.subject]
        user = matches[row.identifier]
        if user is None or user.id != link.user_id:
            problems.append(f"{row.where}: {link.subject!r} at {provider!r} is already linked to another account")
    return problems


async def _make_classrooms(plan: _Plan, result: RosterResult) -> dict[str, Classroom]:
    levels = {lv.name.casefold(): lv for lv in await Level.filter(school=plan.school)}
    position = max((lv.position for lv in levels.values()), default=0)
    ready: dict[str, Classroom] = {}
    for code, found in plan.classrooms.items():
        if found is None:
            level_name = plan.new_levels[code]
            level = levels.get(level_name.casefold())
            if level is None:
                position += 1
                level = await Level.create(school=plan.school, name=level_name, position=position)
                levels[level_name.casefold()] = level
                result.levels_created.append(level)
            found = await Classroom.create(school=plan.school, level=level, name=code, external_code=code)
            result.classrooms_created.append(found)
        elif found.external_code is None:
            found.external_code = code
            await found.save(update_fields=["external_code"])
            result.classrooms_updated.append(found)
        else:
            result.classrooms_unchanged.append(found)
        ready[code] = found
    return ready


async def link_identity(user: User, provider: str, subject: str) -> bool:
    """Record `subject` as the user's identity at `provider`; True when it changed."""
    link = await ExternalIdentity.get_or_none(user=user, provider=provider)
    if link is None:
        await ExternalIdentity.create(user=user, provider=provider, subject=subject)
        return True
    if link.subject != subject:
        link.subject = subject
        await link.save(update_fields=["subject", "updated_at"])
        return True
    return False


async def _create(row: LearnerRow, school: School, classrooms: dict[str, Classroom]) -> User:
    return await User.create(
        school=school,
        role=Role.LEARNER,
        email=row.email or placeholder_email(row, school.uai),
        first_name=row.first_name,
        last_name=row.last_name,
        birth_date=row.birth_date,
        learner_status=row.status or LearnerStatus.SCHOOL,
        classroom=classrooms[row.classroom],
        national_id=row.identifier,
    )


async def _update(user: User, row: LearnerRow, classrooms: dict[str, Classroom]) -> bool:
    """Names, birth date, classroom, identifier (and status, email when the file gives them); True if changed."""
    wanted = {
        "first_name": row.first_name,
        "last_name": row.last_name,
        "birth_date": row.birth_date,
        "classroom_id": classrooms[row.classroom].id,
        "national_id": row.identifier,
    }
    if row.status:
        wanted["learner_status"] = row.status
    if row.email:
        wanted["email"] = row.email
    if user.left_at is not None:
        wanted["left_at"] = None
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    if changed:
        await user.save(update_fields=[*changed, "updated_at"])
    return bool(changed)


async def apply_roster(
    roster: Roster,
    *,
    school_id: int,
    level_name: str | None = None,
    provider: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RosterResult:
    """Write `roster` into the school; RosterFileError (and nothing written) when it cannot be applied whole.

    Call it inside a transaction: a problem found while writing raises, and the rollback undoes the rest.
    """
    school = await School.get(id=school_id)
    plan = _Plan(roster, school, level_name, provider)
    await plan.make()
    result = RosterResult(missing=plan.missing, warnings=list(roster.warnings))
    classrooms = await _make_classrooms(plan, result)
    leaving = [u.id for u in plan.missing if u.left_at is None]
    if leaving:
        today = dt.date.today()
        await User.filter(id__in=leaving).update(left_at=today)
        for user in plan.missing:
            user.left_at = user.left_at or today
    for row in roster.learners:
        existing = plan.matches[row.identifier]
        if existing is None:
            user, changed = await _create(row, school, classrooms), True
        else:
            user, changed = existing, await _update(existing, row, classrooms)
        if provider and await link_identity(user, provider, row.ent_id or row.identifier):
            changed = True
        (result.created if existing is None else result.updated if changed else result.unchanged).append(user)
        if progress:
            progress(1)
    # In the caller's transaction, with the rows (models/stamps.py).
    await stamps.bump(stamps.school_scope(school_id))
    return result
