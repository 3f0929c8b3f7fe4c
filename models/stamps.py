"""Data version stamps: counters that every write of a row a read can show bumps, in the writing transaction.

One stamp per school (`school:<id>`: everything a school owns) and one global stamp (`global`: what no school
owns, such as the built-in frameworks, and the fallback when the writer's school is unknown). The response cache
(graph/response_cache.py) reads the global stamp and the viewer's school's at the start of a request, in one
statement, and keys its answers by them: a committed write, through any process, changes the key of the next read
through any process.

A bump is one statement, an upsert (`INSERT … ON CONFLICT DO UPDATE SET version = version + 1`, SQLite 3.24+ and
PostgreSQL): a scope never written reads as 0 and needs no row beforehand. On PostgreSQL it takes the stamp's row
lock until the transaction ends: concurrent writers of one school queue there for the time of a commit (the bump is
the last statement of a mutation). Bookkeeping writes that no read shows (the sign-in throttle) bump nothing.
"""

from __future__ import annotations

from contextvars import ContextVar

from tortoise import connections, fields
from tortoise.models import Model

GLOBAL = "global"

# The school whose rows the current request may write (its viewer's); None: unknown, the global stamp is bumped.
# Set by the GraphQL view for each request (graph/app.py), read by resolvers.mutations.run_mutation.
writer_school: ContextVar[int | None] = ContextVar("writer_school", default=None)


class DataStamp(Model):
    """Version counters of the data a read can show: one per school, one global (models/stamps.py)."""

    # "global" or "school:<id>".
    scope = fields.CharField(max_length=40, primary_key=True)
    version = fields.BigIntField(default=0)

    class Meta:
        table = "data_stamp"


def school_scope(school_id: int | None) -> str:
    """The stamp of a school's rows; None (rows no school owns) is the global stamp."""
    return GLOBAL if school_id is None else f"school:{int(school_id)}"


async def bump(*scopes: str) -> None:
    """Add one to each stamp, in the current transaction (one statement a stamp)."""
    client = connections.get("default")
    for scope in dict.fromkeys(scopes):
        # The scope is ours ("global" or "school:<int>"), never a client's text.
        assert scope == GLOBAL or (scope.startswith("school:") and scope[7:].isdigit()), scope
        await client.execute_query(
            f"INSERT INTO data_stamp (scope, version) VALUES ('{scope}', 1) "
            "ON CONFLICT (scope) DO UPDATE SET version = data_stamp.version + 1"
        )


async def bump_writer() -> None:
    """Bump the stamp of the current request's writer: its school's, or the global one when unknown."""
    await bump(school_scope(writer_school.get()))


async def read(school_id: int) -> tuple[int, int]:
    """(global, school) stamps, in one statement; a stamp never bumped is 0."""
    scope = school_scope(school_id)
    _, rows = await connections.get("default").execute_query(
        f"SELECT scope, version FROM data_stamp WHERE scope IN ('{GLOBAL}', '{scope}')"
    )
    found = {row["scope"]: int(row["version"]) for row in rows}
    return found.get(GLOBAL, 0), found.get(scope, 0)
