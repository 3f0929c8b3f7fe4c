"""The audit trail as an administrator reads it (models/audit.py, docs/stewardship.md part 3)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay

from graph.types.common import described_enum, encode_id
from graph.types.users import Role
from models.audit import AuditEntry as AuditEntryRow
from models.audit import AuditKind as AuditKindEnum
from models.users import Role as RoleEnum
from permissions.table import describe

AuditKind = Annotated[
    AuditKindEnum,
    described_enum(
        name="AuditKind",
        values={
            "PERSONAL_READ": "A learner's email, birth date or phone read by someone else.",
            "ANNEX_DOWNLOAD": "An annex's file downloaded.",
            "PAPER_SCAN_DOWNLOAD": "The scan of a bilan signed on paper downloaded.",
            "EXPORT_DOWNLOAD": "A DOCX or CSV export downloaded.",
            "LEARNER_DATA_ARCHIVE": "The archive of a learner's data (an access request) downloaded.",
            "EVALUATION_CHANGE": "A bilan's results, completion, reopening or paper path; an interim review.",
            "ACCESS_CHANGE": "Accounts, passwords, tokens, assignments; trainer links issued, revoked and used.",
        },
        description="What an audit entry traces: PERSONAL_READ (a learner's email, birth date or phone read by "
        "someone else), ANNEX_DOWNLOAD, PAPER_SCAN_DOWNLOAD, EXPORT_DOWNLOAD (a DOCX or CSV export), "
        "LEARNER_DATA_ARCHIVE (an access request's archive), EVALUATION_CHANGE (a bilan's results, completion, "
        "reopening, paper path; an interim review), ACCESS_CHANGE (accounts, passwords, tokens, assignments, "
        "trainer links issued, revoked and used).",
    ),
]

# The Node type of an account of each role, for the global ID of an entry's actor.
PERSON_TYPES = {
    RoleEnum.ADMIN: "Administrator",
    RoleEnum.TEACHER: "Teacher",
    RoleEnum.LEARNER: "Learner",
    RoleEnum.TUTOR: "Tutor",
    RoleEnum.MASTER: "ApprenticeshipMaster",
}


@strawberry.type(
    description="One entry of the school's audit trail: who, what, when, from where. Entries are never changed; "
    "they are kept one year. " + describe("audit.read")
)
class AuditEntry(relay.Node):
    id: relay.NodeID[int]
    kind: AuditKind = strawberry.field(description="What was done.")
    at: dt.datetime = strawberry.field(description="When.")
    actor_id: strawberry.ID | None = strawberry.field(
        description="The account that acted (its global ID, whether or not it still exists); null for the "
        "server's operator (`pfmp`)."
    )
    actor_role: Role | None = strawberry.field(description="The role of that account when it acted.")
    trainer_link_id: strawberry.ID | None = strawberry.field(
        description="When the actor acted through a trainer link's token (or exchanged the link): that link."
    )
    subject_type: str | None = strawberry.field(
        description="The type of the object concerned (Learner, Annex, CompanyBilan, …)."
    )
    subject_id: strawberry.ID | None = strawberry.field(
        description="The global ID of the object concerned (it may no longer exist)."
    )
    detail: str = strawberry.field(
        description="What precisely: the mutation, the export, or the personal fields read (email, phone, birthDate)."
    )
    address: str | None = strawberry.field(description="The client's address as the server saw it.")
    user_agent: str | None = strawberry.field(description="The client software's User-Agent.")

    @classmethod
    def from_row(cls, row: AuditEntryRow) -> AuditEntry:
        return cls(
            id=row.id,
            kind=row.kind,
            at=row.at,
            actor_id=encode_id(PERSON_TYPES[row.actor_role], row.actor_id)
            if row.actor_id is not None and row.actor_role is not None
            else None,
            actor_role=row.actor_role,
            trainer_link_id=encode_id("TrainerLink", row.link_id) if row.link_id is not None else None,
            subject_type=row.subject_type,
            subject_id=encode_id(row.subject_type, row.subject_id)
            if row.subject_type is not None and row.subject_id is not None
            else None,
            detail=row.detail,
            address=row.address,
            user_agent=row.user_agent,
        )
