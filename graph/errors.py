"""The error model (access.md, "Errors").

Two channels:
- top-level GraphQL errors carrying `extensions.code` for who-you-are problems
  (`UNAUTHENTICATED`, `FORBIDDEN`) and malformed requests (`BAD_USER_INPUT`,
  `GRAPHQL_VALIDATION_FAILED`, …): raise an `AppError` subclass;
- a mutation payload's `errors: [UserError!]!` for what-you-asked problems:
  raise `UserInputError` inside a mutation (see resolvers/mutations.py), which
  rolls the transaction back and answers the payload with the errors. Each
  names its precise `Reason`, whose `code` family REASONS fixes (`problem`).
A guarded field the viewer may not read answers null, without an error.

No message is written here: an error carries a reason (payload) or a key
(`AppError.key`, top-level) and the values its message names; the words are
in the catalogs, in the request's language (graph/messages.py, docs/errors.md).

A database out of reach is not a defect: SERVICE_UNAVAILABLE, with a 503
(graph/unavailable.py). Anything else that escapes a resolver is a defect:
`ErrorPolicy` masks it as "Erreur inattendue." / "Unexpected error." with code
`INTERNAL_SERVER_ERROR`, and the server log keeps the traceback. No stack
trace, SQL or file path reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import Enum
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.extensions import MaskErrors
from strawberry.relay.types import GlobalIDValueError

from graph.messages import DEFAULT_LANGUAGE, Term, render
from graph.unavailable import CODE as UNAVAILABLE_CODE
from graph.unavailable import RETRY_AFTER, database_unavailable, store_unavailable

log = logging.getLogger("pfmp.errors")


class AppError(Exception):
    """A top-level error whose message and code are meant for the client.

    `key` names its message in the catalogs (context `error`, graph/messages.py), rendered with `params` in the
    request's language; `str()` of the error is the English message, for the log and the command line."""

    code = "BAD_USER_INPUT"
    key = "BAD_USER_INPUT"

    def __init__(self, key: str | None = None, code: str | None = None, **params: Any):
        if key:
            self.key = key
        if code:
            self.code = code
        self.params = params
        super().__init__(render("error", self.key, params, "en"))
        self.extensions = {"code": self.code}

    def message(self, language: str) -> str:
        return render("error", self.key, self.params, language)


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"
    key = "SIGN_IN_REQUIRED"


class Forbidden(AppError):
    """The refusal of a whole operation (or of a whole root field) to this viewer (access.md, "Errors")."""

    code = "FORBIDDEN"
    key = "FORBIDDEN"


class PasswordChangeRequired(AppError):
    code = "PASSWORD_CHANGE_REQUIRED"
    key = "PASSWORD_CHANGE_REQUIRED"


class BadUserInput(AppError):
    code = "BAD_USER_INPUT"


class ErrorCode(str, Enum):
    """The family of a payload error (`UserError.code`); `Reason` says precisely which problem it is."""

    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    CONFLICT = "CONFLICT"
    UNIQUE = "UNIQUE"
    TOO_LARGE = "TOO_LARGE"
    THROTTLED = "THROTTLED"


@dataclass(frozen=True)
class ReasonSpec:
    code: ErrorCode
    # The field(s) it names inside the mutation's `input`, as the documentation shows them ("—": the whole request).
    field: str
    # What it means, for the schema's enum and the documentation.
    description: str


