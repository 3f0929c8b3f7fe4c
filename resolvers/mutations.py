"""The mutation contract (conventions.md, rule 5).

Every mutation body runs inside one transaction. A `UserInputError` raised
anywhere in it rolls everything back and becomes the payload's `errors`; a
top-level `AppError` (UNAUTHENTICATED, FORBIDDEN) also rolls back and
propagates. So a payload that carries an error never comes with a write.

A body that returns bumps the data version stamp of the request's writer (its viewer's school, or the global stamp
when there is none: models/stamps.py) as the last statement of the same transaction: the write and the bump commit
together or not at all, and a rolled-back mutation bumps nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.transactions import in_transaction

from graph.errors import UserInputError
from graph.types.common import UserError
from models import stamps

P = TypeVar("P")


async def run_mutation(payload: Callable[..., P], body: Callable[[], Awaitable[P]]) -> P:
    try:
        async with in_transaction():
            result = await body()
            await stamps.bump_writer()
            return result
    except UserInputError as exc:
        return payload(errors=[UserError(field=p.field, code=p.code, message=p.message) for p in exc.problems])
