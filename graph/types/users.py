"""People: learners, teachers, company trainers and administrators."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from graph.context import Info
from graph.types.common import (
    EXPORT_LINK,
    IN_REACH,
    MISSING,
    SELF,
    GuardedFields,
    as_utc,
    described_enum,
    export_url,
    guarded,
    later,
    prefetched,
)
from graph.types.schools import Classroom
from models import schools as school_models
from models.users import LearnerStatus as LearnerStatusEnum
from models.users import Role as RoleEnum
from models.users import User
from permissions import scopes
from permissions.viewer import Viewer
from resolvers.people.loaders import taught_classrooms

if TYPE_CHECKING:
    from graph.types.dashboard import Dashboard, InterimReview
    from graph.types.fiches import ActivityFiche
    from graph.types.portfolios import Portfolio

Role = Annotated[
    RoleEnum,
    described_enum(
        "What a person is to the product.",
        {
            "ADMIN": "An administrator of the school (proviseur, DDFPT, secretariat).",
            "TEACHER": "A teacher of the school.",
            "LEARNER": "A learner (élève or apprenti).",
            "TUTOR": "A company tutor (tuteur de stage) of school-status learners.",
            "MASTER": "An apprenticeship master (maître d'apprentissage) of apprentices.",
        },
    ),
]
LearnerStatus = Annotated[
    LearnerStatusEnum,
    described_enum(
        "SCHOOL: élève, followed by a tutor; APPRENTICE: apprenti, followed by an apprenticeship master.",
        {
            "SCHOOL": "Élève under school status, in PFMP with a tutor.",
            "APPRENTICE": "Apprenti, under an apprenticeship contract with a master.",
        },
    ),
]


@strawberry.interface(description="Anyone with an account.")
class Person(relay.Node):
    id: relay.NodeID[int]
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    role: Role = strawberry.field(description="Role of the account.")

    @strawberry.field(description="First and last name.")
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@strawberry.type(description="Apprenant: a learner, élève (SCHOOL) or apprenti (APPRENTICE).")
class Learner(GuardedFields, Person):
    status: LearnerStatus | None = guarded("Status of the learner.", "learner.identity.read", owner=SELF)
    email: str | None = guarded("Email address.", "learner.personal.read", owner=SELF)
    phone: str | None = guarded("Phone number.", "learner.personal.read", owner=SELF)
    birth_date: dt.date | None = guarded("Date of birth.", "learner.personal.read", owner=SELF)
    left_at: dt.date | None = guarded(
        "The day the learner left the school (null while enrolled): their data is kept from then on for the "
        "school's retention policy, then erased.",
        "learner.personal.read",
        owner=SELF,
    )
    classroom_id: strawberry.Private[int | None]
    viewer: strawberry.Private[Viewer | None]
    # Filled by a list that read every learner's classroom at once (MISSING: through the loader).
    prefetched_classroom: strawberry.Private[Any] = MISSING

    @guarded(
        f"Where to download the synthesis of the learner's periods (R24). {EXPORT_LINK}",
        "export.learner_synthesis",
        owner=SELF,
    )
    def synthesis_url(self, info: Info) -> str | None:
        return export_url("learner-synthesis", "Learner", self.id)

    @classmethod
    def from_row(cls, row: User, viewer: Viewer | None) -> Learner:
        return cls(
            id=row.id,
            first_name=row.first_name,
            last_name=row.last_name,
            role=RoleEnum.LEARNER,
            status=row.learner_status,
            email=row.email,
            phone=row.phone,
            birth_date=row.birth_date,
            left_at=row.left_at,
            classroom_id=row.classroom_id,
            viewer=viewer,
        )

    @classmethod
    def from_values(cls, row: dict[str, Any], viewer: Viewer | None, classroom: Any = MISSING) -> Learner:
        """From the columns `resolvers.periods.loaders.learner_values` reads, guarded as `from_row` is."""
        return cls(
            id=row["id"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            role=RoleEnum.LEARNER,
            status=row["learner_status"],
            email=row["email"],
            phone=row["phone"],
            birth_date=row["birth_date"],
            left_at=row["left_at"],
            classroom_id=row["classroom_id"],
            viewer=viewer,
            prefetched_classroom=classroom,
        )

    @strawberry.field(description="The learner's classroom. Readable with the learner's names.")
    @prefetched("prefetched_classroom")
    async def classroom(self, info: Info) -> Classroom | None:
        if self.classroom_id is None:
            return None
        row = await info.context.loaders.by_id(school_models.Classroom, scopes.classrooms).load(self.classroom_id)
        return Classroom.from_row(row) if row else None

    @strawberry.field(
        description="Vue par apprenants (R3): every period the learner is assigned to, "
        "by period start, with its portfolio."
    )
    async def portfolios(
        self,
        info: Info,
        updated_since: Annotated[
            dt.datetime | None,
            strawberry.argument(
                description="Only the portfolios changed at or after this time (`updatedAt` ≥ it), for a "
                "client's incremental sync; a time without an offset is UTC."
            ),
        ] = None,
    ) -> list[Annotated[Portfolio, strawberry.lazy("graph.types.portfolios")]]:
        found = await later("graph.types.portfolios", "portfolios_of_learner")(info, self.id)
        since = as_utc(updated_since)
        # One portfolio a period, a handful a learner: the list is read whole (with the other learners'), then cut.
        return found if since is None else [p for p in found if p.updated_at >= since]

    @guarded(
        "Fiches libres: the learner's fiches that belong to no period any more (R8).",
        "learner.dashboard.read",
        owner=SELF,
    )
    async def free_fiches(
        self, info: Info
    ) -> list[Annotated[ActivityFiche, strawberry.lazy("graph.types.fiches")]] | None:
        return await later("graph.types.fiches", "free_fiches_of")(info, self.id)

    @guarded(
        "Tableau de bord (R26): per competence the current level and its history, "
        "engagement and fiche counts per period, from completed bilans.",
        "learner.dashboard.read",
        owner=SELF,
    )
    async def dashboard(self, info: Info) -> Annotated[Dashboard, strawberry.lazy("graph.types.dashboard")] | None:
        return await later("graph.types.dashboard", "dashboards_of")(info).load(self.id)

    @guarded("Interim reviews of the learner (R25), by date.", "review.read", owner=SELF)
    async def interim_reviews(
        self, info: Info
    ) -> list[Annotated[InterimReview, strawberry.lazy("graph.types.dashboard")]] | None:
        return await later("graph.types.dashboard", "reviews_of_learner")(info, self.id)


@strawberry.type(description="Enseignant: follows the learners of the classrooms they teach.")
class Teacher(GuardedFields, Person):
    email: str | None = guarded("Email address.", "teacher.contact.read")
    phone: str | None = guarded("Phone number.", "teacher.contact.read")
    viewer: strawberry.Private[Viewer | None]

    @classmethod
    def from_row(cls, row: User, viewer: Viewer | None) -> Teacher:
        return cls(
            id=row.id,
            first_name=row.first_name,
            last_name=row.last_name,
            role=RoleEnum.TEACHER,
            email=row.email,
            phone=row.phone,
            viewer=viewer,
        )

    @strawberry.field(description="Classrooms this teacher teaches, among those the viewer reaches.")
    async def classrooms(self, info: Info) -> list[Classroom]:
        rows = await taught_classrooms(info).load(self.id)
        return [Classroom.from_row(r) for r in rows]


@strawberry.interface(description="Formateur en entreprise: a tutor or an apprenticeship master.")
class WorkplaceTrainer(GuardedFields, Person):
    # A learner reads the names of the trainers of their own portfolios: the only trainers they reach.
    company_name: str | None = guarded("Company the trainer works for.", "trainer.identity.read", owner=IN_REACH)
    job_title: str | None = guarded("The trainer's job in the company.", "trainer.identity.read", owner=IN_REACH)
    # A trainer reaches the other trainers of the portfolios they follow, but reads only their own contact.
    email: str | None = guarded("Email address.", "trainer.contact.read", owner=SELF)
    phone: str | None = guarded("Phone number.", "trainer.contact.read", owner=SELF)
    viewer: strawberry.Private[Viewer | None]

    @classmethod
    def from_row(cls, row: User, viewer: Viewer | None):
        kind = Tutor if row.role is RoleEnum.TUTOR else ApprenticeshipMaster
        return kind(
            id=row.id,
            first_name=row.first_name,
            last_name=row.last_name,
            role=row.role,
            company_name=row.company_name,
            job_title=row.job_title,
            email=row.email,
            phone=row.phone,
            viewer=viewer,
        )

    @classmethod
    def from_values(cls, row: dict[str, Any], viewer: Viewer | None):
        """From the columns `resolvers.periods.loaders.trainer_values` reads, guarded as `from_row` is."""
        kind = Tutor if row["role"] is RoleEnum.TUTOR else ApprenticeshipMaster
        return kind(
            id=row["id"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            role=row["role"],
            company_name=row["company_name"],
            job_title=row["job_title"],
            email=row["email"],
            phone=row["phone"],
            viewer=viewer,
        )


@strawberry.type(description="Tuteur de stage: company trainer of a school-status learner.")
class Tutor(WorkplaceTrainer):
    pass


@strawberry.type(description="Maître d'apprentissage: company trainer of an apprentice.")
class ApprenticeshipMaster(WorkplaceTrainer):
    pass


@strawberry.type(description="Administrateur: runs the school's instance.")
class Administrator(Person):
    email: str = strawberry.field(description="Email address. Only the administrator sees this type.")

    @classmethod
    def from_row(cls, row: User, viewer: Viewer | None = None) -> Administrator:
        return cls(id=row.id, first_name=row.first_name, last_name=row.last_name, role=RoleEnum.ADMIN, email=row.email)


def person_from_row(row: User, viewer: Viewer | None) -> Person:
    match row.role:
        case RoleEnum.LEARNER:
            return Learner.from_row(row, viewer)
        case RoleEnum.TEACHER:
            return Teacher.from_row(row, viewer)
        case RoleEnum.TUTOR | RoleEnum.MASTER:
            return WorkplaceTrainer.from_row(row, viewer)
        case _:
            return Administrator.from_row(row, viewer)
