"""Idempotency keys (issue 16, part 4): a client on a bad network retries a write without writing twice.

The key travels in the `Idempotency-Key` HTTP header (the IETF draft "The Idempotency-Key HTTP Header Field"; a
bare token or a quoted structured-field string), on the mutations declared `@mutation(..., idempotent=Replay(...))`:
activityFicheCreate, annexUpload and bilanUpdate. Keys are per user and kept 24 hours.

- The first request with a key claims it: a row (user, key) committed in its own short transaction before the
  write runs, holding the operation and a fingerprint (SHA-256 of the operation and its arguments; an uploaded
  file counts by the SHA-256 of its bytes, its name and size). The unique pair (user, key) lets only one request
  claim it, whichever server process it reaches.
- The write then runs as usual; in its own transaction (`run_mutation` calls `complete`) the claim records the
  id of the object it answered. A write that answers errors or fails writes nothing, and its claim is deleted:
  the key is free for the retry.
- A later request with the same key and the same fingerprint answers that object again, read as it is now
  through the viewer's row scope, without running the write; with another fingerprint it is refused
  (IDEMPOTENCY_KEY_REUSED); while the first still runs, IDEMPOTENCY_KEY_IN_PROGRESS (a claim older than
  `STALE_CLAIM`, left by a process that died mid-write, is taken over).
- Expired keys of the user are deleted when they claim a new one, and every expired key at start-up (`sweep`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from graph.context import Info
from graph.errors import FieldProblem, Reason
from graph.types.common import Payload, UserError
from models.idempotency import IdempotencyKey
from permissions.viewer import Viewer

HEADER = "idempotency-key"
LIFETIME = dt.timedelta(hours=24)
# A claim never completed nor deleted after this long belongs to a request that died: a retry takes it over.
STALE_CLAIM = dt.timedelta(minutes=5)
MAX_KEY = 100

P = TypeVar("P", bound=Payload)

DESCRIPTION = (
    " Idempotent: send an `Idempotency-Key` HTTP header (1 to 100 printable ASCII characters, e.g. a UUID) and a "
    "retry with the same key within 24 hours answers the first result (the same object, as it is now) without "
    "writing again; the same key with other arguments is refused (IDEMPOTENCY_KEY_REUSED), and while the first "
    "request runs, IDEMPOTENCY_KEY_IN_PROGRESS. Keys are per user; one key names one operation of one request."
)


@dataclass(frozen=True)
class Replay:
    """How a mutation answers again: the payload field holding the object it answered (its `id` is the row's
    primary key), and how to read that object's payload again for a viewer."""

    field: str
    read: Callable[[Viewer, int | None], Awaitable[Any]]


@dataclass
class _Claim:
    id: int
    field: str
    now: dt.datetime
    done: bool = False


_claim: ContextVar[_Claim | None] = ContextVar("pfmp_idempotency_claim", default=None)


def header_key(info: Info) -> str | None | bool:
    """The key the request sent: None without one, False for a malformed one."""
    request = info.context.request
    raw = request.headers.get(HEADER) if request is not None else None
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 0 < len(key) <= MAX_KEY or not all(" " <= c <= "~" for c in key):
        return False
    return key


def _plain(value: Any) -> Any:
    """The arguments as JSON-able values, the same for the same request."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if value is strawberry.UNSET:
        return {"unset": True}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    digest = getattr(value, "content_digest", None)
    if digest is not None:  # an uploaded file (resolvers/fiches/annex_files.LandedFile)
        return {"file": digest.hexdigest(), "name": getattr(value, "filename", None), "size": getattr(value, "size", 0)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return {"type": type(value).__name__}


def fingerprint(operation: str, arguments: dict[str, Any]) -> str:
    text = json.dumps({"operation": operation, "arguments": _plain(arguments)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _refused(payload: type[P], reason: Reason) -> P:
    return payload(errors=[UserError.of(FieldProblem(None, reason))])


async def guard(
    info: Info,
    operation: str,
    arguments: dict[str, Any],
    payload: type[P],
    replay: Replay,
    run: Callable[[], Awaitable[P]],
) -> P:
    """Run the mutation under the request's idempotency key, or answer its first result again."""
    key = header_key(info)
    viewer = info.context.viewer
    if key is None or viewer is None:
        return await run()
    if key is False:
        return _refused(payload, Reason.IDEMPOTENCY_KEY_INVALID)
    assert isinstance(key, str)
    now = dt.datetime.fromtimestamp(info.context.settings.clock(), tz=dt.UTC)
    mark = fingerprint(operation, arguments)
    claim: _Claim | None = None
    for _ in range(3):
        try:
            async with in_transaction():
                await IdempotencyKey.filter(user_id=viewer.id, expires_at__lte=now).delete()
                row = await IdempotencyKey.create(
                    user_id=viewer.id,
                    key=key,
                    operation=operation[:60],
                    fingerprint=mark,
                    claimed_at=now,
                    expires_at=now + LIFETIME,
                )
            claim = _Claim(row.id, replay.field, now)
            break
        except IntegrityError:
            found = await IdempotencyKey.get_or_none(user_id=viewer.id, key=key)
            if found is None:  # deleted meanwhile (its write failed): claim it again
                continue
            if found.fingerprint != mark or found.operation != operation[:60]:
                return _refused(payload, Reason.IDEMPOTENCY_KEY_REUSED)
            if found.completed_at is not None:
                return await replay.read(viewer, found.result_id)
            if found.claimed_at > now - STALE_CLAIM:
                return _refused(payload, Reason.IDEMPOTENCY_KEY_IN_PROGRESS)
            await IdempotencyKey.filter(id=found.id, completed_at=None, claimed_at=found.claimed_at).delete()
    if claim is None:
        return _refused(payload, Reason.IDEMPOTENCY_KEY_IN_PROGRESS)
    token = _claim.set(claim)
    result = None
    try:
        result = await run()
    finally:
        _claim.reset(token)
        if result is None or result.errors or not claim.done:
            # Nothing was written under the key: a retry runs the write again.
            await IdempotencyKey.filter(id=claim.id, completed_at=None).delete()
    return result


async def complete(result: Any) -> None:
    """In the mutation's transaction (resolvers/mutations.run_mutation): the claim of the request, if any, records
    the object the mutation answered, committed with the write or not at all."""
    claim = _claim.get()
    if claim is None or claim.done or getattr(result, "errors", None):
        return
    answered = getattr(result, claim.field, None)
    await IdempotencyKey.filter(id=claim.id).update(
        completed_at=claim.now, result_id=getattr(answered, "id", None) if answered is not None else None
    )
    claim.done = True


async def sweep(now: dt.datetime) -> int:
    """Delete every expired key (at start-up); the number deleted."""
    return await IdempotencyKey.filter(expires_at__lte=now).delete()
