"""Company trainers (R11): tutor and apprenticeship-master accounts, and their assignment to portfolios."""

from __future__ import annotations

from typing import Annotated

import strawberry
from tortoise.expressions import F

from graph.context import Info
from graph.errors import Forbidden, Reason, problem
from graph.messages import Term
from graph.types.common import Connection, Keyset, Payload, paginate
from graph.types.portfolios import Portfolio
from graph.types.users import WorkplaceTrainer
from models.audit import AuditKind
from models.portfolios import Portfolio as PortfolioRow
from models.users import LearnerStatus, Role, User
from permissions import scopes
from permissions.passwords import hash_password_off_loop, temporary_password
from permissions.table import OWN_BY_REACH, describe
from resolvers.inputs import available_email, fetch_in_reach, optional_text, required_text
from resolvers.mutations import mutation, run_mutation

RULE_FOR = {Role.TUTOR: "tutor.manage", Role.MASTER: "master.manage"}
# A tutor follows school-status learners, a master apprentices (R11).
STATUS_FOR = {Role.TUTOR: LearnerStatus.SCHOOL, Role.MASTER: LearnerStatus.APPRENTICE}


@strawberry.input(description="A company trainer's account.")
class TrainerInput:
    email: str = strawberry.field(description="Email, used to sign in.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    company_name: str | None = strawberry.field(default=None, description="Company the trainer works for.")
    job_title: str | None = strawberry.field(default=None, description="Job in the company.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    without_password: bool = strawberry.field(
        default=False,
        description="True for a trainer who will not sign in: the account gets no password (no temporary one to "
        "hand over, and login refuses it) and acts only through the trainer links staff issue (trainerLinkIssue).",
    )


@strawberry.input(
    description="Changes to a trainer's account; a field left out is unchanged. Email and phone "
    "are the admin's to change (" + describe("trainer.contact.write") + ")"
)
class TrainerUpdateInput:
    id: strawberry.ID = strawberry.field(description="The trainer (tutor or master).")
    first_name: str | None = strawberry.field(default=None, description="First name.")
    last_name: str | None = strawberry.field(default=None, description="Last name.")
    company_name: str | None = strawberry.field(default=None, description="Company.")
    job_title: str | None = strawberry.field(default=None, description="Job in the company.")
    email: str | None = strawberry.field(default=None, description="Email.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")


@strawberry.type(description="Result of tutorCreate and masterCreate.")
class TrainerCreatePayload(Payload):
    trainer: WorkplaceTrainer | None = strawberry.field(default=None, description="The new account.")
    temporary_password: str | None = strawberry.field(
        default=None,
        description="Shown once: hand it to the trainer, who changes it at first sign-in; null for an account "
        "created withoutPassword.",
    )


@strawberry.type(description="Result of trainerUpdate and trainerDeactivate.")
class TrainerPayload(Payload):
    trainer: WorkplaceTrainer | None = strawberry.field(default=None, description="The account as it is now.")


@strawberry.type(description="Result of portfolioTrainerAssign and portfolioTrainerUnassign.")
class PortfolioTrainerPayload(Payload):
    portfolio: Portfolio | None = strawberry.field(default=None, description="The portfolio as it is now.")


async def _create(info: Info, role: Role, input: TrainerInput) -> TrainerCreatePayload:
    viewer = info.context.require_viewer()
    # Hashed before the transaction, off the event loop: argon2 holds neither the loop nor a connection.
    password = None if input.without_password else temporary_password()
    password_hash = None if password is None else await hash_password_off_loop(password)

    async def body() -> TrainerCreatePayload:
        email = await available_email(input.email, "input.email")
        row = await User.create(
            school_id=viewer.school_id,
            role=role,
            email=email,
            password_hash=password_hash,
            first_name=required_text(input.first_name, "input.firstName", "The first name", max_length=100),
            last_name=required_text(input.last_name, "input.lastName", "The last name", max_length=100),
            company_name=optional_text(input.company_name, "input.companyName", "The company", max_length=200),
            job_title=optional_text(input.job_title, "input.jobTitle", "The job", max_length=200),
            phone=optional_text(input.phone, "input.phone", "The phone", max_length=30),
            created_by_id=viewer.id,
            password_change_required=password is not None,
        )
        return TrainerCreatePayload(trainer=WorkplaceTrainer.from_row(row, viewer), temporary_password=password)

    return await run_mutation(TrainerCreatePayload, body)


async def _trainer_for_change(info: Info, id: strawberry.ID) -> User:
    viewer = info.context.require_viewer()
    trainer = await fetch_in_reach(
        User, scopes.trainers, viewer, id, ("Tutor", "ApprenticeshipMaster"), "id", "trainer", for_update=True
    )
    # Reached but not theirs to manage: a master for a teacher, or a tutor of learners they do not teach.
    if (
        not info.context.can(RULE_FOR[trainer.role])
        or not info.context.can("trainer.manage")
        or not await User.filter(scopes.managed_trainers(viewer), id=trainer.id).exists()
    ):
        raise Forbidden()
    return trainer


# The school's trainers, by name; the cursors hold the names and id of the trainer they follow.
TRAINER_ORDER = Keyset("trainers", ("last_name", "first_name", "id"))


@strawberry.type
class TrainerQuery:
    @strawberry.field(
        description="Gestion des tuteurs: the company trainers of the school the viewer reaches, by name (last "
        "name, first name), a page at a time (up to 100, 100 when `first` is not given; `after` takes the "
        "`endCursor` of the page before); inactive accounts on request. A connection since v0.2.0 (breaking: it "
        "was a plain list; ask `nodes { … }` or `edges { node { … } }` where you asked the list)."
    )
    async def trainers(
        self,
        info: Info,
        role: Annotated[
            Role | None,
            strawberry.argument(description="Only tutors (TUTOR) or only masters (MASTER); by default both."),
        ] = None,
        include_inactive: Annotated[bool, strawberry.argument(description="Also the deactivated accounts.")] = False,
        first: Annotated[int | None, strawberry.argument(description="How many trainers, 0 to 100.")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The cursor of the trainer the page starts after.")
        ] = None,
    ) -> Connection[WorkplaceTrainer]:
        viewer = info.context.require("trainer.identity.read", owned=OWN_BY_REACH)
        query = User.filter(scopes.trainers(viewer))
        if role is not None:
            query = query.filter(role=role)
        if not include_inactive:
            query = query.filter(is_active=True)
        return await paginate(
            query, lambda row: WorkplaceTrainer.from_row(row, viewer), first=first, after=after, keyset=TRAINER_ORDER
        )


@strawberry.input(description="The arguments of tutorCreate. Create a tutor account.")
class TutorCreateInput(TrainerInput):
    pass


@strawberry.input(description="The arguments of masterCreate. Create an apprenticeship-master account.")
class MasterCreateInput(TrainerInput):
    pass


@strawberry.input(description="The arguments of trainerDeactivate. Deactivate a trainer's account.")
class TrainerDeactivateInput:
    id: strawberry.ID = strawberry.field(description="The trainer (tutor or master).")


@strawberry.input(description="The arguments of portfolioTrainerAssign. Assign a trainer to a portfolio.")
class PortfolioTrainerAssignInput:
    portfolio_id: strawberry.ID = strawberry.field(description="The portfolio.")
    trainer_id: strawberry.ID = strawberry.field(description="The tutor or master.")


@strawberry.input(description="The arguments of portfolioTrainerUnassign. Remove a trainer from a portfolio.")
class PortfolioTrainerUnassignInput:
    portfolio_id: strawberry.ID = strawberry.field(description="The portfolio.")
    trainer_id: strawberry.ID = strawberry.field(description="The tutor or master.")


@strawberry.type
class TrainerMutation:
    @mutation(
        "Create a tutor account (tuteur de stage).",
        rule="tutor.manage",
        transaction=False,
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def tutor_create(self, info: Info, input: TutorCreateInput) -> TrainerCreatePayload:
        return await _create(info, Role.TUTOR, input)

    @mutation(
        "Create an apprenticeship-master account.",
        rule="master.manage",
        transaction=False,
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def master_create(self, info: Info, input: MasterCreateInput) -> TrainerCreatePayload:
        return await _create(info, Role.MASTER, input)

    @mutation(
        "Edit a trainer's account: tutors by staff, masters by admins; email and phone by admins only.",
        rule="trainer.manage",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def trainer_update(self, info: Info, input: TrainerUpdateInput) -> TrainerPayload:
        id = input.id
        trainer = await _trainer_for_change(info, id)
        if (input.email is not None or input.phone is not None) and not info.context.can("trainer.contact.write"):
            raise Forbidden("TRAINER_CONTACT_ADMIN_ONLY")
        if input.first_name is not None:
            trainer.first_name = required_text(input.first_name, "input.firstName", "The first name", max_length=100)
        if input.last_name is not None:
            trainer.last_name = required_text(input.last_name, "input.lastName", "The last name", max_length=100)
        if input.company_name is not None:
            trainer.company_name = optional_text(input.company_name, "input.companyName", "The company", max_length=200)
        if input.job_title is not None:
            trainer.job_title = optional_text(input.job_title, "input.jobTitle", "The job", max_length=200)
        if input.email is not None:
            trainer.email = await available_email(input.email, "input.email", except_id=trainer.id)
        if input.phone is not None:
            trainer.phone = optional_text(input.phone, "input.phone", "The phone", max_length=30)
        await trainer.save()
        return TrainerPayload(trainer=WorkplaceTrainer.from_row(trainer, info.context.viewer))

    @mutation(
        "Deactivate a trainer's account: it can no longer sign in and its tokens stop "
        "working; its assignments stay for the record.",
        rule="trainer.manage",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def trainer_deactivate(self, info: Info, input: TrainerDeactivateInput) -> TrainerPayload:
        id = input.id
        trainer = await _trainer_for_change(info, id)
        await User.filter(id=trainer.id).update(is_active=False, token_version=F("token_version") + 1)
        await trainer.refresh_from_db()
        return TrainerPayload(trainer=WorkplaceTrainer.from_row(trainer, info.context.viewer))

    # Two rules, one per kind of trainer: `_assignment` asks the one of the trainer named.
    @mutation(
        "Assign a trainer to a portfolio: a tutor to a school-status learner's "
        "(" + describe("tutor.manage") + "), a master to an apprentice's (" + describe("master.manage") + ")",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def portfolio_trainer_assign(self, info: Info, input: PortfolioTrainerAssignInput) -> PortfolioTrainerPayload:
        portfolio_id, trainer_id = input.portfolio_id, input.trainer_id
        return await _assignment(info, portfolio_id, trainer_id, assign=True)

    @mutation(
        "Remove a trainer from a portfolio; same rights as portfolioTrainerAssign.", audit=AuditKind.ACCESS_CHANGE
    )
    async def portfolio_trainer_unassign(
        self, info: Info, input: PortfolioTrainerUnassignInput
    ) -> PortfolioTrainerPayload:
        portfolio_id, trainer_id = input.portfolio_id, input.trainer_id
        return await _assignment(info, portfolio_id, trainer_id, assign=False)


async def _assignment(info: Info, portfolio_id, trainer_id, *, assign: bool) -> PortfolioTrainerPayload:
    viewer = info.context.require_viewer()
    if not (info.context.can("tutor.manage") or info.context.can("master.manage")):
        raise Forbidden()
    portfolio = await fetch_in_reach(
        PortfolioRow, scopes.portfolios, viewer, portfolio_id, "Portfolio", "portfolioId", "portfolio"
    )
    trainer = await fetch_in_reach(
        User, scopes.trainers, viewer, trainer_id, ("Tutor", "ApprenticeshipMaster"), "trainerId", "trainer"
    )
    if not info.context.can(RULE_FOR[trainer.role]):
        raise Forbidden()
    learner = await User.get(id=portfolio.learner_id)
    if assign:
        if learner.learner_status is not STATUS_FOR[trainer.role]:
            kind = Term("a tutor") if trainer.role is Role.TUTOR else Term("an apprenticeship master")
            status = (
                Term("an apprentice")
                if learner.learner_status is LearnerStatus.APPRENTICE
                else Term("a school-status learner")
            )
            raise problem(
                "trainerId",
                Reason.TRAINER_KIND_MISMATCH,
                learner=learner.full_name,
                status=status,
                kind=kind,
            )
        if not trainer.is_active:
            raise problem("trainerId", Reason.TRAINER_DEACTIVATED)
        await portfolio.trainers.add(trainer)
    else:
        await portfolio.trainers.remove(trainer)
    return PortfolioTrainerPayload(portfolio=Portfolio.from_row(portfolio))
