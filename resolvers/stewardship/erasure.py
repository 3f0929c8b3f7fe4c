"""Retention and erasure of a learner's personal data (docs/stewardship.md, part 2).

A learner is erased as a list of steps (`LEARNER_STEPS`), each a function that counts what it would change for one
learner and, when asked to, changes it. The dry run (`pfmp purge --dry-run`) runs every step without writing; an
erasure runs them all in one transaction per learner, so a learner is either fully kept or fully erased whatever
stops the purge. The files the steps name (annexes, scans of bilans signed on paper) are removed from the annex
store only after that transaction committed, then looked up again: a file still there is reported.

Erasure keeps the rows the school's figures count (the learner's row, pseudonymised; portfolios, fiche rows, the
tasks they link, the bilans' results, interim reviews' records) and the validated allowance statements, which keep
the learner's name as validated (10 years, the school's `allowance_retention_years`). It removes what access.md calls
personal (names, email, phone, birth date), the learner's identifiers (national id, identity-provider links), the
free texts they wrote (fiches' titles, descriptions, analyses, workplaces; the liaison fiche's workplace), the
bilans' comments and event notes, and their files.

School-wide steps (`SCHOOL_STEPS`) run once per school after the learners: the allowance statements past their
retention lose the names of erased learners. The audit trail's step (entries older than the school's
`audit_retention_days`) is to be added to that list once the audit table exists.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from models import audit, stamps
from models.allowance import AllowanceStatement
from models.audit import AuditEntry, AuditKind, purge_audit_entries
from models.bilans import BilanEvent, BilanStatus, CompanyBilan
from models.fiches import ActivityFiche, Annex
from models.idempotency import IdempotencyKey
from models.links import TrainerLink
from models.portfolios import LiaisonFiche, Portfolio
from models.schools import School
from models.signin import ProviderSession, RefreshToken
from models.users import ExternalIdentity, Role, User
from resolvers.fiches.annex_store import AnnexStore, names

PSEUDONYM_FIRST_NAME = "Élève"
ERASED_EMAIL_DOMAIN = "erased.invalid"
# What an erased free text that was filled in becomes.
ERASED_TEXT = "(effacé)"
# The liaison fiche's workplace, which the learner fills in (access.md, "LiaisonFiche · workplace").
LIAISON_WORKPLACE = (
    "company_name",
    "activity_domain",
    "service",
    "company_address",
    "company_siret",
    "tutor_name",
    "tutor_role",
)


def school_year_end(day: dt.date) -> dt.date:
    """The last day of the French school year `day` falls in (school years end on 31 August)."""
    return dt.date(day.year if day.month <= 8 else day.year + 1, 8, 31)


def kept_until(left_at: dt.date, school_years: int) -> dt.date:
    """The last day a learner's portfolios and evaluations are kept: the end of the `school_years`-th school year
    after the one they left in (2 by default: a learner who left in June 2024 is kept until 31 August 2026)."""
    return dt.date(school_year_end(left_at).year + school_years, 8, 31)


def fiche_title(reference: int | None) -> str:
    """What an erased fiche's title becomes: its number only (the bilans' marks still point at it)."""
    return f"Fiche {reference}" if reference is not None else "Fiche"


@dataclass
class Plan:
    """One learner's rows, as the steps read them, and what the steps count and collect."""

    learner: User
    portfolio_ids: list[int]
    fiche_ids: list[int]
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


Step = Callable[[Plan, bool], Awaitable[int]]


async def _annexes(plan: Plan, write: bool) -> int:
    rows = cast(
        "list[str | None]", await Annex.filter(fiche_id__in=plan.fiche_ids).values_list("stored_name", flat=True)
    )
    plan.files.extend(names(rows))
    if write:
        await Annex.filter(fiche_id__in=plan.fiche_ids).delete()
    return len(rows)


async def _fiches(plan: Plan, write: bool) -> int:
    fiches = await ActivityFiche.filter(id__in=plan.fiche_ids).only("id", "reference", "description")
    if write:
        for fiche in fiches:
            # A filled-in description becomes a marker, not empty: the fiche still counts as completed (R2) in the
            # school's figures.
            await ActivityFiche.filter(id=fiche.id).update(
                title=fiche_title(fiche.reference),
                description=ERASED_TEXT if fiche.description else "",
                analysis="",
                workplace=None,
            )
    return len(fiches)


