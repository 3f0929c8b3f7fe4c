"""Periods: the views of R1–R3 and the lifecycle of R4–R8."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Annotated

import strawberry

from graph.context import Info
from graph.errors import Reason, problem
from graph.types.common import Payload, decode_id, version_field
from graph.types.periods import Period, PeriodTemplate
from graph.types.portfolios import LiaisonFiche
from models import periods as m
from models.allowance import AllowanceStatement
from models.frameworks import Task
from models.portfolios import Portfolio
from models.schools import Classroom, Level
from models.users import User
from permissions import scopes
from permissions.table import OWN_BY_REACH, describe
from resolvers.frameworks.rules import check_not_retired
from resolvers.inputs import check_version, fetch_in_reach, fetch_many_in_reach, optional_text, required_text
from resolvers.mutations import mutation
from resolvers.periods import rules


@strawberry.input(
    description="A period's parameters. On creation from a template, name, objectives and tasks "
    "left out are taken from the template."
)
class PeriodInput:
    name: str | None = strawberry.field(default=None, description="Name, e.g. « Stage de découverte ».")
    start_date: dt.date | None = strawberry.field(default=None, description="First day (required on creation).")
    end_date: dt.date | None = strawberry.field(default=None, description="Last day (required on creation).")
    certifying: bool | None = strawberry.field(default=None, description="Counts for the diploma (default true).")
    objectives: str | None = strawberry.field(default=None, description="Training objectives.")
    task_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Tasks to entrust, from the level's framework."
    )
    learner_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The assigned learners (the whole list: learners left out are removed, R8)."
    )


@strawberry.type(description="Result of periodCreate.")
class PeriodCreatePayload(Payload):
    period: Period | None = strawberry.field(default=None, description="The new period.")


@strawberry.type(description="Result of periodUpdate.")
class PeriodUpdatePayload(Payload):
    period: Period | None = strawberry.field(default=None, description="The period as it is now.")
    kept_individualized: list[LiaisonFiche] = strawberry.field(
        default_factory=list, description="Liaison fiches that kept their own objectives or activities (R6)."
    )
    moved_fiche_count: int = strawberry.field(
        default=0, description="Fiches moved to free fiches by removing learners."
    )


@strawberry.type(description="Result of periodDelete.")
class PeriodDeletePayload(Payload):
    deleted_period_id: strawberry.ID | None = strawberry.field(default=None, description="ID of the deleted period.")
    moved_fiche_count: int = strawberry.field(
        default=0, description="Activity fiches moved to the learners' free fiches."
    )


@strawberry.input(description="A period template (annexe pédagogique).")
class PeriodTemplateInput:
    level_id: strawberry.ID = strawberry.field(description="The level.")
    name: str = strawberry.field(description="Name of the template.")
    duration_days: int | None = strawberry.field(default=None, description="Usual length in days.")
    objectives: str = strawberry.field(default="", description="Training objectives.")
    task_ids: list[strawberry.ID] = strawberry.field(default_factory=list, description="Tasks to entrust.")


@strawberry.type(description="Result of periodTemplateCreate.")
class PeriodTemplateCreatePayload(Payload):
    period_template: PeriodTemplate | None = strawberry.field(default=None, description="The new template.")


async def _learners_of_level(viewer, level: Level, ids: Sequence[str]) -> list[User]:
    learners = await fetch_many_in_reach(User, scopes.learners, viewer, ids, "Learner", "learnerIds", "learner")
    levels = dict(
        await Classroom.filter(
            id__in=[learner.classroom_id for learner in learners if learner.classroom_id]
        ).values_list("id", "level_id")
    )
    rules.check_learners_of_level(learners, levels, level)
    return learners


async def _tasks_of_level(viewer, level: Level, ids: Sequence[str], kept: Collection[int] = ()) -> list[Task]:
    """The tasks named, of the level's framework; retired ones only when `kept` (the current links) holds them."""
    tasks = await fetch_many_in_reach(Task, scopes.framework_parts, viewer, ids, "Task", "taskIds", "task")
    rules.check_tasks_of_framework(tasks, level)
    check_not_retired(tasks, "taskIds", "task", kept=kept)
    return sorted(tasks, key=lambda t: t.position)


@strawberry.type
class PeriodQuery:
    @strawberry.field(
        description="Vue par périodes (R1): the level's periods of a school year (default: the "
        "current one) in creation order. " + describe("period.read")
    )
    async def periods(
        self,
        info: Info,
        level_id: Annotated[strawberry.ID, strawberry.argument(description="The level.")],
        school_year: Annotated[
            int | None,
            strawberry.argument(
                description="The school year, by its first calendar year (2025 for 2025–2026); by default the current one."
            ),
        ] = None,
    ) -> list[Period]:
        viewer = info.context.require("period.read", owned=OWN_BY_REACH)
        level = decode_id(level_id, expected="Level", field="levelId")[1]
        year = school_year if school_year is not None else rules.current_school_year(dt.date.today())
        rows = await m.Period.filter(scopes.periods(viewer), level_id=level, school_year=year).order_by(
            "created_at", "id"
        )
        return [Period.from_row(r) for r in rows]

    @strawberry.field(description="Period templates of a level, by name.")
    async def period_templates(
        self, info: Info, level_id: Annotated[strawberry.ID, strawberry.argument(description="The level.")]
    ) -> list[PeriodTemplate]:
        viewer = info.context.require("school.structure.read", owned=OWN_BY_REACH)
        level = decode_id(level_id, expected="Level", field="levelId")[1]
        rows = await m.PeriodTemplate.filter(scopes.period_templates(viewer), level_id=level).order_by("name", "id")
        return [PeriodTemplate.from_row(r) for r in rows]


