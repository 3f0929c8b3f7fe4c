"""The audit trail (issue 17, part 3): who read personal fields, downloaded a file or an export, changed an
evaluation or someone's access, when, from where (docs/stewardship.md, part 3).

Append-only: the application inserts entries and never updates them; only `purge_audit_entries` deletes, past the
retention (one year). On PostgreSQL a trigger refuses any UPDATE of the table (migration 0015).

Where an entry is written:
- a GraphQL mutation notes its entries while its transaction runs (`note`), and `resolvers.mutations` inserts them
  in that transaction, in one statement: a rolled-back change leaves no entry, a committed one always has its entry;
- reads of personal fields are collected during a GraphQL request (`Collector`), then inserted in one statement
  before the answer leaves (graph/app.py);
- a download or an export writes its entry before its body is sent (graph/routes/).

`origin` holds who asks and from where for the current request: set where the request's viewer is known.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from tortoise import fields
from tortoise.models import Model

from models.users import Role

# Kept one year by policy (docs/processing-record.md): `pfmp purge` passes the limit to `purge_audit_entries`.
RETENTION = dt.timedelta(days=365)
DETAIL_LENGTH = 200
USER_AGENT_LENGTH = 255
ADDRESS_LENGTH = 64


class AuditKind(str, Enum):
    PERSONAL_READ = "PERSONAL_READ"
    ANNEX_DOWNLOAD = "ANNEX_DOWNLOAD"
    PAPER_SCAN_DOWNLOAD = "PAPER_SCAN_DOWNLOAD"
    EXPORT_DOWNLOAD = "EXPORT_DOWNLOAD"
    LEARNER_DATA_ARCHIVE = "LEARNER_DATA_ARCHIVE"
    EVALUATION_CHANGE = "EVALUATION_CHANGE"
    ACCESS_CHANGE = "ACCESS_CHANGE"


class AuditEntry(Model):
    """One traced access or change. No foreign key: an entry outlives the account, the row and the link it names
    (a learner erased, a link deleted with its portfolio), until its own purge."""

    id = fields.IntField(primary_key=True)
    school_id = fields.IntField()
    at = fields.DatetimeField()
    kind = fields.CharEnumField(AuditKind, max_length=30)
    # Who: an account (its id and role when acting), or a trainer link's token (the link and its trainer).
    actor_id = fields.IntField(null=True)
    actor_role = fields.CharEnumField(Role, max_length=10, null=True)
    link_id = fields.IntField(null=True)
    # What: the GraphQL type name and primary key of the row, and a short detail (the operation, the fields read).
    subject_type = fields.CharField(max_length=40, null=True)
    subject_id = fields.IntField(null=True)
    detail = fields.CharField(max_length=DETAIL_LENGTH)
    # From where: the client's address as the server saw it, and its User-Agent.
    address = fields.CharField(max_length=ADDRESS_LENGTH, null=True)
    user_agent = fields.CharField(max_length=USER_AGENT_LENGTH, null=True)

    class Meta:
        table = "audit_entry"
        indexes = (("school_id", "id"), ("at",))


@dataclass(frozen=True)
class Origin:
    """Who asks and from where, for the entries of one request."""

    school_id: int | None
    actor_id: int | None
    actor_role: Role | None
    link_id: int | None
    address: str | None
    user_agent: str | None


origin: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)
# The entries a running mutation noted: inserted in its transaction by `resolvers.mutations`.
pending: ContextVar[list[AuditEntry] | None] = ContextVar("audit_pending", default=None)


def entry(
    kind: AuditKind,
    subject_type: str | None,
    subject_id: int | None,
    detail: str,
    *,
    at: dt.datetime | None = None,
    source: Origin | None = None,
    school_id: int | None = None,
    actor_id: int | None = None,
    actor_role: Role | None = None,
    link_id: int | None = None,
) -> AuditEntry | None:
    """An unsaved entry from the request's origin (`source`, or the current one), the given values overriding
    it; None when no school is known (nothing of a school was reached)."""
    known = source or origin.get()
    school = school_id if school_id is not None else (known.school_id if known else None)
    if school is None:
        return None
    return AuditEntry(
        school_id=school,
        at=at or dt.datetime.now(dt.UTC),
        kind=kind,
        actor_id=actor_id if actor_id is not None else (known.actor_id if known else None),
        actor_role=actor_role if actor_role is not None else (known.actor_role if known else None),
        link_id=link_id if link_id is not None else (known.link_id if known else None),
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail[:DETAIL_LENGTH],
        address=known.address if known else None,
        user_agent=known.user_agent if known else None,
    )


def note(kind: AuditKind, subject_type: str | None, subject_id: int | None, detail: str, **override) -> bool:
    """Notes an entry for the running mutation's transaction; False outside a mutation (nothing noted)."""
    notes = pending.get()
    if notes is None:
        return False
    made = entry(kind, subject_type, subject_id, detail, **override)
    if made is not None:
        notes.append(made)
    return True


async def write(entries: list[AuditEntry]) -> None:
    """Inserts the entries in one statement (none for an empty list)."""
    if entries:
        await AuditEntry.bulk_create(entries)


async def record(kind: AuditKind, subject_type: str | None, subject_id: int | None, detail: str, **override) -> None:
    """Writes one entry now (a download, an export), from the current request's origin."""
    made = entry(kind, subject_type, subject_id, detail, **override)
    if made is not None:
        await write([made])


@dataclass
class Collector:
    """The personal fields a GraphQL request read, by row: (type name, id) → the fields' names, in order of first
    read. Written as one entry per row, all in one statement, once the request has run."""

    source: Origin
    reads: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    def read(self, type_name: str, row_id: int, field_name: str) -> None:
        names = self.reads.get((type_name, row_id))
        if names is None:
            self.reads[(type_name, row_id)] = [field_name]
        elif field_name not in names:
            names.append(field_name)

    def entries(self) -> list[AuditEntry]:
        now = dt.datetime.now(dt.UTC)
        made = (
            entry(AuditKind.PERSONAL_READ, type_name, row_id, ", ".join(names), at=now, source=self.source)
            for (type_name, row_id), names in self.reads.items()
        )
        return [one for one in made if one is not None]


async def purge_audit_entries(before: datetime, school_id: int | None = None) -> int:
    """Deletes the entries written before `before` (the retention's limit), of one school or of all, and answers
    how many: the only deletion of the trail. `pfmp purge` calls it per school with today less the school's
    `audit_retention_days` (`RETENTION` by default)."""
    entries = AuditEntry.filter(at__lt=before)
    if school_id is not None:
        entries = entries.filter(school_id=school_id)
    return await entries.delete()