async def _liaison_fiches(plan: Plan, write: bool) -> int:
    query = LiaisonFiche.filter(portfolio_id__in=plan.portfolio_ids)
    # Counted apart: on SQLite an update answers the rows its triggers touched too (migration 0017).
    count = await query.count()
    if write:
        await query.update(**dict.fromkeys(LIAISON_WORKPLACE))
    return count


def _scrubbed_grid(grid: dict | None) -> dict | None:
    """A completed bilan's frozen grid without the learner's texts: fiche titles become their numbers, the
    workplace of the header goes (the trainers' names and the dates stay)."""
    if not grid:
        return grid
    scrubbed = dict(grid)
    scrubbed["fiches"] = [[ref, fiche, fiche_title(ref)] for ref, fiche, _ in grid.get("fiches", [])]
    if isinstance(grid.get("header"), dict):
        scrubbed["header"] = {**grid["header"], "workplace": None}
    return scrubbed


async def _bilans(plan: Plan, write: bool) -> int:
    bilans = await CompanyBilan.filter(portfolio_id__in=plan.portfolio_ids)
    plan.files.extend(names(b.scan_stored_name for b in bilans))
    if write:
        for bilan in bilans:
            await CompanyBilan.filter(id=bilan.id).update(
                comment="",
                frozen_grid=_scrubbed_grid(bilan.frozen_grid),
                scan_stored_name=None,
                scan_filename=None,
                scan_content_type=None,
                scan_size=None,
            )
    return len(bilans)


async def _bilan_notes(plan: Plan, write: bool) -> int:
    query = BilanEvent.filter(bilan__portfolio_id__in=plan.portfolio_ids).exclude(note="")
    if write:
        ids = await query.values_list("id", flat=True)
        return await BilanEvent.filter(id__in=list(ids)).update(note="") if ids else 0
    return await query.count()


async def _trainer_links(plan: Plan, write: bool) -> int:
    query = TrainerLink.filter(portfolio_id__in=plan.portfolio_ids, revoked_at=None)
    if write:
        return await query.update(revoked_at=dt.datetime.now(dt.UTC))
    return await query.count()


async def _identities(plan: Plan, write: bool) -> int:
    query = ExternalIdentity.filter(user_id=plan.learner.id)
    if write:
        return await query.delete()
    return await query.count()


async def _signin_records(plan: Plan, write: bool) -> int:
    """The learner's sign-in records: sessions at identity providers (their identifier there), refresh tokens and
    idempotency keys. The account's tokens are revoked with it (`_account`); these rows would only keep traces."""
    queries = (
        ProviderSession.filter(user_id=plan.learner.id),
        RefreshToken.filter(user_id=plan.learner.id),
        IdempotencyKey.filter(user_id=plan.learner.id),
    )
    if write:
        return sum([await query.delete() for query in queries])
    return sum([await query.count() for query in queries])


async def _pseudonym(school_id: int) -> str:
    """« 7F3A »: four hexadecimal digits drawn at random (never derived from the learner), unused in the school."""
    while True:
        tag = secrets.token_hex(2).upper()
        if not await User.exists(school_id=school_id, role=Role.LEARNER, last_name=tag):
            return tag


async def _account(plan: Plan, write: bool) -> int:
    if write:
        learner = plan.learner
        tag = await _pseudonym(learner.school_id)
        await User.filter(id=learner.id).update(
            first_name=PSEUDONYM_FIRST_NAME,
            last_name=tag,
            email=f"eleve-{secrets.token_hex(8)}@{ERASED_EMAIL_DOMAIN}",
            password_hash=None,
            password_change_required=False,
            phone=None,
            birth_date=None,
            national_id=None,
            is_active=False,
            token_version=F("token_version") + 1,
            left_at=learner.left_at or dt.date.today(),
            erased_at=dt.datetime.now(dt.UTC),
        )
    return 1


# The order matters only for what a failure leaves: nothing, since they run in one transaction.
LEARNER_STEPS: list[tuple[str, Step]] = [
    ("annexes", _annexes),
    ("fiches", _fiches),
    ("liaison fiches", _liaison_fiches),
    ("bilans", _bilans),
    ("bilan event notes", _bilan_notes),
    ("trainer links", _trainer_links),
    ("identity links", _identities),
    ("sign-in records", _signin_records),
    ("account", _account),
]