class Reason(str, Enum):
    """The precise problem of a payload error: one per problem a user can fix (REASONS says its family)."""

    ID_MALFORMED = "ID_MALFORMED"
    ID_WRONG_TYPE = "ID_WRONG_TYPE"
    ID_NOT_FOUND = "ID_NOT_FOUND"
    LIST_DUPLICATE = "LIST_DUPLICATE"
    VALUE_REQUIRED = "VALUE_REQUIRED"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    DATE_OUT_OF_RANGE = "DATE_OUT_OF_RANGE"
    VERSION_STALE = "VERSION_STALE"
    EMAIL_INVALID = "EMAIL_INVALID"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    PERIOD_LOCKED = "PERIOD_LOCKED"
    PERIOD_DATES_REQUIRED = "PERIOD_DATES_REQUIRED"
    PERIOD_END_BEFORE_START = "PERIOD_END_BEFORE_START"
    PERIOD_TOO_LONG = "PERIOD_TOO_LONG"
    DAYS_DONE_OUT_OF_RANGE = "DAYS_DONE_OUT_OF_RANGE"
    PLANNED_DAYS_OUT_OF_RANGE = "PLANNED_DAYS_OUT_OF_RANGE"
    PLANNED_DAYS_ABOVE_LENGTH = "PLANNED_DAYS_ABOVE_LENGTH"
    PERIOD_ALLOWANCE_VALIDATED = "PERIOD_ALLOWANCE_VALIDATED"
    LEARNER_NOT_OF_LEVEL = "LEARNER_NOT_OF_LEVEL"
    TASK_NOT_IN_FRAMEWORK = "TASK_NOT_IN_FRAMEWORK"
    NOT_IN_FICHE_FRAMEWORK = "NOT_IN_FICHE_FRAMEWORK"
    TEMPLATE_OF_OTHER_LEVEL = "TEMPLATE_OF_OTHER_LEVEL"
    TEMPLATE_DURATION_OUT_OF_RANGE = "TEMPLATE_DURATION_OUT_OF_RANGE"
    LEARNERS_NOT_REMOVABLE = "LEARNERS_NOT_REMOVABLE"
    PERIOD_NOT_DELETABLE = "PERIOD_NOT_DELETABLE"
    FICHE_DELETED = "FICHE_DELETED"
    FICHE_FREE = "FICHE_FREE"
    TOO_MANY_TARGETS = "TOO_MANY_TARGETS"
    TARGET_MODE_MIXED = "TARGET_MODE_MIXED"
    TASK_NOT_LINKED_TO_FICHE = "TASK_NOT_LINKED_TO_FICHE"
    COMPETENCE_NOT_OF_TASK = "COMPETENCE_NOT_OF_TASK"
    CRITERION_NOT_OF_COMPETENCE = "CRITERION_NOT_OF_COMPETENCE"
    RETIRED_FROM_FRAMEWORK = "RETIRED_FROM_FRAMEWORK"
    LINK_HAS_SPACES = "LINK_HAS_SPACES"
    LINK_MALFORMED = "LINK_MALFORMED"
    LINK_SCHEME_REFUSED = "LINK_SCHEME_REFUSED"
    LINK_WITHOUT_HOST = "LINK_WITHOUT_HOST"
    LINK_WITH_CREDENTIALS = "LINK_WITH_CREDENTIALS"
    FILE_PART_MISSING = "FILE_PART_MISSING"
    FILE_EMPTY = "FILE_EMPTY"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    FILE_TYPE_REFUSED = "FILE_TYPE_REFUSED"
    FILE_MARKUP_REFUSED = "FILE_MARKUP_REFUSED"
    FILE_FORMAT_UNKNOWN = "FILE_FORMAT_UNKNOWN"
    ARCHIVE_TOO_MANY_ENTRIES = "ARCHIVE_TOO_MANY_ENTRIES"
    OFFICE_MACROS_REFUSED = "OFFICE_MACROS_REFUSED"
    OPENDOCUMENT_KIND_REFUSED = "OPENDOCUMENT_KIND_REFUSED"
    OFFICE_KIND_REFUSED = "OFFICE_KIND_REFUSED"
    OFFICE_MALFORMED = "OFFICE_MALFORMED"
    ARCHIVE_UNREADABLE = "ARCHIVE_UNREADABLE"
    ZIP_REFUSED = "ZIP_REFUSED"
    BILAN_ALREADY_COMPLETED = "BILAN_ALREADY_COMPLETED"
    BILAN_NOT_COMPLETED = "BILAN_NOT_COMPLETED"
    BILAN_BEFORE_PERIOD = "BILAN_BEFORE_PERIOD"
    BILAN_CONSOLIDATED = "BILAN_CONSOLIDATED"
    BILAN_SCAN_TYPE_REFUSED = "BILAN_SCAN_TYPE_REFUSED"
    BILAN_SCAN_MISSING = "BILAN_SCAN_MISSING"
    ENGAGEMENT_OUT_OF_RANGE = "ENGAGEMENT_OUT_OF_RANGE"
    MEETING_DATE_OUT_OF_RANGE = "MEETING_DATE_OUT_OF_RANGE"
    TOO_MANY_RESULTS = "TOO_MANY_RESULTS"
    LEVEL_WITHOUT_FRAMEWORK = "LEVEL_WITHOUT_FRAMEWORK"
    COMPETENCE_NOT_IN_FRAMEWORK = "COMPETENCE_NOT_IN_FRAMEWORK"
    COMPETENCE_EVALUATED_GLOBALLY = "COMPETENCE_EVALUATED_GLOBALLY"
    COMPETENCE_EVALUATED_BY_CRITERIA = "COMPETENCE_EVALUATED_BY_CRITERIA"
    LEVEL_NOT_ON_SCALE = "LEVEL_NOT_ON_SCALE"
    REVIEW_DATE_IN_FUTURE = "REVIEW_DATE_IN_FUTURE"
    REVIEW_DATE_TAKEN = "REVIEW_DATE_TAKEN"
    REVIEW_NOTHING_TO_CONSOLIDATE = "REVIEW_NOTHING_TO_CONSOLIDATE"
    FRAMEWORK_FILE_INVALID = "FRAMEWORK_FILE_INVALID"
    FRAMEWORK_CODE_UNKNOWN = "FRAMEWORK_CODE_UNKNOWN"
    LEVEL_NAME_TAKEN = "LEVEL_NAME_TAKEN"
    CLASSROOM_NAME_TAKEN = "CLASSROOM_NAME_TAKEN"
    ROSTER_FILE_INVALID = "ROSTER_FILE_INVALID"
    CREDENTIALS_WRONG = "CREDENTIALS_WRONG"
    SIGN_IN_THROTTLED = "SIGN_IN_THROTTLED"
    PASSWORD_WRONG = "PASSWORD_WRONG"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"
    PASSWORD_PERSONAL = "PASSWORD_PERSONAL"
    PASSWORD_TOO_EASY = "PASSWORD_TOO_EASY"
    PASSWORD_CHANGED_MEANWHILE = "PASSWORD_CHANGED_MEANWHILE"
    SELF_DEACTIVATION = "SELF_DEACTIVATION"
    LEARNER_PERIOD_OPEN = "LEARNER_PERIOD_OPEN"
    TRAINER_KIND_MISMATCH = "TRAINER_KIND_MISMATCH"
    TRAINER_DEACTIVATED = "TRAINER_DEACTIVATED"
    TEACHER_DEACTIVATED = "TEACHER_DEACTIVATED"
    TRAINER_NOT_ASSIGNED = "TRAINER_NOT_ASSIGNED"
    TRAINER_LINK_EXPIRY_OUT_OF_RANGE = "TRAINER_LINK_EXPIRY_OUT_OF_RANGE"
    TRAINER_LINK_INVALID = "TRAINER_LINK_INVALID"
    TRAINER_LINK_EXPIRED = "TRAINER_LINK_EXPIRED"
    TRAINER_LINK_REVOKED = "TRAINER_LINK_REVOKED"
    TRAINER_LINK_THROTTLED = "TRAINER_LINK_THROTTLED"
    SIRET_INVALID = "SIRET_INVALID"
    ALLOWANCE_RATE_OUT_OF_RANGE = "ALLOWANCE_RATE_OUT_OF_RANGE"
    ALLOWANCE_RATE_TOO_EARLY = "ALLOWANCE_RATE_TOO_EARLY"
    ALLOWANCE_RATE_USED = "ALLOWANCE_RATE_USED"
    ALLOWANCE_STATEMENT_VALIDATED = "ALLOWANCE_STATEMENT_VALIDATED"
    ALLOWANCE_STATEMENT_VALIDATED_MEANWHILE = "ALLOWANCE_STATEMENT_VALIDATED_MEANWHILE"
    LEVEL_WITHOUT_DIPLOMA_YEAR = "LEVEL_WITHOUT_DIPLOMA_YEAR"
    ALLOWANCE_RATE_MISSING = "ALLOWANCE_RATE_MISSING"
    DAYS_DONE_NOT_RECORDED = "DAYS_DONE_NOT_RECORDED"
    IDENTITY_PROVIDER_UNKNOWN = "IDENTITY_PROVIDER_UNKNOWN"
    IDENTITY_LINK_TAKEN = "IDENTITY_LINK_TAKEN"
    IDENTITY_NOT_LINKED = "IDENTITY_NOT_LINKED"
    CAS_NOT_CONFIGURED = "CAS_NOT_CONFIGURED"
    CAS_TICKET_MALFORMED = "CAS_TICKET_MALFORMED"
    CAS_SERVICE_REFUSED = "CAS_SERVICE_REFUSED"
    CAS_TICKET_NOT_FOR_SERVICE = "CAS_TICKET_NOT_FOR_SERVICE"
    CAS_TICKET_REFUSED = "CAS_TICKET_REFUSED"
    CAS_ATTRIBUTE_MISSING = "CAS_ATTRIBUTE_MISSING"
    PROVIDER_EMAIL_UNVERIFIED = "PROVIDER_EMAIL_UNVERIFIED"
    PROVIDER_SCHOOL_UNKNOWN = "PROVIDER_SCHOOL_UNKNOWN"
    PROVIDER_SCHOOL_AMBIGUOUS = "PROVIDER_SCHOOL_AMBIGUOUS"
    PROVIDER_PROFILE_NOT_MAPPED = "PROVIDER_PROFILE_NOT_MAPPED"
    PROVIDER_PROFILE_AMBIGUOUS = "PROVIDER_PROFILE_AMBIGUOUS"
    PROVIDER_ACCOUNT_LINKED_ELSEWHERE = "PROVIDER_ACCOUNT_LINKED_ELSEWHERE"
    PROVIDER_EMAIL_TAKEN = "PROVIDER_EMAIL_TAKEN"
    IDEMPOTENCY_KEY_INVALID = "IDEMPOTENCY_KEY_INVALID"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"
    REFRESH_TOKEN_INVALID = "REFRESH_TOKEN_INVALID"
    REFRESH_TOKEN_EXPIRED = "REFRESH_TOKEN_EXPIRED"
    REFRESH_TOKEN_REVOKED = "REFRESH_TOKEN_REVOKED"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"


