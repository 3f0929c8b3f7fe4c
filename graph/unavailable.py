"""The database out of reach (stopped, restarting, refusing connections, locked) is not a defect of the request:
it answers 503 with a GraphQL-shaped error, SERVICE_UNAVAILABLE, and a Retry-After, and the server carries on.

Two places meet it: a resolver's query (ErrorPolicy turns the error into SERVICE_UNAVAILABLE and the answer
into a 503), and everything that runs before or outside GraphQL execution, first of all the bearer-token
check of every request (the middleware below). Tortoise reconnects by itself once the database is back.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3

import asyncpg

log = logging.getLogger("pfmp.database")

CODE = "SERVICE_UNAVAILABLE"
MESSAGE = "The database is unavailable at the moment: try again shortly."
STORE_MESSAGE = "The file store is unavailable at the moment: try again shortly."
RETRY_AFTER = "5"

# asyncpg's own: the connection failed or was closed, or the server is starting up or shutting down.
_DRIVER_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)
# SQLite: another process holds the write lock (a CLI import, another worker).
_SQLITE_BUSY = ("database is locked", "database table is locked")


class StoreUnavailable(Exception):
    """The annex store (an S3-compatible object store, or the local folder) cannot be used at the moment: answered
    like the database out of reach (resolvers/fiches/annex_store.py raises it; its message is for the log)."""


def _chain(exc: BaseException):
    """The exception and those it wraps: Tortoise re-raises drivers' errors inside its own, sometimes as args."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]
        pending += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]


def store_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the annex store cannot be used (a case of `database_unavailable`, with its own message)."""
    return any(isinstance(error, StoreUnavailable) for error in _chain(exc))


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached, rather than that a statement failed."""
    for error in _chain(exc):
        if isinstance(error, StoreUnavailable):
            return True
        # ConnectionError: refused, reset, aborted; Tortoise's DBConnectionError is one too.
        if isinstance(error, _DRIVER_ERRORS + (ConnectionError, socket.gaierror)):
            return True
        # asyncio's connect() failing on every address of the host (no errno of its own).
        if isinstance(error, OSError) and str(error).startswith(("Multiple exceptions:", "Connect call failed")):
            return True
        if isinstance(error, sqlite3.OperationalError) and str(error) in _SQLITE_BUSY:
            return True
    return False


def unavailable_body(store: bool = False) -> dict:
    return {"errors": [{"message": STORE_MESSAGE if store else MESSAGE, "extensions": {"code": CODE}}]}


class DatabaseUnavailableMiddleware:
    """Answers 503 to a request that met an unreachable database before any answer started."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not database_unavailable(exc):
                raise
            log.warning(
                "database or file store unavailable (%s) for %s %s",
                type(exc).__name__,
                scope.get("method"),
                scope.get("path"),
            )
            body = json.dumps(unavailable_body(store_unavailable(exc))).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", RETRY_AFTER.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
