"""The mutation contract (conventions.md, rule 5).

Every mutation is declared with `@mutation(description, rule=...)`: the viewer's role must hold a grant of the
rule (else FORBIDDEN, before anything is read), and the resolver runs inside one transaction (`run_mutation`).
A `UserInputError` raised anywhere in it rolls everything back and becomes the payload's `errors`; a top-level
`AppError` (UNAUTHENTICATED, FORBIDDEN) also rolls back and propagates. So a payload that carries an error never
comes with a write. A rule granting some role its own rows only is asked again, with the row's ownership, once
the resolver has the row (`Context.require(rule, owned=...)`).

A mutation declared with an `audit` kind (an evaluation or an access-rights change, models/audit.py) leaves an
audit entry in the same transaction: the entries its body noted (`models.audit.note`), or else one naming the
mutation and the object its payload answers. They are inserted in one statement, before the stamp's bump.

Every mutation takes one argument, `input` (GitHub's style: `periodUpdate(input: {id, version, name})`), or none
when it needs none; the type of `input` is named after the mutation (XxxInput). A payload error's `field` is the
path from that argument: a resolver names a field by its path inside `input` ("startDate", "learnerIds.2", or
already "input.link") and `under_input` places it under `input`, one rule for every mutation.

A body that returns bumps the data version stamp of the request's writer (its viewer's school, or the global stamp
when there is none: models/stamps.py) as the last statement of the same transaction: the write and the bump commit
together or not at all, and a rolled-back mutation bumps nothing. The live events the body noted
(models/live.py) are published after the commit: a rolled-back mutation tells no subscriber anything.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case
from tortoise.transactions import in_transaction

from graph.errors import UserInputError
from graph.types.common import Payload, UserError
from models import audit, live, stamps
from models.audit import AuditKind
from permissions.table import describe
from resolvers import idempotency

P = TypeVar("P")


# The audit kind and name of the mutation running (set by `@mutation`), for `run_mutation`.
_audited: ContextVar[tuple[AuditKind, str] | None] = ContextVar("audited_mutation", default=None)


def subject_of(result: Any) -> tuple[str | None, int | None]:
    """The type name and id of the first object a payload answers (its `errors` aside), or (None, None)."""
    if dataclasses.is_dataclass(result):
        for one in dataclasses.fields(result):
            value = getattr(result, one.name, None)
            if isinstance(value, relay.Node):
                return type(value).__strawberry_definition__.name, getattr(value, "id", None)  # type: ignore[attr-defined]
    return None, None


async def run_mutation(payload: Callable[..., P], body: Callable[[], Awaitable[P]]) -> P:
    events: list[live.Event] = []
    token = live.pending.set(events)
    notes: list[audit.AuditEntry] = []
    noting = audit.pending.set(notes)
    try:
        async with in_transaction():
            result = await body()
            audited = _audited.get()
            if audited is not None and not notes:
                kind, name = audited
                subject_type, subject_id = subject_of(result)
                audit.note(kind, subject_type, subject_id, name)
            await audit.write(notes)
            # The request's idempotency key (if any) records what it answered, committed with the write.
            await idempotency.complete(result)
            await stamps.bump_writer()
    except UserInputError as exc:
        return payload(errors=UserError.all_of(exc))
    finally:
        live.pending.reset(token)
        audit.pending.reset(noting)
    # Committed: only now may the subscribers hear of it (models/live.py).
    await live.publish(events)
    return result


DECLARED = "pfmp.mutation"


def under_input(result: P) -> P:
    """The payload with each error's `field` placed under the mutation's one argument, `input`: a resolver may name
    a field by its path inside `input` ("startDate", "learnerIds.2") or with the prefix ("input.link")."""
    errors = getattr(result, "errors", None)
    if errors:
        for error in errors:
            if error.field and error.field[0] != "input":
                error.field = ["input", *error.field]
    return result


def _arguments(resolver: Callable[..., Any]) -> list[str]:
    """The names of a resolver's GraphQL arguments (its parameters after `self` and `info`)."""
    return list(inspect.signature(resolver).parameters)[2:]


@dataclass(frozen=True)
class Declared:
    """What `@mutation` recorded on a resolver: its rule, whether it runs in the decorator's transaction, and the
    kind of audit entry it leaves."""

    rule: str | None
    transaction: bool
    audit: AuditKind | None = None


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
    audit: AuditKind | None = None,
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
    `audit`: the kind of entry of the audit trail the mutation leaves when it succeeds (see above).
    The resolver takes `input` (its GraphQL argument, described here unless it says more) or nothing.
    """

    def declare(resolver: Callable[..., Awaitable[Any]]) -> Any:
        payload = _payload_type(resolver)
        name = kwargs.get("name") or to_camel_case(resolver.__name__)
        if _arguments(resolver) not in ([], ["input"]):
            raise TypeError(f"{resolver.__qualname__} must take one argument, `input`, not {_arguments(resolver)}")

        @functools.wraps(resolver)
        async def run(self: Any, info: Any, *args: Any, **arguments: Any) -> Any:
            if rule is not None:
                info.context.require_granted(rule)

            async def write() -> Any:
                marked = _audited.set((audit, name) if audit is not None else None)
                try:
                    if not transaction:
                        return await resolver(self, info, *args, **arguments)
                    return await run_mutation(payload, lambda: resolver(self, info, *args, **arguments))
                finally:
                    _audited.reset(marked)

            if idempotent is None:
                return under_input(await write())
            return under_input(
                await idempotency.guard(info, resolver.__name__, dict(arguments), payload, idempotent, write)
            )

        run.__dict__[DECLARED] = Declared(rule, transaction, audit)
        text = description.rstrip() + (idempotency.DESCRIPTION if idempotent is not None else "")
        text = f"{text} {describe(rule)}" if rule is not None else text
        field = strawberry.mutation(description=text, **kwargs)(run)
        for argument in field.arguments:
            argument.description = argument.description or f"All the arguments of {name}."
        return field

    return declare