async def plan_of(learner: User) -> Plan:
    portfolio_ids = cast("list[int]", await Portfolio.filter(learner_id=learner.id).values_list("id", flat=True))
    fiche_ids = cast("list[int]", await ActivityFiche.filter(learner_id=learner.id).values_list("id", flat=True))
    return Plan(learner, portfolio_ids, fiche_ids)


async def open_period_learners(learner_ids: list[int], today: dt.date) -> set[int]:
    """The learners with an open period: one that has not ended, or whose bilan is not completed."""
    if not learner_ids:
        return set()
    portfolios = await Portfolio.filter(learner_id__in=learner_ids).values("id", "learner_id", "period__end_date")
    completed = set(
        await CompanyBilan.filter(
            portfolio_id__in=[p["id"] for p in portfolios], status=BilanStatus.COMPLETED
        ).values_list("portfolio_id", flat=True)
    )
    return {p["learner_id"] for p in portfolios if p["period__end_date"] >= today or p["id"] not in completed}


async def run_steps(plan: Plan, *, write: bool) -> Plan:
    for name, step in LEARNER_STEPS:
        plan.rows[name] = await step(plan, write)
    return plan


async def erase_rows(learner: User) -> Plan:
    """Run every step on one learner in the caller's transaction; the files to remove are in the plan."""
    plan = await run_steps(await plan_of(learner), write=True)
    # In the same transaction: the school's cached answers no longer hold (models/stamps.py).
    await stamps.bump(stamps.school_scope(learner.school_id))
    return plan


async def remove_files(store: AnnexStore, files: list[str]) -> list[str]:
    """Remove the files from the store, then look each up again: the names still there (none when all went)."""
    if not files:
        return []
    await store.delete(files)
    return [name for name in files if await store.stat(name) is not None]


# --- the purge -------------------------------------------------------------------------------------------------


class PurgeStopped(Exception):
    """The erasure of one learner failed: it was rolled back whole, and the purge stopped there."""

    def __init__(self, learner: User, cause: Exception) -> None:
        super().__init__(f"learner {learner.id}: {type(cause).__name__}")
        self.learner = learner
        self.cause = cause


@dataclass
class Candidate:
    learner: User
    left_at: dt.date
    kept_until: dt.date
    open_period: bool
    plan: Plan | None = None
    files_left: list[str] = field(default_factory=list)


@dataclass
class SchoolPurge:
    school: School
    candidates: list[Candidate] = field(default_factory=list)
    # School-wide steps: what each changed (or would change).
    rows: dict[str, int] = field(default_factory=dict)


async def _allowance_names(school: School, today: dt.date, write: bool) -> int:
    """Validated allowance statements older than the school's allowance retention: the lines of erased learners
    lose their names and national ids (the amounts, days and totals stay)."""
    limit = today.replace(year=today.year - school.allowance_retention_years, month=1, day=1)
    erased = dict(
        await User.filter(school_id=school.id, role=Role.LEARNER, erased_at__isnull=False).values_list(
            "id", "last_name"
        )
    )
    if not erased:
        return 0
    changed = 0
    for statement in await AllowanceStatement.filter(school_id=school.id, validated_at__lt=limit):
        lines = []
        touched = False
        for line in statement.lines:
            if line.get("learner_id") in erased and line.get("first_name") != PSEUDONYM_FIRST_NAME:
                line = {
                    **line,
                    "first_name": PSEUDONYM_FIRST_NAME,
                    "last_name": erased[line["learner_id"]],
                    "national_id": None,
                }
                touched = True
            lines.append(line)
        if touched:
            changed += 1
            if write:
                await AllowanceStatement.filter(id=statement.id).update(lines=lines)
    return changed


async def _audit_entries(school: School, today: dt.date, write: bool) -> int:
    """The school's audit entries older than its audit retention (`audit_retention_days`, one year by default)."""
    before = dt.datetime.combine(today - dt.timedelta(days=school.audit_retention_days), dt.time.min, tzinfo=dt.UTC)
    if write:
        return await purge_audit_entries(before, school_id=school.id)
    return await AuditEntry.filter(school_id=school.id, at__lt=before).count()


