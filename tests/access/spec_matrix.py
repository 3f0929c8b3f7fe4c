"""The access policy of /work/shared/spec/access.md, typed by hand as a matrix.

This is the expected answer of the access tests. It is written from the spec
(both tables of access.md, and the rows the README's "Access rows decided here"
documents), never derived from `permissions/table.py`: `test_spec_matrix.py`
checks the table against it, and the walk (`test_access_table.py`) takes its
expected answers from it.

One row per object · field-or-action and action ("read" or "write"); a spec
cell "R W" gives two rows. Each role's cell says on which rows the role may do
it, among the rows it reaches (access.md, "Reach"):
- ALLOWED: any row it reaches;
- OWN: its own row only (a learner's own record, portfolio, fiche…; a trainer's own account);
- ASSIGNED: rows of a portfolio the trainer is assigned to;
- TAUGHT_OR_CREATED: trainers who follow learners of the classrooms the teacher teaches, or whom they created;
- TUTORS, TUTORS_AND_MASTERS: the links of a portfolio it reaches held by a trainer of these kinds;
- LINKED: acting as the assigned trainer of the one portfolio of a trainer link (its token reaches nothing else);
- OWN_ONCE_COMPLETED: its own row, once the bilan it belongs to is completed (the paper scan);
- REFUSED: none ("—").
A plain "R" of a learner on a row that hangs off learners is OWN, and of a
tutor or master ASSIGNED: those roles reach nothing else (access.md, "Reach").
Frameworks and teachers' names hang off no learner: "R" is ALLOWED for all.

`rule` names the key of `permissions/table.py` that must carry the row; a row
whose operation does not exist yet has `rule=None` and `pending` names the
capability that brings it (its cells are then the spec's words).
"""

from __future__ import annotations

from dataclasses import dataclass

from models.users import Role

ALLOWED, OWN, ASSIGNED, REFUSED = "allowed", "own", "assigned", "refused"
TAUGHT_OR_CREATED = "trainers of learners they teach, or created by them"
# access.md's words for the trainer links
TUTORS, TUTORS_AND_MASTERS = "tutors", "tutors and masters"
LINKED = "as the assigned trainer of that one portfolio"
OWN_ONCE_COMPLETED = "own, once completed"
ROLES = (Role.ADMIN, Role.TEACHER, Role.LEARNER, Role.TUTOR, Role.MASTER)


@dataclass(frozen=True)
class SpecRow:
    object: str
    subject: str
    action: str  # "read" or "write"
    cells: tuple[str, str, str, str, str]  # ADMIN, TEACHER, LEARNER, TUTOR, MASTER
    rule: str | None = None
    pending: str | None = None
    source: str = "access.md"

    def expected(self, role: Role) -> str:
        return self.cells[ROLES.index(role)]


def _row(
    obj, subject, action, admin, teacher, learner, tutor, master, *, rule=None, pending=None, source="access.md"
) -> SpecRow:
    assert (rule is None) != (pending is None), f"{obj} · {subject}: a rule or a pending capability"
    return SpecRow(obj, subject, action, (admin, teacher, learner, tutor, master), rule, pending, source)


Y, N = ALLOWED, REFUSED

