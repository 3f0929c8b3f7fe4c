"""Row reach: which rows of each kind a role sees at all, as query filters.

Every list, `node(id:)`, loader and export filters with these `Q` objects in
SQL; nothing is fetched and then filtered in Python. A row outside reach does
not exist for the viewer (`null`, left out, or `NOT_FOUND`).

Each function answers a `Q` on the model named in its name. Sub-queries
(`…__in=Subquery(…)`) rather than joins keep a row from appearing twice.
"""

from __future__ import annotations

from tortoise.expressions import Q, Subquery

from models.bilans import BilanStatus, CompanyBilan
from models.fiches import ActivityFiche
from models.frameworks import Competence, Framework
from models.periods import Period
from models.portfolios import Portfolio
from models.schools import Classroom, Level
from models.users import Role, User
from permissions.table import OWN_BY_REACH, Grant, allows, grant_of, linkable_roles
from permissions.viewer import Viewer

NOTHING = Q(id__in=[])


def _taught_classroom_ids(viewer: Viewer) -> Subquery:
    return Subquery(Classroom.filter(teachers__id=viewer.id).values("id"))


def _taught_level_ids(viewer: Viewer) -> Subquery:
    return Subquery(Classroom.filter(teachers__id=viewer.id).values("level_id"))


def _assignments(viewer: Viewer) -> Q:
    """On `Portfolio`: those the trainer is assigned to; through a trainer link, that link's one portfolio among
    them (access.md: the token a link yields reaches nothing else, whatever the trainer's other assignments).
    Every reach of a trainer starts here."""
    assigned = Q(trainers__id=viewer.id)
    if viewer.link_portfolio_id is not None:
        return assigned & Q(id=viewer.link_portfolio_id)
    return assigned


def _assigned_portfolio_ids(viewer: Viewer) -> Subquery:
    return Subquery(Portfolio.filter(_assignments(viewer)).values("id"))


def _assigned_learner_ids(viewer: Viewer) -> Subquery:
    return Subquery(Portfolio.filter(_assignments(viewer)).values("learner_id"))


def learners(viewer: Viewer) -> Q:
    """On `User`, restricted to learners."""
    base = Q(school_id=viewer.school_id, role=Role.LEARNER)
    match viewer.role:
        case Role.ADMIN:
            return base
        case Role.TEACHER:
            return base & Q(classroom_id__in=_taught_classroom_ids(viewer))
        case Role.LEARNER:
            return base & Q(id=viewer.id)
        case Role.TUTOR | Role.MASTER:
            return base & Q(id__in=_assigned_learner_ids(viewer))
    return NOTHING


def schools(viewer: Viewer) -> Q:
    """On `School`: the viewer's own school, and no other."""
    return Q(id=viewer.school_id)


def administrators(viewer: Viewer) -> Q:
    """On `User`, restricted to administrators: those of the school, for an administrator only
    (access.md is silent; narrow on purpose: an administrator's account is no one else's business)."""
    if viewer.role is Role.ADMIN:
        return Q(school_id=viewer.school_id, role=Role.ADMIN)
    return NOTHING


def classrooms(viewer: Viewer) -> Q:
    base = Q(school_id=viewer.school_id)
    match viewer.role:
        case Role.ADMIN:
            return base
        case Role.TEACHER:
            return base & Q(id__in=_taught_classroom_ids(viewer))
        case Role.LEARNER:
            return base & Q(id__in=Subquery(User.filter(id=viewer.id).values("classroom_id")))
        case Role.TUTOR | Role.MASTER:
            return base & Q(id__in=Subquery(User.filter(id__in=_assigned_learner_ids(viewer)).values("classroom_id")))
    return NOTHING


def levels(viewer: Viewer) -> Q:
    base = Q(school_id=viewer.school_id)
    if viewer.role is Role.ADMIN:
        return base
    return base & Q(id__in=Subquery(Classroom.filter(classrooms(viewer)).values("level_id")))


def portfolios(viewer: Viewer) -> Q:
    base = Q(school_id=viewer.school_id)
    match viewer.role:
        case Role.ADMIN:
            return base
        case Role.TEACHER:
            return base & Q(learner__classroom_id__in=_taught_classroom_ids(viewer))
        case Role.LEARNER:
            return base & Q(learner_id=viewer.id)
        case Role.TUTOR | Role.MASTER:
            return base & Q(id__in=_assigned_portfolio_ids(viewer))
    return NOTHING


def periods(viewer: Viewer) -> Q:
    """Teachers reach the periods of the levels they teach; others through their portfolios."""
    base = Q(school_id=viewer.school_id)
    match viewer.role:
        case Role.ADMIN:
            return base
        case Role.TEACHER:
            return base & Q(level_id__in=_taught_level_ids(viewer))
        case Role.LEARNER | Role.TUTOR | Role.MASTER:
            return base & Q(id__in=Subquery(Portfolio.filter(portfolios(viewer)).values("period_id")))
    return NOTHING


def activity_fiches(viewer: Viewer) -> Q:
    """Deleted fiches are in reach of staff only (`fiche.staff.read`); callers filter them for others."""
    base = Q(school_id=viewer.school_id)
    match viewer.role:
        case Role.ADMIN:
            return base
        case Role.TEACHER:
            return base & Q(learner__classroom_id__in=_taught_classroom_ids(viewer))
        case Role.LEARNER:
            return base & Q(learner_id=viewer.id)
        case Role.TUTOR | Role.MASTER:
            return base & Q(portfolio_id__in=_assigned_portfolio_ids(viewer))
    return NOTHING


