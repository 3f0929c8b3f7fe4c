"""The mutation contract (conventions.md, rule 5).

Every mutation body runs inside one transaction. A `UserInputError` raised
anywhere in it rolls everything back and becomes the payload's `errors`; a
top-level `AppError` (UNAUTHENTICATED, FORBIDDEN) also rolls back and
propagates. So a payload that carries an error never comes with a write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.transactions import in_transaction

from graph.errors import UserInputError
from graph.types.common import UserError

P = TypeVar("P")


async def run_mutation(payload: Callable[..., P], body: Callable[[], Awaitable[P]]) -> P:
    try:
        async with in_transaction():
            return await body()
    except UserInputError as exc:
        return payload(errors=[UserError(field=p.field, code=p.code, message=p.message) for p in exc.problems])
