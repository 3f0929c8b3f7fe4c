"""Every `Node` type of the schema, with the row scope that bounds it: the one place `node` and `nodes` look.

An entry names the model and the scope (a function of `permissions/scopes.py`
answering the viewer's `Q`) the row must satisfy, so `node(id:)` never answers
a row a list would not show. An entry without a scope is refused at import,
and `graph/schema.py` refuses to build a schema with a Node type missing here:
a new type cannot be refetched until someone decides who reaches it.
`tests/access/test_cross_school.py` walks this registry against another
school's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q
from tortoise.models import Model

from graph.types.audit import AuditEntry
from graph.types.bilans import readable_bilan
from graph.types.dashboard import InterimReview
from graph.types.fiches import ActivityFiche, Annex
from graph.types.frameworks import Competence, Criterion, Framework, FrameworkActivity, Task
from graph.types.links import TrainerLink
from graph.types.periods import Period, PeriodTemplate
from graph.types.portfolios import LiaisonFiche, Portfolio
from graph.types.schools import Classroom, Level, School
from graph.types.users import Administrator, Learner, Teacher, WorkplaceTrainer
from models import audit, bilans, fiches, frameworks, links, periods, portfolios, schools
from models.users import Role, User
from permissions import scopes
from permissions.table import allows
from permissions.viewer import Viewer


@dataclass(frozen=True)
class NodeEntry:
    model: type[Model]
    scope: Callable[[Viewer], Q]
    convert: Callable[[Any, Viewer], Any]
    # Extra condition on the row (e.g. the role of a User row) so IDs of one type cannot name another.
    extra: Q | None = None

    def __post_init__(self) -> None:
        if not callable(self.scope):
            raise TypeError(f"A Node type of {self.model.__name__} needs a row scope (permissions/scopes.py).")


def _readable_review(row: bilans.InterimReview, viewer: Viewer) -> InterimReview | None:
    return (
        InterimReview.from_row(row) if allows("review.read", viewer.role, owned=row.learner_id == viewer.id) else None
    )


def _plain(kind) -> Callable[[Any, Viewer], Any]:
    return lambda row, viewer: kind.from_row(row)


def _activity(row: frameworks.FrameworkActivity, viewer: Viewer) -> FrameworkActivity:
    return FrameworkActivity(id=row.id, code=row.code, label=row.label)


NODE_TYPES: dict[str, NodeEntry] = {
    "School": NodeEntry(schools.School, scopes.schools, _plain(School)),
    "Level": NodeEntry(schools.Level, scopes.levels, _plain(Level)),
    "Classroom": NodeEntry(schools.Classroom, scopes.classrooms, _plain(Classroom)),
    "Administrator": NodeEntry(User, scopes.administrators, Administrator.from_row, extra=Q(role=Role.ADMIN)),
    "Teacher": NodeEntry(User, scopes.teachers, Teacher.from_row, extra=Q(role=Role.TEACHER)),
    "Learner": NodeEntry(User, scopes.learners, Learner.from_row, extra=Q(role=Role.LEARNER)),
    "Tutor": NodeEntry(User, scopes.trainers, WorkplaceTrainer.from_row, extra=Q(role=Role.TUTOR)),
    "ApprenticeshipMaster": NodeEntry(User, scopes.trainers, WorkplaceTrainer.from_row, extra=Q(role=Role.MASTER)),
    "Framework": NodeEntry(frameworks.Framework, scopes.frameworks, _plain(Framework)),
    "FrameworkActivity": NodeEntry(frameworks.FrameworkActivity, scopes.framework_parts, _activity),
    "Task": NodeEntry(frameworks.Task, scopes.framework_parts, _plain(Task)),
    "Competence": NodeEntry(
        frameworks.Competence, scopes.framework_parts, lambda row, viewer: Competence.from_row(row, {})
    ),
    "Criterion": NodeEntry(frameworks.Criterion, scopes.criteria, _plain(Criterion)),
    "PeriodTemplate": NodeEntry(periods.PeriodTemplate, scopes.period_templates, _plain(PeriodTemplate)),
    "Period": NodeEntry(periods.Period, scopes.periods, _plain(Period)),
    "Portfolio": NodeEntry(portfolios.Portfolio, scopes.portfolios, _plain(Portfolio)),
    "LiaisonFiche": NodeEntry(portfolios.LiaisonFiche, scopes.liaison_fiches, _plain(LiaisonFiche)),
    "ActivityFiche": NodeEntry(fiches.ActivityFiche, scopes.visible_fiches, ActivityFiche.from_row),
    "Annex": NodeEntry(fiches.Annex, scopes.annexes, _plain(Annex)),
    "CompanyBilan": NodeEntry(bilans.CompanyBilan, scopes.bilans, readable_bilan),
    "InterimReview": NodeEntry(bilans.InterimReview, scopes.interim_reviews, _readable_review),
    "TrainerLink": NodeEntry(links.TrainerLink, scopes.trainer_links, _plain(TrainerLink)),
    "AuditEntry": NodeEntry(audit.AuditEntry, scopes.audit_entries, _plain(AuditEntry)),
}


def unregistered(node_type_names: set[str]) -> set[str]:
    """The Node types of a schema that have no entry here (and the entries naming no Node type)."""
    return node_type_names ^ set(NODE_TYPES)
