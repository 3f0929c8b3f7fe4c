"""Activity fiches (R12–R14): the learner writes them, the teacher links them to the framework and reads them."""

from __future__ import annotations

from collections import defaultdict
from typing import cast

import strawberry
from strawberry import UNSET
from tortoise import timezone

from graph.context import Info
from graph.errors import FieldProblem, Reason, UserInputError, problem
from graph.messages import Term
from graph.types.common import Payload, version_field
from graph.types.fiches import ActivityFiche, Autonomy
from models import fiches as m
from models import live
from models.frameworks import Competence, Criterion, FrameworkActivity, Task, TaskCompetence
from models.portfolios import LiaisonFiche, Portfolio
from permissions import scopes
from permissions.viewer import Viewer
from resolvers.fiches import rules
from resolvers.frameworks.rules import check_not_retired, retired_problem
from resolvers.idempotency import Replay
from resolvers.inputs import (
    check_version,
    fetch_in_reach,
    fetch_many_in_reach,
    input_id,
    not_found_out_of_reach,
    optional_text,
    required_text,
)
from resolvers.mutations import mutation
from resolvers.periods.rules import is_locked

MAX_TEXT = 20000
MAX_TARGETS = 500


@strawberry.input(
    description="The learner's part of a fiche (R12). On update a field left out (or null) is "
    "unchanged; `autonomy` and `workplace` may be set to null explicitly."
)
class ActivityFicheInput:
    title: str | None = strawberry.field(default=None, description="Title (required on creation).")
    autonomy: Autonomy | None = strawberry.field(default=UNSET, description="Autonomous or accompanied.")
    workplace: str | None = strawberry.field(
        default=UNSET, description="Where it took place; left out on creation, or null, takes the liaison fiche's."
    )
    description: str | None = strawberry.field(default=None, description="What the learner did.")
    analysis: str | None = strawberry.field(default=None, description="The learner's reflective analysis.")
    activity_type_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Framework activities the fiche is referenced under (the whole list)."
    )


@strawberry.input(
    description="One thing to evaluate for a task of the fiche: a competence linked to the task, "
    "globally (no criterion) or through one of its criteria."
)
class EvaluationTargetInput:
    task_id: strawberry.ID = strawberry.field(description="A task linked to the fiche.")
    competence_id: strawberry.ID = strawberry.field(description="A competence linked to that task.")
    criterion_id: strawberry.ID | None = strawberry.field(
        default=None, description="A criterion of that competence; leave out to evaluate the competence globally."
    )


@strawberry.type(description="Result of activityFicheCreate.")
class ActivityFicheCreatePayload(Payload):
    activity_fiche: ActivityFiche | None = strawberry.field(default=None, description="The fiche as it is now.")


@strawberry.type(description="Result of activityFicheUpdate.")
class ActivityFicheUpdatePayload(Payload):
    activity_fiche: ActivityFiche | None = strawberry.field(default=None, description="The fiche as it is now.")


@strawberry.type(description="Result of activityFicheTasksSet.")
class ActivityFicheTasksSetPayload(Payload):
    activity_fiche: ActivityFiche | None = strawberry.field(default=None, description="The fiche as it is now.")


@strawberry.type(description="Result of activityFicheTargetsSet.")
class ActivityFicheTargetsSetPayload(Payload):
    activity_fiche: ActivityFiche | None = strawberry.field(default=None, description="The fiche as it is now.")


@strawberry.type(description="Result of activityFicheMarkRead.")
class ActivityFicheMarkReadPayload(Payload):
    activity_fiche: ActivityFiche | None = strawberry.field(default=None, description="The fiche as it is now.")


@strawberry.type(description="Result of activityFicheDelete.")
class ActivityFicheDeletePayload(Payload):
    deleted_activity_fiche_id: strawberry.ID | None = strawberry.field(
        default=None, description="ID of the deleted fiche (teachers still see it, marked DELETED)."
    )


