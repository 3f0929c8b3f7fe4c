"""The rules of activity fiches (R12–R14): which fiches a viewer sees, which may change, and how.

Row reach of fiches and annexes is a query filter built on `permissions.scopes`:
deleted fiches (and their annexes) exist only for the roles granted
`fiche.staff.read` (R13); for everyone else a deleted fiche is out of reach.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from tortoise import timezone

from graph.errors import FieldProblem, Reason, UserInputError, problem
from graph.messages import Term
from models.fiches import ActivityFiche, FicheEvaluationTarget, FicheTask
from models.frameworks import Task
from models.portfolios import LiaisonFiche, Portfolio
from permissions import scopes
from permissions.viewer import Viewer
from resolvers.inputs import fetch_in_reach
from resolvers.periods.rules import is_locked

# The fiches and annexes in reach (permissions/scopes.py), under the names this domain uses.
visible_fiches = scopes.visible_fiches
visible_annexes = scopes.annexes


async def fetch_fiche(viewer: Viewer, value: str, field: str, *, for_update: bool = False) -> ActivityFiche:
    return await fetch_in_reach(
        ActivityFiche, visible_fiches, viewer, value, "ActivityFiche", field, "activity fiche", for_update=for_update
    )


async def check_editable(fiche: ActivityFiche, field: str | None, *, free_allowed: bool = False) -> None:
    """CONFLICT unless the fiche may change: not deleted, in a portfolio (unless `free_allowed`),
    and its period not locked by an interim review (R7, R12)."""
    if fiche.deleted_at is not None:
        raise problem(field, Reason.FICHE_DELETED)
    if fiche.portfolio_id is None:
        if free_allowed:
            return
        raise problem(field, Reason.FICHE_FREE)
    # cast: Tortoise types values_list as tuples even with flat=True, which answers the bare value. (A cast
    # does nothing at run time: its mutants cannot be told apart, hence the pragma.)
    period_id = cast(
        "int | None",  # pragma: no mutate
        await Portfolio.filter(id=fiche.portfolio_id).first().values_list("period_id", flat=True),
    )
    if period_id is not None and await is_locked(period_id):
        raise problem(field, Reason.PERIOD_LOCKED)


def touch_by_learner(fiche: ActivityFiche, now: dt.datetime | None = None) -> None:
    """Every change by the learner makes the fiche UNREAD again for the teachers who read it (R13)."""
    fiche.learner_changed_at = now or timezone.now()


async def framework_id_of_portfolio(portfolio_id: int | None) -> int | None:
    """The framework of the portfolio's level: the tasks and activity types a fiche may name."""
    if portfolio_id is None:
        return None
    framework_id = await Portfolio.filter(id=portfolio_id).first().values_list("period__level__framework_id", flat=True)
    # values_list with flat=True: the bare value, whatever Tortoise's types say (a cast does nothing at run time)
    return cast("int | None", framework_id)  # pragma: no mutate


def check_in_framework(rows: Sequence, framework_id: int | None, field: str, what: str) -> None:
    """INVALID for each row (task, framework activity) outside the fiche's framework, naming its index."""
    wrong = [
        FieldProblem([*field.split("."), str(i)], Reason.NOT_IN_FICHE_FRAMEWORK, {"what": Term(what), "code": row.code})
        for i, row in enumerate(rows)
        if row.framework_id != framework_id
    ]
    if wrong:
        raise UserInputError(wrong)


def workplace_label(liaison: LiaisonFiche | None) -> str | None:
    """The fiche's workplace as the liaison fiche names it: company, and service when given."""
    if liaison is None or not liaison.company_name:
        return None
    return f"{liaison.company_name} — {liaison.service}" if liaison.service else liaison.company_name


async def remove_task_links(fiche_id: int, task_ids: Sequence[int]) -> None:
    """Unlink tasks from a fiche, with the evaluation targets chosen for them."""
    if not task_ids:
        return
    await FicheEvaluationTarget.filter(fiche_id=fiche_id, task_id__in=list(task_ids)).delete()
    await FicheTask.filter(fiche_id=fiche_id, task_id__in=list(task_ids)).delete()


async def learner_ticks(fiche: ActivityFiche, tasks: Sequence[Task]) -> None:
    """The learner's ticks become exactly `tasks`; a task nobody holds any more leaves the fiche."""
    wanted = {t.id for t in tasks}
    links = {link.task_id: link for link in await FicheTask.filter(fiche_id=fiche.id)}
    for task_id in wanted - set(links):
        await FicheTask.create(fiche_id=fiche.id, task_id=task_id, ticked_by_learner=True)
    retick = [i for i in wanted & set(links) if not links[i].ticked_by_learner]
    if retick:
        await FicheTask.filter(fiche_id=fiche.id, task_id__in=retick).update(ticked_by_learner=True)
    unticked = [link for i, link in links.items() if i not in wanted and link.ticked_by_learner]
    kept = [link.task_id for link in unticked if link.checked_by_teacher]
    if kept:
        await FicheTask.filter(fiche_id=fiche.id, task_id__in=kept).update(ticked_by_learner=False)
    await remove_task_links(fiche.id, [link.task_id for link in unticked if not link.checked_by_teacher])


async def teacher_checks(fiche: ActivityFiche, tasks: Sequence[Task]) -> None:
    """The teacher's list replaces the set: kept or added tasks are checked, the others leave the fiche."""
    wanted = {t.id for t in tasks}
    # cast: with flat=True values_list answers the bare values, not the tuples its types announce (a cast does
    # nothing at run time, hence the pragma).
    task_ids = await FicheTask.filter(fiche_id=fiche.id).values_list("task_id", flat=True)
    present = set(cast("list[int]", task_ids))  # pragma: no mutate
    for task_id in wanted - present:
        await FicheTask.create(fiche_id=fiche.id, task_id=task_id, checked_by_teacher=True)
    if wanted & present:
        await FicheTask.filter(fiche_id=fiche.id, task_id__in=list(wanted & present)).update(checked_by_teacher=True)
    await remove_task_links(fiche.id, list(present - wanted))
