"""People: one account table for every role, and what only some roles carry."""

from enum import Enum
from typing import TYPE_CHECKING

from tortoise import fields

from models.base import TimestampedModel

if TYPE_CHECKING:
    from models.schools import Classroom, School


class Role(str, Enum):
    ADMIN = "ADMIN"
    TEACHER = "TEACHER"
    LEARNER = "LEARNER"
    TUTOR = "TUTOR"
    MASTER = "MASTER"


class LearnerStatus(str, Enum):
    SCHOOL = "SCHOOL"  # élève: followed in company by a tutor
    APPRENTICE = "APPRENTICE"  # apprenti: followed by an apprenticeship master


class User(TimestampedModel):
    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation["School"] = fields.ForeignKeyField(
        "models.School", related_name="users", on_delete=fields.CASCADE
    )
    school_id: int
    role = fields.CharEnumField(Role, max_length=10)
    # Stored lower-cased; sign-in looks it up across schools, so it is unique.
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=200, null=True)
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    phone = fields.CharField(max_length=30, null=True)
    is_active = fields.BooleanField(default=True)
    # Bumping it revokes every token issued to this user.
    token_version = fields.IntField(default=1)
    # Set when staff create the account with a temporary password: nothing but `me` and passwordChange works
    # until the person chooses their own (graph/context.py).
    # db_default: the column is added to tables that already hold accounts (migration 0005).
    password_change_required = fields.BooleanField(default=False, db_default=False)
    # Learners only.
    birth_date = fields.DateField(null=True)
    learner_status = fields.CharEnumField(LearnerStatus, max_length=10, null=True)
    classroom: fields.ForeignKeyNullableRelation["Classroom"] = fields.ForeignKeyField(
        "models.Classroom", related_name="learners", null=True, on_delete=fields.SET_NULL
    )
    classroom_id: int | None
    # Identifier of the learner in the national school-administration exports.
    national_id = fields.CharField(max_length=40, null=True)
    # Learners only: the day they left the school (set by an administrator, or by a roster import that no longer
    # lists them); their data is kept from then on for the school's retention policy (docs/stewardship.md, part 2).
    left_at = fields.DateField(null=True)
    # When their personal data was erased (the purge, or an erasure on request): the row stays, pseudonymised, so
    # the school's figures keep counting it.
    erased_at = fields.DatetimeField(null=True)
    # Tutors and masters: the company they work for and their job there.
    company_name = fields.CharField(max_length=200, null=True)
    job_title = fields.CharField(max_length=200, null=True)
    created_by: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="created_users", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    # Teachers only: the classrooms they teach.
    taught_classrooms: fields.ManyToManyRelation["Classroom"] = fields.ManyToManyField(
        "models.Classroom", related_name="teachers", through="teacher_classroom"
    )

    class Meta:
        table = "app_user"
        indexes = (("school_id", "role"),)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class ExternalIdentity(TimestampedModel):
    """The identifier a configured identity provider (ENT, CAS, OIDC) gives this user."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="external_identities", on_delete=fields.CASCADE
    )
    user_id: int
    provider = fields.CharField(max_length=100)
    subject = fields.CharField(max_length=254)

    class Meta:
        table = "external_identity"
        unique_together = (("provider", "subject"), ("user", "provider"))