REASONS: dict[Reason, ReasonSpec] = {
    Reason.ID_MALFORMED: ReasonSpec(ErrorCode.INVALID, "any ID", "An ID that this server did not issue."),
    Reason.ID_WRONG_TYPE: ReasonSpec(
        ErrorCode.INVALID, "any ID", "The ID of another type of object than the field takes."
    ),
    Reason.ID_NOT_FOUND: ReasonSpec(
        ErrorCode.NOT_FOUND, "any ID", "The ID names nothing the viewer reaches: deleted, or out of their reach."
    ),
    Reason.LIST_DUPLICATE: ReasonSpec(
        ErrorCode.INVALID,
        "a list (learnerIds, taskIds, targets, modes, results, …)",
        "A list names the same item twice.",
    ),
    Reason.VALUE_REQUIRED: ReasonSpec(
        ErrorCode.REQUIRED,
        "a text or a choice (name, email, url, classroomId, …)",
        "A required value is missing or blank.",
    ),
    Reason.TEXT_TOO_LONG: ReasonSpec(
        ErrorCode.INVALID, "a text (name, url, subject, level, …)", "A text is longer than its field allows."
    ),
    Reason.DATE_OUT_OF_RANGE: ReasonSpec(ErrorCode.INVALID, "a date", "A date outside the years this server accepts."),
    Reason.VERSION_STALE: ReasonSpec(
        ErrorCode.CONFLICT, "version", "Someone else changed the object since it was read: reload it."
    ),
    Reason.EMAIL_INVALID: ReasonSpec(ErrorCode.INVALID, "email", "Not an email address."),
    Reason.EMAIL_TAKEN: ReasonSpec(
        ErrorCode.UNIQUE, "email", "The email cannot be given to this account (the same answer wherever it is taken)."
    ),
    Reason.PERIOD_LOCKED: ReasonSpec(
        ErrorCode.CONFLICT,
        "— (or the ID of the period, portfolio or fiche)",
        "An interim review locked the period (R7): its parameters, liaison and fiches are read-only.",
    ),
    Reason.PERIOD_DATES_REQUIRED: ReasonSpec(
        ErrorCode.REQUIRED, "startDate, endDate", "A period needs its first and last days."
    ),
    Reason.PERIOD_END_BEFORE_START: ReasonSpec(
        ErrorCode.INVALID, "endDate", "The last day of the period comes before its first day."
    ),
    Reason.PERIOD_TOO_LONG: ReasonSpec(ErrorCode.INVALID, "endDate", "A period longer than the longest allowed."),
    Reason.DAYS_DONE_OUT_OF_RANGE: ReasonSpec(
        ErrorCode.INVALID, "daysDone", "Days done must be a whole or half number between 0 and the period's duration."
    ),
    Reason.PLANNED_DAYS_OUT_OF_RANGE: ReasonSpec(
        ErrorCode.INVALID,
        "plannedDays",
        "Planned days must be a whole number between 1 and the period's calendar days.",
    ),
    Reason.PLANNED_DAYS_ABOVE_LENGTH: ReasonSpec(
        ErrorCode.INVALID,
        "endDate",
        "The new dates leave fewer calendar days than the planned days the school set: change those first.",
    ),
    Reason.PERIOD_ALLOWANCE_VALIDATED: ReasonSpec(
        ErrorCode.CONFLICT,
        "id",
        "The period's PFMP allowance statement is validated: the period is kept as the proof of it.",
    ),
    Reason.LEARNER_NOT_OF_LEVEL: ReasonSpec(
        ErrorCode.INVALID, "learnerIds.N", "The learner is not in a classroom of the period's level."
    ),
    Reason.TASK_NOT_IN_FRAMEWORK: ReasonSpec(
        ErrorCode.INVALID, "taskIds.N", "The task is not in the framework of the period's level."
    ),
    Reason.NOT_IN_FICHE_FRAMEWORK: ReasonSpec(
        ErrorCode.INVALID,
        "taskIds.N, activityTypeIds.N",
        "The task or activity is not in the framework of the fiche's level.",
    ),
    Reason.TEMPLATE_OF_OTHER_LEVEL: ReasonSpec(
        ErrorCode.INVALID, "templateId", "The period template belongs to another level."
    ),
    Reason.TEMPLATE_DURATION_OUT_OF_RANGE: ReasonSpec(
        ErrorCode.INVALID, "durationDays", "A template's duration is 1 to 366 days."
    ),
    Reason.LEARNERS_NOT_REMOVABLE: ReasonSpec(
        ErrorCode.CONFLICT,
        "learnerIds",
        "Learners whose completed bilan no interim review has consolidated cannot leave the period.",
    ),
    Reason.PERIOD_NOT_DELETABLE: ReasonSpec(
        ErrorCode.CONFLICT, "id", "The period holds completed bilans that no interim review has consolidated."
    ),
    Reason.FICHE_DELETED: ReasonSpec(ErrorCode.CONFLICT, "the fiche's ID", "The learner deleted the fiche."),
    Reason.FICHE_FREE: ReasonSpec(
        ErrorCode.CONFLICT,
        "the fiche's ID",
        "A free fiche (its period was deleted) can be read or deleted, not changed.",
    ),
    Reason.TOO_MANY_TARGETS: ReasonSpec(ErrorCode.INVALID, "targets", "A fiche has too many targets."),
    Reason.TARGET_MODE_MIXED: ReasonSpec(
        ErrorCode.INVALID, "targets", "A competence of a task is targeted both globally and per criterion."
    ),
    Reason.TASK_NOT_LINKED_TO_FICHE: ReasonSpec(
        ErrorCode.INVALID, "targets.N.taskId", "A target names a task the fiche does not list."
    ),
    Reason.COMPETENCE_NOT_OF_TASK: ReasonSpec(
        ErrorCode.INVALID, "targets.N.competenceId", "The competence is not linked to this task in the framework."
    ),
    Reason.CRITERION_NOT_OF_COMPETENCE: ReasonSpec(
        ErrorCode.INVALID,
        "targets.N.criterionId, results.N.criterionId",
        "The criterion belongs to another competence.",
    ),
    Reason.RETIRED_FROM_FRAMEWORK: ReasonSpec(
        ErrorCode.INVALID,
        "an ID of a task, competence, criterion or activity",
        "The item is retired from the framework: it can no longer be linked.",
    ),
    Reason.LINK_HAS_SPACES: ReasonSpec(ErrorCode.INVALID, "url", "A link with spaces or control characters."),
    Reason.LINK_MALFORMED: ReasonSpec(ErrorCode.INVALID, "url", "Not a link."),
    Reason.LINK_SCHEME_REFUSED: ReasonSpec(ErrorCode.INVALID, "url", "A link that is not http:// or https://."),
    Reason.LINK_WITHOUT_HOST: ReasonSpec(ErrorCode.INVALID, "url", "A link that names no host."),
    Reason.LINK_WITH_CREDENTIALS: ReasonSpec(ErrorCode.INVALID, "url", "A link carrying a user name or password."),
    Reason.FILE_PART_MISSING: ReasonSpec(
        ErrorCode.INVALID, "file", "The upload is not a file part of a multipart request."
    ),
    Reason.FILE_EMPTY: ReasonSpec(ErrorCode.INVALID, "file", "An empty file."),
    Reason.FILE_TOO_LARGE: ReasonSpec(ErrorCode.TOO_LARGE, "file, content", "A file larger than this upload allows."),
    Reason.FILE_TYPE_REFUSED: ReasonSpec(ErrorCode.INVALID, "file", "An annex of a type that is not accepted."),
    Reason.FILE_MARKUP_REFUSED: ReasonSpec(ErrorCode.INVALID, "file", "An HTML, SVG or XML annex."),
    Reason.FILE_FORMAT_UNKNOWN: ReasonSpec(
        ErrorCode.INVALID, "file", "An annex that is neither text nor a known format."
    ),
    Reason.ARCHIVE_TOO_MANY_ENTRIES: ReasonSpec(
        ErrorCode.INVALID, "file", "An archive with too many entries to be an office document."
    ),
    Reason.OFFICE_MACROS_REFUSED: ReasonSpec(ErrorCode.INVALID, "file", "An office document with macros."),
    Reason.OPENDOCUMENT_KIND_REFUSED: ReasonSpec(
        ErrorCode.INVALID, "file", "An OpenDocument file that is not a text, spreadsheet or presentation."
    ),
    Reason.OFFICE_KIND_REFUSED: ReasonSpec(
        ErrorCode.INVALID, "file", "An Office file that is not a Word, Excel or PowerPoint document."
    ),
    Reason.OFFICE_MALFORMED: ReasonSpec(ErrorCode.INVALID, "file", "A malformed office document."),
    Reason.ARCHIVE_UNREADABLE: ReasonSpec(
        ErrorCode.INVALID, "file", "A file that looks like an archive but cannot be read."
    ),
    Reason.ZIP_REFUSED: ReasonSpec(ErrorCode.INVALID, "file", "A ZIP archive."),
    Reason.BILAN_ALREADY_COMPLETED: ReasonSpec(ErrorCode.CONFLICT, "id", "The bilan is completed: reopen it first."),
    Reason.BILAN_NOT_COMPLETED: ReasonSpec(
        ErrorCode.CONFLICT, "id", "The bilan is a draft: there is nothing to reopen."
    ),
    Reason.BILAN_BEFORE_PERIOD: ReasonSpec(
        ErrorCode.CONFLICT, "id", "A bilan is completed from the period's first day on."
    ),
    Reason.BILAN_CONSOLIDATED: ReasonSpec(
        ErrorCode.CONFLICT, "id", "An interim review consolidated the bilan (R7): it cannot be reopened."
    ),
    Reason.BILAN_SCAN_TYPE_REFUSED: ReasonSpec(
        ErrorCode.INVALID, "file", "The scan of a bilan signed on paper is not a PDF, PNG or JPEG file."
    ),
    Reason.BILAN_SCAN_MISSING: ReasonSpec(
        ErrorCode.INVALID, "signatureMode", "Completing a bilan as signed on paper before its scan is uploaded."
    ),
    Reason.ENGAGEMENT_OUT_OF_RANGE: ReasonSpec(ErrorCode.INVALID, "engagement", "Engagement is 1 to 4 stars, or null."),
    Reason.MEETING_DATE_OUT_OF_RANGE: ReasonSpec(
        ErrorCode.INVALID, "meetingDate", "The meeting date falls outside the period's days."
    ),
    Reason.TOO_MANY_RESULTS: ReasonSpec(ErrorCode.INVALID, "results", "Too many results and modes in one save."),
    Reason.LEVEL_WITHOUT_FRAMEWORK: ReasonSpec(
        ErrorCode.INVALID, "results", "The period's level has no framework to evaluate against."
    ),
    Reason.COMPETENCE_NOT_IN_FRAMEWORK: ReasonSpec(
        ErrorCode.INVALID,
        "modes.N.competenceId, results.N.competenceId",
        "The competence is not one of the bilan's framework.",
    ),
    Reason.COMPETENCE_EVALUATED_GLOBALLY: ReasonSpec(
        ErrorCode.INVALID, "results.N.criterionId", "A result per criterion for a competence evaluated globally."
    ),
    Reason.COMPETENCE_EVALUATED_BY_CRITERIA: ReasonSpec(
        ErrorCode.REQUIRED,
        "results.N.criterionId",
        "A global result for a competence evaluated criterion by criterion.",
    ),
    Reason.LEVEL_NOT_ON_SCALE: ReasonSpec(
        ErrorCode.INVALID, "results.N.level", "An achievement level that is not on the framework's scale."
    ),
    Reason.REVIEW_DATE_IN_FUTURE: ReasonSpec(ErrorCode.INVALID, "date", "An interim review dated in the future."),
    Reason.REVIEW_DATE_TAKEN: ReasonSpec(
        ErrorCode.CONFLICT, "date", "The learner already has an interim review at this date."
    ),
    Reason.REVIEW_NOTHING_TO_CONSOLIDATE: ReasonSpec(
        ErrorCode.INVALID, "date", "No completed bilan dated up to that day."
    ),
    Reason.FRAMEWORK_FILE_INVALID: ReasonSpec(
        ErrorCode.INVALID, "content", "A problem in a framework file, where it is (the detail is in English)."
    ),
    Reason.FRAMEWORK_CODE_UNKNOWN: ReasonSpec(ErrorCode.NOT_FOUND, "frameworkCode", "No framework has this code."),
    Reason.LEVEL_NAME_TAKEN: ReasonSpec(ErrorCode.UNIQUE, "name", "The school already has a level with this name."),
    Reason.CLASSROOM_NAME_TAKEN: ReasonSpec(
        ErrorCode.UNIQUE, "name", "The school already has a classroom with this name."
    ),
    Reason.ROSTER_FILE_INVALID: ReasonSpec(
        ErrorCode.INVALID, "content", "A problem in a roster file, where it is (the detail is in English)."
    ),
    Reason.CREDENTIALS_WRONG: ReasonSpec(ErrorCode.INVALID, "—", "Wrong email or password at sign-in."),
    Reason.SIGN_IN_THROTTLED: ReasonSpec(
        ErrorCode.THROTTLED, "—", "Too many failed sign-ins: wait retryAfter seconds."
    ),
    Reason.PASSWORD_WRONG: ReasonSpec(ErrorCode.INVALID, "currentPassword", "The current password is wrong."),
    Reason.PASSWORD_TOO_SHORT: ReasonSpec(ErrorCode.INVALID, "newPassword", "The new password is too short."),
    Reason.PASSWORD_TOO_LONG: ReasonSpec(ErrorCode.INVALID, "newPassword", "The new password is too long."),
    Reason.PASSWORD_PERSONAL: ReasonSpec(
        ErrorCode.INVALID, "newPassword", "The new password contains the account's email or name."
    ),
    Reason.PASSWORD_TOO_EASY: ReasonSpec(
        ErrorCode.INVALID,
        "newPassword",
        "The new password is too easy to guess (the English message adds zxcvbn's advice).",
    ),
    Reason.PASSWORD_CHANGED_MEANWHILE: ReasonSpec(
        ErrorCode.CONFLICT, "currentPassword", "The password changed during this change: try again."
    ),
    Reason.SELF_DEACTIVATION: ReasonSpec(
        ErrorCode.INVALID, "id", "An administrator cannot deactivate their own account."
    ),
    Reason.LEARNER_PERIOD_OPEN: ReasonSpec(
        ErrorCode.CONFLICT,
        "id",
        "A learner is erased only once every period of theirs has ended with its bilan completed.",
    ),
    Reason.TRAINER_KIND_MISMATCH: ReasonSpec(
        ErrorCode.INVALID, "trainerId", "Tutors follow school-status learners, apprenticeship masters apprentices."
    ),
    Reason.TRAINER_DEACTIVATED: ReasonSpec(ErrorCode.INVALID, "trainerId", "The trainer's account is deactivated."),
    Reason.TEACHER_DEACTIVATED: ReasonSpec(ErrorCode.INVALID, "teacherId", "The teacher's account is deactivated."),
    Reason.TRAINER_NOT_ASSIGNED: ReasonSpec(
        ErrorCode.INVALID, "trainerId", "A trainer link is issued to a trainer assigned to the portfolio."
    ),
    Reason.TRAINER_LINK_EXPIRY_OUT_OF_RANGE: ReasonSpec(
        ErrorCode.INVALID,
        "expiresOn",
        "A trainer link expires from today to 30 days after the period's end (the default).",
    ),
    Reason.TRAINER_LINK_INVALID: ReasonSpec(
        ErrorCode.INVALID, "link", "The trainer link is not one the school issued (mistyped or altered)."
    ),
    Reason.TRAINER_LINK_EXPIRED: ReasonSpec(ErrorCode.INVALID, "link", "The trainer link has expired."),
    Reason.TRAINER_LINK_REVOKED: ReasonSpec(
        ErrorCode.INVALID,
        "link",
        "The trainer link was revoked, or its trainer no longer follows the portfolio or is deactivated.",
    ),
    Reason.TRAINER_LINK_THROTTLED: ReasonSpec(
        ErrorCode.THROTTLED, "—", "Too many refused link exchanges from this address: wait retryAfter seconds."
    ),
    Reason.SIRET_INVALID: ReasonSpec(
        ErrorCode.INVALID, "companySiret", "A SIRET is 14 digits (spaces between groups allowed)."
    ),
    Reason.ALLOWANCE_RATE_OUT_OF_RANGE: ReasonSpec(
        ErrorCode.INVALID, "dailyRateCents", "A daily rate of the PFMP allowance is 1 to 100000 cents."
    ),
    Reason.ALLOWANCE_RATE_TOO_EARLY: ReasonSpec(
        ErrorCode.INVALID, "validFrom", "A daily rate in force before the PFMP allowance existed (2023-09-01)."
    ),
    Reason.ALLOWANCE_RATE_USED: ReasonSpec(
        ErrorCode.CONFLICT,
        "validFrom",
        "A validated statement used the rate of this diploma year and date: it cannot be replaced.",
    ),
    Reason.ALLOWANCE_STATEMENT_VALIDATED: ReasonSpec(
        ErrorCode.CONFLICT, "periodId", "The period's allowance statement is already validated: it is frozen."
    ),
    Reason.ALLOWANCE_STATEMENT_VALIDATED_MEANWHILE: ReasonSpec(
        ErrorCode.CONFLICT, "periodId", "Someone else validated the period's allowance statement meanwhile."
    ),
    Reason.LEVEL_WITHOUT_DIPLOMA_YEAR: ReasonSpec(
        ErrorCode.INVALID,
        "periodId",
        "The period's level names no diploma year, on which the allowance's daily rate depends.",
    ),
    Reason.ALLOWANCE_RATE_MISSING: ReasonSpec(
        ErrorCode.INVALID, "periodId", "No daily rate of the allowance is in force on the period's last day."
    ),
    Reason.DAYS_DONE_NOT_RECORDED: ReasonSpec(
        ErrorCode.REQUIRED,
        "periodId (one error per learner, the message naming them)",
        "A learner's days done are not recorded: the allowance statement cannot be validated.",
    ),
    Reason.IDENTITY_PROVIDER_UNKNOWN: ReasonSpec(
        ErrorCode.INVALID, "provider, identityProvider", "No identity provider of this name is configured."
    ),
    Reason.IDENTITY_LINK_TAKEN: ReasonSpec(
        ErrorCode.CONFLICT, "subject", "Another account is already linked to this identity."
    ),
    Reason.IDENTITY_NOT_LINKED: ReasonSpec(
        ErrorCode.NOT_FOUND, "ticket", "Signed in at the provider, but no account here is linked to that identity."
    ),
    Reason.CAS_NOT_CONFIGURED: ReasonSpec(ErrorCode.INVALID, "—", "This server has no CAS sign-in."),
    Reason.CAS_TICKET_MALFORMED: ReasonSpec(ErrorCode.INVALID, "ticket", "Not a CAS service ticket."),
    Reason.CAS_SERVICE_REFUSED: ReasonSpec(
        ErrorCode.INVALID, "service", "The service is not this server's CAS service URL."
    ),
    Reason.CAS_TICKET_NOT_FOR_SERVICE: ReasonSpec(
        ErrorCode.INVALID, "ticket", "The CAS ticket was issued for another service."
    ),
    Reason.CAS_TICKET_REFUSED: ReasonSpec(
        ErrorCode.INVALID, "ticket", "The CAS ticket is unknown, expired or used: sign in at the ENT again."
    ),
    Reason.CAS_ATTRIBUTE_MISSING: ReasonSpec(
        ErrorCode.INVALID, "ticket", "The CAS server did not send the attribute this server matches accounts by."
    ),
    Reason.PROVIDER_EMAIL_UNVERIFIED: ReasonSpec(
        ErrorCode.INVALID, "ticket", "The identity provider has not verified the email an account would be linked by."
    ),
    Reason.PROVIDER_SCHOOL_UNKNOWN: ReasonSpec(
        ErrorCode.NOT_FOUND,
        "ticket",
        "The provider's UAI claim names no school of this server (schools are never created on sign-in).",
    ),
    Reason.PROVIDER_SCHOOL_AMBIGUOUS: ReasonSpec(
        ErrorCode.INVALID, "ticket", "The provider's UAI claim names several schools of this server."
    ),
    Reason.PROVIDER_PROFILE_NOT_MAPPED: ReasonSpec(
        ErrorCode.INVALID, "ticket", "The provider's profile claim maps to no role this server creates accounts for."
    ),
    Reason.PROVIDER_PROFILE_AMBIGUOUS: ReasonSpec(
        ErrorCode.INVALID, "ticket", "The provider's profile claim maps to several roles."
    ),
    Reason.PROVIDER_ACCOUNT_LINKED_ELSEWHERE: ReasonSpec(
        ErrorCode.CONFLICT,
        "ticket",
        "The account the provider's email names is already linked to another identity at that provider.",
    ),
    Reason.PROVIDER_EMAIL_TAKEN: ReasonSpec(
        ErrorCode.CONFLICT,
        "ticket",
        "An account of this server (of another school, or deactivated) already has the email the provider gives.",
    ),
    Reason.IDEMPOTENCY_KEY_INVALID: ReasonSpec(
        ErrorCode.INVALID,
        "— (the Idempotency-Key header)",
        "An idempotency key is 1 to 100 printable ASCII characters.",
    ),
    Reason.IDEMPOTENCY_KEY_REUSED: ReasonSpec(
        ErrorCode.CONFLICT,
        "— (the Idempotency-Key header)",
        "The idempotency key was used in the last 24 hours for another operation or other arguments.",
    ),
    Reason.IDEMPOTENCY_KEY_IN_PROGRESS: ReasonSpec(
        ErrorCode.CONFLICT,
        "— (the Idempotency-Key header)",
        "A request with the same idempotency key is still running: retry once it has answered.",
    ),
    Reason.REFRESH_TOKEN_INVALID: ReasonSpec(
        ErrorCode.INVALID, "refreshToken", "Not a refresh token this server issued: sign in again."
    ),
    Reason.REFRESH_TOKEN_EXPIRED: ReasonSpec(
        ErrorCode.INVALID, "refreshToken", "The refresh token has expired: sign in again."
    ),
    Reason.REFRESH_TOKEN_REVOKED: ReasonSpec(
        ErrorCode.INVALID,
        "refreshToken",
        "The refresh token was revoked (signed out everywhere, password changed, account deactivated, or its family "
        "revoked): sign in again.",
    ),
    Reason.REFRESH_TOKEN_REUSED: ReasonSpec(
        ErrorCode.INVALID,
        "refreshToken",
        "The refresh token was already exchanged: every token descended from its sign-in is revoked; sign in again.",
    ),
}


