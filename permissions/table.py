"""The access table of the product, as data.

One row per line of `access.md` (plus the rows it is silent on, marked
`documented_here=True`: those refuse wide and say so). Resolvers, loaders and
exports ask `allows()`; the tests walk `ACCESS_TABLE` row by row; the schema's
field descriptions are generated from it by `describe()`.

A grant is the reach a role needs on the row for the rule to hold:
- ALL: any row the role reaches at all (row reach is applied first, see scopes.py);
- OWN: the row is the user's own (their learner record, their own fiche, …);
- ASSIGNED: the row hangs off a portfolio the trainer is assigned to;
- TAUGHT_OR_CREATED: a trainer who follows a learner of a classroom the teacher teaches, or whom the teacher
  created (the row scope `scopes.managed_trainers` reads this grant and answers the rows);
- TUTORS, TUTORS_AND_MASTERS: the trainer links of a reached portfolio held by a trainer of these kinds
  (`linkable_roles`, read by the row scope `scopes.trainer_links` and by trainerLinkIssue);
- LINKED: as the assigned trainer of the one portfolio of the link (the row scopes bound the reach of a link's
  token to that portfolio: `scopes._assignments`).
A role absent from a rule's grants is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from models.users import Role

ADMIN, TEACHER, LEARNER, TUTOR, MASTER = Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER


class Grant(str, Enum):
    ALL = "all"
    OWN = "own"
    ASSIGNED = "assigned"
    TAUGHT_OR_CREATED = "trainers of learners they teach, or created by them"
    TUTORS = "tutors"
    TUTORS_AND_MASTERS = "tutors and masters"
    LINKED = "as the assigned trainer of that one portfolio"
    # The learner's own row, once the bilan it belongs to is completed (the paper scan): `allows` asks for the
    # ownership as for OWN; the caller checks the completion (`scopes.may_read_bilan` does).
    OWN_ONCE_COMPLETED = "own, once completed"


ALL, OWN, ASSIGNED = Grant.ALL, Grant.OWN, Grant.ASSIGNED


@dataclass(frozen=True)
class Rule:
    key: str
    object: str
    subject: str
    action: str  # "read" or "write"
    grants: dict[Role, Grant] = field(hash=False)
    documented_here: bool = False


def _rule(key, obj, subject, action, grants, documented_here=False) -> Rule:
    return Rule(key, obj, subject, action, dict(grants), documented_here)


_EVERYONE = {ADMIN: ALL, TEACHER: ALL, LEARNER: OWN, TUTOR: ASSIGNED, MASTER: ASSIGNED}
_STAFF = {ADMIN: ALL, TEACHER: ALL}
_STAFF_AND_OWNER = {ADMIN: ALL, TEACHER: ALL, LEARNER: OWN}

RULES: tuple[Rule, ...] = (
    # Learners
    _rule("learner.identity.read", "Learner", "names, classroom, status", "read", _EVERYONE),
    _rule("learner.identity.write", "Learner", "names, classroom, status", "write", {ADMIN: ALL}),
    _rule("learner.personal.read", "Learner", "email, birth date, phone", "read", _STAFF_AND_OWNER),
    _rule("learner.personal.write", "Learner", "email, birth date, phone", "write", {ADMIN: ALL}),
    _rule("learner.dashboard.read", "Learner", "dashboard, free fiches", "read", _STAFF_AND_OWNER),
    # Periods
    _rule("period.read", "Period", "read", "read", _EVERYONE),
    _rule("period.write", "Period", "create, edit, delete (R4–R8)", "write", _STAFF),
    # Portfolios
    _rule("portfolio.referent.read", "Portfolio", "referent teacher", "read", _EVERYONE),
    _rule("portfolio.referent.write", "Portfolio", "referent teacher", "write", _STAFF),
    # Liaison fiches
    _rule("liaison.read", "LiaisonFiche", "read", "read", _EVERYONE),
    _rule("liaison.workplace.write", "LiaisonFiche", "workplace", "write", _STAFF_AND_OWNER),
    _rule(
        "liaison.plan.write",
        "LiaisonFiche",
        "objectives, activities",
        "write",
        {ADMIN: ALL, TEACHER: ALL, MASTER: ASSIGNED},
    ),
    # Activity fiches
    _rule("fiche.read", "ActivityFiche", "read (not deleted)", "read", _EVERYONE),
    _rule("fiche.staff.read", "ActivityFiche", "deleted ones, read state", "read", _STAFF),
    _rule("fiche.write", "ActivityFiche", "create, edit, delete", "write", {LEARNER: OWN}),
    _rule("fiche.tasks.write", "ActivityFiche", "tasks", "write", {TEACHER: ALL, LEARNER: OWN}),
    _rule("fiche.targets.read", "ActivityFiche", "competences and criteria to evaluate", "read", _EVERYONE),
    _rule("fiche.targets.write", "ActivityFiche", "competences and criteria to evaluate", "write", {TEACHER: ALL}),
    _rule("fiche.mark_read", "ActivityFiche", "mark read", "write", {TEACHER: ALL}),
    # Annexes
    _rule("annex.read", "Annex", "read, download", "read", _EVERYONE),
    _rule("annex.write", "Annex", "upload, add URL, delete", "write", {LEARNER: OWN}),
    # Company bilans
    _rule(
        "bilan.draft.read",
        "CompanyBilan",
        "read while draft",
        "read",
        {ADMIN: ALL, TEACHER: ALL, TUTOR: ASSIGNED, MASTER: ASSIGNED},
    ),
    _rule("bilan.completed.read", "CompanyBilan", "read once completed", "read", _EVERYONE),
    _rule("bilan.write", "CompanyBilan", "results, engagement, date, comment, complete", "write", {TEACHER: ALL}),
    # The paper path (issue 16, part 2).
    _rule(
        "bilan.paper.write",
        "CompanyBilan",
        "paper scan upload, complete as signed on paper",
        "write",
        {TEACHER: ALL},
    ),
    _rule(
        "bilan.paper.read",
        "CompanyBilan",
        "paper scan download",
        "read",
        {ADMIN: ALL, TEACHER: ALL, LEARNER: Grant.OWN_ONCE_COMPLETED, TUTOR: ASSIGNED, MASTER: ASSIGNED},
    ),
    # Interim reviews
    _rule("review.create", "InterimReview", "create", "write", {TEACHER: ALL}),
    _rule("review.read", "InterimReview", "read", "read", _STAFF_AND_OWNER),
    # Frameworks
    _rule(
        "framework.read", "Framework", "read", "read", {ADMIN: ALL, TEACHER: ALL, LEARNER: ALL, TUTOR: ALL, MASTER: ALL}
    ),
    _rule("framework.write", "Framework", "import, edit", "write", {ADMIN: ALL}),
    # Company trainers
    _rule("tutor.manage", "Tutor account", "create, assign to a portfolio", "write", _STAFF),
    _rule("master.manage", "Master account", "create, assign to an apprentice's portfolio", "write", {ADMIN: ALL}),
    _rule(
        "trainer.contact.read", "Trainer", "email, phone", "read", {ADMIN: ALL, TEACHER: ALL, TUTOR: OWN, MASTER: OWN}
    ),
    _rule("trainer.contact.write", "Trainer", "email, phone", "write", {ADMIN: ALL}),
    _rule(
        "trainer.manage", "Trainer", "edit names, deactivate", "write", {ADMIN: ALL, TEACHER: Grant.TAUGHT_OR_CREATED}
    ),
    # Trainer links (issue 16, part 1): issued by staff for one portfolio, used by its trainer without a password.
    _rule(
        "trainer_link.manage",
        "Trainer link",
        "issue, list, revoke (one portfolio)",
        "write",
        {ADMIN: Grant.TUTORS_AND_MASTERS, TEACHER: Grant.TUTORS},
    ),
    _rule("trainer_link.use", "Trainer link", "use", "write", {TUTOR: Grant.LINKED, MASTER: Grant.LINKED}),
    # Exports
    _rule(
        "export.meeting_sheet",
        "Export",
        "meeting sheet (R22)",
        "read",
        {ADMIN: ALL, TEACHER: ALL, TUTOR: ASSIGNED, MASTER: ASSIGNED},
    ),
    _rule("export.pre_convention", "Export", "pre-convention (R23)", "read", _EVERYONE),
    _rule("export.completed_bilan", "Export", "completed bilan document", "read", _EVERYONE),
    _rule("export.attestation", "Export", "PFMP attestation", "read", _STAFF_AND_OWNER),
    _rule("export.learner_synthesis", "Export", "learner synthesis (R24)", "read", _STAFF_AND_OWNER),
    _rule("export.level_synthesis", "Export", "level synthesis (R24)", "read", _STAFF),
    # The PFMP allowance (issue 14, part 5): a learner reads their own amount only.
    _rule("allowance.write", "Allowance rates", "edit; period statement · validate", "write", {ADMIN: ALL}),
    _rule("allowance.statement.read", "Allowance statement", "read", "read", _STAFF_AND_OWNER),
    # Personal data
    _rule("export.learner_data", "Learner data archive (access request)", "read", "read", {ADMIN: ALL, LEARNER: OWN}),
    # Retention and erasure (issue 17, part 2): the school's administrators only; `pfmp purge` runs as the operator.
    _rule("learner.erase", "Learner erasure, retention purge", "erase, purge", "write", {ADMIN: ALL}),
    # The audit trail (issue 17, part 3): an administrator reads their own school's entries.
    _rule("audit.read", "Audit log", "read", "read", {ADMIN: ALL}),
    # Live news (issue 16, part 3): a trainer's own seen state, on the portfolios they are assigned to (their reach).
    _rule("fiche.seen", "Fiche seen state (per trainer)", "read, mark seen", "write", {TUTOR: OWN, MASTER: OWN}),
    # Rows access.md is silent on: decided here, narrow, and listed in the README.
    _rule(
        "school.structure.read",
        "Level, Classroom",
        "read",
        "read",
        {ADMIN: ALL, TEACHER: ALL, LEARNER: OWN, TUTOR: ASSIGNED, MASTER: ASSIGNED},
        documented_here=True,
    ),
    _rule("school.structure.write", "Level, Classroom", "create, edit", "write", {ADMIN: ALL}, documented_here=True),
    _rule("allowance.rates.read", "Allowance rates", "read", "read", _STAFF, documented_here=True),
    _rule(
        "teacher.identity.read",
        "Teacher",
        "names",
        "read",
        {ADMIN: ALL, TEACHER: ALL, LEARNER: ALL, TUTOR: ALL, MASTER: ALL},
        documented_here=True,
    ),
    _rule("teacher.contact.read", "Teacher", "email, phone", "read", {ADMIN: ALL, TEACHER: ALL}, documented_here=True),
    _rule("trainer.identity.read", "Trainer", "names, company, job title", "read", _EVERYONE, documented_here=True),
    # Refresh tokens (issue 16, part 4): whoever holds one exchanges it, as whoever knows a password signs in; a
    # refresh token is always its account's own.
    _rule(
        "refresh_token.use",
        "Refresh token",
        "exchange for a new access token",
        "write",
        {ADMIN: OWN, TEACHER: OWN, LEARNER: OWN, TUTOR: OWN, MASTER: OWN},
        documented_here=True,
    ),
    _rule(
        "account.manage",
        "Account",
        "create admins, teachers and learners; deactivate; revoke tokens",
        "write",
        {ADMIN: ALL},
        documented_here=True,
    ),
)

ACCESS_TABLE: dict[str, Rule] = {rule.key: rule for rule in RULES}

# The rules guarding personal fields, whose reads by anyone but the row's owner the audit trail records
# (models/audit.py, graph/execution.py): a learner's email, birth date and phone ("personal" in access.md's rows;
# docs/stewardship.md, part 3, says why the staff's and trainers' contact details are not among them).
PERSONAL_READS = frozenset({"learner.personal.read"})
assert len(ACCESS_TABLE) == len(RULES), "duplicate rule key"


def grant_of(rule_key: str, role: Role) -> Grant | None:
    return ACCESS_TABLE[rule_key].grants.get(role)


_LINKABLE: dict[Grant | None, tuple[Role, ...]] = {Grant.TUTORS: (TUTOR,), Grant.TUTORS_AND_MASTERS: (TUTOR, MASTER)}


def linkable_roles(role: Role) -> tuple[Role, ...]:
    """The kinds of trainer whose links `role` may issue, list and revoke (`trainer_link.manage`)."""
    return _LINKABLE.get(grant_of("trainer_link.manage", role), ())


# `owned=OWN_BY_REACH`: the caller answers only rows of the viewer's row scope, and that scope gives the roles
# granted their OWN rows of the rule nothing but their own rows (a learner reaches themself and what hangs off
# them), so a row it answers is the viewer's own. Not so for a trainer's contact details: a trainer reaches the
# other trainers of the portfolios they follow.
OWN_BY_REACH = True


def allows(rule_key: str, role: Role, *, owned: bool | None = None) -> bool:
    """Whether `role` may do `rule_key` on a row it already reaches.

    `owned` says whether the row is the user's own: the caller must say it
    (True, False, or `OWN_BY_REACH`) whenever the rule grants `role` its own
    rows only, or this raises a TypeError, a defect of the caller, never an
    allow. ASSIGNED holds on any reached row: the trainers' row reach is their
    assignments.
    """
    grant = ACCESS_TABLE[rule_key].grants.get(role)
    if grant is None:
        return False
    if grant in (Grant.OWN, Grant.OWN_ONCE_COMPLETED):
        if owned is None:
            raise TypeError(f"'{rule_key}' grants {role.value} its own rows only: say whether the row is owned")
        return owned
    return True


def granted(rule_key: str, role: Role) -> bool:
    """Whether `role` holds any grant of `rule_key`, whichever rows: a first gate before the row is known (a
    mutation refusing a role with FORBIDDEN before it looks its input up); the caller asks `allows` with the
    row's ownership once it has the row."""
    return role in ACCESS_TABLE[rule_key].grants


_ROLE_ORDER = (ADMIN, TEACHER, LEARNER, TUTOR, MASTER)


def describe(rule_key: str) -> str:
    """The sentence a guarded field's description ends with, made from the table."""
    rule = ACCESS_TABLE[rule_key]
    parts = []
    for role in _ROLE_ORDER:
        grant = rule.grants.get(role)
        if grant is None:
            continue
        parts.append(role.value if grant is Grant.ALL else f"{role.value} ({grant.value})")
    verb = "Readable" if rule.action == "read" else "Allowed"
    who = ", ".join(parts) if parts else "nobody"
    return f"{verb} by: {who}."
