"""Pieces every domain's types use: global IDs, user errors, guarded fields, pages."""

from __future__ import annotations

import base64
import binascii
import functools
import importlib
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import relay

from graph.errors import BadUserInput, ErrorCode
from permissions.table import describe

T = TypeVar("T")

MAX_PAGE = 100
# Primary keys are 32-bit integers: an ID naming a larger key names no row, and the drivers refuse to
# compare one with the column (OverflowError on SQLite, DataError on PostgreSQL) instead of answering none.
MAX_KEY = 2**31 - 1


@functools.cache
def later(module: str, name: str) -> Any:
    """`name` of the types module `module`, looked up on first use. Types refer to each other both ways (a
    portfolio has a period, a period lists its portfolios): one way is an import, the other resolves here at run
    time, as the schema resolves the `strawberry.lazy` annotations of the same fields."""
    return getattr(importlib.import_module(module), name)


ErrorCodeEnum = Annotated[ErrorCode, strawberry.enum(name="UserErrorCode", description="What is wrong with the input.")]


@strawberry.type(description="A problem with a mutation's input. Nothing was written.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path into the input of the field at fault (null when the whole request is)."
    )
    code: ErrorCodeEnum = strawberry.field(description="Machine-readable kind of problem.")
    message: str = strawberry.field(description="Human-readable explanation, safe to show.")


def guarded(description: str, rule_key: str, **kwargs: Any) -> Any:
    """A field whose description ends with who may see it, taken from the access table.

    The value itself is decided once per object when the type is built from
    its row (see each type's `from_row`), so no per-field check runs.
    """
    return strawberry.field(description=f"{description} {describe(rule_key)}", **kwargs)


def encode_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(relay.to_base64(type_name, pk))


def decode_id(value: str, *, expected: str | tuple[str, ...] | None = None, field: str = "id") -> tuple[str, int]:
    """(type name, primary key) of an opaque ID, or BAD_USER_INPUT naming the argument."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
        type_name, _, pk_text = raw.partition(":")
        pk = int(pk_text)
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput(f"'{field}' is not a valid ID.") from None
    if not type_name or not 0 < pk <= MAX_KEY:
        raise BadUserInput(f"'{field}' is not a valid ID.")
    if expected is not None:
        names = (expected,) if isinstance(expected, str) else expected
        if type_name not in names:
            raise BadUserInput(f"'{field}' is not the ID of a {' or '.join(names)}.")
    return type_name, pk


def check_page(first: int | None) -> int:
    if first is None:
        return MAX_PAGE
    if first < 0 or first > MAX_PAGE:
        raise BadUserInput(f"'first' must be between 0 and {MAX_PAGE}.")
    return first


def decode_cursor(after: str | None) -> int:
    if after is None:
        return 0
    try:
        prefix, _, position = base64.b64decode(after.encode("ascii"), validate=True).decode().partition(":")
        # Only positions this server could have issued: a negative or huge OFFSET is a driver error, not a page.
        if prefix != "arrayconnection" or not 0 <= int(position) < MAX_KEY:
            raise ValueError
        return int(position) + 1
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput("'after' is not a valid cursor.") from None


async def paginate(queryset, convert, *, first: int | None, after: str | None):
    """A relay connection over a scoped, ordered QuerySet: one LIMIT/OFFSET statement."""
    limit = check_page(first)
    start = decode_cursor(after)
    rows = await queryset.offset(start).limit(limit + 1)
    has_next = len(rows) > limit
    rows = rows[:limit]
    edges = [
        relay.Edge(node=convert(row), cursor=relay.to_base64("arrayconnection", start + i))
        for i, row in enumerate(rows)
    ]
    return relay.ListConnection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=start > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