# The top-level errors' messages (`AppError.key`, context `error` of the catalogs) and the `extensions.code` each
# comes with. graphql-core's own parse and validation errors keep their English message (it is about the query).
TOP_LEVEL: dict[str, str] = {
    "SIGN_IN_REQUIRED": "UNAUTHENTICATED",
    "AUTHORIZATION_MALFORMED": "UNAUTHENTICATED",
    "TOKEN_EXPIRED": "UNAUTHENTICATED",
    "TOKEN_INVALID": "UNAUTHENTICATED",
    "TOKEN_REVOKED": "UNAUTHENTICATED",
    "TOKEN_ISSUER_UNKNOWN": "UNAUTHENTICATED",
    "PROVIDER_KEYS_UNAVAILABLE": "UNAUTHENTICATED",
    "TOKEN_CLAIM_MISSING": "UNAUTHENTICATED",
    "PROVIDER_EMAIL_UNVERIFIED": "UNAUTHENTICATED",
    "IDENTITY_NOT_LINKED": "UNAUTHENTICATED",
    "PROVIDER_SCHOOL_UNKNOWN": "UNAUTHENTICATED",
    "PROVIDER_SCHOOL_AMBIGUOUS": "UNAUTHENTICATED",
    "PROVIDER_PROFILE_NOT_MAPPED": "UNAUTHENTICATED",
    "PROVIDER_PROFILE_AMBIGUOUS": "UNAUTHENTICATED",
    "PROVIDER_ACCOUNT_LINKED_ELSEWHERE": "UNAUTHENTICATED",
    "PROVIDER_EMAIL_TAKEN": "UNAUTHENTICATED",
    "FORBIDDEN": "FORBIDDEN",
    "NOTHING_TO_CHANGE": "FORBIDDEN",
    "TRAINER_CONTACT_ADMIN_ONLY": "FORBIDDEN",
    "PASSWORD_CHANGE_REQUIRED": "PASSWORD_CHANGE_REQUIRED",
    "BAD_USER_INPUT": "BAD_USER_INPUT",
    "ID_MALFORMED": "BAD_USER_INPUT",
    "ID_WRONG_TYPE": "BAD_USER_INPUT",
    "PAGE_SIZE_OUT_OF_RANGE": "BAD_USER_INPUT",
    "CURSOR_MALFORMED": "BAD_USER_INPUT",
    "TOO_MANY_IDS": "BAD_USER_INPUT",
    "DOWNLOAD_PATH_UNKNOWN": "BAD_USER_INPUT",
    "CAS_UNAVAILABLE": "SERVICE_UNAVAILABLE",
    "SERVICE_UNAVAILABLE": "SERVICE_UNAVAILABLE",
    "STORE_UNAVAILABLE": "SERVICE_UNAVAILABLE",
    "INTERNAL_SERVER_ERROR": "INTERNAL_SERVER_ERROR",
    # The refusals of the HTTP routes around GraphQL: a file upload's gate, the downloads of annexes and exports.
    "UPLOAD_SIGN_IN_REQUIRED": "UNAUTHENTICATED",
    "UPLOAD_FORBIDDEN": "FORBIDDEN",
    "ANNEX_FILE_NOT_FOUND": "NOT_FOUND",
    "DOCUMENT_NOT_FOUND": "NOT_FOUND",
    # A signed download URL (permissions/signed_urls.py) altered, of another path or user, revoked, or expired.
    "DOWNLOAD_URL_INVALID": "FORBIDDEN",
    "DOWNLOAD_URL_EXPIRED": "FORBIDDEN",
}