@strawberry.input(
    description="The arguments of periodCreate. Create a period. On creation from a template, name, objectives and tasks left out are taken from the template."
)
class PeriodCreateInput(PeriodInput):
    level_id: strawberry.ID = strawberry.field(description="The level.")
    template_id: strawberry.ID | None = strawberry.field(
        default=None, description="The period template (annexe pédagogique) to start from."
    )


@strawberry.input(description="The arguments of periodUpdate. Edit a period: a field left out is unchanged.")
class PeriodUpdateInput(PeriodInput):
    id: strawberry.ID = strawberry.field(description="The period.")
    version: int = version_field()


@strawberry.input(description="The arguments of periodPlannedDaysSet. Set a period's planned days.")
class PeriodPlannedDaysSetInput:
    id: strawberry.ID = strawberry.field(description="The period.")
    planned_days: int | None = strawberry.field(
        default=None, description="The planned days, at most the period's calendar days; null counts its working days."
    )


@strawberry.input(description="The arguments of periodDelete. Delete a period.")
class PeriodDeleteInput:
    id: strawberry.ID = strawberry.field(description="The period.")


@strawberry.input(description="The arguments of periodTemplateCreate. Create a period template.")
class PeriodTemplateCreateInput(PeriodTemplateInput):
    pass


@strawberry.type
class PeriodMutation:
    @mutation(
        "Create a period (R4) from a template or from scratch; each assigned learner "
        "gets a portfolio, a first fiche and a liaison fiche (R5).",
        rule="period.write",
    )
    async def period_create(self, info: Info, input: PeriodCreateInput) -> PeriodCreatePayload:
        level_id, template_id = input.level_id, input.template_id
        viewer = info.context.require_viewer()
        level = await fetch_in_reach(Level, scopes.levels, viewer, level_id, "Level", "levelId", "level")
        template = None
        if template_id is not None:
            template = await fetch_in_reach(
                m.PeriodTemplate,
                scopes.period_templates,
                viewer,
                template_id,
                "PeriodTemplate",
                "templateId",
                "period template",
            )
            if template.level_id != level.id:
                raise problem("templateId", Reason.TEMPLATE_OF_OTHER_LEVEL)
        name = required_text(input.name or (template.name if template else None), "name", "The name", max_length=200)
        if input.start_date is None or input.end_date is None:
            raise problem("startDate" if input.start_date is None else "endDate", Reason.PERIOD_DATES_REQUIRED)
        rules.check_period_dates(input.start_date, input.end_date)
        objectives = input.objectives if input.objectives is not None else (template.objectives if template else "")
        if input.task_ids is not None:
            tasks = await _tasks_of_level(viewer, level, input.task_ids)
        elif template is not None:
            # A template's retired tasks are not offered to a new period.
            tasks = list(await template.tasks.filter(retired_at=None).order_by("position"))
        else:
            tasks = []
        learners = await _learners_of_level(viewer, level, input.learner_ids or [])
        period = await m.Period.create(
            school_id=viewer.school_id,
            level=level,
            template=template,
            name=name,
            start_date=input.start_date,
            end_date=input.end_date,
            school_year=rules.school_year_of(input.start_date),
            certifying=True if input.certifying is None else input.certifying,
            objectives=optional_text(objectives, "objectives", "The objectives", max_length=20000) or "",
            created_by_id=viewer.id,
        )
        if tasks:
            await period.tasks.add(*tasks)
        await rules.assign_learners(period, learners, tasks)
        return PeriodCreatePayload(period=Period.from_row(period))

    @mutation(
        "Edit a period (R6): the change passes on to every liaison fiche except the "
        "parts individualized for one learner, which the payload lists. Refused with "
        "CONFLICT once the period is locked (R7) or when `version` is stale.",
        rule="period.write",
    )
    async def period_update(self, info: Info, input: PeriodUpdateInput) -> PeriodUpdatePayload:
        id, version = input.id, input.version
        viewer = info.context.require_viewer()
        period = await fetch_in_reach(m.Period, scopes.periods, viewer, id, "Period", "id", "period", for_update=True)
        check_version(period.version, version)
        if await rules.is_locked(period.id):
            raise problem(None, Reason.PERIOD_LOCKED)
        level = await Level.get(id=period.level_id)
        if input.name is not None:
            period.name = required_text(input.name, "name", "The name", max_length=200)
        start = input.start_date or period.start_date
        end = input.end_date or period.end_date
        rules.check_period_dates(start, end)
        rules.check_planned_days(period.planned_days_override, start, end, field="endDate")
        period.start_date, period.end_date, period.school_year = start, end, rules.school_year_of(start)
        if input.certifying is not None:
            period.certifying = input.certifying
        objectives = None
        if input.objectives is not None:
            objectives = optional_text(input.objectives, "objectives", "The objectives", max_length=20000) or ""
            period.objectives = objectives
        tasks = None
        if input.task_ids is not None:
            kept = set(await period.tasks.all().values_list("id", flat=True))
            tasks = await _tasks_of_level(viewer, level, input.task_ids, kept)
            await period.tasks.clear()
            if tasks:
                await period.tasks.add(*tasks)
        moved = 0
        if input.learner_ids is not None:
            wanted = await _learners_of_level(viewer, level, input.learner_ids)
            current = await Portfolio.filter(period_id=period.id)
            wanted_ids = {learner.id for learner in wanted}
            leaving = [p for p in current if p.learner_id not in wanted_ids]
            blockers = await rules.deletion_blockers(period, leaving)
            if blockers:
                raise problem("learnerIds", Reason.LEARNERS_NOT_REMOVABLE, learners=", ".join(blockers))
            moved = await rules.remove_portfolios(period, leaving)
            present = {p.learner_id for p in current}
            period_tasks = tasks if tasks is not None else list(await period.tasks.all().order_by("position"))
            await rules.assign_learners(
                period, [learner for learner in wanted if learner.id not in present], period_tasks
            )
        kept = await rules.propagate_to_liaison_fiches(period, objectives=objectives, tasks=tasks)
        period.version += 1
        await period.save()
        return PeriodUpdatePayload(
            period=Period.from_row(period),
            moved_fiche_count=moved,
            kept_individualized=[LiaisonFiche.from_row(f) for f in kept],
        )

    @mutation(
        "Set the period's planned days (a positive whole number, at most its calendar days), the figure "
        "every document prints, or null to count the working days between its dates again. Refused with CONFLICT "
        "once the period is locked (R7).",
        rule="period.write",
    )
    async def period_planned_days_set(self, info: Info, input: PeriodPlannedDaysSetInput) -> PeriodUpdatePayload:
        id, planned_days = input.id, input.planned_days
        viewer = info.context.require_viewer()
        period = await fetch_in_reach(m.Period, scopes.periods, viewer, id, "Period", "id", "period", for_update=True)
        if await rules.is_locked(period.id):
            raise problem(None, Reason.PERIOD_LOCKED)
        rules.check_planned_days(planned_days, period.start_date, period.end_date)
        period.planned_days_override = planned_days
        period.version += 1
        await period.save()
        return PeriodUpdatePayload(period=Period.from_row(period))

    @mutation(
        "Delete a period for all its learners (R8): refused with CONFLICT and the "
        "reason unless no bilan is completed, or every completed one is held in the "
        "record of one of its learner's interim reviews. Activity fiches move to free fiches.",
        rule="period.write",
    )
    async def period_delete(self, info: Info, input: PeriodDeleteInput) -> PeriodDeletePayload:
        id = input.id
        viewer = info.context.require_viewer()
        period = await fetch_in_reach(m.Period, scopes.periods, viewer, id, "Period", "id", "period", for_update=True)
        if await AllowanceStatement.filter(period_id=period.id).exists():
            # the head of school's decision is a proof the school keeps ten years
            raise problem("id", Reason.PERIOD_ALLOWANCE_VALIDATED)
        portfolios = await Portfolio.filter(period_id=period.id)
        blockers = await rules.deletion_blockers(period, portfolios)
        if blockers:
            raise problem("id", Reason.PERIOD_NOT_DELETABLE, learners=", ".join(blockers))
        moved = await rules.remove_portfolios(period, portfolios)
        await period.delete()
        return PeriodDeletePayload(deleted_period_id=id, moved_fiche_count=moved)

    @mutation("Create a period template (annexe pédagogique) for a level.", rule="period.write")
    async def period_template_create(self, info: Info, input: PeriodTemplateCreateInput) -> PeriodTemplateCreatePayload:
        viewer = info.context.require_viewer()
        level = await fetch_in_reach(Level, scopes.levels, viewer, input.level_id, "Level", "levelId", "level")
        name = required_text(input.name, "name", "The name", max_length=200)
        if input.duration_days is not None and not 1 <= input.duration_days <= rules.MAX_PERIOD_DAYS:
            raise problem("durationDays", Reason.TEMPLATE_DURATION_OUT_OF_RANGE)
        tasks = await _tasks_of_level(viewer, level, input.task_ids)
        template = await m.PeriodTemplate.create(
            school_id=viewer.school_id,
            level=level,
            name=name,
            duration_days=input.duration_days,
            objectives=optional_text(input.objectives, "objectives", "The objectives", max_length=20000) or "",
        )
        if tasks:
            await template.tasks.add(*tasks)
        return PeriodTemplateCreatePayload(period_template=PeriodTemplate.from_row(template))