MATRIX: tuple[SpecRow, ...] = (
    # access.md, "Fields and actions"
    _row("Learner", "names, classroom, status", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="learner.identity.read"),
    _row("Learner", "names, classroom, status", "write", Y, N, N, N, N, rule="learner.identity.write"),
    _row("Learner", "email, birth date, phone", "read", Y, Y, OWN, N, N, rule="learner.personal.read"),
    _row("Learner", "email, birth date, phone", "write", Y, N, N, N, N, rule="learner.personal.write"),
    _row("Learner", "dashboard, free fiches", "read", Y, Y, OWN, N, N, rule="learner.dashboard.read"),
    _row("Period", "read", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="period.read"),
    _row("Period", "create, edit, delete (R4–R8)", "write", Y, Y, N, N, N, rule="period.write"),
    _row("LiaisonFiche", "read", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="liaison.read"),
    _row("LiaisonFiche", "workplace", "write", Y, Y, OWN, N, N, rule="liaison.workplace.write"),
    _row("LiaisonFiche", "objectives, activities", "write", Y, Y, N, N, ASSIGNED, rule="liaison.plan.write"),
    _row("ActivityFiche", "read (not deleted)", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="fiche.read"),
    _row("ActivityFiche", "deleted ones, read state", "read", Y, Y, N, N, N, rule="fiche.staff.read"),
    _row("ActivityFiche", "create, edit, delete", "write", N, N, OWN, N, N, rule="fiche.write"),
    _row("ActivityFiche", "tasks", "write", N, Y, OWN, N, N, rule="fiche.tasks.write"),
    # The teacher's cell is "W": the teacher chooses the targets, and so reads them.
    _row(
        "ActivityFiche",
        "competences and criteria to evaluate",
        "read",
        Y,
        Y,
        OWN,
        ASSIGNED,
        ASSIGNED,
        rule="fiche.targets.read",
    ),
    _row("ActivityFiche", "competences and criteria to evaluate", "write", N, Y, N, N, N, rule="fiche.targets.write"),
    _row("ActivityFiche", "mark read", "write", N, Y, N, N, N, rule="fiche.mark_read"),
    _row("Annex", "read, download", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="annex.read"),
    _row("Annex", "upload, add URL, delete", "write", N, N, OWN, N, N, rule="annex.write"),
    _row("CompanyBilan", "read while draft", "read", Y, Y, N, ASSIGNED, ASSIGNED, rule="bilan.draft.read"),
    _row("CompanyBilan", "read once completed", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="bilan.completed.read"),
    _row("CompanyBilan", "results, engagement, date, comment, complete", "write", N, Y, N, N, N, rule="bilan.write"),
    _row("InterimReview", "create", "write", N, Y, N, N, N, rule="review.create"),
    _row("InterimReview", "read", "read", Y, Y, OWN, N, N, rule="review.read"),
    _row("Framework", "read", "read", Y, Y, Y, Y, Y, rule="framework.read"),
    _row("Framework", "import, edit", "write", Y, N, N, N, N, rule="framework.write"),
    _row("Tutor account", "create, assign to a portfolio", "write", Y, Y, N, N, N, rule="tutor.manage"),
    _row("Master account", "create, assign to an apprentice's portfolio", "write", Y, N, N, N, N, rule="master.manage"),
    _row("Trainer", "email, phone", "read", Y, Y, N, OWN, OWN, rule="trainer.contact.read"),
    _row("Trainer", "email, phone", "write", Y, N, N, N, N, rule="trainer.contact.write"),
    _row("Export", "meeting sheet (R22)", "read", Y, Y, N, ASSIGNED, ASSIGNED, rule="export.meeting_sheet"),
    _row("Export", "pre-convention (R23)", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="export.pre_convention"),
    _row("Export", "learner synthesis (R24)", "read", Y, Y, OWN, N, N, rule="export.learner_synthesis"),
    _row("Export", "level synthesis (R24)", "read", Y, Y, N, N, N, rule="export.level_synthesis"),
    # access.md, "More rows"
    _row("Trainer", "edit names, deactivate", "write", Y, TAUGHT_OR_CREATED, N, N, N, rule="trainer.manage"),
    # "W (tutors and masters)", "W (tutors)": the links of a reached portfolio held by trainers of these kinds.
    _row(
        "Trainer link",
        "issue, list, revoke (one portfolio)",
        "write",
        TUTORS_AND_MASTERS,
        TUTORS,
        N,
        N,
        N,
        rule="trainer_link.manage",
    ),
    _row("Trainer link", "use", "write", N, N, N, LINKED, LINKED, rule="trainer_link.use"),
    _row(
        "CompanyBilan",
        "paper scan upload, complete as signed on paper",
        "write",
        N,
        Y,
        N,
        N,
        N,
        rule="bilan.paper.write",
    ),
    # "R own (once completed)": the learner's own bilan's scan, only once that bilan is completed.
    _row(
        "CompanyBilan",
        "paper scan download",
        "read",
        Y,
        Y,
        OWN_ONCE_COMPLETED,
        ASSIGNED,
        ASSIGNED,
        rule="bilan.paper.read",
    ),
    _row("Export", "completed bilan document", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="export.completed_bilan"),
    _row("Fiche seen state (per trainer)", "read, mark seen", "write", N, N, N, OWN, OWN, rule="fiche.seen"),
    _row("Export", "PFMP attestation", "read", Y, Y, OWN, N, N, rule="export.attestation"),
    _row("Allowance rates", "edit; period statement · validate", "write", Y, N, N, N, N, rule="allowance.write"),
    # "R own (their amount)": the learner's own line of the statement, nobody else's.
    _row("Allowance statement", "read", "read", Y, Y, OWN, N, N, rule="allowance.statement.read"),
    _row(
        "Subscription events", "receive", "read", *["as the row they concern is readable"] * 5, pending="subscriptions"
    ),
    _row("Learner data archive (access request)", "read", "read", Y, N, OWN, N, N, rule="export.learner_data"),
    _row("Learner erasure, retention purge", "erase, purge", "write", Y, N, N, N, N, rule="learner.erase"),
    _row("Audit log", "read", "read", Y, N, N, N, N, rule="audit.read"),
    _row("Portfolio", "referent teacher", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="portfolio.referent.read"),
    _row("Portfolio", "referent teacher", "write", Y, Y, N, N, N, rule="portfolio.referent.write"),
    # README, "Access rows decided here" (access.md is silent; narrow on purpose)
    _row(
        "Level, Classroom", "read", "read", Y, Y, OWN, ASSIGNED, ASSIGNED, rule="school.structure.read", source="README"
    ),
    _row("Level, Classroom", "create, edit", "write", Y, N, N, N, N, rule="school.structure.write", source="README"),
    # issue 14 part 5: the rates are "readable by staff"; access.md has no read row for them.
    _row("Allowance rates", "read", "read", Y, Y, N, N, N, rule="allowance.rates.read", source="README"),
    _row("Teacher", "names", "read", Y, Y, Y, Y, Y, rule="teacher.identity.read", source="README"),
    _row("Teacher", "email, phone", "read", Y, Y, N, N, N, rule="teacher.contact.read", source="README"),
    _row(
        "Trainer",
        "names, company, job title",
        "read",
        Y,
        Y,
        OWN,
        ASSIGNED,
        ASSIGNED,
        rule="trainer.identity.read",
        source="README",
    ),
    # issue 16 part 4: a refresh token is used by whoever holds it (no bearer token), always its own account's.
    _row(
        "Refresh token",
        "exchange for a new access token",
        "write",
        OWN,
        OWN,
        OWN,
        OWN,
        OWN,
        rule="refresh_token.use",
        source="README",
    ),
    _row(
        "Account",
        "create admins, teachers and learners; deactivate; revoke tokens",
        "write",
        Y,
        N,
        N,
        N,
        N,
        rule="account.manage",
        source="README",
    ),
)

BY_RULE: dict[str, SpecRow] = {row.rule: row for row in MATRIX if row.rule is not None}
assert len(BY_RULE) == sum(1 for row in MATRIX if row.rule is not None), "a rule named twice in the matrix"

# The capabilities whose operations do not exist yet (issue text): every pending row names one of them.
PENDING_CAPABILITIES = frozenset(
    {
        "subscriptions",
    }
)


def expected(rule_key: str, role: Role) -> str:
    """What the spec says `role` may do under the table rule `rule_key`: ALLOWED, OWN, ASSIGNED or REFUSED."""
    return BY_RULE[rule_key].expected(role)


def may(rule_key: str, role: Role) -> bool:
    """Whether the spec lets `role` do it on some row it reaches (the probes pick such a row)."""
    return expected(rule_key, role) != REFUSED