async def _expired_sign_ins(school: School, today: dt.date, write: bool) -> int:
    """Sign-in records of the school's accounts past their own expiry: the sessions opened at identity providers
    (they keep the provider's ID token, names and email in its claims) and the refresh tokens. Neither works any
    more; kept, they would only hold personal data no one needs."""
    now = dt.datetime.combine(today, dt.time.min, tzinfo=dt.UTC)
    queries = (
        ProviderSession.filter(user__school_id=school.id, expires_at__lt=now),
        RefreshToken.filter(user__school_id=school.id, expires_at__lt=now),
    )
    if write:
        total = 0
        for query in queries:
            ids = list(await query.values_list("id", flat=True))
            if ids:
                total += await query.model.filter(id__in=ids).delete()
        return total
    return sum([await query.count() for query in queries])


SchoolStep = Callable[[School, dt.date, bool], Awaitable[int]]
SCHOOL_STEPS: list[tuple[str, SchoolStep]] = [
    ("allowance statement names", _allowance_names),
    ("audit entries past the policy", _audit_entries),
    ("expired sign-in records", _expired_sign_ins),
]


async def purge_candidates(today: dt.date, school_ids: list[int] | None = None) -> list[SchoolPurge]:
    """Per school, the learners past the school's retention policy (left, not erased yet), each with whether an
    open period holds them back."""
    schools = await School.filter(Q(id__in=school_ids) if school_ids is not None else Q()).order_by("id")
    found = []
    for school in schools:
        purge = SchoolPurge(school)
        learners = await User.filter(
            school_id=school.id, role=Role.LEARNER, erased_at=None, left_at__isnull=False
        ).order_by("id")
        due = [
            learner
            for learner in learners
            if learner.left_at is not None and kept_until(learner.left_at, school.retention_school_years) < today
        ]
        held = await open_period_learners([u.id for u in due], today)
        for learner in due:
            assert learner.left_at is not None
            purge.candidates.append(
                Candidate(
                    learner,
                    learner.left_at,
                    kept_until(learner.left_at, school.retention_school_years),
                    learner.id in held,
                )
            )
        found.append(purge)
    return found


async def dry_run(today: dt.date, school_ids: list[int] | None = None) -> list[SchoolPurge]:
    """What `purge` would do, written nowhere."""
    schools = await purge_candidates(today, school_ids)
    for purge in schools:
        for candidate in purge.candidates:
            if not candidate.open_period:
                candidate.plan = await run_steps(await plan_of(candidate.learner), write=False)
        for name, step in SCHOOL_STEPS:
            purge.rows[name] = await step(purge.school, today, False)
    return schools


async def purge(
    today: dt.date,
    store: AnnexStore,
    school_ids: list[int] | None = None,
    on_erased: Callable[[Candidate], None] | None = None,
) -> list[SchoolPurge]:
    """Erase every learner past the policy, one transaction each, their files removed after each commit; then the
    school-wide steps. An exception stops it: the learners erased before stay erased, the others stay whole."""
    schools = await purge_candidates(today, school_ids)
    for purge_of in schools:
        for candidate in purge_of.candidates:
            if candidate.open_period:
                continue
            try:
                async with in_transaction():
                    # Under the learner's row lock, asked again: a period may have been opened since the list was
                    # read.
                    await User.filter(id=candidate.learner.id).select_for_update().first()
                    if await open_period_learners([candidate.learner.id], today):
                        candidate.open_period = True
                        continue
                    candidate.plan = await erase_rows(candidate.learner)
                    # The trail's entry of the erasure, in its transaction: it exists exactly when the erasure does.
                    # No actor: the purge is the server's operator (an erasure on request names its admin).
                    await audit.record(
                        AuditKind.ACCESS_CHANGE,
                        "Learner",
                        candidate.learner.id,
                        "pfmp purge",
                        school_id=candidate.learner.school_id,
                    )
            except Exception as exc:
                raise PurgeStopped(candidate.learner, exc) from exc
            candidate.files_left = await remove_files(store, candidate.plan.files)
            if on_erased is not None:
                on_erased(candidate)
        for name, step in SCHOOL_STEPS:
            async with in_transaction():
                purge_of.rows[name] = await step(purge_of.school, today, True)
    return schools
