"""Tools of the fault tests: locks held by the test on the database (to catch the server in the middle of an
operation), requests in flight, and a PostgreSQL cluster that can be stopped and started again."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import asyncpg
import httpx

from tests.postgres import ThrowawayCluster


def pg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


@contextlib.asynccontextmanager
async def row_lock(database_url: str, table: str, pk: int):
    """PostgreSQL: hold the row `pk` of `table` FOR UPDATE, which blocks the server's updates and deletes of it
    and the foreign-key checks of the rows it inserts naming it."""
    conn = await asyncpg.connect(pg_dsn(database_url))
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute(f'SELECT 1 FROM "{table}" WHERE id = $1 FOR UPDATE', pk)
    try:
        yield
    finally:
        await transaction.rollback()
        await conn.close()


async def killed_in_the_middle(
    backend: str, database_url: str, server, request_factory, *, table: str, pk: int, statement: str
) -> None:
    """Send a request and kill the server (SIGKILL) in the middle of the transaction it starts.

    PostgreSQL: the test locks the row `pk` of `table`, which the operation needs after its first writes, and
    kills the server once pg_stat_activity shows it waiting there on `statement`; the earlier statements of
    the transaction ran. SQLite cannot be caught there: a transaction that has read and then finds the write
    lock taken fails at once ("database is locked") instead of waiting, and uncommitted writes are invisible
    from outside. There the server is killed a few milliseconds after the request left, before or after its
    commit: the caller accepts both outcomes and nothing in between."""
    if backend == "postgres":
        async with row_lock(database_url, table, pk):
            request = await in_flight(request_factory())
            pid = await server_waits_on_row(database_url, statement, request)
            server.kill()
        assert (await outcome(request)).startswith("cut off")
        await session_ended(database_url, pid)
    else:
        request = await in_flight(request_factory())
        await asyncio.sleep(0.01)
        server.kill()
        await outcome(request)


async def server_waits_on_row(database_url: str, statement: str, request: asyncio.Task) -> int:
    """Return once pg_stat_activity shows the server's `statement` waiting on the test's lock (the earlier
    statements of its transaction ran): the process id of that session."""
    deadline = time.monotonic() + 20
    conn = await asyncpg.connect(pg_dsn(database_url))
    try:
        while time.monotonic() < deadline:
            waiting = await conn.fetch(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            for row in waiting:
                if statement in row["query"]:
                    return row["pid"]
            assert not request.done(), f"the server answered without waiting: {await outcome(request)}"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError(f"the server never waited on {statement!r}")


async def session_ended(database_url: str, pid: int) -> None:
    """PostgreSQL: wait until the killed server's session `pid` is gone. Once the test's lock is released it
    runs the statement it waited on, reads its dead client's next command, finds the connection closed and
    rolls its transaction back; checking the database before that would see it still in progress."""
    conn = await asyncpg.connect(pg_dsn(database_url))
    try:
        deadline = time.monotonic() + 30
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            assert time.monotonic() < deadline, "the dead server's session did not end"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def post_graphql(
    base: str, token: str | None, query: str, variables: dict | None = None, timeout: float = 60
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await client.post(
            f"{base}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )


def sign_in(base: str, email: str, password: str) -> str:
    answer = httpx.post(
        f"{base}/graphql",
        timeout=30,
        json={
            "query": "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }",
            "variables": {"e": email, "p": password},
        },
    ).json()
    return answer["data"]["login"]["token"]


async def in_flight(coroutine) -> asyncio.Task:
    """Start a request and let it leave; its failure when the server dies is expected."""
    task = asyncio.create_task(coroutine)
    await asyncio.sleep(0)
    return task


async def outcome(task: asyncio.Task) -> str:
    try:
        response = await task
    except httpx.TransportError as exc:
        return f"cut off ({type(exc).__name__})"
    return f"answered {response.status_code}"


class StoppableCluster(ThrowawayCluster):
    """A throwaway PostgreSQL cluster the test can stop and start again on the same port and data."""

    OPTIONS = "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), *args)

    def pause(self) -> None:
        """Stop the server as an operator would (fast: sessions are ended, nothing is lost)."""
        self._pg_ctl("-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._pg_ctl(
            "-l", str(self.folder / "log"), "-w", "start", "-o", f"-p {self.port} -k {self.folder} {self.OPTIONS}"
        )


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())