@dataclass
class FieldProblem:
    """One problem of a mutation's input: where (`field`), which (`reason`, whose family is its `code`), and the
    values its message names (`params`; a `Term` value is a word the catalogs translate)."""

    field: list[str] | None
    reason: Reason
    params: dict[str, Any] = dataclass_field(default_factory=dict)

    @property
    def code(self) -> ErrorCode:
        return REASONS[self.reason].code

    def message(self, language: str = "en") -> str:
        return render("reason", self.reason.value, self.params, language)


class UserInputError(Exception):
    """One or more problems with a mutation's input; nothing is written."""

    def __init__(self, problems: FieldProblem | Iterable[FieldProblem]):
        self.problems = [problems] if isinstance(problems, FieldProblem) else list(problems)
        super().__init__("; ".join(p.message() for p in self.problems))


def problem(field: str | list[str] | None, reason: Reason, /, **params: Any) -> UserInputError:
    path = field.split(".") if isinstance(field, str) else field
    return UserInputError(FieldProblem(path, reason, params))


def not_found(field: str | list[str], what: str) -> UserInputError:
    return problem(field, Reason.ID_NOT_FOUND, what=Term(what))


def _code_for(error: GraphQLError) -> tuple[bool, str | None]:
    """(mask?, code) for one error of a result."""
    original = error.original_error
    if original is None:
        # Parse and validation errors of graphql-core: their message is about the query.
        if (error.extensions or {}).get("code"):
            return False, None
        if error.path is None:
            return False, "GRAPHQL_VALIDATION_FAILED"
        return False, "BAD_USER_INPUT"
    if isinstance(original, AppError):
        return False, None
    if isinstance(original, GlobalIDValueError):
        return False, "BAD_USER_INPUT"
    if isinstance(original, GraphQLError):
        # Variable coercion and limiter rules raise GraphQLErrors of their own.
        return False, (original.extensions or {}).get("code") or "BAD_USER_INPUT"
    if database_unavailable(original):
        return False, UNAVAILABLE_CODE
    return True, "INTERNAL_SERVER_ERROR"


