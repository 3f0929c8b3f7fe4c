"""The mutation contract (conventions.md, rule 5).

Every mutation is declared with `@mutation(description, rule=...)`: the viewer's role must hold a grant of the
rule (else FORBIDDEN, before anything is read), and the resolver runs inside one transaction (`run_mutation`).
A `UserInputError` raised anywhere in it rolls everything back and becomes the payload's `errors`; a top-level
`AppError` (UNAUTHENTICATED, FORBIDDEN) also rolls back and propagates. So a payload that carries an error never
comes with a write. A rule granting some role its own rows only is asked again, with the row's ownership, once
the resolver has the row (`Context.require(rule, owned=...)`).

A body that returns bumps the data version stamp of the request's writer (its viewer's school, or the global stamp
when there is none: models/stamps.py) as the last statement of the same transaction: the write and the bump commit
together or not at all, and a rolled-back mutation bumps nothing. The live events the body noted
(models/live.py) are published after the commit: a rolled-back mutation tells no subscriber anything.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry
from tortoise.transactions import in_transaction

from graph.errors import UserInputError
from graph.types.common import Payload, UserError
from models import live, stamps
from permissions.table import describe
from resolvers import idempotency

P = TypeVar("P")


async def run_mutation(payload: Callable[..., P], body: Callable[[], Awaitable[P]]) -> P:
    events: list[live.Event] = []
    token = live.pending.set(events)
    try:
        async with in_transaction():
            result = await body()
            # The request's idempotency key (if any) records what it answered, committed with the write.
            await idempotency.complete(result)
            await stamps.bump_writer()
    except UserInputError as exc:
        return payload(errors=UserError.all_of(exc))
    finally:
        live.pending.reset(token)
    # Committed: only now may the subscribers hear of it (models/live.py).
    await live.publish(events)
    return result


DECLARED = "pfmp.mutation"


@dataclass(frozen=True)
class Declared:
    """What `@mutation` recorded on a resolver: its rule and whether it runs in the decorator's transaction."""

    rule: str | None
    transaction: bool


def _payload_type(resolver: Callable[..., Any]) -> type[Payload]:
    """The payload class a mutation resolver is annotated to return."""
    annotation = resolver.__annotations__["return"]
    kind = eval(annotation, resolver.__globals__) if isinstance(annotation, str) else annotation  # noqa: S307
    if not (isinstance(kind, type) and issubclass(kind, Payload)):
        raise TypeError(f"{resolver.__qualname__} must return a Payload, not {annotation}")
    return kind


def mutation(
    description: str,
    *,
    rule: str | None = None,
    transaction: bool = True,
    idempotent: idempotency.Replay | None = None,
    **kwargs: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """A mutation field: its description ends with who may run it (from the access table, when `rule` is given),
    a role holding no grant of `rule` is refused with FORBIDDEN before the resolver runs, and the resolver runs in
    one transaction whose UserInputErrors become the payload's `errors` (the payload class is the resolver's
    return annotation). `rule=None` for the mutations open to anyone (signing in) or to every signed-in viewer.

    `transaction=False` for a mutation with work on files around its transaction (an upload written before, a
    file removed once the deletion is committed): it calls `run_mutation` itself for the part that writes rows.

    `idempotent` makes the mutation honour the `Idempotency-Key` header (resolvers/idempotency.py): a retry with
    the key answers the first result, read again by `idempotent.read`; its description says so.
    """

    def declare(resolver: Callable[..., Awaitable[Any]]) -> Any:
        payload = _payload_type(resolver)

        @functools.wraps(resolver)
        async def run(self: Any, info: Any, *args: Any, **arguments: Any) -> Any:
            if rule is not None:
                info.context.require_granted(rule)

            async def write() -> Any:
                if not transaction:
                    return await resolver(self, info, *args, **arguments)
                return await run_mutation(payload, lambda: resolver(self, info, *args, **arguments))

            if idempotent is None:
                return await write()
            return await idempotency.guard(info, resolver.__name__, dict(arguments), payload, idempotent, write)

        run.__dict__[DECLARED] = Declared(rule, transaction)
        text = description.rstrip() + (idempotency.DESCRIPTION if idempotent is not None else "")
        text = f"{text} {describe(rule)}" if rule is not None else text
        return strawberry.mutation(description=text, **kwargs)(run)

    return declare
