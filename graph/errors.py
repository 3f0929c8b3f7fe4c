"""The error model (access.md, "Errors").

Two channels:
- top-level GraphQL errors carrying `extensions.code` for who-you-are problems
  (`UNAUTHENTICATED`, `FORBIDDEN`) and malformed requests (`BAD_USER_INPUT`,
  `GRAPHQL_VALIDATION_FAILED`, …): raise an `AppError` subclass;
- a mutation payload's `errors: [UserError!]!` for what-you-asked problems:
  raise `UserInputError` inside a mutation (see resolvers/mutations.py), which
  rolls the transaction back and answers the payload with the errors.

A database out of reach is not a defect: SERVICE_UNAVAILABLE, with a 503
(graph/unavailable.py). Anything else that escapes a resolver is a defect:
`ErrorPolicy` masks it as "Unexpected error." with code
`INTERNAL_SERVER_ERROR`, and the server log keeps the traceback. No stack
trace, SQL or file path reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.extensions import MaskErrors
from strawberry.relay.types import GlobalIDValueError

from graph.unavailable import CODE as UNAVAILABLE_CODE
from graph.unavailable import MESSAGE as UNAVAILABLE_MESSAGE
from graph.unavailable import RETRY_AFTER, database_unavailable

log = logging.getLogger("pfmp.errors")


class AppError(Exception):
    """A top-level error whose message and code are meant for the client."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code
        self.extensions = {"code": self.code}


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this."):
        super().__init__(message)


class PasswordChangeRequired(AppError):
    code = "PASSWORD_CHANGE_REQUIRED"

    def __init__(self) -> None:
        super().__init__("Your password is a temporary one: choose your own with passwordChange first.")


class BadUserInput(AppError):
    code = "BAD_USER_INPUT"


class ErrorCode(str, Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    UNIQUE = "UNIQUE"
    TOO_LARGE = "TOO_LARGE"
    THROTTLED = "THROTTLED"


@dataclass
class FieldProblem:
    field: list[str] | None
    code: ErrorCode
    message: str


class UserInputError(Exception):
    """One or more problems with a mutation's input; nothing is written."""

    def __init__(self, problems: FieldProblem | Iterable[FieldProblem]):
        self.problems = [problems] if isinstance(problems, FieldProblem) else list(problems)
        super().__init__("; ".join(p.message for p in self.problems))


def problem(field: str | list[str] | None, code: ErrorCode, message: str) -> UserInputError:
    path = field.split(".") if isinstance(field, str) else field
    return UserInputError(FieldProblem(path, code, message))


def not_found(field: str | list[str], what: str) -> UserInputError:
    return problem(field, ErrorCode.NOT_FOUND, f"No {what} with this id.")


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
        for error in errors:
            mask, code = _code_for(error)
            if mask:
                log.error("unexpected error at %s", error.path, exc_info=error.original_error)
                error = self.anonymise_error(error)
            elif code == UNAVAILABLE_CODE and error.original_error is not None:
                # The driver's message names hosts and ports: the client learns only to retry (graph/unavailable.py).
                log.warning("database unavailable at %s: %s", error.path, type(error.original_error).__name__)
                error = GraphQLError(UNAVAILABLE_MESSAGE, nodes=error.nodes, path=error.path)
                self._answer_unavailable()
            if code and not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": code}
            processed.append(error)
        return processed

    def _answer_unavailable(self) -> None:
        response = getattr(self.execution_context.context, "response", None)
        if isinstance(response, Response):
            response.status_code = 503
            response.headers["retry-after"] = RETRY_AFTER