def trainers(viewer: Viewer) -> Q:
    """On `User`, restricted to tutors and masters."""
    base = Q(school_id=viewer.school_id, role__in=[Role.TUTOR, Role.MASTER])
    match viewer.role:
        case Role.ADMIN | Role.TEACHER:
            return base
        case Role.LEARNER:
            return base & Q(id__in=Subquery(Portfolio.filter(learner_id=viewer.id).values("trainers__id")))
        case Role.TUTOR | Role.MASTER:
            # Themself too, even before any assignment: their own `me.id` must refetch.
            return base & (
                Q(id=viewer.id)
                | Q(id__in=Subquery(Portfolio.filter(id__in=_assigned_portfolio_ids(viewer)).values("trainers__id")))
            )
    return NOTHING


def managed_trainers(viewer: Viewer) -> Q:
    """On `User`: the trainers the viewer may edit and deactivate, as the `trainer.manage` rule grants them."""
    match grant_of("trainer.manage", viewer.role):
        case Grant.ALL:
            return trainers(viewer)
        case Grant.TAUGHT_OR_CREATED:
            following_taught = Subquery(
                Portfolio.filter(learner__classroom_id__in=_taught_classroom_ids(viewer)).values("trainers__id")
            )
            return trainers(viewer) & (Q(id__in=following_taught) | Q(created_by_id=viewer.id))
    return NOTHING


def trainer_links(viewer: Viewer) -> Q:
    """On `TrainerLink`: the links of the portfolios the viewer reaches held by the kinds of trainer whose links
    `trainer_link.manage` grants them (an administrator's tutors and masters, a teacher's tutors); none through a
    link, which manages nothing."""
    roles = linkable_roles(viewer.role)
    if not roles or viewer.through_link:
        return NOTHING
    return (
        Q(school_id=viewer.school_id)
        & Q(portfolio_id__in=Subquery(Portfolio.filter(portfolios(viewer)).values("id")))
        & Q(trainer_id__in=Subquery(User.filter(school_id=viewer.school_id, role__in=list(roles)).values("id")))
    )


def teachers(viewer: Viewer) -> Q:
    """On `User`, restricted to teachers: anyone of the school may see a teacher's name."""
    return Q(school_id=viewer.school_id, role=Role.TEACHER)


def frameworks(viewer: Viewer) -> Q:
    """Built-in (national) frameworks and those of the viewer's school."""
    return Q(school_id=None) | Q(school_id=viewer.school_id)


def framework_parts(viewer: Viewer) -> Q:
    """On `FrameworkActivity`, `Task` and `Competence`: those of the frameworks the viewer reads, so a school's
    own framework stays its own down to its last task."""
    return Q(framework_id__in=Subquery(Framework.filter(frameworks(viewer)).values("id")))


def criteria(viewer: Viewer) -> Q:
    """On `Criterion`: those of the competences the viewer reads."""
    return Q(competence_id__in=Subquery(Competence.filter(framework_parts(viewer)).values("id")))


def period_templates(viewer: Viewer) -> Q:
    """Templates of the levels the viewer reaches."""
    return Q(school_id=viewer.school_id) & Q(level_id__in=Subquery(Level.filter(levels(viewer)).values("id")))


def bilans(viewer: Viewer) -> Q:
    """On `CompanyBilan`: those of the portfolios in reach (drafts are filtered by the access rules)."""
    return Q(portfolio_id__in=Subquery(Portfolio.filter(portfolios(viewer)).values("id")))


def liaison_fiches(viewer: Viewer) -> Q:
    return Q(portfolio_id__in=Subquery(Portfolio.filter(portfolios(viewer)).values("id")))


def school_accounts(viewer: Viewer) -> Q:
    """On `User`: every account of the viewer's school (account management is the admin's)."""
    return Q(school_id=viewer.school_id)


def visible_fiches(viewer: Viewer) -> Q:
    """On `ActivityFiche`: the fiches in reach, deleted ones only for `fiche.staff.read` (R13)."""
    reach = activity_fiches(viewer)
    return reach if allows("fiche.staff.read", viewer.role) else reach & Q(deleted_at=None)


def annexes(viewer: Viewer) -> Q:
    """On `Annex`: the annexes of the fiches the viewer sees."""
    return Q(fiche_id__in=Subquery(ActivityFiche.filter(visible_fiches(viewer)).values("id")))


def interim_reviews(viewer: Viewer) -> Q:
    """On `InterimReview`: the reviews of the learners the viewer reaches."""
    return Q(school_id=viewer.school_id) & Q(learner_id__in=Subquery(User.filter(learners(viewer)).values("id")))


def audit_entries(viewer: Viewer) -> Q:
    """On `AuditEntry`: the entries of the viewer's school, for those who may read the trail (`audit.read`)."""
    if allows("audit.read", viewer.role):
        return Q(school_id=viewer.school_id)
    return NOTHING


def portfolio_reach(viewer: Viewer) -> Q:
    """On `Portfolio`, for the exports: reached, and so are its period and its learner (the GraphQL views show no
    less)."""
    return (
        portfolios(viewer)
        & Q(period_id__in=Subquery(Period.filter(periods(viewer)).values("id")))
        & Q(learner_id__in=Subquery(User.filter(learners(viewer)).values("id")))
    )


def may_read_bilan(row: CompanyBilan, viewer: Viewer | None) -> bool:
    """A draft is read by staff and the portfolio's trainers; a completed bilan also by its learner (R21)."""
    if viewer is None:
        return False
    rule = "bilan.completed.read" if row.status is BilanStatus.COMPLETED else "bilan.draft.read"
    # A learner reaches the bilans of their own portfolios only.
    return allows(rule, viewer.role, owned=OWN_BY_REACH)