class ErrorPolicy(MaskErrors):
    """MaskErrors that masks only unexpected exceptions and gives every error a code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: _code_for(error)[0])

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = []
        language = getattr(self.execution_context.context, "language", DEFAULT_LANGUAGE)
        for error in errors:
            mask, code = _code_for(error)
            if mask:
                log.error("unexpected error at %s", error.path, exc_info=error.original_error)
                error = self.anonymise_error(error)
                error.message = render("error", "INTERNAL_SERVER_ERROR", None, language)
            elif code == UNAVAILABLE_CODE and error.original_error is not None:
                # The driver's message names hosts and ports: the client learns only to retry (graph/unavailable.py).
                store = store_unavailable(error.original_error)
                log.warning(
                    "%s unavailable at %s: %s",
                    "file store" if store else "database",
                    error.path,
                    type(error.original_error).__name__,
                )
                key = "STORE_UNAVAILABLE" if store else "SERVICE_UNAVAILABLE"
                error = GraphQLError(render("error", key, None, language), nodes=error.nodes, path=error.path)
                self._answer_unavailable()
            elif isinstance(error.original_error, AppError):
                error.message = error.original_error.message(language)
            if code and not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": code}
            processed.append(error)
        return processed

    def _answer_unavailable(self) -> None:
        response = getattr(self.execution_context.context, "response", None)
        if isinstance(response, Response):
            response.status_code = 503
            response.headers["retry-after"] = RETRY_AFTER
