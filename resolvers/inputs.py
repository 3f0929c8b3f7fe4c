"""Turning a mutation's raw input into rows, with payload errors that name the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from tortoise.expressions import Q
from tortoise.fields import CharField
from tortoise.models import Model

from graph.errors import BadUserInput, FieldProblem, Reason, UserInputError, problem
from graph.messages import Term
from graph.types.common import decode_id
from models.users import User
from permissions.viewer import Viewer

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)


def input_id(value: str, type_name: str | tuple[str, ...], field: str) -> int:
    try:
        return decode_id(value, expected=type_name, field=field)[1]
    except BadUserInput as exc:
        raise problem(field, Reason(exc.key), **exc.params) from None


async def fetch_in_reach(
    model: type[Model],
    scope: Callable[[Viewer], Q],
    viewer: Viewer,
    value: str,
    type_name: str | tuple[str, ...],
    field: str,
    what: str,
    *,
    extra: Q | None = None,
    for_update: bool = False,
):
    """The row named by an input ID if the viewer reaches it, else NOT_FOUND naming the field."""
    pk = input_id(value, type_name, field)
    query = model.filter(scope(viewer), extra or Q(), id=pk)
    if for_update:
        query = query.select_for_update()
    row = await query.first()
    if row is None:
        raise problem(field, Reason.ID_NOT_FOUND, what=Term(what))
    return row


async def fetch_many_in_reach(
    model: type[Model],
    scope: Callable[[Viewer], Q],
    viewer: Viewer,
    values: Sequence[str],
    type_name: str,
    field: str,
    what: str,
    *,
    extra: Q | None = None,
) -> list:
    """Rows named by a list of input IDs, in input order; each missing one is a NOT_FOUND naming its index."""
    ids = [input_id(value, type_name, f"{field}.{i}") for i, value in enumerate(values)]
    if len(set(ids)) != len(ids):
        raise problem(field, Reason.LIST_DUPLICATE, field=field, what=Term(what))
    condition = scope(viewer) & (extra or Q())
    rows = {row.pk: row for row in await model.filter(condition, id__in=ids)} if ids else {}
    missing = [
        FieldProblem([*field.split("."), str(i)], Reason.ID_NOT_FOUND, {"what": Term(what)})
        for i, pk in enumerate(ids)
        if pk not in rows
    ]
    if missing:
        raise UserInputError(missing)
    return [rows[pk] for pk in ids]


async def not_found_out_of_reach(
    problems: list[FieldProblem], viewer: Viewer, named: dict[int, tuple[type[Model], Callable[[Viewer], Q], int, str]]
) -> list[FieldProblem]:
    """`problems` where a refusal of an ID that names no row in the viewer's reach becomes NOT_FOUND.

    `named` maps the index of a problem to (model, scope, primary key, what). A row out of reach does not exist
    for the viewer, not even to be told it does not fit here. One statement per model, on this refusal path only.
    """
    wanted: dict[tuple, set[int]] = {}
    for model, scope, pk, _ in named.values():
        wanted.setdefault((model, scope), set()).add(pk)
    reached = {
        key: set(await key[0].filter(key[1](viewer), id__in=list(ids)).values_list("id", flat=True))
        for key, ids in wanted.items()
    }
    return [
        FieldProblem(found.field, Reason.ID_NOT_FOUND, {"what": Term(named[i][3])})
        if i in named and named[i][2] not in reached[named[i][:2]]
        else found
        for i, found in enumerate(problems)
    ]


def fits_column(model: type[Model], field: str, value: str) -> bool:
    """Whether `value` can equal a value of a CharField: Tortoise refuses (ValidationError) to compare the
    column with a longer string instead of finding no row, so a lookup by user text checks this first."""
    column = model._meta.fields_map[field]
    assert isinstance(column, CharField)  # as this function's contract says
    return len(value) <= column.max_length


def required_text(value: str | None, field: str, label: str, *, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise problem(field, Reason.VALUE_REQUIRED, label=Term(label))
    if len(text) > max_length:
        raise problem(field, Reason.TEXT_TOO_LONG, label=Term(label), max_length=max_length)
    return text


def optional_text(value: str | None, field: str, label: str, *, max_length: int) -> str | None:
    text = (value or "").strip()
    if len(text) > max_length:
        raise problem(field, Reason.TEXT_TOO_LONG, label=Term(label), max_length=max_length)
    return text or None


def check_date(value: dt.date, field: str) -> dt.date:
    if not EARLIEST <= value <= LATEST:
        raise problem(field, Reason.DATE_OUT_OF_RANGE, field=field, earliest=EARLIEST, latest=LATEST)
    return value


def check_version(current: int, given: int) -> None:
    if current != given:
        raise problem("version", Reason.VERSION_STALE, current=current, given=given)


def email_address(value: str, field: str) -> str:
    """A lower-cased email address, or INVALID/REQUIRED naming the field."""
    email = required_text(value, field, "The email", max_length=254).lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or domain.startswith(".") or domain.endswith("."):
        raise problem(field, Reason.EMAIL_INVALID)
    return email


async def available_email(value: str, field: str, *, except_id: int | None = None) -> str:
    """`email_address`, or UNIQUE naming the field, in the same words wherever the email is taken.

    Emails are unique across the deployment (sign-in looks them up across schools): one answer for an email taken
    in this school or in another, so that creating an account or changing an email tells nothing about other
    schools' people."""
    email = email_address(value, field)
    query = User.filter(email=email)
    if except_id is not None:
        query = query.exclude(id=except_id)
    if await query.exists():
        raise problem(field, Reason.EMAIL_TAKEN)
    return email
