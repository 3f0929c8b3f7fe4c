"""Row reach: which rows of each kind a role sees at all, as query filters.

Every list, `node(id:)`, loader and export filters with these `Q` objects in
SQL; nothing is fetched and then filtered in Python. A row outside reach does
not exist for the viewer (`null`, left out, or `NOT_FOUND`).

Each function answers a `Q` on the model named in its name. Sub-queries
(`…__in=Subquery(…)`) rather than joins keep a row from appearing twice.
"""

from __future__ import annotations

from tortoise.expressions import Q, Subquery

from models.portfolios import Portfolio
from models.schools import Classroom
from models.users import Role
from permissions.table import Grant, grant_of
from permissions.viewer import Viewer

NOTHING = Q(id__in=[])


def _taught_classroom_ids(viewer: Viewer) -> Subquery:
    return Subquery(Classroom.filter(teachers__id=viewer.id).values("id"))


def _taught_level_ids(viewer: Viewer) -> Subquery:
    return Subquery(Classroom.filter(teachers__id=viewer.id).values("level_id"))


def _assigned_portfolio_ids(viewer: Viewer) -> Subquery:
    return Subquery(Portfolio.filter(trainers__id=viewer.id).values("id"))


def _assigned_learner_ids(viewer: Viewer) -> Subquery:
    return Subquery(Portfolio.filter(trainers__id=viewer.id).values("learner_id"))


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


def classrooms(viewer: Viewer) -> Q:
    base = Q(school_id=viewer.school_id)
    match viewer.role:
        case Role.ADMIN:
            return base
        case Role.TEACHER:
            return base & Q(id__in=_taught_classroom_ids(viewer))
        case Role.LEARNER:
            from models.users import User

            return base & Q(id__in=Subquery(User.filter(id=viewer.id).values("classroom_id")))
        case Role.TUTOR | Role.MASTER:
            from models.users import User

            return base & Q(
                id__in=Subquery(User.filter(id__in=_assigned_learner_ids(viewer)).values("classroom_id"))
            )
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
            return base & Q(
                id__in=Subquery(Portfolio.filter(learner_id=viewer.id).values("trainers__id"))
            )
        case Role.TUTOR | Role.MASTER:
            return base & Q(
                id__in=Subquery(
                    Portfolio.filter(id__in=_assigned_portfolio_ids(viewer)).values("trainers__id")
                )
            )
    return NOTHING


def managed_trainers(viewer: Viewer) -> Q:
    """On `User`: the trainers the viewer may edit and deactivate, as the `trainer.manage` rule grants them."""
    match grant_of("trainer.manage", viewer.role):
        case Grant.ALL:
            return trainers(viewer)
        case Grant.TAUGHT_OR_CREATED:
            following_taught = Subquery(
                Portfolio.filter(learner__classroom_id__in=_taught_classroom_ids(viewer)).values("trainers__id"))
            return trainers(viewer) & (Q(id__in=following_taught) | Q(created_by_id=viewer.id))
    return NOTHING


def teachers(viewer: Viewer) -> Q:
    """On `User`, restricted to teachers: anyone of the school may see a teacher's name."""
    return Q(school_id=viewer.school_id, role=Role.TEACHER)


def frameworks(viewer: Viewer) -> Q:
    """Built-in (national) frameworks and those of the viewer's school."""
    return Q(school_id=None) | Q(school_id=viewer.school_id)


def period_templates(viewer: Viewer) -> Q:
    """Templates of the levels the viewer reaches."""
    from models.schools import Level

    return Q(school_id=viewer.school_id) & Q(level_id__in=Subquery(Level.filter(levels(viewer)).values("id")))


def bilans(viewer: Viewer) -> Q:
    """On `CompanyBilan`: those of the portfolios in reach (drafts are filtered by the access rules)."""
    return Q(portfolio_id__in=Subquery(Portfolio.filter(portfolios(viewer)).values("id")))


def liaison_fiches(viewer: Viewer) -> Q:
    return Q(portfolio_id__in=Subquery(Portfolio.filter(portfolios(viewer)).values("id")))


def school_accounts(viewer: Viewer) -> Q:
    """On `User`: every account of the viewer's school (account management is the admin's)."""
    return Q(school_id=viewer.school_id)
