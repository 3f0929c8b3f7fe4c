"""No password, token or secret reaches a log line.

Strawberry logs every error of a result with `str(error)`, which prints the query's source lines around it: a
failed `login(input: {email: "…", password: "…"})` wrote the password to the log. Errors are logged here instead as one
line: where, and the message with every quoted string and every echoed input value cut out. The access log
keeps the path of a GET request but not its query string (a GraphQL query, variables, possibly a token).
"""

from __future__ import annotations

import logging
import re

from graphql import GraphQLError

log = logging.getLogger("pfmp.graphql")

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
# graphql-core repeats a refused input value after these words, up to the end of the clause.
_ECHOED_VALUE = re.compile(r"(got invalid value|has invalid value|cannot represent[^:;]*:|found) [^;]*")
_ENUM_VALUE = re.compile(r"\bValue '[^']*'")


def redact(message: str) -> str:
    message = _QUOTED.sub('"…"', message)
    return _ENUM_VALUE.sub("Value '…'", _ECHOED_VALUE.sub(r"\1 …", message))


def log_graphql_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        where = (
            ".".join(str(p) for p in error.path)
            if error.path
            else ",".join(f"{loc.line}:{loc.column}" for loc in error.locations or ()) or "-"
        )
        # Unexpected exceptions are logged with their traceback by ErrorPolicy (graph/errors.py).
        log.info("graphql error at %s: %s", where, redact(error.message))


class AccessLogQueryFilter(logging.Filter):
    """uvicorn's access log record: (client, method, path with query string, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (args[0], args[1], args[2].split("?", 1)[0] + "?…", *args[3:])
        return True


def redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogQueryFilter) for f in access.filters):
        access.addFilter(AccessLogQueryFilter())