async def _apply_input(fiche: m.ActivityFiche, input: ActivityFicheInput) -> None:
    if input.title is not None:
        fiche.title = required_text(input.title, "input.title", "The title", max_length=300)
    if input.autonomy is not UNSET:
        fiche.autonomy = input.autonomy
    if input.workplace is not UNSET:
        fiche.workplace = optional_text(input.workplace, "input.workplace", "The workplace", max_length=300)
        if fiche.workplace is None and fiche.portfolio_id is not None:
            fiche.workplace = rules.workplace_label(await LiaisonFiche.get_or_none(portfolio_id=fiche.portfolio_id))
    if input.description is not None:
        fiche.description = (
            optional_text(input.description, "input.description", "The description", max_length=MAX_TEXT) or ""
        )
    if input.analysis is not None:
        fiche.analysis = optional_text(input.analysis, "input.analysis", "The analysis", max_length=MAX_TEXT) or ""


async def _activity_types(
    input: ActivityFicheInput, framework_id: int | None, viewer, fiche_id: int | None = None
) -> list[FrameworkActivity] | None:
    if input.activity_type_ids is None:
        return None
    rows = await fetch_many_in_reach(
        FrameworkActivity,
        scopes.framework_parts,
        viewer,
        input.activity_type_ids,
        "FrameworkActivity",
        "input.activityTypeIds",
        "framework activity",
    )
    rules.check_in_framework(rows, framework_id, "input.activityTypeIds", "Activity")
    kept: set[int] = set()
    if fiche_id is not None:
        kept = set(
            cast("list[int]", await FrameworkActivity.filter(activity_fiches__id=fiche_id).values_list("id", flat=True))
        )
    check_not_retired(rows, "input.activityTypeIds", "framework activity", kept=kept)
    return rows


async def _set_activity_types(fiche: m.ActivityFiche, rows: list[FrameworkActivity] | None) -> None:
    if rows is None:
        return
    await fiche.activity_types.clear()
    if rows:
        await fiche.activity_types.add(*rows)


async def _own_fiche(info: Info, rule: str, id: strawberry.ID, *, free_allowed: bool = False) -> m.ActivityFiche:
    viewer = info.context.require_granted(rule)
    fiche = await rules.fetch_fiche(viewer, id, "id", for_update=True)
    info.context.require(rule, owned=fiche.learner_id == viewer.id)
    await rules.check_editable(fiche, "id", free_allowed=free_allowed)
    return fiche


def _targets(targets: list[EvaluationTargetInput]) -> list[tuple[int, int, int | None]]:
    if len(targets) > MAX_TARGETS:
        raise problem("targets", Reason.TOO_MANY_TARGETS, max=MAX_TARGETS)
    wanted = [
        (
            input_id(t.task_id, "Task", f"targets.{i}.taskId"),
            input_id(t.competence_id, "Competence", f"targets.{i}.competenceId"),
            input_id(t.criterion_id, "Criterion", f"targets.{i}.criterionId") if t.criterion_id else None,
        )
        for i, t in enumerate(targets)
    ]
    if len(set(wanted)) != len(wanted):
        raise problem("targets", Reason.LIST_DUPLICATE, field="targets", what=Term("target"))
    modes = defaultdict(set)
    for task, competence, criterion in wanted:
        modes[(task, competence)].add(criterion is None)
    if any(len(kinds) > 1 for kinds in modes.values()):
        raise problem("targets", Reason.TARGET_MODE_MIXED)
    return wanted


