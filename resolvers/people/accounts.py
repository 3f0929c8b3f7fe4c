"""The administrator's work: levels, classrooms, teacher and learner accounts; and a person's own password."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from tortoise.expressions import F, Q

from graph.context import Info
from graph.errors import FieldProblem, Forbidden, Reason, problem
from graph.messages import Term
from graph.types.common import Payload, UserError
from graph.types.schools import Classroom, DiplomaYear, Level, School
from graph.types.users import Learner, LearnerStatus, Person, Teacher, person_from_row
from models import schools as school_models
from models.audit import AuditKind
from models.frameworks import Framework
from models.users import LearnerStatus as LearnerStatusEnum
from models.users import Role, User
from permissions import scopes, throttle
from permissions.passwords import check_new_password, hash_password_off_loop, temporary_password, verify_password
from permissions.table import describe
from resolvers.inputs import (
    available_email,
    check_date,
    fetch_in_reach,
    fetch_many_in_reach,
    fits_column,
    optional_text,
    required_text,
)
from resolvers.mutations import mutation, run_mutation
from resolvers.people.auth import begin_attempt, throttled


@strawberry.input(description="A level (niveau de classe).")
class LevelInput:
    name: str = strawberry.field(description="Name, e.g. « Première année de CAP ».")
    framework_code: str | None = strawberry.field(default=None, description="Code of the framework it prepares for.")
    position: int = strawberry.field(default=0, description="Order among the school's levels.")
    diploma_name: str | None = strawberry.field(
        default=None, description="The diploma prepared, e.g. « CAP Électricien » (printed on the PFMP attestation)."
    )
    diploma_year: DiplomaYear | None = strawberry.field(default=None, description="Which year of the diploma.")


@strawberry.input(description="A level's changes: a field left out is unchanged, null clears an optional one.")
class LevelUpdateInput:
    id: strawberry.ID = strawberry.field(description="The level.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Name.")
    position: int | None = strawberry.field(default=strawberry.UNSET, description="Order among the school's levels.")
    diploma_name: str | None = strawberry.field(default=strawberry.UNSET, description="The diploma prepared.")
    diploma_year: DiplomaYear | None = strawberry.field(
        default=strawberry.UNSET, description="Which year of the diploma."
    )


@strawberry.input(description="The school's own facts: a field left out is unchanged, null clears it.")
class SchoolInput:
    address: str | None = strawberry.field(default=strawberry.UNSET, description="Postal address.")
    head_of_school: str | None = strawberry.field(
        default=strawberry.UNSET, description="Name of the head of school (chef d'établissement)."
    )


@strawberry.input(description="A classroom (classe).")
class ClassroomInput:
    level_id: strawberry.ID = strawberry.field(description="Its level.")
    name: str = strawberry.field(description="Name, e.g. « CAP 1 ELEC ».")


@strawberry.input(description="A teacher's account.")
class TeacherInput:
    email: str = strawberry.field(description="Email, used to sign in.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    classroom_ids: list[strawberry.ID] = strawberry.field(default_factory=list, description="Classrooms they teach.")


@strawberry.input(description="A learner's account; on update, a field left out is unchanged.")
class LearnerInput:
    first_name: str | None = strawberry.field(default=None, description="First name (required on creation).")
    last_name: str | None = strawberry.field(default=None, description="Last name (required on creation).")
    status: LearnerStatus | None = strawberry.field(default=None, description="SCHOOL or APPRENTICE (default SCHOOL).")
    classroom_id: strawberry.ID | None = strawberry.field(default=None, description="Classroom (required on creation).")
    email: str | None = strawberry.field(default=None, description="Email (required on creation).")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    birth_date: dt.date | None = strawberry.field(default=None, description="Date of birth.")
    left_at: dt.date | None = strawberry.field(
        default=strawberry.UNSET,
        description="The day the learner left the school; on update, null clears it (the learner is back). A "
        "roster import sets it for the learners of the classrooms it covers that it no longer lists.",
    )


@strawberry.type(description="Result of schoolUpdate.")
class SchoolPayload(Payload):
    school: School | None = strawberry.field(default=None, description="The school as it is now.")


@strawberry.type(description="Result of levelCreate and levelUpdate.")
class LevelPayload(Payload):
    level: Level | None = strawberry.field(default=None, description="The level.")


@strawberry.type(description="Result of classroomCreate.")
class ClassroomPayload(Payload):
    classroom: Classroom | None = strawberry.field(default=None, description="The classroom.")


@strawberry.type(description="Result of an account creation: the temporary password is shown once.")
class AccountCreatePayload(Payload):
    user: Person | None = strawberry.field(default=None, description="The new account.")
    temporary_password: str | None = strawberry.field(
        default=None, description="Hand it to the person, who changes it with passwordChange."
    )


@strawberry.type(description="Result of learnerUpdate, teacherClassroomsSet, userDeactivate and userRevokeTokens.")
class AccountPayload(Payload):
    user: Person | None = strawberry.field(default=None, description="The account as it is now.")


@strawberry.type(description="Result of passwordChange.")
class PasswordChangePayload(Payload):
    changed: bool = strawberry.field(
        default=False, description="True when the password was changed; every previous token is then revoked."
    )
    retry_after: int | None = strawberry.field(
        default=None,
        description="With a THROTTLED error: seconds to wait before the next attempt (also sent as "
        "the Retry-After header).",
    )


async def _framework_id(code: str | None, school_id: int) -> int | None:
    if code is None:
        return None
    # The school's own version of a framework wins over the built-in one, as in Query.framework.
    rows = (
        await Framework.filter(Q(school_id=school_id) | Q(school_id=None), code=code)
        if fits_column(Framework, "code", code)
        else []
    )
    if not rows:
        raise problem("input.frameworkCode", Reason.FRAMEWORK_CODE_UNKNOWN, code=code)
    rows.sort(key=lambda row: row.school_id is None)
    return rows[0].id


@strawberry.input(description="The arguments of levelCreate. Create a level.")
class LevelCreateInput(LevelInput):
    pass


@strawberry.input(
    description="The arguments of schoolUpdate. Edit the school's facts: a field left out is unchanged, null clears it."
)
class SchoolUpdateInput(SchoolInput):
    pass


@strawberry.input(description="The arguments of classroomCreate. Create a classroom.")
class ClassroomCreateInput(ClassroomInput):
    pass


@strawberry.input(description="The arguments of teacherCreate. Create a teacher's account.")
class TeacherCreateInput(TeacherInput):
    pass


@strawberry.input(description="The arguments of teacherClassroomsSet. Set the classrooms a teacher teaches.")
class TeacherClassroomsSetInput:
    id: strawberry.ID = strawberry.field(description="The teacher.")
    classroom_ids: list[strawberry.ID] = strawberry.field(
        description="The classrooms taught (the whole list: those left out are no longer taught)."
    )


@strawberry.input(description="The arguments of learnerCreate. Create a learner's account.")
class LearnerCreateInput(LearnerInput):
    pass


@strawberry.input(description="The arguments of learnerUpdate. Edit a learner: a field left out is unchanged.")
class LearnerUpdateInput(LearnerInput):
    id: strawberry.ID = strawberry.field(description="The learner.")


@strawberry.input(description="The arguments of userDeactivate. Deactivate an account.")
class UserDeactivateInput:
    id: strawberry.ID = strawberry.field(description="The account (teacher, learner or administrator) of your school.")


@strawberry.input(description="The arguments of userRevokeTokens. Revoke every token of an account.")
class UserRevokeTokensInput:
    id: strawberry.ID = strawberry.field(description="The account (teacher, learner or administrator) of your school.")


@strawberry.input(description="The arguments of passwordChange. Change your own password.")
class PasswordChangeInput:
    current_password: str = strawberry.field(description="Your password now (a temporary one included).")
    new_password: str = strawberry.field(
        description="The new password: zxcvbn score 3 of 4, 10 to 128 characters, without your email or name."
    )


@strawberry.type
class AccountMutation:
    @mutation("Create a level.", rule="school.structure.write")
    async def level_create(self, info: Info, input: LevelCreateInput) -> LevelPayload:
        viewer = info.context.require_viewer()
        name = required_text(input.name, "input.name", "The name", max_length=200)
        if await school_models.Level.exists(school_id=viewer.school_id, name=name):
            raise problem("input.name", Reason.LEVEL_NAME_TAKEN)
        row = await school_models.Level.create(
            school_id=viewer.school_id,
            name=name,
            position=input.position,
            framework_id=await _framework_id(input.framework_code, viewer.school_id),
            diploma_name=optional_text(input.diploma_name, "input.diplomaName", "The diploma", max_length=200),
            diploma_year=input.diploma_year,
        )
        return LevelPayload(level=Level.from_row(row))

    @mutation("Edit a level: its name, order, and the diploma it prepares.", rule="school.structure.write")
    async def level_update(self, info: Info, input: LevelUpdateInput) -> LevelPayload:
        id = input.id
        viewer = info.context.require_viewer()
        level = await fetch_in_reach(
            school_models.Level, scopes.levels, viewer, id, "Level", "id", "level", for_update=True
        )
        if input.name is not strawberry.UNSET:
            name = required_text(input.name, "input.name", "The name", max_length=200)
            if await school_models.Level.filter(school_id=viewer.school_id, name=name).exclude(id=level.id).exists():
                raise problem("input.name", Reason.LEVEL_NAME_TAKEN)
            level.name = name
        if input.position is not strawberry.UNSET:
            if input.position is None:
                raise problem("input.position", Reason.VALUE_REQUIRED, label=Term("The position"))
            level.position = input.position
        if input.diploma_name is not strawberry.UNSET:
            level.diploma_name = optional_text(input.diploma_name, "input.diplomaName", "The diploma", max_length=200)
        if input.diploma_year is not strawberry.UNSET:
            level.diploma_year = input.diploma_year
        await level.save()
        return LevelPayload(level=Level.from_row(level))

    @mutation("Edit the school's address and head of school.", rule="school.structure.write")
    async def school_update(self, info: Info, input: SchoolUpdateInput) -> SchoolPayload:
        viewer = info.context.require_viewer()
        school = await school_models.School.filter(id=viewer.school_id).select_for_update().get()
        if input.address is not strawberry.UNSET:
            school.address = optional_text(input.address, "input.address", "The address", max_length=500)
        if input.head_of_school is not strawberry.UNSET:
            school.head_of_school = optional_text(
                input.head_of_school, "input.headOfSchool", "The head of school", max_length=200
            )
        await school.save()
        return SchoolPayload(school=School.from_row(school))

    @mutation("Create a classroom.", rule="school.structure.write")
    async def classroom_create(self, info: Info, input: ClassroomCreateInput) -> ClassroomPayload:
        viewer = info.context.require_viewer()
        level = await fetch_in_reach(
            school_models.Level, scopes.levels, viewer, input.level_id, "Level", "input.levelId", "level"
        )
        name = required_text(input.name, "input.name", "The name", max_length=100)
        if await school_models.Classroom.exists(school_id=viewer.school_id, name=name):
            raise problem("input.name", Reason.CLASSROOM_NAME_TAKEN)
        row = await school_models.Classroom.create(school_id=viewer.school_id, level=level, name=name)
        return ClassroomPayload(classroom=Classroom.from_row(row))

    @mutation("Create a teacher's account.", rule="account.manage", transaction=False, audit=AuditKind.ACCESS_CHANGE)
    async def teacher_create(self, info: Info, input: TeacherCreateInput) -> AccountCreatePayload:
        viewer = info.context.require_viewer()
        # Hashed before the transaction, off the event loop (permissions/passwords.py).
        password = temporary_password()
        password_hash = await hash_password_off_loop(password)

        async def body() -> AccountCreatePayload:
            email = await available_email(input.email, "input.email")
            classrooms = await fetch_many_in_reach(
                school_models.Classroom,
                scopes.classrooms,
                viewer,
                input.classroom_ids,
                "Classroom",
                "input.classroomIds",
                "classroom",
            )
            row = await User.create(
                school_id=viewer.school_id,
                role=Role.TEACHER,
                email=email,
                password_hash=password_hash,
                first_name=required_text(input.first_name, "input.firstName", "The first name", max_length=100),
                last_name=required_text(input.last_name, "input.lastName", "The last name", max_length=100),
                phone=optional_text(input.phone, "input.phone", "The phone", max_length=30),
                created_by_id=viewer.id,
                password_change_required=True,
            )
            if classrooms:
                await row.taught_classrooms.add(*classrooms)
            return AccountCreatePayload(user=Teacher.from_row(row, viewer), temporary_password=password)

        return await run_mutation(AccountCreatePayload, body)

    @mutation("Set the classrooms a teacher teaches.", rule="account.manage", audit=AuditKind.ACCESS_CHANGE)
    async def teacher_classrooms_set(self, info: Info, input: TeacherClassroomsSetInput) -> AccountPayload:
        id, classroom_ids = input.id, input.classroom_ids
        viewer = info.context.require_viewer()
        teacher = await fetch_in_reach(User, scopes.teachers, viewer, id, "Teacher", "id", "teacher")
        classrooms = await fetch_many_in_reach(
            school_models.Classroom,
            scopes.classrooms,
            viewer,
            classroom_ids,
            "Classroom",
            "classroomIds",
            "classroom",
        )
        await teacher.taught_classrooms.clear()
        if classrooms:
            await teacher.taught_classrooms.add(*classrooms)
        return AccountPayload(user=Teacher.from_row(teacher, viewer))

    @mutation(
        "Create a learner's account.", rule="learner.identity.write", transaction=False, audit=AuditKind.ACCESS_CHANGE
    )
    async def learner_create(self, info: Info, input: LearnerCreateInput) -> AccountCreatePayload:
        viewer = info.context.require_viewer()
        info.context.require("learner.personal.write")
        password = temporary_password()
        password_hash = await hash_password_off_loop(password)

        async def body() -> AccountCreatePayload:
            if input.classroom_id is None:
                raise problem("input.classroomId", Reason.VALUE_REQUIRED, label=Term("The classroom"))
            classroom = await fetch_in_reach(
                school_models.Classroom,
                scopes.classrooms,
                viewer,
                input.classroom_id,
                "Classroom",
                "input.classroomId",
                "classroom",
            )
            email = await available_email(input.email or "", "input.email")
            row = await User.create(
                school_id=viewer.school_id,
                role=Role.LEARNER,
                email=email,
                password_hash=password_hash,
                first_name=required_text(input.first_name, "input.firstName", "The first name", max_length=100),
                last_name=required_text(input.last_name, "input.lastName", "The last name", max_length=100),
                learner_status=input.status or LearnerStatusEnum.SCHOOL,
                classroom=classroom,
                phone=optional_text(input.phone, "input.phone", "The phone", max_length=30),
                birth_date=check_date(input.birth_date, "input.birthDate") if input.birth_date else None,
                left_at=check_date(input.left_at, "input.leftAt") if input.left_at else None,
                created_by_id=viewer.id,
                password_change_required=True,
            )
            return AccountCreatePayload(user=Learner.from_row(row, viewer), temporary_password=password)

        return await run_mutation(AccountCreatePayload, body)

    @mutation(
        "Edit a learner: names, classroom, status ("
        + describe("learner.identity.write")
        + ") and email, phone, birth date, leaving date ("
        + describe("learner.personal.write")
        + ")",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def learner_update(self, info: Info, input: LearnerUpdateInput) -> AccountPayload:
        id = input.id
        viewer = info.context.require_viewer()
        identity = any(v is not None for v in (input.first_name, input.last_name, input.status, input.classroom_id))
        personal = any(v is not None for v in (input.email, input.phone, input.birth_date)) or (
            input.left_at is not strawberry.UNSET
        )
        if (
            (identity and not info.context.can("learner.identity.write"))
            or (personal and not info.context.can("learner.personal.write"))
            or not (identity or personal)
        ):
            raise Forbidden() if identity or personal else Forbidden("NOTHING_TO_CHANGE")
        learner = await fetch_in_reach(User, scopes.learners, viewer, id, "Learner", "id", "learner")
        if input.first_name is not None:
            learner.first_name = required_text(input.first_name, "input.firstName", "The first name", max_length=100)
        if input.last_name is not None:
            learner.last_name = required_text(input.last_name, "input.lastName", "The last name", max_length=100)
        if input.status is not None:
            learner.learner_status = input.status
        if input.classroom_id is not None:
            classroom = await fetch_in_reach(
                school_models.Classroom,
                scopes.classrooms,
                viewer,
                input.classroom_id,
                "Classroom",
                "input.classroomId",
                "classroom",
            )
            learner.classroom_id = classroom.id
        if input.email is not None:
            learner.email = await available_email(input.email, "input.email", except_id=learner.id)
        if input.phone is not None:
            learner.phone = optional_text(input.phone, "input.phone", "The phone", max_length=30)
        if input.birth_date is not None:
            learner.birth_date = check_date(input.birth_date, "input.birthDate")
        if input.left_at is not strawberry.UNSET:
            learner.left_at = check_date(input.left_at, "input.leftAt") if input.left_at is not None else None
        await learner.save()
        return AccountPayload(user=Learner.from_row(learner, viewer))

    @mutation(
        "Deactivate an account of the school: it can no longer sign in and every token it holds stops working.",
        rule="account.manage",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def user_deactivate(self, info: Info, input: UserDeactivateInput) -> AccountPayload:
        id = input.id
        return await _bump(info, id, deactivate=True)

    @mutation(
        "Revoke every token of an account of the school (e.g. a lost phone).",
        rule="account.manage",
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def user_revoke_tokens(self, info: Info, input: UserRevokeTokensInput) -> AccountPayload:
        id = input.id
        return await _bump(info, id, deactivate=False)

    @mutation(
        "Change your own password; every token issued before is revoked. The new "
        "one must be hard to guess (zxcvbn score 3 of 4, 10 to 128 characters) and "
        "must not contain your email or your name. Works with a temporary password. A wrong "
        "current password counts as a failed sign-in of the account, in the same throttle as "
        "login: THROTTLED, with retryAfter.",
        transaction=False,
        audit=AuditKind.ACCESS_CHANGE,
    )
    async def password_change(self, info: Info, input: PasswordChangeInput) -> PasswordChangePayload:
        current_password, new_password = input.current_password, input.new_password
        viewer = info.context.require_account(temporary_password_ok=True)
        # Checking and hashing run before the transaction and off the event loop (permissions/passwords.py);
        # the write then applies only if the password is still the one that was checked.
        user = await User.get(id=viewer.id)
        # A wrong current password counts as a failed sign-in of the account, from this address: a stolen token
        # does not open unlimited guesses, and a locked account is locked here too.
        attempt = await begin_attempt(info, user.email)
        if attempt is not None and attempt.retry_after is not None:
            return PasswordChangePayload(retry_after=attempt.retry_after, errors=[await throttled(info, attempt)])
        if not await verify_password(user.password_hash, current_password):
            return _password_refused("currentPassword", Reason.PASSWORD_WRONG, {})
        if attempt is not None:
            await throttle.succeeded(attempt)
        weakness = await check_new_password(
            new_password, email=user.email, first_name=user.first_name, last_name=user.last_name
        )
        if weakness:
            return _password_refused("newPassword", Reason(weakness[0]), weakness[1])
        new_hash = await hash_password_off_loop(new_password)

        async def body() -> PasswordChangePayload:
            changed = await User.filter(id=user.id, password_hash=user.password_hash).update(
                password_hash=new_hash, token_version=F("token_version") + 1, password_change_required=False
            )
            if not changed:
                raise problem("currentPassword", Reason.PASSWORD_CHANGED_MEANWHILE)
            return PasswordChangePayload(changed=True)

        return await run_mutation(PasswordChangePayload, body)


def _password_refused(field: str, reason: Reason, params: dict[str, Any]) -> PasswordChangePayload:
    return PasswordChangePayload(errors=[UserError.of(FieldProblem([field], reason, params))])


async def _bump(info: Info, id: strawberry.ID, *, deactivate: bool) -> AccountPayload:
    viewer = info.context.require_viewer()
    types = ("Learner", "Teacher", "Tutor", "ApprenticeshipMaster", "Administrator")
    user = await fetch_in_reach(User, scopes.school_accounts, viewer, id, types, "id", "account")
    if user.id == viewer.id and deactivate:
        raise problem("id", Reason.SELF_DEACTIVATION)
    changes: dict = {"token_version": F("token_version") + 1}
    if deactivate:
        changes["is_active"] = False
    await User.filter(id=user.id).update(**changes)
    await user.refresh_from_db()
    return AccountPayload(user=person_from_row(user, viewer))
