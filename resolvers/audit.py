"""Query.auditEntries: the school's audit trail, for its administrators (models/audit.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from graph.context import Info
from graph.types.audit import PERSON_TYPES, AuditEntry, AuditKind
from graph.types.common import Connection, Keyset, PageAfter, PageSize, decode_id, paginate
from models.audit import AuditEntry as AuditEntryRow
from permissions import scopes

# Newest first: entries are inserted in time order, so their ids are (and a cursor holds one id).
AUDIT_ORDER = Keyset("auditEntries", ("-id",))


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="The audit trail of the administrator's school, newest first: reads of learners' personal "
        "fields by others, downloads, exports, learner data archives, evaluation and access-rights changes. "
        "Filters combine; `first` at most 100; the cursors hold the entry they follow."
    )
    async def audit_entries(
        self,
        info: Info,
        first: PageSize = None,
        after: PageAfter = None,
        kind: Annotated[AuditKind | None, strawberry.argument(description="Only the entries of this kind.")] = None,
        actor_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The global ID of the account that acted.")
        ] = None,
        subject_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The global ID of the object concerned.")
        ] = None,
        since: Annotated[dt.datetime | None, strawberry.argument(description="Entries at or after.")] = None,
        until: Annotated[dt.datetime | None, strawberry.argument(description="Entries before.")] = None,
    ) -> Connection[AuditEntry]:
        viewer = info.context.require("audit.read")
        # Reads and downloads write entries without bumping the data stamps the response cache keys on (they
        # change nothing else a read shows): the trail's answers are never kept.
        info.context.mark_uncacheable()
        query = AuditEntryRow.filter(scopes.audit_entries(viewer))
        if kind is not None:
            query = query.filter(kind=kind)
        if actor_id is not None:
            type_name, pk = decode_id(actor_id, expected=tuple(PERSON_TYPES.values()), field="actorId")
            roles = [role for role, name in PERSON_TYPES.items() if name == type_name]
            query = query.filter(actor_id=pk, actor_role__in=roles)
        if subject_id is not None:
            type_name, pk = decode_id(subject_id, field="subjectId")
            query = query.filter(subject_type=type_name, subject_id=pk)
        if since is not None:
            query = query.filter(at__gte=since)
        if until is not None:
            query = query.filter(at__lt=until)
        return await paginate(query, AuditEntry.from_row, first=first, after=after, keyset=AUDIT_ORDER)