async def _check_targets(fiche_id: int, wanted: list[tuple[int, int, int | None]], viewer) -> None:
    linked = set(await m.FicheTask.filter(fiche_id=fiche_id).values_list("task_id", flat=True))
    competences = {c for _, c, _ in wanted}
    known = (
        dict(
            await Competence.filter(scopes.framework_parts(viewer), id__in=list(competences)).values_list(
                "id", "retired_at"
            )
        )
        if competences
        else {}
    )
    pairs = (
        set(
            await TaskCompetence.filter(task_id__in=list(linked), competence_id__in=list(competences)).values_list(
                "task_id", "competence_id"
            )
        )
        if competences and linked
        else set()
    )
    criteria = [k for _, _, k in wanted if k]
    owner, criterion_retired = {}, {}
    for pk, competence_id, retired_at in (
        await Criterion.filter(scopes.criteria(viewer), id__in=criteria).values_list(
            "id", "competence_id", "retired_at"
        )
        if criteria
        else []
    ):
        owner[pk], criterion_retired[pk] = competence_id, retired_at is not None
    # A target the fiche already holds stays even when what it names is retired; a new one may not name it.
    held = set(
        await m.FicheEvaluationTarget.filter(fiche_id=fiche_id).values_list("task_id", "competence_id", "criterion_id")
    )
    retired_tasks = (
        set(await Task.filter(id__in=list(linked), retired_at__isnull=False).values_list("id", flat=True))
        if linked
        else set()
    )
    found: list[FieldProblem] = []
    unlinked: dict[int, tuple] = {}
    for i, (task, competence, criterion) in enumerate(wanted):
        if (task, competence, criterion) not in held and task in linked and competence in known:
            if task in retired_tasks:
                found.append(retired_problem(["targets", str(i), "taskId"], "task"))
                continue
            if known[competence] is not None:
                found.append(retired_problem(["targets", str(i), "competenceId"], "competence"))
                continue
            if criterion is not None and criterion_retired.get(criterion):
                found.append(retired_problem(["targets", str(i), "criterionId"], "criterion"))
                continue
        if task not in linked:
            unlinked[len(found)] = (Task, scopes.framework_parts, task, "task")
            found.append(FieldProblem(["targets", str(i), "taskId"], Reason.TASK_NOT_LINKED_TO_FICHE))
        elif competence not in known:
            found.append(
                FieldProblem(["targets", str(i), "competenceId"], Reason.ID_NOT_FOUND, {"what": Term("competence")})
            )
        elif (task, competence) not in pairs:
            found.append(FieldProblem(["targets", str(i), "competenceId"], Reason.COMPETENCE_NOT_OF_TASK))
        elif criterion is not None and criterion not in owner:
            found.append(
                FieldProblem(["targets", str(i), "criterionId"], Reason.ID_NOT_FOUND, {"what": Term("criterion")})
            )
        elif criterion is not None and owner[criterion] != competence:
            found.append(FieldProblem(["targets", str(i), "criterionId"], Reason.CRITERION_NOT_OF_COMPETENCE))
    if found:
        raise UserInputError(await not_found_out_of_reach(found, viewer, unlinked))


async def _created_again(viewer: Viewer, fiche_id: int | None) -> ActivityFicheCreatePayload:
    """The answer to a retried activityFicheCreate (resolvers/idempotency.py): the fiche it created, as it is now."""
    row = await m.ActivityFiche.filter(scopes.visible_fiches(viewer), id=fiche_id).first()
    return ActivityFicheCreatePayload(activity_fiche=ActivityFiche.from_row(row, viewer) if row else None)


@strawberry.input(description="The arguments of activityFicheCreate. Write a new activity fiche.")
class ActivityFicheCreateInput(ActivityFicheInput):
    portfolio_id: strawberry.ID = strawberry.field(description="One of your portfolios.")


@strawberry.input(description="The arguments of activityFicheUpdate. Edit a fiche: a field left out is unchanged.")
class ActivityFicheUpdateInput(ActivityFicheInput):
    id: strawberry.ID = strawberry.field(description="The fiche.")
    version: int = version_field()


@strawberry.input(description="The arguments of activityFicheDelete. Delete a fiche.")
class ActivityFicheDeleteInput:
    id: strawberry.ID = strawberry.field(description="The fiche.")


@strawberry.input(description="The arguments of activityFicheTasksSet. Set the tasks of a fiche.")
class ActivityFicheTasksSetInput:
    id: strawberry.ID = strawberry.field(description="The fiche.")
    task_ids: list[strawberry.ID] = strawberry.field(description="The tasks (the whole list).")


