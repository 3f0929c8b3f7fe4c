"""Batch loads for activity fiches: one statement per relation, whatever the number of fiches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from graph.context import Info
from models.fiches import Annex, FicheEvaluationTarget, FicheRead, FicheTask
from models.frameworks import Competence, Criterion, FrameworkActivity, Task, TaskCompetence, Unit
from models.portfolios import Portfolio


async def read_time_values(viewer_id: int, fiche_ids: Sequence[int]) -> dict[int, object]:
    """When the viewer last marked each fiche read (absent: never)."""
    return dict(
        await FicheRead.filter(teacher_id=viewer_id, fiche_id__in=list(fiche_ids)).values_list("fiche_id", "read_at")
    )


async def annex_counts(fiche_ids: Sequence[int]) -> dict[int, int]:
    """The number of annexes of each fiche (absent: none), one column read."""
    counts: dict[int, int] = defaultdict(int)
    for fiche_id in await Annex.filter(fiche_id__in=list(fiche_ids)).values_list("fiche_id", flat=True):
        counts[fiche_id] += 1  # type: ignore[index]
    return counts


TASK_COLUMNS = ("code", "label", "position", "provisional", "retired_at", "framework_id")


async def task_link_values(fiche_ids: Sequence[int]) -> tuple[list[dict], dict[int, dict]]:
    """The task links of these fiches (by id) and the columns of their tasks (by id): one statement, the tasks'
    columns joined to their links."""
    links = await (
        FicheTask.filter(fiche_id__in=list(fiche_ids))
        .order_by("id")
        .values(
            "fiche_id",
            "task_id",
            "ticked_by_learner",
            "checked_by_teacher",
            **{f"task_{column}": f"task__{column}" for column in TASK_COLUMNS},
        )
    )
    tasks = {
        link["task_id"]: {"id": link["task_id"], **{column: link.pop(f"task_{column}") for column in TASK_COLUMNS}}
        for link in links
    }
    return links, tasks


def read_times(info: Info):
    """Per fiche, when the viewer last marked it read (None if never)."""
    viewer = info.context.require_viewer()

    async def load(fiche_ids: Sequence[int]) -> list:
        rows = await FicheRead.filter(teacher_id=viewer.id, fiche_id__in=list(fiche_ids)).values_list(
            "fiche_id", "read_at"
        )
        found = dict(rows)
        return [found.get(i) for i in fiche_ids]

    return info.context.loaders.custom(("fiche_read_times",), load)


def activity_types(info: Info):
    """Framework activities a fiche is referenced under, in framework order."""

    async def load(fiche_ids: Sequence[int]) -> list[list[FrameworkActivity]]:
        rows = await (
            FrameworkActivity.filter(activity_fiches__id__in=list(fiche_ids))
            .order_by("position")
            .values("id", "code", "label", "position", "framework_id", "retired_at", "activity_fiches__id")
        )
        grouped: dict[int, list[FrameworkActivity]] = defaultdict(list)
        for row in rows:
            owner = row.pop("activity_fiches__id")
            grouped[owner].append(FrameworkActivity(**row))
        return [grouped.get(i, []) for i in fiche_ids]

    return info.context.loaders.custom(("fiche_activity_types",), load)


def framework_of_portfolio(info: Info):
    """The framework id of each portfolio's level (None when the level has none)."""

    async def load(portfolio_ids: Sequence[int]) -> list[int | None]:
        rows = await Portfolio.filter(id__in=list(portfolio_ids)).values_list("id", "period__level__framework_id")
        found = dict(rows)
        return [found.get(i) for i in portfolio_ids]

    return info.context.loaders.custom(("portfolio_framework",), load)


# The rows below hang off a fiche the viewer already reaches, or are framework
# contents every signed-in role reads: no scope of their own (loaders.py).


def task_links(info: Info):
    return info.context.loaders.by_parent(FicheTask, "fiche_id", None)


def targets(info: Info):
    return info.context.loaders.by_parent(FicheEvaluationTarget, "fiche_id", None)


def annexes(info: Info):
    return info.context.loaders.by_parent(Annex, "fiche_id", None, order_by=("created_at", "id"))


def tasks(info: Info):
    return info.context.loaders.by_id(Task, None)


def competences(info: Info):
    return info.context.loaders.by_id(Competence, None)


def criteria(info: Info):
    return info.context.loaders.by_id(Criterion, None)


def activities_of_framework(info: Info):
    return info.context.loaders.by_parent(FrameworkActivity, "framework_id", None, order_by=("position",))


def tasks_of_framework(info: Info):
    return info.context.loaders.by_parent(Task, "framework_id", None, order_by=("position",))


def competence_links(info: Info):
    return info.context.loaders.by_parent(TaskCompetence, "task_id", None)


def criteria_of_competence(info: Info):
    return info.context.loaders.by_parent(Criterion, "competence_id", None, order_by=("position",))


async def unit_codes(info: Info, framework_id: int) -> dict[int, str]:
    rows = await info.context.loaders.by_parent(Unit, "framework_id", None).load(framework_id)
    return {row.id: row.code for row in rows}
