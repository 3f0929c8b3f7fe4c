"""Liaison fiches (R9–R10) and the days actually done of a portfolio."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import cast

import strawberry
from tortoise import timezone

from graph.context import Info
from graph.errors import Reason, problem
from graph.types.common import Payload, version_field
from graph.types.portfolios import LiaisonFiche, Portfolio
from models import live
from models import portfolios as m
from models.audit import AuditKind
from models.frameworks import Task
from models.periods import Period
from models.schools import Level
from models.users import User
from permissions import scopes
from permissions.table import OWN_BY_REACH
from resolvers.frameworks.rules import check_not_retired
from resolvers.inputs import check_version, fetch_in_reach, fetch_many_in_reach, optional_text, required_text
from resolvers.mutations import mutation
from resolvers.periods import rules


@strawberry.enum(description="A part of the liaison fiche that can be individualized.")
class LiaisonFichePart(Enum):
    OBJECTIVES = strawberry.enum_value("OBJECTIVES", description="The training objectives.")
    TASKS = strawberry.enum_value("TASKS", description="The tasks entrusted (the activities).")


@strawberry.input(
    description="Lieu de réalisation, replaced whole: a field left out is cleared. Company name, activity domain and tutor "
    "name are required."
)
class WorkplaceInput:
    company_name: str = strawberry.field(description="Raison sociale / name of the company.")
    activity_domain: str = strawberry.field(description="Activity domain of the company.")
    tutor_name: str = strawberry.field(description="Name of the tutor.")
    service: str | None = strawberry.field(default=None, description="Service, optional.")
    tutor_role: str | None = strawberry.field(default=None, description="Job of the tutor, optional.")
    company_address: str | None = strawberry.field(
        default=None, description="Postal address of the company, optional (printed on the PFMP attestation)."
    )
    company_siret: str | None = strawberry.field(
        default=None, description="SIRET of the company: 14 digits, spaces allowed; optional."
    )


def siret(value: str | None, field: str) -> str | None:
    """A SIRET as its 14 digits (spaces between groups are dropped), None when blank, else INVALID naming the field."""
    digits = "".join((value or "").split())
    if not digits:
        return None
    if len(digits) != 14 or not digits.isascii() or not digits.isdigit():
        raise problem(field, Reason.SIRET_INVALID, field=field)
    return digits


@strawberry.input(description="Individualized objectives and activities of one learner; a part left out is unchanged.")
class LiaisonPlanInput:
    objectives: str | None = strawberry.field(default=None, description="Training objectives for this learner.")
    task_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Activities (tasks) to entrust.")


@strawberry.type(description="Result of a liaison fiche mutation.")
class LiaisonFichePayload(Payload):
    liaison_fiche: LiaisonFiche | None = strawberry.field(default=None, description="The liaison fiche as it is now.")


@strawberry.type(description="Result of portfolioDaysDoneSet.")
class PortfolioPayload(Payload):
    portfolio: Portfolio | None = strawberry.field(default=None, description="The portfolio as it is now.")


async def _editable_fiche(
    info: Info, rule: str, id: strawberry.ID, version: int | None
) -> tuple[m.LiaisonFiche, Period]:
    # A learner reaches their own liaison fiches only (the fiche is then looked up in reach).
    viewer = info.context.require(rule, owned=OWN_BY_REACH)
    fiche = await fetch_in_reach(
        m.LiaisonFiche, scopes.liaison_fiches, viewer, id, "LiaisonFiche", "id", "liaison fiche", for_update=True
    )
    if version is not None:
        check_version(fiche.version, version)
    period = await Period.get(portfolios__id=fiche.portfolio_id)
    if await rules.is_locked(period.id):
        raise problem(None, Reason.PERIOD_LOCKED)
    return fiche, period


async def _save(fiche: m.LiaisonFiche, school_id: int) -> LiaisonFichePayload:
    fiche.version += 1
    await fiche.save()
    live.note(live.NewsKind.LIAISON_FICHE_CHANGED, fiche.id, school_id)
    return LiaisonFichePayload(liaison_fiche=LiaisonFiche.from_row(fiche))


@strawberry.input(
    description="The arguments of liaisonFicheWorkplaceUpdate. Fill in the workplace of a liaison fiche: a field left out is unchanged."
)
class LiaisonFicheWorkplaceUpdateInput(WorkplaceInput):
    id: strawberry.ID = strawberry.field(description="The liaison fiche.")
    version: int = version_field()


@strawberry.input(description="The arguments of liaisonFichePlanUpdate. Individualize a liaison fiche.")
class LiaisonFichePlanUpdateInput(LiaisonPlanInput):
    id: strawberry.ID = strawberry.field(description="The liaison fiche.")
    version: int = version_field()


@strawberry.input(
    description="The arguments of liaisonFicheReset. Make parts of a liaison fiche follow the period again."
)
class LiaisonFicheResetInput:
    id: strawberry.ID = strawberry.field(description="The liaison fiche.")
    parts: list[LiaisonFichePart] = strawberry.field(description="The parts to follow the period again.")


@strawberry.input(description="The arguments of markSeen. Mark a portfolio seen.")
class MarkSeenInput:
    portfolio_id: strawberry.ID = strawberry.field(description="One of your portfolios.")


@strawberry.input(description="The arguments of portfolioDaysDoneSet. Record the days a learner worked.")
class PortfolioDaysDoneSetInput:
    id: strawberry.ID = strawberry.field(description="The portfolio.")
    days_done: Decimal | None = strawberry.field(
        default=None,
        description="The days worked in the company (absences deducted, halves allowed); null clears them.",
    )


@strawberry.input(description="The arguments of portfolioReferentTeacherSet. Name the referent teacher of a portfolio.")
class PortfolioReferentTeacherSetInput:
    id: strawberry.ID = strawberry.field(description="The portfolio.")
    teacher_id: strawberry.ID | None = strawberry.field(
        default=None, description="A teacher of the school; null goes back to the teacher who created the period."
    )


@strawberry.type
class LiaisonMutation:
    @mutation("Fill in the workplace of a liaison fiche.", rule="liaison.workplace.write")
    async def liaison_fiche_workplace_update(
        self, info: Info, input: LiaisonFicheWorkplaceUpdateInput
    ) -> LiaisonFichePayload:
        id, version = input.id, input.version
        fiche, _ = await _editable_fiche(info, "liaison.workplace.write", id, version)
        fiche.company_name = required_text(input.company_name, "input.companyName", "The company name", max_length=200)
        fiche.activity_domain = required_text(
            input.activity_domain, "input.activityDomain", "The activity domain", max_length=300
        )
        fiche.tutor_name = required_text(input.tutor_name, "input.tutorName", "The tutor's name", max_length=200)
        fiche.service = optional_text(input.service, "input.service", "The service", max_length=200)
        fiche.tutor_role = optional_text(input.tutor_role, "input.tutorRole", "The tutor's job", max_length=200)
        fiche.company_address = optional_text(
            input.company_address, "input.companyAddress", "The company's address", max_length=500
        )
        fiche.company_siret = siret(input.company_siret, "input.companySiret")
        return await _save(fiche, info.context.require_viewer().school_id)

    @mutation(
        "Individualize the objectives and activities of one learner (R10): the parts given stop following the period.",
        rule="liaison.plan.write",
    )
    async def liaison_fiche_plan_update(self, info: Info, input: LiaisonFichePlanUpdateInput) -> LiaisonFichePayload:
        id, version = input.id, input.version
        fiche, period = await _editable_fiche(info, "liaison.plan.write", id, version)
        if input.objectives is not None:
            fiche.objectives = (
                optional_text(input.objectives, "input.objectives", "The objectives", max_length=20000) or ""
            )
            fiche.objectives_individualized = True
        if input.task_ids is not None:
            level = await Level.get(id=period.level_id)
            tasks = await fetch_many_in_reach(
                Task,
                scopes.framework_parts,
                info.context.require_viewer(),
                input.task_ids,
                "Task",
                "input.taskIds",
                "task",
            )
            rules.check_tasks_of_framework(tasks, level, field="input.taskIds")
            check_not_retired(
                tasks,
                "input.taskIds",
                "task",
                kept=set(cast("list[int]", await fiche.tasks.all().values_list("id", flat=True))),
            )
            await fiche.tasks.clear()
            if tasks:
                await fiche.tasks.add(*tasks)
            fiche.tasks_individualized = True
        return await _save(fiche, info.context.require_viewer().school_id)

    @mutation("Make individualized parts follow the period again (R6).", rule="liaison.plan.write")
    async def liaison_fiche_reset(self, info: Info, input: LiaisonFicheResetInput) -> LiaisonFichePayload:
        id, parts = input.id, input.parts
        fiche, period = await _editable_fiche(info, "liaison.plan.write", id, None)
        if LiaisonFichePart.OBJECTIVES in parts:
            fiche.objectives = period.objectives
            fiche.objectives_individualized = False
        if LiaisonFichePart.TASKS in parts:
            await fiche.tasks.clear()
            tasks = await period.tasks.all()
            if tasks:
                await fiche.tasks.add(*tasks)
            fiche.tasks_individualized = False
        return await _save(fiche, info.context.require_viewer().school_id)

    @mutation(
        "Mark one of your portfolios seen: its `newFicheCount` counts from now.",
        rule="fiche.seen",
    )
    async def mark_seen(self, info: Info, input: MarkSeenInput) -> PortfolioPayload:
        portfolio_id = input.portfolio_id
        viewer = info.context.require("fiche.seen", owned=True)
        portfolio = await fetch_in_reach(
            m.Portfolio,
            scopes.portfolios,
            viewer,
            portfolio_id,
            "Portfolio",
            "portfolioId",
            "portfolio",
            for_update=True,
        )
        # The portfolio's row lock queues a second markSeen of the same portfolio behind this one: no duplicate row.
        now = timezone.now()
        if not await m.TrainerSeen.filter(trainer_id=viewer.id, portfolio_id=portfolio.id).update(seen_at=now):
            await m.TrainerSeen.create(trainer_id=viewer.id, portfolio_id=portfolio.id, seen_at=now)
        return PortfolioPayload(portfolio=Portfolio.from_row(portfolio))

    @mutation(
        "Record the days the learner actually worked in the company (absences deducted), or null to clear it.",
        rule="period.write",
    )
    async def portfolio_days_done_set(self, info: Info, input: PortfolioDaysDoneSetInput) -> PortfolioPayload:
        id, days_done = input.id, input.days_done
        viewer = info.context.require_viewer()
        portfolio = await fetch_in_reach(m.Portfolio, scopes.portfolios, viewer, id, "Portfolio", "id", "portfolio")
        period = await Period.get(id=portfolio.period_id)
        value = days_done
        if value is not None:
            duration = (period.end_date - period.start_date).days + 1
            if not value.is_finite() or value < 0 or value > duration or value * 2 != int(value * 2):
                raise problem("daysDone", Reason.DAYS_DONE_OUT_OF_RANGE, duration=duration)
        portfolio.days_done = value
        await portfolio.save()
        return PortfolioPayload(portfolio=Portfolio.from_row(portfolio))

    @mutation(
        "Name the referent teacher (professeur référent) of a portfolio: a teacher of the school, or null to go "
        "back to the teacher who created the period. A teacher out of the school answers NOT_FOUND on teacherId.",
        rule="portfolio.referent.write",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def portfolio_referent_teacher_set(
        self, info: Info, input: PortfolioReferentTeacherSetInput
    ) -> PortfolioPayload:
        id, teacher_id = input.id, input.teacher_id
        viewer = info.context.require_viewer()
        portfolio = await fetch_in_reach(
            m.Portfolio, scopes.portfolios, viewer, id, "Portfolio", "id", "portfolio", for_update=True
        )
        teacher = None
        if teacher_id is not None:
            teacher = await fetch_in_reach(User, scopes.teachers, viewer, teacher_id, "Teacher", "teacherId", "teacher")
            if not teacher.is_active:
                raise problem("teacherId", Reason.TEACHER_DEACTIVATED)
        portfolio.referent_teacher_id = teacher.id if teacher else None
        await portfolio.save(update_fields=["referent_teacher_id", "updated_at"])
        return PortfolioPayload(portfolio=Portfolio.from_row(portfolio))