@strawberry.input(description="The arguments of activityFicheTargetsSet. Choose what to evaluate on a fiche.")
class ActivityFicheTargetsSetInput:
    id: strawberry.ID = strawberry.field(description="The fiche.")
    targets: list[EvaluationTargetInput] = strawberry.field(
        description="Per task, the competences or criteria (the whole list)."
    )


@strawberry.input(description="The arguments of activityFicheMarkRead. Mark a fiche read.")
class ActivityFicheMarkReadInput:
    id: strawberry.ID = strawberry.field(description="The fiche.")


@strawberry.type
class FicheMutation:
    @mutation(
        "Write a new activity fiche in one of your portfolios (R12); its workplace "
        "comes from the liaison fiche unless given.",
        rule="fiche.write",
        idempotent=Replay("activity_fiche", _created_again),
    )
    async def activity_fiche_create(self, info: Info, input: ActivityFicheCreateInput) -> ActivityFicheCreatePayload:
        portfolio_id = input.portfolio_id
        viewer = info.context.require_viewer()
        portfolio = await fetch_in_reach(
            Portfolio,
            scopes.portfolios,
            viewer,
            portfolio_id,
            "Portfolio",
            "portfolioId",
            "portfolio",
            for_update=True,
        )
        info.context.require("fiche.write", owned=portfolio.learner_id == viewer.id)
        if await is_locked(portfolio.period_id):
            raise problem("portfolioId", Reason.PERIOD_LOCKED)
        framework_id = await rules.framework_id_of_portfolio(portfolio.id)
        fiche = m.ActivityFiche(
            school_id=portfolio.school_id, learner_id=portfolio.learner_id, portfolio_id=portfolio.id, title=""
        )
        fiche.title = required_text(input.title, "input.title", "The title", max_length=300)
        await _apply_input(fiche, input)
        if input.workplace is UNSET:
            fiche.workplace = rules.workplace_label(await LiaisonFiche.get_or_none(portfolio_id=portfolio.id))
        types = await _activity_types(input, framework_id, viewer)
        rules.touch_by_learner(fiche)
        await fiche.save()
        await _set_activity_types(fiche, types)
        live.note(live.NewsKind.FICHE_CREATED, fiche.id, fiche.school_id)
        return ActivityFicheCreatePayload(activity_fiche=ActivityFiche.from_row(fiche, info.context.viewer))

    @mutation(
        "Edit one of your fiches (R12). CONFLICT when `version` is stale, when the "
        "fiche is a free fiche or its period is locked (R7).",
        rule="fiche.write",
    )
    async def activity_fiche_update(self, info: Info, input: ActivityFicheUpdateInput) -> ActivityFicheUpdatePayload:
        id, version = input.id, input.version
        fiche = await _own_fiche(info, "fiche.write", id)
        check_version(fiche.version, version)
        framework_id = await rules.framework_id_of_portfolio(fiche.portfolio_id)
        await _apply_input(fiche, input)
        types = await _activity_types(input, framework_id, info.context.viewer, fiche.id)
        fiche.version += 1
        rules.touch_by_learner(fiche)
        await fiche.save()
        await _set_activity_types(fiche, types)
        live.note(live.NewsKind.FICHE_CHANGED, fiche.id, fiche.school_id)
        return ActivityFicheUpdatePayload(activity_fiche=ActivityFiche.from_row(fiche, info.context.viewer))

    @mutation(
        "Delete one of your fiches: it stays listed for teachers, marked DELETED "
        "(R13). Free fiches may be deleted; fiches of a locked period may not.",
        rule="fiche.write",
    )
    async def activity_fiche_delete(self, info: Info, input: ActivityFicheDeleteInput) -> ActivityFicheDeletePayload:
        id = input.id
        fiche = await _own_fiche(info, "fiche.write", id, free_allowed=True)
        fiche.deleted_at = timezone.now()
        fiche.version += 1
        rules.touch_by_learner(fiche, fiche.deleted_at)
        await fiche.save()
        live.note(live.NewsKind.FICHE_DELETED, fiche.id, fiche.school_id)
        return ActivityFicheDeletePayload(deleted_activity_fiche_id=id)

    @mutation(
        "Set the tasks of a fiche (R14). The fiche's learner ticks tasks: their ticks "
        "become exactly this list. A teacher's list replaces the fiche's tasks: those "
        "kept or added are checked, the others leave the fiche with their evaluation "
        "targets.",
        rule="fiche.tasks.write",
    )
    async def activity_fiche_tasks_set(
        self, info: Info, input: ActivityFicheTasksSetInput
    ) -> ActivityFicheTasksSetPayload:
        id, task_ids = input.id, input.task_ids
        viewer = info.context.require_viewer()
        fiche = await rules.fetch_fiche(viewer, id, "id", for_update=True)
        author = fiche.learner_id == viewer.id
        info.context.require("fiche.tasks.write", owned=author)
        await rules.check_editable(fiche, "id")
        tasks = await fetch_many_in_reach(Task, scopes.framework_parts, viewer, task_ids, "Task", "taskIds", "task")
        rules.check_in_framework(tasks, await rules.framework_id_of_portfolio(fiche.portfolio_id), "taskIds", "Task")
        check_not_retired(
            tasks,
            "taskIds",
            "task",
            kept=set(cast("list[int]", await m.FicheTask.filter(fiche_id=fiche.id).values_list("task_id", flat=True))),
        )
        if author:
            await rules.learner_ticks(fiche, tasks)
            rules.touch_by_learner(fiche)
            await fiche.save()
        else:
            await rules.teacher_checks(fiche, tasks)
        live.note(live.NewsKind.FICHE_CHANGED, fiche.id, fiche.school_id)
        return ActivityFicheTasksSetPayload(activity_fiche=ActivityFiche.from_row(fiche, info.context.viewer))

    @mutation(
        "Choose, per task of the fiche, the competences to evaluate globally or the "
        "criteria to evaluate in detail (R14); the list replaces the previous choice.",
        rule="fiche.targets.write",
    )
    async def activity_fiche_targets_set(
        self, info: Info, input: ActivityFicheTargetsSetInput
    ) -> ActivityFicheTargetsSetPayload:
        id, targets = input.id, input.targets
        viewer = info.context.require_viewer()
        fiche = await rules.fetch_fiche(viewer, id, "id", for_update=True)
        await rules.check_editable(fiche, "id")
        wanted = _targets(targets)
        await _check_targets(fiche.id, wanted, viewer)
        await m.FicheEvaluationTarget.filter(fiche_id=fiche.id).delete()
        if wanted:
            await m.FicheEvaluationTarget.bulk_create(
                [
                    m.FicheEvaluationTarget(fiche_id=fiche.id, task_id=t, competence_id=c, criterion_id=k)
                    for t, c, k in wanted
                ]
            )
        live.note(live.NewsKind.FICHE_CHANGED, fiche.id, fiche.school_id)
        return ActivityFicheTargetsSetPayload(activity_fiche=ActivityFiche.from_row(fiche, info.context.viewer))

    @mutation("Mark a fiche read for you (R13): READ until the learner changes it again.", rule="fiche.mark_read")
    async def activity_fiche_mark_read(
        self, info: Info, input: ActivityFicheMarkReadInput
    ) -> ActivityFicheMarkReadPayload:
        id = input.id
        viewer = info.context.require_viewer()
        fiche = await rules.fetch_fiche(viewer, id, "id", for_update=True)
        now = timezone.now()
        updated = await m.FicheRead.filter(fiche_id=fiche.id, teacher_id=viewer.id).update(read_at=now)
        if not updated:
            await m.FicheRead.create(fiche_id=fiche.id, teacher_id=viewer.id, read_at=now)
        return ActivityFicheMarkReadPayload(activity_fiche=ActivityFiche.from_row(fiche, info.context.viewer))
