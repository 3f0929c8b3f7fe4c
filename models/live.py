"""Live news: what a committed write tells the subscribers (GraphQL subscriptions, resolvers/live.py).

A write notes what it changed (`note(kind, id, school)`) while its transaction runs; `resolvers.mutations` hands
the notes to `publish` once the transaction has committed (a rolled-back write notes nothing that goes out). An
event names a kind and a row id, never the row: each subscriber loads the row again through their own row scope
when the event arrives, so nothing they may not read reaches them.

Delivery: every process holds one `Hub` (its subscribers' queues). On SQLite, `publish` hands the events to the
process's own hub (live events then need a single worker, `pfmp serve` says so). On PostgreSQL, `publish` sends
them with `pg_notify` on the channel `pfmp_live` (payloads of a few dozen bytes, far below PostgreSQL's 8000), and
every process's hub hears them through one dedicated LISTEN connection (`PostgresListener`), its own included.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum

import asyncpg
from tortoise import connections

log = logging.getLogger("pfmp.live")

CHANNEL = "pfmp_live"
# A subscriber that does not keep up loses the oldest events past this many, never blocks the others.
QUEUE_SIZE = 256


class NewsKind(str, Enum):
    FICHE_CREATED = "FICHE_CREATED"
    FICHE_CHANGED = "FICHE_CHANGED"
    FICHE_DELETED = "FICHE_DELETED"
    BILAN_COMPLETED = "BILAN_COMPLETED"
    BILAN_REOPENED = "BILAN_REOPENED"
    LIAISON_FICHE_CHANGED = "LIAISON_FICHE_CHANGED"


@dataclass(frozen=True)
class Event:
    kind: NewsKind
    id: int
    school_id: int

    def encode(self) -> str:
        return json.dumps({"k": self.kind.value, "id": self.id, "s": self.school_id}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Event | None:
        try:
            data = json.loads(text)
            return cls(NewsKind(data["k"]), int(data["id"]), int(data["s"]))
        except (ValueError, KeyError, TypeError):
            log.warning("live event dropped: not one of ours")
            return None


# The events the current mutation's transaction noted; None outside a mutation (a write then notes nothing).
pending: ContextVar[list[Event] | None] = ContextVar("pending_live_events", default=None)


def note(kind: NewsKind, id: int, school_id: int) -> None:
    """Record an event of the running mutation: published once its transaction has committed."""
    events = pending.get()
    if events is not None:
        events.append(Event(kind, id, school_id))


class Hub:
    """This process's subscribers: each gets its own queue of every event of its school."""

    def __init__(self) -> None:
        self._queues: dict[int, set[asyncio.Queue[Event]]] = {}

    def deliver(self, event: Event) -> None:
        for queue in self._queues.get(event.school_id, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, school_id: int) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._queues.setdefault(school_id, set()).add(queue)
        try:
            yield queue
        finally:
            self._queues[school_id].discard(queue)


hub = Hub()
# Set by the app when it listens on PostgreSQL: events then go through pg_notify, for every process.
_notify = False


async def publish(events: list[Event]) -> None:
    """Hand committed events to every subscriber: through PostgreSQL to every process, or to this process's hub."""
    if not events:
        return
    unique = list(dict.fromkeys(events))
    if not _notify:
        for event in unique:
            hub.deliver(event)
        return
    client = connections.get("default")
    try:
        # One statement for all of them (a period edit tells of every liaison fiche of the period).
        await client.execute_query(
            f"SELECT pg_notify('{CHANNEL}', payload) FROM unnest($1::text[]) AS payload",
            [[event.encode() for event in unique]],
        )
    except Exception:  # the write is committed; a lost notification must not turn it into an error
        log.exception("live events not sent")


def _set_on_loss(lost: asyncio.Event, connection: object) -> None:
    lost.set()


class PostgresListener:
    """One dedicated connection LISTENing on the channel; reconnects after losing it."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def _heard(self, connection: object, pid: int, channel: str, payload: object) -> None:
        event = Event.decode(str(payload))
        if event is not None:
            hub.deliver(event)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self.dsn)
                lost = asyncio.Event()
                connection.add_termination_listener(functools.partial(_set_on_loss, lost))
                await connection.add_listener(CHANNEL, self._heard)
                self.ready.set()
                delay = 0.5
                await lost.wait()
                log.warning("live events: the LISTEN connection was lost, reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception:  # the database out of reach: try again, a little later each time
                log.exception("live events: cannot LISTEN")
            finally:
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)

    async def start(self, timeout: float = 10) -> None:
        global _notify
        self.task = asyncio.create_task(self._run())
        _notify = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout)

    async def stop(self) -> None:
        global _notify
        _notify = False
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
