"""Text that no column can hold is refused before any resolver runs.

Two kinds of character reach the server as valid JSON yet cannot be stored:
the NUL character (PostgreSQL refuses it in text: "invalid byte sequence for
encoding UTF8: 0x00"), and unpaired UTF-16 surrogates such as "\\ud800" (JSON
accepts the escape, no UTF-8 encoder does: the driver fails on SQLite and
PostgreSQL alike). Checked in every variable and every string literal, once
per operation, they answer one BAD_USER_INPUT error naming where they are,
instead of a driver error masked as "Unexpected error." halfway through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from graphql import BREAK, ExecutionResult, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "Text must not contain the NUL character (U+0000) or an unpaired surrogate ({where})."


def unstorable_variable(value: Any, path: str) -> str | None:
    """The path of the first string holding an unstorable character, or None."""
    if isinstance(value, str):
        return path if UNSTORABLE.search(value) else None
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None  # numbers, booleans, null, uploaded files
    for key, item in items:
        found = unstorable_variable(item, f"{path}.{key}")
        if found:
            return found
    return None


class _LiteralFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any):
        if UNSTORABLE.search(node.value):
            self.found = True
            return BREAK
        return None


def _may_hold_unstorable(query: str | None) -> bool:
    """Whether a string literal of this query text may hold an unstorable character: a literal's characters are
    either written as they are (found by the pattern in the text) or escaped as `\\u…`, so a text with neither
    needs no walk of its parsed document (the common case, answered without one)."""
    return query is None or "\\u" in query or UNSTORABLE.search(query) is not None


class RefuseUnstorableText(SchemaExtension):
    def on_execute(self):
        context = self.execution_context
        where = unstorable_variable(context.variables or {}, "variables")
        if where is None and context.graphql_document is not None and _may_hold_unstorable(context.query):
            finder = _LiteralFinder()
            visit(context.graphql_document, finder)
            where = "a string in the query" if finder.found else None
        if where is not None:
            # A result set before execution makes Strawberry skip it.
            context.result = ExecutionResult(
                data=None, errors=[GraphQLError(MESSAGE.format(where=where), extensions={"code": "BAD_USER_INPUT"})]
            )
        yield
